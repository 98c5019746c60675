/**
 * @module
 * `astrabak drill`: proves that a snapshot goes back into the real database and comes out the
 * same. Each selected collection is restored under a scratch name through the one restore code
 * path ({@linkcode runRestore}: verify, plan, prove definitions, write, count), read back in full
 * and compared exactly (multiset digest, digest.ts), vector-probed, and dropped again.
 */

import type { ConnectionConfig, NameRef } from "../config/resolve.ts";
import { nameRefMatches } from "../config/resolve.ts";
import { ConfigError, errorMessage, InterruptedError } from "../errors.ts";
import type { CollectionEntry } from "../manifest/mod.ts";
import type { RawDocument } from "../json/raw_document.ts";
import { keptDocumentBytes } from "../restore/collection.ts";
import type { Rename } from "../restore/plan.ts";
import { selectEntries } from "../restore/plan.ts";
import { runRestore } from "../restore/restore.ts";
import type { RestoreCollectionReport } from "../restore/restore.ts";
import type { Reporter } from "../reporter.ts";
import { readDataFile } from "../snapshot/data_stream.ts";
import { openSnapshot, readManifest, type SnapshotReader } from "../snapshot/reader.ts";
import { deleteCollection, listCollections } from "../source/collections.ts";
import { connect, type ConnectOptions } from "../source/connect.ts";
import type { DataApiClient } from "../source/data_api.ts";
import { readPages } from "../source/pages.ts";
import { documentHash, MultisetDigest, partitionOf } from "./digest.ts";

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
/** Snapshot documents kept in memory per partition of the second pass. */
const PARTITION_DOCUMENTS = 5_000;
/** How long the cleanup may take per drop (its own signal: the run's may be aborted). */
const CLEANUP_TIMEOUT_MS = 30_000;

/** What `drill` is asked to do. */
export interface DrillOptions extends ConnectOptions {
  connection: ConnectionConfig;
  snapshot: string;
  /** Scratch keyspace; null: each collection's own. */
  targetKeyspace: string | null;
  include: readonly NameRef[];
  exclude: readonly NameRef[];
  probes: number;
  minOverlap: number;
  keep: boolean;
  /** As restore's --collection-limit (the scratch collections count against it). */
  collectionLimit?: number;
  /** Short id of this run, part of every scratch name. */
  runId: string;
  signal?: AbortSignal | undefined;
}

/** One difference found by the second pass. */
export interface DrillDifference {
  _id: string;
  kind: "missing" | "extra" | "differs";
  detail: string;
}

/** Vector probe results of one collection. */
export interface ProbeReport {
  probes: number;
  /** "source": the same search on the source collection; "self": top-1 must be the probe. */
  against: "source" | "self";
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
  documents_in_snapshot: number;
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
  collections: DrillCollectionReport[];
  /** Scratch collections left behind (--keep, or a drop that failed). */
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

/**
 * Runs a drill. Throws ConfigError (nothing written) when a scratch name is taken or the
 * selection is empty; an interruption is thrown after the cleanup.
 */
export async function runDrill(options: DrillOptions, reporter: Reporter): Promise<DrillReport> {
  const started = new Date();
  const t0 = performance.now();
  const signal = options.signal;
  let reader: SnapshotReader | undefined = await openSnapshot(options.snapshot);
  let manifestEntries: CollectionEntry[];
  try {
    const manifest = await readManifest(reader);
    manifestEntries = selectEntries(manifest, options.include)
      .filter((c) => !options.exclude.some((r) => nameRefMatches(r, c)));
  } finally {
    await reader.close();
    reader = undefined;
  }
  if (manifestEntries.length === 0) {
    throw new ConfigError(`Cannot drill ${options.snapshot}: the selection leaves nothing`, {
      hint: "check --collections and --exclude; nothing was written",
    });
  }
  const drilled = manifestEntries.filter((c) => c.kind === "collection");
  const names = scratchNames(options.runId, drilled, options.targetKeyspace);
  const scratch = drilled.map((e, i) => ({
    entry: e,
    keyspace: options.targetKeyspace ?? e.keyspace,
    name: names[i]!,
  }));
  const reports: DrillCollectionReport[] = manifestEntries
    .filter((c) => c.kind !== "collection")
    .map((e) => ({
      ...blankReport(e, "-"),
      status: "not drilled" as const,
      reason:
        "tables are not drilled yet (the fake and this drill have no table vector sort or row comparison)",
    }));

  const client = connect(options.connection, options, reporter);
  // Refuse before writing anything if any scratch name exists.
  const keyspaces = [...new Set(scratch.map((s) => s.keyspace))];
  const existingBefore = new Map<string, Set<string>>();
  for (const ks of keyspaces) {
    existingBefore.set(ks, new Set((await listCollections(client, ks, signal)).map((c) => c.name)));
  }
  const taken = scratch.filter((s) => existingBefore.get(s.keyspace)!.has(s.name));
  if (taken.length > 0) {
    throw new ConfigError(
      `Cannot drill: ${
        taken.map((s) => `${s.keyspace}.${s.name}`).join(", ")
      } already exist(s); a drill never writes into a collection it did not create`,
      {
        hint: "nothing was written; drop it if it is a leftover of an earlier drill, or run again",
      },
    );
  }

  let left: string[] = [];
  const byScratch = new Map<string, DrillCollectionReport>();
  try {
    if (scratch.length > 0) {
      reporter.info(
        `Drilling ${options.snapshot}: ${scratch.length} collection(s) into ${
          scratch.map((s) => `${s.keyspace}.${s.name}`).join(", ")
        }`,
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
        ...pickConnect(options),
        signal,
      }, reporter);
      reader = await openSnapshot(options.snapshot);
      const sourceNames = new Map<string, Set<string>>();
      for (const s of scratch) {
        const c0 = performance.now();
        const r = blankReport(s.entry, `${s.keyspace}.${s.name}`);
        byScratch.set(r.scratch, r);
        reports.push(r);
        const restoredOne = restored.collections.find((c) => c.target === r.scratch);
        r.restore_status = restoredOne?.status ?? null;
        r.restore_error = restoredOne?.status === "failed" ? restoredOne.error ?? "failed" : null;
        await compareCollection(s.entry, s.keyspace, s.name, reader, client, r, signal);
        if (r.status === "identical" && hasVectors(s.entry) && options.probes > 0) {
          let names = sourceNames.get(s.entry.keyspace);
          if (!names) {
            names = new Set(
              (await listCollections(client, s.entry.keyspace, signal).catch(() => []))
                .map((c) => c.name),
            );
            sourceNames.set(s.entry.keyspace, names);
          }
          try {
            r.probes = await probeCollection(
              s.entry,
              s.keyspace,
              s.name,
              names.has(s.entry.name),
              options.probes,
              reader,
              client,
              signal,
            );
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
    }
  } finally {
    await reader?.close().catch(() => {});
    left = await cleanup(client, scratch, existingBefore, options.keep, byScratch, reporter);
  }
  const status = reports.every((r) => r.status === "identical" || r.status === "not drilled")
    ? "proven"
    : "failed";
  return {
    snapshot: options.snapshot,
    run_id: options.runId,
    status,
    started: started.toISOString(),
    seconds: round2((performance.now() - t0) / 1000),
    min_overlap: options.minOverlap,
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

function blankReport(e: CollectionEntry, scratch: string): DrillCollectionReport {
  return {
    source: `${e.keyspace}.${e.name}`,
    scratch,
    kind: e.kind,
    status: "failed",
    reason: "",
    documents_in_snapshot: e.document_count ?? 0,
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

function hasVectors(e: CollectionEntry): boolean {
  return (e.definition as { vector?: unknown }).vector !== undefined;
}

const round2 = (x: number) => Math.round(x * 100) / 100;
const decoder = new TextDecoder();

/** The snapshot's documents of `entry`, as the restore sends them, through the one read pipeline. */
async function* snapshotDocuments(
  reader: SnapshotReader,
  entry: CollectionEntry,
  signal: AbortSignal | undefined,
): AsyncGenerator<{ doc: RawDocument; bytes: Uint8Array }> {
  const read = readDataFile(await reader.open(entry.data_file!, signal), entry, { quick: false });
  for await (const page of read.documents!) {
    for (const doc of page) yield { doc, bytes: keptDocumentBytes(entry, doc) };
  }
  await read.figures;
}

/** The server's documents of a scratch collection (unsorted find, `{"*": true}`, paged). */
async function* serverDocuments(
  client: DataApiClient,
  keyspace: string,
  name: string,
  signal: AbortSignal | undefined,
): AsyncGenerator<RawDocument> {
  for await (const page of readPages(client, keyspace, name, { signal })) yield* page;
}

/**
 * Compares the scratch collection with the snapshot exactly: the bytes the server hands back
 * must equal the bytes the restore sent (as insert.ts readBack compares them), as a multiset.
 * On a mismatch, a bounded second pass (partitioned by `_id`) names the first differences.
 */
async function compareCollection(
  entry: CollectionEntry,
  keyspace: string,
  name: string,
  reader: SnapshotReader,
  client: DataApiClient,
  r: DrillCollectionReport,
  signal: AbortSignal | undefined,
): Promise<void> {
  const expected = new MultisetDigest();
  for await (const { bytes } of snapshotDocuments(reader, entry, signal)) expected.add(bytes);
  const got = new MultisetDigest();
  try {
    for await (const doc of serverDocuments(client, keyspace, name, signal)) got.add(doc.bytes);
  } catch (e) {
    if (e instanceof InterruptedError || signal?.aborted) throw e;
    r.status = "failed";
    r.reason = `could not read the scratch collection back: ${errorMessage(e)}`;
    return;
  }
  r.documents_in_snapshot = expected.count;
  r.documents_read_back = got.count;
  r.snapshot_digest = expected.hex;
  r.read_back_digest = got.hex;
  if (expected.equals(got)) {
    r.status = "identical";
    r.reason = `${got.count} documents identical`;
    return;
  }
  r.status = "different";
  r.differences = await findDifferences(
    entry,
    keyspace,
    name,
    reader,
    client,
    expected.count,
    signal,
  );
  r.reason = `${expected.count} documents in the snapshot, ${got.count} read back, contents differ${
    r.differences.length > 0
      ? `; first: ${r.differences.map((d) => `${d._id} ${d.kind}`).join(", ")}`
      : ""
  }`;
}

/**
 * Names up to {@linkcode MAX_NAMED} differences with bounded memory: the `_id`s are split into
 * partitions of about {@linkcode PARTITION_DOCUMENTS} snapshot documents; per partition the
 * snapshot's documents are held, the scratch collection is read once, and what is left over or
 * unmatched is named. Stops at the first partition that names enough.
 */
async function findDifferences(
  entry: CollectionEntry,
  keyspace: string,
  name: string,
  reader: SnapshotReader,
  client: DataApiClient,
  count: number,
  signal: AbortSignal | undefined,
): Promise<DrillDifference[]> {
  const parts = Math.max(1, Math.ceil(count / PARTITION_DOCUMENTS));
  const out: DrillDifference[] = [];
  for (let p = 0; p < parts && out.length < MAX_NAMED; p++) {
    const held = new Map<string, { hash: string; size: number; n: number }>();
    for await (const { doc, bytes } of snapshotDocuments(reader, entry, signal)) {
      const id = doc.id ? decoder.decode(doc.id) : "(no _id)";
      if (partitionOf(id, parts) !== p) continue;
      const had = held.get(id);
      if (had) had.n++;
      else held.set(id, { hash: documentHash(bytes), size: bytes.byteLength, n: 1 });
    }
    for await (const doc of serverDocuments(client, keyspace, name, signal)) {
      const id = doc.id ? decoder.decode(doc.id) : "(no _id)";
      if (partitionOf(id, parts) !== p) continue;
      const want = held.get(id);
      if (!want || want.n === 0) {
        if (out.length < MAX_NAMED) {
          out.push({ _id: id, kind: "extra", detail: "read back, not in the snapshot" });
        }
        continue;
      }
      want.n--;
      if (documentHash(doc.bytes) !== want.hash && out.length < MAX_NAMED) {
        out.push({
          _id: id,
          kind: "differs",
          detail: `stored ${doc.bytes.byteLength} bytes differ from the ${want.size} bytes sent`,
        });
      }
    }
    for (const [id, want] of held) {
      if (want.n > 0 && out.length < MAX_NAMED) {
        out.push({ _id: id, kind: "missing", detail: "in the snapshot, not read back" });
      }
    }
  }
  return out;
}

/**
 * Vector probes: K snapshot documents with a `$vector` (reservoir sample) are searched for
 * (`sort: {"$vector": …}`, limit 10) in the scratch copy and, when it exists here, the source;
 * overlap@10 of the `_id`s. Without a source, each probe must be its own top-1.
 */
async function probeCollection(
  entry: CollectionEntry,
  keyspace: string,
  name: string,
  sourceExists: boolean,
  k: number,
  reader: SnapshotReader,
  client: DataApiClient,
  signal: AbortSignal | undefined,
): Promise<ProbeReport | null> {
  const sample: Array<{ id: string; vector: unknown }> = [];
  let seen = 0;
  for await (const { doc } of snapshotDocuments(reader, entry, signal)) {
    if (!doc.id || !doc.vectors.some((v) => v.field === "$vector" && v.dimension > 0)) continue;
    seen++;
    const slot = seen <= k ? seen - 1 : Math.floor(Math.random() * seen);
    if (slot < k) {
      const parsed = JSON.parse(decoder.decode(doc.bytes)) as { $vector?: unknown };
      sample[slot] = { id: decoder.decode(doc.id), vector: parsed.$vector };
    }
  }
  if (sample.length === 0) return null;
  const search = async (ks: string, coll: string, vector: unknown) => {
    const res = await client.simple(
      { keyspace: ks, collection: coll },
      {
        find: {
          filter: {},
          sort: { $vector: vector },
          projection: { _id: 1 },
          options: { limit: PROBE_LIMIT },
        },
      },
      { signal },
    );
    return (res.documents ?? []).map((d) => d.id ? decoder.decode(d.id) : "");
  };
  const overlaps: number[] = [];
  for (const probe of sample) {
    const mine = await search(keyspace, name, probe.vector);
    if (sourceExists) {
      const theirs = await search(entry.keyspace, entry.name, probe.vector);
      const set = new Set(theirs);
      const common = mine.filter((id) => set.has(id)).length;
      overlaps.push(
        theirs.length === 0 && mine.length === 0
          ? 1
          : common / Math.max(theirs.length, mine.length),
      );
    } else {
      overlaps.push(mine[0] === probe.id ? 1 : 0);
    }
  }
  return {
    probes: overlaps.length,
    against: sourceExists ? "source" : "self",
    overlap_min: round2(Math.min(...overlaps)),
    overlap_mean: round2(overlaps.reduce((a, b) => a + b, 0) / overlaps.length),
  };
}

/**
 * Drops every scratch collection this run created (present now, absent before the run), with
 * its own timeout signal so that it still runs after an interruption. Returns what is left.
 */
async function cleanup(
  client: DataApiClient,
  scratch: ReadonlyArray<{ keyspace: string; name: string }>,
  existingBefore: ReadonlyMap<string, ReadonlySet<string>>,
  keep: boolean,
  reports: ReadonlyMap<string, DrillCollectionReport>,
  reporter: Reporter,
): Promise<string[]> {
  const left: string[] = [];
  const byKeyspace = new Map<string, Set<string>>();
  for (const s of scratch) {
    let now = byKeyspace.get(s.keyspace);
    if (!now) {
      try {
        now = new Set(
          (await listCollections(client, s.keyspace, AbortSignal.timeout(CLEANUP_TIMEOUT_MS)))
            .map((c) => c.name),
        );
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
    const label = `${s.keyspace}.${s.name}`;
    const r = reports.get(label);
    if (!now.has(s.name) || existingBefore.get(s.keyspace)?.has(s.name)) continue;
    if (keep) {
      left.push(label);
      if (r) r.cleanup = "kept";
      continue;
    }
    try {
      await deleteCollection(client, s.keyspace, s.name, AbortSignal.timeout(CLEANUP_TIMEOUT_MS));
      if (r) r.cleanup = "dropped";
    } catch (e) {
      left.push(label);
      if (r) r.cleanup = "failed";
      reporter.error(`${label}: could not drop the drill's scratch collection: ${errorMessage(e)}`);
    }
  }
  return left;
}
