/**
 * @module
 * `astrabak drill`: proves that a snapshot goes back into the real database and comes out the
 * same. Each selected collection and table is restored under a scratch name through the one
 * restore code path ({@linkcode runRestore}: verify, plan, prove definitions, write, count), read
 * back in full and compared exactly (multiset digest, digest.ts; tables by primary key with their
 * columns in name order, and their definition), vector-probed, and dropped again with the
 * user-defined types the restore created.
 */

import type { ConnectionConfig, NameRef } from "../config/resolve.ts";
import { nameRefMatches } from "../config/resolve.ts";
import {
  ConfigError,
  DefinitionRefusedError,
  errorMessage,
  InterruptedError,
  VerificationError,
} from "../errors.ts";
import {
  type CollectionEntry,
  type EntryKind,
  primaryKeyColumns,
  vectorFields,
} from "../manifest/mod.ts";
import { canonicalJson } from "../json/canonical_json.ts";
import type { RawDocument } from "../json/raw_document.ts";
import { keptDocumentBytes } from "../restore/collection.ts";
import type { Rename } from "../restore/plan.ts";
import { renamedIndexName, selectEntries } from "../restore/plan.ts";
import { runRestore } from "../restore/restore.ts";
import type { RestoreCollectionReport } from "../restore/restore.ts";
import type { Reporter } from "../reporter.ts";
import { readDataFile } from "../snapshot/data_stream.ts";
import { openSnapshot, readManifest, type SnapshotReader } from "../snapshot/reader.ts";
import { deleteCollection, listCollections } from "../source/collections.ts";
import { connect, type ConnectOptions } from "../source/connect.ts";
import type { DataApiClient } from "../source/data_api.ts";
import { readPages } from "../source/pages.ts";
import { dropTable, listTables, tableNames } from "../source/tables.ts";
import {
  type DrillDifference,
  nameDifferences,
  partitionCount,
  PartitionedDigest,
} from "./compare.ts";
import { canonicalRow, firstDifference, memberText, rowKey } from "./json_diff.ts";

export type { DrillDifference } from "./compare.ts";

/** The Data API's collection name limit. */
export const MAX_NAME_LENGTH = 48;
/** Vector probes per vector collection by default. */
export const DEFAULT_PROBES = 20;
/** Lowest acceptable overlap@10 by default. */
export const DEFAULT_MIN_OVERLAP = 0.9;
/** Neighbours compared per probe. */
export const PROBE_LIMIT = 10;
/** Differences named per collection. */
const MAX_NAMED = 5;
/** How long the cleanup may take per drop (its own signal: the run's may be aborted). */
const CLEANUP_TIMEOUT_MS = 30_000;

/** `--kind`, spelled as backup's. */
export type KindSelection = "collections" | "tables" | "all";

/** True when an entry of `kind` is selected by `--kind selection`. */
export function kindSelected(selection: KindSelection, kind: EntryKind): boolean {
  return selection === "all" || (selection === "tables") === (kind === "table");
}

/** What `drill` is asked to do. */
export interface DrillOptions extends ConnectOptions {
  connection: ConnectionConfig;
  snapshot: string;
  /** Scratch keyspace; null: each collection's own. */
  targetKeyspace: string | null;
  include: readonly NameRef[];
  exclude: readonly NameRef[];
  /** `--kind` (default all). */
  kind?: KindSelection;
  /** `--max-docs`: only the first N documents/rows of each (a partial drill); null: all. */
  maxDocuments?: number | null;
  probes: number;
  minOverlap: number;
  keep: boolean;
  /** As restore's --collection-limit (the scratch collections count against it). */
  collectionLimit?: number;
  /** Short id of this run, part of every scratch name. */
  runId: string;
  signal?: AbortSignal | undefined;
  /**
   * Told the scratch collections, tables and types that may exist now and are not dropped yet,
   * each time that changes: what a forced exit (a second signal) leaves behind.
   */
  onLeft?: (left: readonly string[]) => void;
}

/** Vector probe results of one collection. */
export interface ProbeReport {
  probes: number;
  /** "source": the same search on the source collection; "self": top-1 must be the probe. */
  against: "source" | "self";
  /** Why "self" (no source on this endpoint, or a partial drill). */
  why_self?: string;
  /** Tables: the vector columns probed. */
  columns?: string[];
  overlap_min: number;
  overlap_mean: number;
}

/** Per collection result. */
export interface DrillCollectionReport {
  source: string;
  scratch: string;
  kind: "collection" | "table";
  status: "identical" | "different" | "failed" | "not drilled";
  reason: string;
  /** Documents (rows) compared: all of the snapshot's, or the first --max-docs. */
  documents_in_snapshot: number;
  /** Documents (rows) the snapshot holds in all. */
  documents_total: number;
  documents_read_back: number;
  snapshot_digest: string | null;
  read_back_digest: string | null;
  differences: DrillDifference[];
  probes: ProbeReport | null;
  restore_status: RestoreCollectionReport["status"] | null;
  restore_error: string | null;
  seconds: number;
  cleanup: "dropped" | "kept" | "failed" | "not created";
}

/** The whole drill. */
export interface DrillReport {
  snapshot: string;
  run_id: string;
  status: "proven" | "failed";
  started: string;
  seconds: number;
  min_overlap: number;
  /** --max-docs: only the first N documents of each were restored and compared. */
  partial: boolean;
  max_docs: number | null;
  collections: DrillCollectionReport[];
  /** Scratch collections, tables and types left behind (--keep, or a drop that failed). */
  left: string[];
}

/**
 * Scratch names `drill_<run id>_<name>` cut to 48 characters; a cut that collides with another
 * of this run gets a numeric suffix, so every entry has its own scratch collection.
 */
export function scratchNames(
  runId: string,
  entries: ReadonlyArray<{ keyspace: string; name: string }>,
  targetKeyspace: string | null,
): string[] {
  const used = new Set<string>();
  return entries.map((e) => {
    const ks = targetKeyspace ?? e.keyspace;
    const base = `drill_${runId}_${e.name}`.slice(0, MAX_NAME_LENGTH);
    let name = base;
    for (let n = 2; used.has(`${ks}.${name}`); n++) {
      const suffix = `_${n}`;
      name = base.slice(0, MAX_NAME_LENGTH - suffix.length) + suffix;
    }
    used.add(`${ks}.${name}`);
    return name;
  });
}

/** A short random run id (6 lowercase hex digits). */
export function newRunId(): string {
  return [...crypto.getRandomValues(new Uint8Array(3))]
    .map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** One selected entry and where it goes. */
interface Scratch {
  entry: CollectionEntry;
  keyspace: string;
  name: string;
  label: string;
}

/**
 * Runs a drill. Throws ConfigError (nothing written) when a scratch name is taken or the
 * selection is empty; an interruption is thrown after the cleanup.
 */
export async function runDrill(options: DrillOptions, reporter: Reporter): Promise<DrillReport> {
  const started = new Date();
  const t0 = performance.now();
  const signal = options.signal;
  const maxDocs = options.maxDocuments ?? null;
  let reader: SnapshotReader | undefined = await openSnapshot(options.snapshot);
  let drilled: CollectionEntry[];
  try {
    const manifest = await readManifest(reader);
    drilled = selectEntries(manifest, options.include)
      .filter((c) => kindSelected(options.kind ?? "all", c.kind))
      .filter((c) => !options.exclude.some((r) => nameRefMatches(r, c)));
  } finally {
    await reader.close();
    reader = undefined;
  }
  if (drilled.length === 0) {
    throw new ConfigError(`Cannot drill ${options.snapshot}: the selection leaves nothing`, {
      hint: "check --collections, --exclude and --kind; nothing was written",
    });
  }
  const names = scratchNames(options.runId, drilled, options.targetKeyspace);
  const scratch: Scratch[] = drilled.map((e, i) => {
    const keyspace = options.targetKeyspace ?? e.keyspace;
    return { entry: e, keyspace, name: names[i]!, label: `${keyspace}.${names[i]!}` };
  });

  const client = connect(options.connection, options, reporter);
  // Refuse before writing anything if any scratch name exists (collections and tables share names).
  const keyspaces = [...new Set(scratch.map((s) => s.keyspace))];
  const existingBefore = new Map<string, Set<string>>();
  const typesBefore = new Map<string, Set<string>>();
  for (const ks of keyspaces) {
    existingBefore.set(ks, await namesIn(client, ks, signal));
    if (usesTypes(scratch, ks)) typesBefore.set(ks, await typeNames(client, ks, signal));
  }
  const taken = scratch.filter((s) => existingBefore.get(s.keyspace)!.has(s.name));
  if (taken.length > 0) {
    throw new ConfigError(
      `Cannot drill: ${
        taken.map((s) => s.label).join(", ")
      } already exist(s); a drill never writes into a collection or table it did not create`,
      {
        hint: "nothing was written; drop it if it is a leftover of an earlier drill, or run again",
      },
    );
  }

  const reports: DrillCollectionReport[] = [];
  const byScratch = new Map<string, DrillCollectionReport>();
  let left: string[] = [];
  // From here on, anything of this run's may exist until the cleanup says otherwise.
  options.onLeft?.([...scratch.map((s) => s.label), ...typesToDrop(scratch, typesBefore)]);
  try {
    reporter.info(
      `Drilling ${options.snapshot}: ${scratch.length} collection(s)/table(s) into ${
        scratch.map((s) => s.label).join(", ")
      }${maxDocs === null ? "" : ` (partial: the first ${maxDocs} of each)`}`,
    );
    const restored = await runRestore({
      connection: options.connection,
      snapshot: options.snapshot,
      targetKeyspace: options.targetKeyspace,
      include: scratch.map((s) => ({ keyspace: s.entry.keyspace, name: s.entry.name })),
      renames: scratch.map((s): Rename => ({
        from: { keyspace: s.entry.keyspace, name: s.entry.name },
        to: s.name,
      })),
      ifExists: "fail",
      dryRun: false,
      force: false,
      vectorize: "keep-vector",
      ...(options.collectionLimit === undefined
        ? {}
        : { collectionLimit: options.collectionLimit }),
      ...(maxDocs === null ? {} : { maxDocuments: maxDocs }),
      ...pickConnect(options),
      signal,
    }, reporter).catch((e) => {
      // A snapshot that fails verification is a failed drill (nothing was written): reported and
      // journaled as one, so that `list` does not go on showing an earlier drill's "proven".
      // So is a definition the target cannot create (a real restore would fail the same way).
      if (e instanceof DefinitionRefusedError) return e;
      if (!(e instanceof VerificationError)) throw e;
      return errorMessage(e);
    });
    const unverified = typeof restored === "string" ? restored : null;
    const refused = restored instanceof DefinitionRefusedError ? restored : null;
    if (unverified !== null) reporter.error(`Drill of ${options.snapshot} failed: ${unverified}`);
    if (refused) reporter.error(`Drill of ${options.snapshot} failed: ${refused.message}`);
    reader = await openSnapshot(options.snapshot);
    const sourceNames = new Map<string, Set<string>>();
    const scratchTables = new Map<string, Map<string, Record<string, unknown>>>();
    for (const s of scratch) {
      const c0 = performance.now();
      const r = blankReport(s.entry, s.label, maxDocs);
      byScratch.set(r.scratch, r);
      reports.push(r);
      if (unverified !== null) {
        r.reason = `the snapshot failed verification: ${unverified}`;
        continue;
      }
      if (refused) {
        const why = refused.refused.find((x) => x.target === r.scratch)?.why;
        if (why === undefined) {
          r.status = "not drilled";
          r.reason =
            "not drilled: the restore refused another definition first (nothing was written)";
        } else {
          r.reason = `the restore failed: ${why}`;
        }
        continue;
      }
      const restoredOne = typeof restored === "string" || restored instanceof Error
        ? undefined
        : restored.collections.find((c) => c.target === r.scratch);
      r.restore_status = restoredOne?.status ?? null;
      r.restore_error = restoredOne?.status === "failed" ? restoredOne.error ?? "failed" : null;
      const neverCreated = restoredOne?.not_created === true ||
        (restoredOne?.status === "failed" && restoredOne.count_before === null &&
          restoredOne.write_seconds === null);
      if (neverCreated) {
        // Nothing to read back: the restore could not even create it (e.g. a table the Data API
        // cannot recreate), which is the drill's finding.
        r.reason = `the restore failed: ${r.restore_error}`;
        r.seconds = round2((performance.now() - c0) / 1000);
        continue;
      }
      await compareCollection(s, reader, client, r, maxDocs, signal);
      if (s.entry.kind === "table" && r.status !== "failed") {
        let tables = scratchTables.get(s.keyspace);
        if (!tables) {
          tables = new Map(
            (await listTables(client, s.keyspace, signal)).map((t) => [t.name, t.definition]),
          );
          scratchTables.set(s.keyspace, tables);
        }
        const diff = tableDefinitionDifferences(s, tables.get(s.name));
        if (diff.length > 0) {
          r.differences = [...diff, ...r.differences].slice(0, MAX_NAMED);
          r.status = "different";
          r.reason = `the definition differs (first: ${diff.map((d) => d.detail).join("; ")})${
            r.reason ? `; ${r.reason}` : ""
          }`;
        }
      }
      const probeFields = probedFields(s.entry);
      if (r.status === "identical" && probeFields.length > 0 && options.probes > 0) {
        let names = sourceNames.get(s.entry.keyspace);
        if (!names) {
          names = await namesIn(client, s.entry.keyspace, signal).catch(() => new Set<string>());
          sourceNames.set(s.entry.keyspace, names);
        }
        const why = maxDocs !== null
          ? `a partial drill (--max-docs ${maxDocs}) holds only part of the source's neighbours`
          : !names.has(s.entry.name)
          ? "the source is not on this endpoint"
          : null;
        try {
          r.probes = await probeCollection(s, probeFields, why, options.probes, reader, client, {
            maxDocs,
            signal,
          });
        } catch (e) {
          if (e instanceof InterruptedError || signal?.aborted) throw e;
          r.status = "failed";
          r.reason = `the vector probes failed: ${errorMessage(e)}`;
        }
        if (r.probes && r.probes.overlap_min < options.minOverlap) {
          r.status = "failed";
          r.reason = `vector probe overlap@${PROBE_LIMIT} ${
            r.probes.overlap_min.toFixed(2)
          } is below --min-overlap ${options.minOverlap}`;
        }
      }
      if (r.restore_error && r.status === "identical") {
        r.status = "failed";
        r.reason = `the restore failed: ${r.restore_error}`;
      }
      r.seconds = round2((performance.now() - c0) / 1000);
    }
  } finally {
    await reader?.close().catch(() => {});
    left = await cleanup(
      client,
      scratch,
      existingBefore,
      typesBefore,
      options,
      byScratch,
      reporter,
    );
  }
  // Scratch copies that could not be dropped fail the drill too: a nightly drill that leaves them
  // behind would fill the database's collection limit unnoticed.
  const cleanedUp = options.keep === true || left.length === 0;
  const status =
    cleanedUp && reports.every((r) => r.status === "identical" || r.status === "not drilled")
      ? "proven"
      : "failed";
  return {
    snapshot: options.snapshot,
    run_id: options.runId,
    status,
    started: started.toISOString(),
    seconds: round2((performance.now() - t0) / 1000),
    min_overlap: options.minOverlap,
    partial: maxDocs !== null,
    max_docs: maxDocs,
    collections: reports,
    left,
  };
}

/** The connection tuning flags of `o` (rate, retries, timeouts), for the restore. */
function pickConnect(o: ConnectOptions): ConnectOptions {
  return {
    ...(o.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: o.requestTimeoutMs }),
    ...(o.retry === undefined ? {} : { retry: o.retry }),
    ...(o.maxRps === undefined ? {} : { maxRps: o.maxRps }),
  };
}

/**
 * Names taken in a keyspace: its collections and its tables (one namespace, so a table blocks a
 * scratch collection's name as much as a collection does; none on a server without tables).
 */
async function namesIn(
  client: DataApiClient,
  keyspace: string,
  signal: AbortSignal | undefined,
): Promise<Set<string>> {
  return new Set([
    ...(await listCollections(client, keyspace, signal)).map((c) => c.name),
    ...await tableNames(client, keyspace, signal),
  ]);
}

/** Names of the user-defined types of a keyspace (listTypes). */
async function typeNames(
  client: DataApiClient,
  keyspace: string,
  signal: AbortSignal | undefined,
): Promise<Set<string>> {
  const res = await client.simple({ keyspace }, { listTypes: {} }, { signal });
  return new Set(
    ((res.status?.types as unknown[] | undefined) ?? []).filter((t): t is string =>
      typeof t === "string"
    ),
  );
}

/** Types the snapshot's definition of a table describes (what the restore may create). */
function definedTypes(e: CollectionEntry): string[] {
  return ((e.definition.types as Array<{ udtName?: unknown }> | undefined) ?? [])
    .map((t) => String(t.udtName));
}

/** Labels (`ks.type (type)`) of the types a drill of `scratch` may create and must drop. */
function typesToDrop(
  scratch: readonly Scratch[],
  typesBefore: ReadonlyMap<string, ReadonlySet<string>>,
): string[] {
  const out = new Set<string>();
  for (const s of scratch) {
    for (const t of definedTypes(s.entry)) {
      if (!typesBefore.get(s.keyspace)?.has(t)) out.add(`${s.keyspace}.${t} (type)`);
    }
  }
  return [...out];
}

function usesTypes(scratch: readonly Scratch[], keyspace: string): boolean {
  return scratch.some((s) => s.keyspace === keyspace && definedTypes(s.entry).length > 0);
}

function blankReport(
  e: CollectionEntry,
  scratch: string,
  maxDocs: number | null,
): DrillCollectionReport {
  const total = e.document_count ?? 0;
  return {
    source: `${e.keyspace}.${e.name}`,
    scratch,
    kind: e.kind,
    status: "failed",
    reason: "",
    documents_in_snapshot: maxDocs === null ? total : Math.min(total, maxDocs),
    documents_total: total,
    documents_read_back: 0,
    snapshot_digest: null,
    read_back_digest: null,
    differences: [],
    probes: null,
    restore_status: null,
    restore_error: null,
    seconds: 0,
    cleanup: "not created",
  };
}

/**
 * The vector fields a probe searches: `$vector` of a vector collection, the vector columns of a
 * table that have a vector index (the server sorts only by an indexed vector column).
 */
function probedFields(e: CollectionEntry): string[] {
  if (e.kind === "collection") return vectorFields(e.kind, e.definition).map((v) => v.field);
  const indexed = new Set(
    ((e.definition.indexes as Array<Record<string, unknown>> | undefined) ?? [])
      .filter((ix) => ix.indexType === "vector")
      .map((ix) => (ix.definition as { column?: unknown } | undefined)?.column)
      .filter((c): c is string => typeof c === "string"),
  );
  return vectorFields(e.kind, e.definition).map((v) => v.field).filter((f) => indexed.has(f));
}

const round2 = (x: number) => Math.round(x * 100) / 100;
const decoder = new TextDecoder();
const encoder = new TextEncoder();

/** One document as the drill compares it: its key and the exact bytes that must match. */
interface Compared {
  doc: RawDocument;
  key: string;
  bytes: Uint8Array;
}

/** The key of a document: its `_id`'s raw JSON, or a row's primary key. */
function keyOf(entry: CollectionEntry, doc: RawDocument): string {
  if (entry.kind === "table") return rowKey(doc.bytes, primaryKeyColumns(entry.definition));
  return doc.id ? decoder.decode(doc.id) : "(no _id)";
}

/**
 * The snapshot's documents of `entry` as the restore sends them (the first `maxDocs` with a
 * partial drill), through the one read pipeline. Table rows in canonical member order.
 */
async function* snapshotDocuments(
  reader: SnapshotReader,
  entry: CollectionEntry,
  maxDocs: number | null,
  signal: AbortSignal | undefined,
): AsyncGenerator<Compared> {
  const read = readDataFile(await reader.open(entry.data_file!, signal), entry, {
    quick: false,
    ...(maxDocs === null ? {} : { maxDocuments: maxDocs }),
  });
  for await (const page of read.documents!) {
    for (const doc of page) {
      yield {
        doc,
        key: keyOf(entry, doc),
        bytes: entry.kind === "table"
          ? encoder.encode(canonicalRow(doc.bytes))
          : keptDocumentBytes(entry, doc),
      };
    }
  }
  if (!read.cut) await read.figures;
}

/** The server's documents of a scratch collection or table (unsorted find, `{"*": true}`, paged). */
async function* serverDocuments(
  client: DataApiClient,
  s: Scratch,
  signal: AbortSignal | undefined,
): AsyncGenerator<Compared> {
  for await (const page of readPages(client, s.keyspace, s.name, { signal })) {
    for (const doc of page) {
      yield {
        doc,
        key: keyOf(s.entry, doc),
        bytes: s.entry.kind === "table" ? encoder.encode(canonicalRow(doc.bytes)) : doc.bytes,
      };
    }
  }
}

/**
 * Compares the scratch collection with the snapshot exactly: the bytes the server hands back
 * must equal the bytes the restore sent (as insert.ts readBack compares them; table rows with
 * their columns in name order), as a multiset, also per key partition. On a mismatch, one more
 * pass over each side holding only the first differing partitions names the first differences,
 * each down to its first differing field (compare.ts).
 */
async function compareCollection(
  s: Scratch,
  reader: SnapshotReader,
  client: DataApiClient,
  r: DrillCollectionReport,
  maxDocs: number | null,
  signal: AbortSignal | undefined,
): Promise<void> {
  const unit = s.entry.kind === "table" ? "rows" : "documents";
  const parts = partitionCount(r.documents_in_snapshot);
  const snapshot = () => snapshotDocuments(reader, s.entry, maxDocs, signal);
  const server = () => serverDocuments(client, s, signal);
  const want = new PartitionedDigest(parts);
  for await (const { key, bytes } of snapshot()) want.add(key, bytes);
  const have = new PartitionedDigest(parts);
  try {
    for await (const { key, bytes } of server()) have.add(key, bytes);
  } catch (e) {
    if (e instanceof InterruptedError || signal?.aborted) throw e;
    r.status = "failed";
    r.reason = `could not read the scratch ${s.entry.kind} back: ${errorMessage(e)}`;
    return;
  }
  const expected = want.total;
  const got = have.total;
  r.documents_in_snapshot = expected.count;
  r.documents_read_back = got.count;
  r.snapshot_digest = expected.hex;
  r.read_back_digest = got.hex;
  const partial = maxDocs !== null && r.documents_total > expected.count
    ? ` (partial: the first ${expected.count} of ${r.documents_total})`
    : "";
  if (expected.equals(got)) {
    r.status = "identical";
    r.reason = `${got.count} ${unit} identical${partial}`;
    return;
  }
  r.status = "different";
  r.differences = await nameDifferences(snapshot, server, parts, want.differing(have), MAX_NAMED);
  const what = s.entry.kind === "table" ? "primary key" : "_id";
  r.reason =
    `${expected.count} ${unit} in the snapshot${partial}, ${got.count} read back, contents differ${
      r.differences.length > 0
        ? `; first: ${
          r.differences.map((d) => `${what} ${d._id} ${d.kind}${d.path ? ` at ${d.path}` : ""}`)
            .join(", ")
        }`
        : ""
    }`;
}

/**
 * The table's definition on the server against the snapshot's: columns, primary key, indexes
 * (named after the scratch table, as restore names them: plan.ts renamedIndexName) and the
 * user-defined types they use.
 */
function tableDefinitionDifferences(
  s: Scratch,
  there: Record<string, unknown> | undefined,
): DrillDifference[] {
  const table = `(table ${s.entry.name})`;
  if (!there) {
    return [{ _id: table, kind: "definition", path: null, detail: "not found by listTables" }];
  }
  const shape = (d: Record<string, unknown>, rename: boolean): Record<string, unknown> => ({
    columns: d.columns,
    primaryKey: d.primaryKey,
    indexes: ((d.indexes as Array<Record<string, unknown>> | undefined) ?? [])
      .map((ix) =>
        rename ? { ...ix, name: renamedIndexName(String(ix.name), s.entry.name, s.name) } : ix
      )
      .sort((a, b) => (String(a.name) < String(b.name) ? -1 : 1)),
    types: ((d.types as Array<Record<string, unknown>> | undefined) ?? [])
      .slice().sort((a, b) => (String(a.udtName) < String(b.udtName) ? -1 : 1)),
  });
  const want = shape(s.entry.definition, true);
  const got = shape(there, false);
  const out: DrillDifference[] = [];
  for (const field of Object.keys(want)) {
    const a = encoder.encode(canonicalDefinition(want[field]));
    const b = encoder.encode(canonicalDefinition(got[field]));
    const d = firstDifference(a, b);
    if (d) {
      const path = d.path === ""
        ? field
        : d.path.startsWith("[")
        ? field + d.path
        : `${field}.${d.path}`;
      out.push({ _id: table, kind: "definition", path, detail: `${path}: ${d.detail}` });
    }
  }
  return out;
}

/**
 * A definition part as JSON with object keys sorted (except a clustering order, whose order is
 * meaning) and without `apiSupport`: read-only annotations, whose `cqlDefinition` names the
 * keyspace (restore strips them too).
 */
function canonicalDefinition(v: unknown): string {
  return canonicalJson(v ?? null, ["apiSupport"]);
}

/**
 * Vector probes: K snapshot documents (of those compared) with a vector (reservoir sample, per
 * probed field) are searched for (`sort: {<field>: …}`, limit 10) in the scratch copy and, unless
 * `why` says why not, the source; overlap@10 of the keys. Otherwise each probe must be its own
 * top-1 (a document is its own nearest neighbour for cosine, dot product and euclidean).
 */
async function probeCollection(
  s: Scratch,
  fields: readonly string[],
  why: string | null,
  k: number,
  reader: SnapshotReader,
  client: DataApiClient,
  { maxDocs, signal }: { maxDocs: number | null; signal: AbortSignal | undefined },
): Promise<ProbeReport | null> {
  const entry = s.entry;
  const table = entry.kind === "table";
  const keys = table ? primaryKeyColumns(entry.definition) : ["_id"];
  const samples = new Map(fields.map((f) => [f, [] as Array<{ key: string; vector: string }>]));
  const seen = new Map(fields.map((f) => [f, 0]));
  for await (const { doc, key } of snapshotDocuments(reader, entry, maxDocs, signal)) {
    for (const f of fields) {
      if (!doc.vectors.some((v) => v.field === f && v.dimension > 0)) continue;
      const n = seen.get(f)! + 1;
      seen.set(f, n);
      const slot = n <= k ? n - 1 : Math.floor(Math.random() * n);
      if (slot < k) {
        const vector = memberText(doc.bytes, f);
        if (vector !== null) samples.get(f)![slot] = { key, vector };
      }
    }
  }
  const projection = `{${keys.map((c) => `${JSON.stringify(c)}:1`).join(",")}}`;
  const search = async (ks: string, name: string, field: string, vector: string) => {
    const res = await client.command(
      { keyspace: ks, collection: name },
      "find",
      `{"find":{"filter":{},"sort":{${
        JSON.stringify(field)
      }:${vector}},"projection":${projection},"options":{"limit":${PROBE_LIMIT}${
        why === null ? "" : ',"includeSimilarity":true'
      }}}}`,
      { signal },
    );
    return (res.documents ?? []).map((d) => ({
      key: keyOf(entry, d),
      similarity: why === null ? null : memberText(d.bytes, "$similarity"),
    }));
  };
  const overlaps: number[] = [];
  for (const f of fields) {
    for (const probe of samples.get(f)!) {
      const found = await search(s.keyspace, s.name, f, probe.vector);
      const mine = found.map((d) => d.key);
      if (why === null) {
        const theirs = (await search(entry.keyspace, entry.name, f, probe.vector)).map((d) =>
          d.key
        );
        const set = new Set(theirs);
        const common = mine.filter((id) => set.has(id)).length;
        overlaps.push(
          theirs.length === 0 && mine.length === 0
            ? 1
            : common / Math.max(theirs.length, mine.length),
        );
      } else {
        overlaps.push(ownNearest(found, probe.key) ? 1 : 0);
      }
    }
  }
  if (overlaps.length === 0) return null;
  return {
    probes: overlaps.length,
    against: why === null ? "source" : "self",
    ...(why === null ? {} : { why_self: why }),
    ...(table ? { columns: [...fields] } : {}),
    overlap_min: round2(Math.min(...overlaps)),
    overlap_mean: round2(overlaps.reduce((a, b) => a + b, 0) / overlaps.length),
  };
}

/**
 * True when `key` is the top-1 of a search by its own vector, or tied with it: documents with the
 * same vector (duplicated content) have the same similarity, and the server may answer any of them
 * first. When every result ties with the top (more twins than the limit), the probe cannot be told
 * apart and passes: its presence was proven by the comparison.
 */
function ownNearest(
  found: ReadonlyArray<{ key: string; similarity: string | null }>,
  key: string,
): boolean {
  const top = found[0]?.similarity;
  if (found[0]?.key === key) return true;
  if (top === undefined || top === null) return false;
  const tied = found.filter((d) => d.similarity !== null && Number(d.similarity) === Number(top));
  return tied.some((d) => d.key === key) || tied.length === PROBE_LIMIT;
}

/**
 * Drops every scratch collection and table this run created (present now, absent before the run),
 * then the user-defined types the restore created for them (present now, absent before, described
 * by a drilled table), each with its own timeout signal so that it still runs after an
 * interruption. Returns what is left.
 */
async function cleanup(
  client: DataApiClient,
  scratch: readonly Scratch[],
  existingBefore: ReadonlyMap<string, ReadonlySet<string>>,
  typesBefore: ReadonlyMap<string, ReadonlySet<string>>,
  options: Pick<DrillOptions, "keep" | "onLeft">,
  reports: ReadonlyMap<string, DrillCollectionReport>,
  reporter: Reporter,
): Promise<string[]> {
  const left: string[] = [];
  const pending = new Set([
    ...scratch.map((s) => s.label),
    ...typesToDrop(scratch, typesBefore),
  ]);
  const tell = () => options.onLeft?.([...left, ...pending]);
  const timeout = () => AbortSignal.timeout(CLEANUP_TIMEOUT_MS);
  const byKeyspace = new Map<string, Set<string>>();
  for (const s of scratch) {
    let now = byKeyspace.get(s.keyspace);
    if (!now) {
      try {
        now = await namesIn(client, s.keyspace, timeout());
      } catch (e) {
        reporter.error(
          `could not list ${s.keyspace} to drop the drill's scratch collections: ${
            errorMessage(e)
          }`,
        );
        now = new Set(scratch.filter((x) => x.keyspace === s.keyspace).map((x) => x.name));
      }
      byKeyspace.set(s.keyspace, now);
    }
    const r = reports.get(s.label);
    pending.delete(s.label);
    if (!now.has(s.name) || existingBefore.get(s.keyspace)?.has(s.name)) {
      tell();
      continue;
    }
    if (options.keep) {
      left.push(s.label);
      if (r) r.cleanup = "kept";
      tell();
      continue;
    }
    pending.add(s.label);
    try {
      if (s.entry.kind === "table") await dropTable(client, s.keyspace, s.name, timeout());
      else await deleteCollection(client, s.keyspace, s.name, timeout());
      if (r) r.cleanup = "dropped";
    } catch (e) {
      left.push(s.label);
      if (r) r.cleanup = "failed";
      reporter.error(
        `${s.label}: could not drop the drill's scratch ${s.entry.kind}: ${errorMessage(e)}`,
      );
    }
    pending.delete(s.label);
    tell();
  }
  // Types last: a type cannot be dropped while a table uses it.
  for (const [ks, before] of typesBefore) {
    const ours = new Set(
      scratch.filter((s) => s.keyspace === ks).flatMap((s) => definedTypes(s.entry)),
    );
    let now: Set<string>;
    try {
      now = await typeNames(client, ks, timeout());
    } catch (e) {
      reporter.error(`could not list the types of ${ks} to drop the drill's: ${errorMessage(e)}`);
      for (const t of ours) {
        const label = `${ks}.${t} (type)`;
        if (!before.has(t) && pending.delete(label)) left.push(label);
      }
      continue;
    }
    for (const t of ours) {
      const label = `${ks}.${t} (type)`;
      if (!now.has(t) || before.has(t)) {
        pending.delete(label);
        continue;
      }
      if (options.keep) {
        // Kept with the tables that use them, and named like them.
        left.push(label);
        pending.delete(label);
        tell();
        continue;
      }
      try {
        await client.simple({ keyspace: ks }, {
          dropType: { name: t, options: { ifExists: true } },
        }, {
          signal: timeout(),
        });
      } catch (e) {
        left.push(label);
        reporter.error(`${label}: could not drop the type the drill created: ${errorMessage(e)}`);
      }
      pending.delete(label);
      tell();
    }
  }
  tell();
  return left;
}
