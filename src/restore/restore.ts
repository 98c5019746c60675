/**
 * @module
 * `astrabak restore` as a library call: verify the whole snapshot first (nothing is written if
 * anything fails), plan every collection, then per collection recreate the definition and stream
 * the documents back in concurrent unordered `insertMany` batches, exactly as stored, and finally
 * count the result by a full `_id` scan. The report says, per collection, what was written and
 * what was not.
 */

import { errorMessage, InterruptedError, VerificationError } from "../errors.ts";
import type { ConnectionConfig } from "../config/resolve.ts";
import {
  parseDocumentLine,
  type RawDocument,
  withMemberValue,
  withoutMember,
} from "../json/raw_document.ts";
import {
  type EntryKind,
  type Manifest,
  primaryKeyColumns,
  tableColumns,
  vectorSpec,
} from "../manifest/mod.ts";
import type { Reporter } from "../reporter.ts";
import { dataFileProblems, readDataFile } from "../snapshot/data_stream.ts";
import { openSnapshot, type SnapshotReader } from "../snapshot/reader.ts";
import {
  type CollectionInfo,
  countByScan,
  createCollection,
  deleteCollection,
  listCollections,
} from "../source/collections.ts";
import { connect, type ConnectOptions } from "../source/connect.ts";
import type { DataApiClient } from "../source/data_api.ts";
import { createTableFromDefinition, dropTable, listTables } from "../source/tables.ts";
import { compactDuration } from "./duration.ts";
import { insertBatch, type InsertFailure, MAX_INSERT_DOCUMENTS } from "../source/insert.ts";
import { BatchStream } from "../streams/batch_stream.ts";
import { verifyReader, type VerifyReport } from "../verify/verify.ts";
import { type IfExists, type PlannedCollection, planRestore, type RestoreAction } from "./plan.ts";

/** How restore treats documents of vectorize collections that carry both `$vector` and `$vectorize`. */
export type VectorizeMode = "keep-vector" | "reembed";

/** Everything a restore needs, resolved. */
export interface RestoreOptions extends ConnectOptions {
  connection: ConnectionConfig;
  /** Snapshot directory or zip (already resolved from `latest`). */
  snapshot: string;
  targetKeyspace: string | null;
  include: readonly string[];
  renames: ReadonlyMap<string, string>;
  ifExists: IfExists;
  dryRun: boolean;
  force: boolean;
  vectorize: VectorizeMode;
  /** insertMany requests in flight per collection (default 8). */
  concurrency?: number;
  /** Documents per insertMany (≤ 100; default 50, as astra-db-ts). */
  batchSize?: number;
  /** Bytes of documents per insertMany (default 4 MB; the server refuses bodies over 20 MB). */
  maxBatchBytes?: number;
  signal?: AbortSignal | undefined;
}

/** Outcome for one collection. */
export interface RestoreCollectionReport {
  source: string;
  target: string;
  kind: EntryKind;
  action: RestoreAction;
  status: "ok" | "failed" | "skipped" | "planned";
  reason: string;
  documents_in_snapshot: number;
  /** Documents this restore added to the target (from the count before and after). */
  inserted: number;
  /** Collections: snapshot documents whose `_id` already existed in the target (not overwritten). */
  already_present: number;
  /** Tables: rows whose primary key already existed; table inserts are upserts, so they were overwritten. */
  overwritten: number;
  /** Documents the server refused for another reason. */
  refused: number;
  /** First refusals, for diagnosis. */
  refusals: InsertFailure[];
  /** keep-vector: `$vectorize` texts left out (the server refuses them next to `$vector`). */
  vectorize_texts_not_restored: number;
  /** reembed: documents sent with `$vectorize` only, for the server to embed again. */
  documents_reembedded: number;
  count_before: number | null;
  count_after: number | null;
  error?: string;
}

/** Result of a restore. */
export interface RestoreReport {
  snapshot: string;
  status: "ok" | "failed" | "dry-run";
  verification: VerifyReport;
  collections: RestoreCollectionReport[];
  /** What to do next when a collection failed. */
  hint?: string;
}

/** Verifies, plans and restores. Throws VerificationError/ConfigError before any write. */
export async function runRestore(
  options: RestoreOptions,
  reporter: Reporter,
): Promise<RestoreReport> {
  const signal = options.signal;
  let reader: SnapshotReader;
  try {
    reader = await openSnapshot(options.snapshot);
  } catch (e) {
    if (e instanceof VerificationError) {
      throw new VerificationError(`Refusing to restore: ${e.message}`, { cause: e });
    }
    throw e;
  }
  try {
    // 1. Verify everything before the first write.
    reporter.info(`Verifying ${options.snapshot} before restoring`);
    const { report: verification, manifest } = await verifyReader(
      reader,
      { quick: false, signal },
      reporter,
    );
    if (!manifest) {
      throw new VerificationError(`Refusing to restore: ${verification.problems.join("; ")}`);
    }
    checkVerification(verification, manifest, options.force);

    // 2. Plan against what the target holds.
    const client = connect(options.connection, options, reporter);
    const keyspaces = new Set(
      manifest.collections.map((c) => options.targetKeyspace ?? c.keyspace),
    );
    const existing = new Map<string, CollectionInfo>();
    const hasTables = manifest.collections.some((c) => c.kind === "table");
    for (const ks of keyspaces) {
      const found = [
        ...await listCollections(client, ks, signal),
        ...(hasTables ? await listTables(client, ks, signal) : []),
      ];
      for (const c of found) existing.set(`${ks}.${c.name}`, c);
    }
    const plan = planRestore({
      manifest,
      include: options.include,
      renames: options.renames,
      targetKeyspace: options.targetKeyspace,
      ifExists: options.ifExists,
      force: options.force,
      existing,
    });

    if (options.dryRun) {
      return {
        snapshot: options.snapshot,
        status: "dry-run",
        verification,
        collections: plan.map((p) => ({
          ...emptyReport(p),
          status: p.action === "skip" ? "skipped" : "planned",
        })),
      };
    }

    // 3. Restore, collection by collection.
    const collections: RestoreCollectionReport[] = [];
    for (const p of plan) {
      collections.push(await restoreCollection(p, reader, client, options, reporter));
    }
    const ok = collections.every((c) => c.status === "ok" || c.status === "skipped");
    return {
      snapshot: options.snapshot,
      status: ok ? "ok" : "failed",
      verification,
      collections,
      ...(ok ? {} : {
        hint:
          "fix the cause, then re-run the same restore with --if-exists append to finish it: existing _ids are counted, not duplicated",
      }),
    };
  } finally {
    await reader.close();
  }
}

function checkVerification(v: VerifyReport, m: Manifest, force: boolean): void {
  if (v.status === "ok") return;
  const onlyIncomplete = m.status === "incomplete" && v.totals.collections_failed === 0 &&
    v.problems.length === 1;
  if (onlyIncomplete && force) return;
  if (onlyIncomplete) {
    throw new VerificationError(`Refusing to restore an INCOMPLETE snapshot: ${v.problems[0]}`, {
      hint: "add --force to restore the collections that were backed up",
    });
  }
  const why = [
    ...v.problems,
    ...v.collections.flatMap((c) => c.problems.map((p) => `${c.keyspace}.${c.name}: ${p}`)),
  ];
  throw new VerificationError(
    `Refusing to restore: the snapshot failed verification: ${why.join("; ")}`,
    {
      hint: "nothing was written; run astrabak verify on it for details",
    },
  );
}

function emptyReport(p: PlannedCollection): RestoreCollectionReport {
  return {
    source: `${p.entry.keyspace}.${p.entry.name}`,
    target: `${p.target.keyspace}.${p.target.name}`,
    kind: p.entry.kind,
    action: p.action,
    status: "planned",
    reason: p.reason,
    documents_in_snapshot: p.entry.document_count ?? 0,
    inserted: 0,
    already_present: 0,
    overwritten: 0,
    refused: 0,
    refusals: [],
    vectorize_texts_not_restored: 0,
    documents_reembedded: 0,
    count_before: null,
    count_after: null,
  };
}

async function restoreCollection(
  p: PlannedCollection,
  reader: SnapshotReader,
  client: DataApiClient,
  options: RestoreOptions,
  reporter: Reporter,
): Promise<RestoreCollectionReport> {
  const r = emptyReport(p);
  if (p.action === "skip") {
    reporter.info(`${r.target}: exists, skipped`);
    return { ...r, status: "skipped" };
  }
  if (p.refusal) {
    reporter.error(`${r.target}: not restored: ${p.refusal}`);
    return {
      ...r,
      status: "failed",
      error: `cannot be restored through the Data API: ${p.refusal}`,
    };
  }
  const { keyspace, name } = p.target;
  const table = p.entry.kind === "table";
  const keys = table ? primaryKeyColumns(p.entry.definition) : ["_id"];
  const signal = options.signal;
  let confirmed = 0;
  let conflicts = 0;
  let ambiguous = 0;
  try {
    if (p.action === "replace") {
      reporter.info(`${r.target}: dropping the existing ${p.entry.kind} (--if-exists replace)`);
      if (table) await dropTable(client, keyspace, name, signal);
      else await deleteCollection(client, keyspace, name, signal);
    }
    if (p.action !== "append") {
      if (table) {
        await createTableFromDefinition(client, keyspace, name, p.entry.definition, signal);
      } else await createCollection(client, keyspace, name, p.entry.definition, signal);
    }
    r.count_before = p.action === "append"
      ? await countByScan(client, keyspace, name, keys, signal)
      : 0;
    reporter.info(
      `${r.source} → ${r.target}: writing ${r.documents_in_snapshot} ${
        table ? "rows" : "documents"
      } (${p.action})`,
    );

    const spec = vectorSpec(p.entry.definition);
    const durations = table ? durationColumns(p.entry.definition) : [];
    const read = readDataFile(await reader.open(p.entry.data_file!, signal), p.entry, {
      quick: false,
      ...(table ? { inspect: { watch: durations } } : {}),
    });
    const batches = read.documents!.pipeThrough(
      new BatchStream(
        Math.min(options.batchSize ?? 50, MAX_INSERT_DOCUMENTS),
        options.maxBatchBytes ?? 4_000_000,
      ),
    );
    await batches.pipeTo(
      concurrentSink(options.concurrency ?? 8, async (batch) => {
        const bodies = batch.map((d) =>
          table
            ? rowBody(d, durations)
            : documentBody(d, spec?.vectorize === true, options.vectorize, r)
        );
        const out = await insertBatch(client, { keyspace, collection: name }, batch, bodies, {
          signal,
        });
        confirmed += out.inserted;
        conflicts += out.alreadyExisting;
        ambiguous += out.alreadyExistingAfterRetry;
        r.refused += out.failed.length;
        for (const f of out.failed) if (r.refusals.length < 20) r.refusals.push(f);
      }),
      signal ? { signal } : {},
    );
    const changed = dataFileProblems(await read.figures, p.entry);
    if (changed.length > 0) {
      throw new VerificationError(
        `the data file changed since it was verified: ${changed.join("; ")}`,
      );
    }
  } catch (e) {
    if (signal?.aborted) {
      throw new InterruptedError(
        `Restore interrupted while writing ${r.target}; re-run with --if-exists append to finish it`,
        { cause: e },
      );
    }
    r.status = "failed";
    r.error = errorMessage(e);
  }

  // 4. Count what is there now: the only exact answer after retries, conflicts or a failure.
  try {
    r.count_after = await countByScan(client, keyspace, name, keys, signal);
  } catch (e) {
    r.error = [
      r.error,
      `could not count the ${table ? "rows" : "documents"} afterwards: ${errorMessage(e)}`,
    ]
      .filter(Boolean).join("; ");
    r.status = "failed";
  }
  if (r.count_before !== null && r.count_after !== null) {
    r.inserted = r.count_after - r.count_before;
    let consistent: boolean;
    if (table) {
      // Table inserts are upserts: a confirmed row either added a key or overwrote one.
      r.overwritten = Math.max(0, confirmed - r.inserted);
      consistent = r.inserted <= confirmed && (p.action === "append" || r.overwritten === 0);
    } else {
      // Conflicts that were not this restore's own retried writes were there before.
      r.already_present = Math.max(0, confirmed + conflicts - r.inserted);
      consistent = r.inserted >= confirmed && r.inserted <= confirmed + ambiguous &&
        (p.action === "append" || r.already_present === 0);
    }
    if (r.status !== "failed" && !consistent) {
      r.status = "failed";
      r.error =
        `the ${p.entry.kind} holds ${r.count_after} after restore (${r.count_before} before), but the server confirmed ${confirmed} writes${
          table ? "" : ` and reported ${conflicts} _ids as existing`
        } (was something else writing to it?)`;
    }
  }
  if (r.status !== "failed") r.status = r.refused > 0 ? "failed" : "ok";
  if (r.status === "failed" && !r.error && r.refused > 0) {
    r.error = `${r.refused} ${table ? "row" : "document"}(s) were refused by the server (first: ${
      r.refusals[0]?.errorCode
    }${table ? "" : ` for _id ${r.refusals[0]?.id}`}: ${r.refusals[0]?.message})`;
  }
  const summary = table
    ? `${r.target}: ${r.inserted} rows added, ${r.overwritten} existing rows overwritten, ${r.refused} refused, ${
      r.count_after ?? "?"
    } in the table now`
    : `${r.target}: ${r.inserted} inserted, ${r.already_present} already present, ${r.refused} refused, ${
      r.count_after ?? "?"
    } in the collection now`;
  if (r.status === "ok") reporter.info(summary);
  else reporter.error(`${summary}: ${r.error}`);
  return r;
}

/** Top-level `duration` columns of a table (their values may need re-spelling, see duration.ts). */
function durationColumns(definition: Record<string, unknown>): string[] {
  return Object.entries(tableColumns(definition)).filter(([, c]) => c.type === "duration").map((
    [n],
  ) => n);
}

/** The bytes sent for a table row: as stored, except durations the server would not accept back. */
function rowBody(doc: RawDocument, durations: readonly string[]): Uint8Array {
  let bytes = doc.bytes;
  let current = doc;
  for (const col of durations) {
    const m = current.members.find((x) => x.name === col);
    if (!m) continue;
    const raw = decoder.decode(current.bytes.subarray(m.valueStart, m.valueEnd));
    const compact = raw.startsWith('"') ? compactDuration(JSON.parse(raw) as string) : null;
    if (compact === null) continue;
    bytes = withMemberValue(current, col, encoder.encode(JSON.stringify(compact)));
    current = parseDocumentLine(bytes, { vectorFields: [], watch: durations });
  }
  return bytes;
}

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/**
 * The bytes sent for a document. In a vectorize collection the Data API refuses a document that
 * has both `$vector` and `$vectorize`, so one of them is left out as `--vectorize` says.
 */
function documentBody(
  doc: RawDocument,
  vectorizeCollection: boolean,
  mode: VectorizeMode,
  r: RestoreCollectionReport,
): Uint8Array {
  if (!vectorizeCollection) return doc.bytes;
  const hasVector = doc.members.some((m) => m.name === "$vector");
  const hasText = doc.members.some((m) => m.name === "$vectorize");
  if (!hasText) return doc.bytes;
  if (mode === "reembed") {
    r.documents_reembedded++;
    return hasVector ? withoutMember(doc, "$vector") : doc.bytes;
  }
  if (!hasVector) return doc.bytes;
  r.vectorize_texts_not_restored++;
  return withoutMember(doc, "$vectorize");
}

/**
 * A sink that runs `write` for up to `concurrency` batches at once, applying backpressure
 * beyond that, and fails (stopping the source) at the first batch that fails for good.
 */
function concurrentSink<T>(
  concurrency: number,
  write: (item: T) => Promise<void>,
): WritableStream<T> {
  const inflight = new Set<Promise<void>>();
  let failure: { error: unknown } | null = null;
  return new WritableStream<T>({
    async write(item) {
      while (inflight.size >= concurrency && !failure) await Promise.race(inflight);
      if (failure) throw failure.error;
      const p: Promise<void> = write(item).catch((e) => {
        failure ??= { error: e };
      }).finally(() => inflight.delete(p));
      inflight.add(p);
    },
    async close() {
      await Promise.all(inflight);
      if (failure) throw failure.error;
    },
    async abort() {
      await Promise.all(inflight);
    },
  });
}
