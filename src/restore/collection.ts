/**
 * @module
 * Restoring one collection or table: recreate or reuse it as planned, stream the verified
 * documents back in concurrent batches exactly as stored, then count what is there and account
 * for every document (inserted, already present or overwritten, refused).
 */

import { errorMessage, InterruptedError, VerificationError } from "../errors.ts";
import {
  parseDocumentLine,
  type RawDocument,
  withMemberValues,
  withoutMember,
} from "../json/raw_document.ts";
import {
  type CollectionEntry,
  primaryKeyColumns,
  tableColumns,
  vectorSpec,
} from "../manifest/mod.ts";
import { type ProgressTask, startTask } from "../progress/progress.ts";
import type { Reporter } from "../reporter.ts";
import { dataFileProblems, readDataFile } from "../snapshot/data_stream.ts";
import type { SnapshotReader } from "../snapshot/reader.ts";
import {
  countByScan,
  createCollection,
  deleteCollection,
  estimatedDocumentCount,
} from "../source/collections.ts";
import type { DataApiClient } from "../source/data_api.ts";
import {
  INSERT_MANY_PREFIX_BYTES,
  insertBatch,
  insertManyBody,
  MAX_INSERT_DOCUMENTS,
  readBack,
} from "../source/insert.ts";
import { createIndexesOf, createTableWithoutIndexes, dropTable } from "../source/tables.ts";
import { BatchStream } from "../streams/batch_stream.ts";
import { concurrentSink } from "../streams/concurrent_sink.ts";
import { releaseBuffer } from "../streams/release_buffer.ts";
import { compactDuration } from "./duration.ts";
import type { PlannedCollection } from "./plan.ts";
import {
  DEFAULT_COUNT_SAMPLE,
  DEFAULT_COUNT_SCAN_LIMIT,
  DEFAULT_RESTORE_BATCH_SIZE,
  DEFAULT_RESTORE_CONCURRENCY,
  MAX_BATCH_BYTES,
  MAX_RESTORE_BYTES_IN_FLIGHT,
  type RestoreCollectionReport,
  type RestoreOptions,
  type SampleReadBack,
  type VectorizeMode,
} from "./restore.ts";

/** A report for a planned collection before anything is done. */
export function emptyReport(p: PlannedCollection): RestoreCollectionReport {
  return {
    source: `${p.entry.keyspace}.${p.entry.name}`,
    target: `${p.target.keyspace}.${p.target.name}`,
    kind: p.entry.kind,
    action: p.action,
    status: "planned",
    reason: p.reason,
    documents_in_snapshot: p.entry.document_count ?? 0,
    inserted: 0,
    confirmed_writes: 0,
    already_present: 0,
    overwritten: 0,
    refused: 0,
    refusals: [],
    vectorize_texts_not_restored: 0,
    documents_reembedded: 0,
    definition_changes: [...p.changes],
    lexical_texts_not_restored: 0,
    count_before: null,
    count_after: null,
    count_proof: null,
    count_estimated: false,
    sample: null,
    write_seconds: null,
    existing_before_replace: null,
    ...(p.unchecked ? { unchecked: p.unchecked } : {}),
  };
}

/** Restores one planned collection; failures end up in the report, interruption is thrown. */
export async function restoreCollection(
  p: PlannedCollection,
  reader: SnapshotReader,
  client: DataApiClient,
  options: RestoreOptions,
  reporter: Reporter,
): Promise<RestoreCollectionReport> {
  const r = emptyReport(p);
  if (options.maxDocuments !== undefined) {
    r.documents_in_snapshot = Math.min(r.documents_in_snapshot, options.maxDocuments);
  }
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
  let dropped = false;
  let created = false;
  let indexError: string | undefined;
  let scan = true;
  const sample = new Reservoir<Sampled>(options.sample ?? DEFAULT_COUNT_SAMPLE);
  let progress: ProgressTask = { advance() {}, end() {} };
  try {
    if (p.action === "replace") {
      // The new definition was proven creatable first (capabilities.ts proveDefinitions).
      reporter.info(`${r.target}: dropping the existing ${p.entry.kind} (--if-exists replace)`);
      if (table) await dropTable(client, keyspace, name, signal);
      else await deleteCollection(client, keyspace, name, signal);
      dropped = true;
    }
    if (p.action !== "append" && !p.created) {
      if (table) {
        await createTableWithoutIndexes(client, keyspace, name, p.definition, signal);
        created = true;
        // The table exists now: an index the target refuses must not leave it empty, so the rows
        // are written whatever happens here, and the index failure fails the table afterwards.
        try {
          await createIndexesOf(client, keyspace, name, p.definition, signal);
        } catch (e) {
          if (signal?.aborted) throw e;
          indexError = `the rows were restored, but an index could not be created: ${
            errorMessage(e)
          }`;
          reporter.error(`${r.target}: ${indexError}`);
        }
      } else await createCollection(client, keyspace, name, p.definition, signal);
    }
    created = true;
    scan = await countBefore(p, r, client, keys, options, signal);
    reporter.info(
      `${r.source} → ${r.target}: writing ${r.documents_in_snapshot} ${
        table ? "rows" : "documents"
      } (${p.action})`,
    );

    const writeStarted = performance.now();
    progress = startTask(reporter, r.target, {
      action: "restore",
      unit: table ? "rows" : "documents",
      total: r.documents_in_snapshot,
      estimate: false,
    });
    const spec = vectorSpec(p.entry.definition);
    const lost = {
      vectorize: spec?.vectorize === true && vectorSpec(p.definition)?.vectorize !== true,
      lexical: p.entry.definition.lexical !== undefined && p.definition.lexical === undefined,
    };
    const durations = table ? durationColumns(p.entry.definition) : [];
    const read = readDataFile(await reader.open(p.entry.data_file!, signal), p.entry, {
      quick: false,
      inlineGunzip: true,
      // Key columns are watched too: the sample proof reads rows back by primary key.
      ...(table ? { inspect: { watch: [...durations, ...keys] } } : {}),
      ...(options.maxDocuments === undefined ? {} : { maxDocuments: options.maxDocuments }),
    });
    const batches = read.documents!.pipeThrough(
      new BatchStream(
        Math.min(options.batchSize ?? DEFAULT_RESTORE_BATCH_SIZE, MAX_INSERT_DOCUMENTS),
        MAX_BATCH_BYTES,
      ),
    ).pipeThrough(
      // Owned before they wait for room: a write in flight holds only its own buffer, never the
      // read pipeline's chunks its documents were views into (an async write keeps its argument
      // alive until it ends; at 1536 dimensions that was 151 MB peak instead of 138).
      new TransformStream<RawDocument[], OwnedBatch>({
        transform: (batch, c) => c.enqueue(ownedBatch(batch)),
      }),
    );
    const writeBatch = async (batch: RawDocument[], buffer: Uint8Array): Promise<void> => {
      const bodies = batch.map((d) =>
        table
          ? rowBody(d, durations)
          : documentBody(d, spec?.vectorize === true, options.vectorize, r, lost)
      );
      // Documents sent as read: their buffer is already the request body (ownedBatch).
      const asRead = bodies.every((b, i) => b === batch[i]!.bytes);
      const out = await insertBatch(
        client,
        { keyspace, collection: name },
        batch,
        bodies,
        asRead ? { signal, body: buffer } : { signal },
      );
      confirmed += out.inserted;
      for (const i of out.confirmed) {
        const d = batch[i]!;
        // Copies: the batch's buffer is freed after its write. One copy when the document went
        // as read (200 × 30 KB at 1536 dimensions is 6 MB).
        sample.offer(() => {
          const bytes = d.bytes.slice();
          return {
            doc: { ...d, bytes, id: d.id?.slice() ?? null },
            sent: bodies[i] === d.bytes ? bytes : bodies[i]!.slice(),
            exact: table || !embeds(d, spec, options.vectorize, lost),
          };
        });
      }
      conflicts += out.alreadyExisting;
      ambiguous += out.alreadyExistingAfterRetry;
      r.refused += out.failed.length;
      for (const f of out.failed) if (r.refusals.length < 20) r.refusals.push(f);
      progress.advance(batch.length, bodies.reduce((n, b) => n + b.byteLength, 0));
    };
    await batches.pipeTo(
      concurrentSink(
        {
          concurrency: options.concurrency ?? DEFAULT_RESTORE_CONCURRENCY,
          bytes: MAX_RESTORE_BYTES_IN_FLIGHT,
        },
        (own) => own.buffer.byteLength,
        async (own) => {
          try {
            await writeBatch(own.documents, own.buffer);
          } finally {
            // Nothing reads the batch after its write (the sample and the report hold copies).
            releaseBuffer(own.buffer);
          }
        },
      ),
      signal ? { signal } : {},
    );
    r.write_seconds = Math.round(performance.now() - writeStarted) / 1000;
    // A deliberate partial read (maxDocuments) did not read the file to its end: no figures.
    const changed = read.cut ? [] : dataFileProblems(await read.figures, p.entry);
    if (changed.length > 0) {
      throw new VerificationError(
        `the data file changed since it was verified: ${changed.join("; ")}`,
      );
    }
  } catch (e) {
    if (signal?.aborted) {
      const unit = table ? "rows" : "documents";
      throw new InterruptedError(
        `Restore interrupted while writing ${r.target}: ${confirmed} of its ${r.documents_in_snapshot} ${unit} confirmed written by the server (requests cut off in flight may have written more)`,
        { cause: e },
      );
    }
    r.status = "failed";
    r.error = errorMessage(e);
    if (!created) {
      r.error = dropped
        ? `the existing ${p.entry.kind} was dropped but could not be created again: ${r.error}`
        : `could not be created: ${r.error}`;
      r.not_created = true;
    }
  } finally {
    progress.end();
  }

  // 4. Count what is there now: the only exact answer after retries, conflicts or a failure.
  if (r.not_created) {
    reporter.error(`${r.target}: ${r.error}`);
    return r;
  }
  r.confirmed_writes = confirmed;
  if (scan) await proveByScan(p, r, client, keys, { confirmed, conflicts, ambiguous }, signal);
  else {
    await proveBySample(p, r, client, keys, sample.items, { confirmed, conflicts, ambiguous }, {
      signal,
      reporter,
    });
  }
  if (r.status !== "failed") r.status = r.refused > 0 || indexError ? "failed" : "ok";
  if (indexError && !r.error) r.error = indexError;
  if (r.status === "failed" && !r.error && r.refused > 0) {
    r.error = `${r.refused} ${table ? "row" : "document"}(s) were refused by the server (first: ${
      r.refusals[0]?.errorCode
    }${table ? "" : ` for _id ${r.refusals[0]?.id}`}: ${r.refusals[0]?.message})`;
  }
  const summary = `${r.target}: ${restoreFigures(r)}`;
  if (r.status === "ok") reporter.info(summary);
  else reporter.error(`${summary}: ${r.error}`);
  return r;
}

/** What the server answered for the writes of one collection. */
interface Writes {
  confirmed: number;
  conflicts: number;
  ambiguous: number;
}

/**
 * Counts the target before writing and decides the proof: true to scan after writing. Without
 * append the target starts empty; with append a target above `--count-scan-limit` is not scanned
 * before either (its estimate is taken instead; tables have none), and a scan stops as soon as it
 * passes the limit, so a big target is never read whole.
 */
async function countBefore(
  p: PlannedCollection,
  r: RestoreCollectionReport,
  client: DataApiClient,
  keys: readonly string[],
  options: RestoreOptions,
  signal: AbortSignal | undefined,
): Promise<boolean> {
  const exact = options.count === "exact";
  const limit = options.countScanLimit ?? DEFAULT_COUNT_SCAN_LIMIT;
  const { keyspace, name } = p.target;
  if (p.action !== "append") {
    r.count_before = 0;
    return exact || r.documents_in_snapshot <= limit;
  }
  if (exact) {
    r.count_before = await countByScan(client, keyspace, name, keys, signal);
    return true;
  }
  /** What the target may hold already and still be scanned afterwards. */
  const room = limit - r.documents_in_snapshot;
  let estimate: number | null = null;
  if (p.entry.kind === "collection") {
    try {
      estimate = await estimatedDocumentCount(client, keyspace, name, signal);
    } catch (e) {
      if (signal?.aborted) throw e;
    }
  }
  if (room >= 0 && (estimate === null || estimate <= room)) {
    const n = await countByScan(client, keyspace, name, keys, signal, room);
    if (n <= room) {
      r.count_before = n;
      return true;
    }
  }
  r.count_before = estimate;
  r.count_estimated = estimate !== null;
  return false;
}

/**
 * The exact proof: a full key scan afterwards, compared with the count before and what the server
 * confirmed (the only exact answer after retries, conflicts or a failure).
 */
async function proveByScan(
  p: PlannedCollection,
  r: RestoreCollectionReport,
  client: DataApiClient,
  keys: readonly string[],
  w: Writes,
  signal: AbortSignal | undefined,
): Promise<void> {
  const table = p.entry.kind === "table";
  r.count_proof = "scan";
  try {
    r.count_after = await countByScan(client, p.target.keyspace, p.target.name, keys, signal);
  } catch (e) {
    r.error = [
      r.error,
      `could not count the ${table ? "rows" : "documents"} afterwards: ${errorMessage(e)}`,
    ]
      .filter(Boolean).join("; ");
    r.status = "failed";
  }
  if (r.count_before === null || r.count_after === null) return;
  r.inserted = r.count_after - r.count_before;
  let consistent: boolean;
  if (table) {
    // Table inserts are upserts: a confirmed row either added a key or overwrote one.
    r.overwritten = Math.max(0, w.confirmed - r.inserted);
    consistent = r.inserted <= w.confirmed && (p.action === "append" || r.overwritten === 0);
  } else {
    // Conflicts that were not this restore's own retried writes were there before.
    r.already_present = Math.max(0, w.confirmed + w.conflicts - r.inserted);
    consistent = r.inserted >= w.confirmed && r.inserted <= w.confirmed + w.ambiguous &&
      (p.action === "append" || r.already_present === 0);
  }
  if (r.status !== "failed" && !consistent) {
    r.status = "failed";
    r.error =
      `the ${p.entry.kind} holds ${r.count_after} after restore (${r.count_before} before), but the server confirmed ${w.confirmed} writes${
        table ? "" : ` and reported ${w.conflicts} _ids as existing`
      } (was something else writing to it?)`;
  }
}

/**
 * The proof above `--count-scan-limit`: the server's per-document confirmations, its estimate of
 * the collection's size (tables have none: estimatedDocumentCount answers
 * UNSUPPORTED_TABLE_COMMAND), and a read-back of a random sample of the confirmed documents.
 */
async function proveBySample(
  p: PlannedCollection,
  r: RestoreCollectionReport,
  client: DataApiClient,
  keys: readonly string[],
  sample: readonly Sampled[],
  w: Writes,
  { signal, reporter }: { signal: AbortSignal | undefined; reporter: Reporter },
): Promise<void> {
  const table = p.entry.kind === "table";
  const { keyspace, name } = p.target;
  r.count_proof = "sample";
  if (table) {
    // Upserts: without a count, added and overwritten rows cannot be told apart.
    r.inserted = w.confirmed;
  } else {
    r.count_estimated = true;
    try {
      r.count_after = await estimatedDocumentCount(client, keyspace, name, signal);
    } catch (e) {
      reporter.warn(`${r.target}: estimatedDocumentCount failed: ${errorMessage(e)}`);
    }
    // Identical documents found after an uncertain attempt of ours count as ours.
    r.inserted = w.confirmed + w.ambiguous;
    r.already_present = w.conflicts - w.ambiguous;
    if (p.action !== "append" && r.already_present > 0 && r.status !== "failed") {
      r.status = "failed";
      r.error =
        `${r.already_present} _ids already existed in the new collection (was something else writing to it?)`;
    }
  }
  try {
    r.sample = table
      ? await readBackRows(client, keyspace, name, keys, sample, signal)
      : await readBackDocuments(client, keyspace, name, sample, signal);
  } catch (e) {
    // As a failed count after a scan: the collection failed, the restore goes on.
    r.status = "failed";
    r.error = [r.error, `could not read the sample back: ${errorMessage(e)}`].filter(Boolean)
      .join("; ");
    return;
  }
  const bad = r.sample.checked - r.sample.matched;
  if (bad > 0 && r.status !== "failed") {
    r.status = "failed";
    r.error = `${bad} of ${r.sample.checked} sampled ${
      table ? "rows" : "documents"
    } the server confirmed writing ${
      table ? "are missing" : "are missing or stored differently"
    } (first: ${r.sample.mismatched[0]}): the ${p.entry.kind} does not hold what was written`;
  }
}

/** Sampled collection documents by `_id` (insert.ts readBack), compared byte-for-byte when `exact`. */
async function readBackDocuments(
  client: DataApiClient,
  keyspace: string,
  name: string,
  sample: readonly Sampled[],
  signal: AbortSignal | undefined,
): Promise<SampleReadBack> {
  const got = await readBack(
    client,
    { keyspace, collection: name },
    sample.map((s) => ({ id: s.doc.id, sent: s.sent })),
    signal,
  );
  const mismatched: string[] = [];
  let matched = 0;
  for (const s of sample) {
    const id = s.doc.id ? decoder.decode(s.doc.id) : "(none)";
    if ((s.exact ? got.identical : got.found).has(id)) matched++;
    else if (mismatched.length < 20) mismatched.push(`_id ${id}`);
  }
  return { compared: "bytes", checked: sample.length, matched, mismatched };
}

/**
 * Sampled table rows by their full primary key, one `find` each: present or not (the server
 * answers rows in its own spelling, so the bytes are not compared).
 */
async function readBackRows(
  client: DataApiClient,
  keyspace: string,
  name: string,
  keys: readonly string[],
  sample: readonly Sampled[],
  signal: AbortSignal | undefined,
): Promise<SampleReadBack> {
  const mismatched: string[] = [];
  let matched = 0;
  const projection = keys.map((k) => `${JSON.stringify(k)}:1`).join(",");
  for (const s of sample) {
    const key = keys.map((k) => {
      const m = s.doc.members.find((x) => x.name === k);
      const value = m ? decoder.decode(s.doc.bytes.subarray(m.valueStart, m.valueEnd)) : "null";
      return `${JSON.stringify(k)}:${value}`;
    }).join(",");
    const res = await client.command(
      { keyspace, collection: name },
      "find",
      `{"find":{"filter":{${key}},"projection":{${projection}}}}`,
      { signal },
    );
    if ((res.documents ?? []).length > 0) matched++;
    else if (mismatched.length < 20) mismatched.push(`{${key}}`);
  }
  return { compared: "primary_key", checked: sample.length, matched, mismatched };
}

/** A document kept for the sample: what was sent, and whether the server stores exactly that. */
interface Sampled {
  doc: RawDocument;
  sent: Uint8Array;
  exact: boolean;
}

/**
 * A uniform random sample of at most `size` items from a stream of unknown length, in memory for
 * `size` items only (reservoir sampling, Algorithm R).
 */
class Reservoir<T> {
  readonly items: T[] = [];
  #seen = 0;
  constructor(readonly size: number) {}
  /** Offers the next item; `make` builds it only if it is kept. */
  offer(make: () => T): void {
    this.#seen++;
    if (this.items.length < this.size) this.items.push(make());
    else {
      const j = Math.floor(Math.random() * this.#seen);
      if (j < this.size) this.items[j] = make();
    }
  }
}

/** True when the server embeds the sent document from `$vectorize`, so it stores a `$vector` we did not send. */
function embeds(
  d: RawDocument,
  spec: ReturnType<typeof vectorSpec>,
  mode: VectorizeMode,
  lost: { vectorize: boolean },
): boolean {
  if (spec?.vectorize !== true || lost.vectorize) return false;
  if (!d.members.some((m) => m.name === "$vectorize")) return false;
  return mode === "reembed" || !d.members.some((m) => m.name === "$vector");
}

/** What a collection's restore did, in words (the progress line and the final report). */
export function restoreFigures(r: RestoreCollectionReport): string {
  const table = r.kind === "table";
  const unit = table ? "rows" : "documents";
  if (r.count_proof === "sample") {
    const s = r.sample;
    const read = s
      ? `; ${s.matched} of ${s.checked} sampled ${unit} read back ${
        s.compared === "bytes" ? "identical" : "by primary key"
      }`
      : "";
    return table
      ? `${r.inserted} rows written (confirmed by the server; above --count-scan-limit, not counted), ${r.refused} refused${read}`
      : `${r.inserted} inserted, ${r.already_present} already present, ${r.refused} refused; ${
        r.count_after === null ? "an unknown number of" : `~${r.count_after}`
      } documents in the collection (estimatedDocumentCount; above --count-scan-limit, not counted)${read}`;
  }
  if (r.count_before === null || r.count_after === null) {
    // No count to trust: say what the server confirmed, and that the total is unknown.
    return `${r.confirmed_writes} ${unit} confirmed written, ${r.refused} refused; the ${
      table ? "table" : "collection"
    } could not be counted, so its total is unknown`;
  }
  return table
    ? `${r.inserted} rows added, ${r.overwritten} existing rows overwritten, ${r.refused} refused; ${r.count_after} rows in the table`
    : `${r.inserted} inserted, ${r.already_present} already present, ${r.refused} refused; ${r.count_after} documents in the collection`;
}

/** What a replace drops (or would drop), in words; see {@linkcode ExistingCount}. */
export function describeDropped(r: RestoreCollectionReport): string {
  const unit = r.kind === "table" ? "rows" : "documents";
  const e = r.existing_before_replace;
  if (!e) return `the existing ${r.kind} (its ${unit} could not be counted)`;
  return e.estimated
    ? `the existing ${r.kind} and its ~${e.count} ${unit} (estimatedDocumentCount: an estimate)`
    : `the existing ${r.kind} and its ${e.count} ${unit} (counted)`;
}

/** Top-level `duration` columns of a table (their values may need re-spelling, see duration.ts). */
function durationColumns(definition: Record<string, unknown>): string[] {
  return Object.entries(tableColumns(definition)).filter(([, c]) => c.type === "duration").map((
    [n],
  ) => n);
}

/** The bytes sent for a table row: as stored, except durations the server would not accept back. */
function rowBody(doc: RawDocument, durations: readonly string[]): Uint8Array {
  const respelled = new Map<string, Uint8Array>();
  for (const m of doc.members) {
    if (!durations.includes(m.name)) continue;
    const raw = decoder.decode(doc.bytes.subarray(m.valueStart, m.valueEnd));
    const compact = raw.startsWith('"') ? compactDuration(JSON.parse(raw) as string) : null;
    if (compact !== null) respelled.set(m.name, encoder.encode(JSON.stringify(compact)));
  }
  return withMemberValues(doc, respelled);
}

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/**
 * The bytes a restore with `--vectorize keep-vector` and the snapshot's own definition sends for
 * `doc` of `entry`, which is what the server must hand back: `drill` compares against these
 * (a vectorize collection's `$vectorize` text is not sent, see {@linkcode documentBody}).
 */
export function keptDocumentBytes(entry: CollectionEntry, doc: RawDocument): Uint8Array {
  const counters = {
    lexical_texts_not_restored: 0,
    documents_reembedded: 0,
    vectorize_texts_not_restored: 0,
  };
  return documentBody(
    doc,
    vectorSpec(entry.definition)?.vectorize === true,
    "keep-vector",
    counters,
    { vectorize: false, lexical: false },
  );
}

/**
 * The bytes sent for a document. In a vectorize collection the Data API refuses a document that
 * has both `$vector` and `$vectorize`, so one of them is left out as `--vectorize` says.
 */
function documentBody(
  doc: RawDocument,
  vectorizeCollection: boolean,
  mode: VectorizeMode,
  r: Pick<
    RestoreCollectionReport,
    "lexical_texts_not_restored" | "documents_reembedded" | "vectorize_texts_not_restored"
  >,
  lost: { vectorize: boolean; lexical: boolean },
): Uint8Array {
  let d = doc;
  if (lost.lexical && d.members.some((m) => m.name === "$lexical")) {
    // --adapt-definitions left lexical out: the server refuses $lexical in such a collection.
    d = parseDocumentLine(withoutMember(d, "$lexical"));
    r.lexical_texts_not_restored++;
  }
  if (!vectorizeCollection) return d.bytes;
  const hasVector = d.members.some((m) => m.name === "$vector");
  const hasText = d.members.some((m) => m.name === "$vectorize");
  if (!hasText) return d.bytes;
  if (mode === "reembed" && !lost.vectorize) {
    r.documents_reembedded++;
    return hasVector ? withoutMember(d, "$vector") : d.bytes;
  }
  if (!hasVector && !lost.vectorize) return d.bytes;
  r.vectorize_texts_not_restored++;
  return withoutMember(d, "$vectorize");
}

/** A batch's documents as views into one buffer of their own, laid out as its insertMany body. */
interface OwnedBatch {
  documents: RawDocument[];
  buffer: Uint8Array;
}

/**
 * The documents of a batch copied into one buffer of their own. Read documents are views into the
 * read pipeline's chunks, which a batch would otherwise keep alive while its request waits for
 * the network, long enough for V8 to move them to the old generation, where they are freed only at
 * the next full collection; an own buffer lets the chunks die young and is freed (releaseBuffer)
 * as soon as the batch is written (docs/BENCHMARKS.md, "Where the memory goes"). The buffer is
 * laid out as the batch's insertMany body, so that documents sent as read need no second copy.
 */
function ownedBatch(batch: readonly RawDocument[]): OwnedBatch {
  const buffer = insertManyBody(batch.map((d) => d.bytes));
  let at = INSERT_MANY_PREFIX_BYTES;
  const documents = batch.map((d) => {
    const bytes = buffer.subarray(at, at + d.bytes.byteLength);
    let id: Uint8Array | null = null;
    if (d.id) {
      const offset = d.id.buffer === d.bytes.buffer ? d.id.byteOffset - d.bytes.byteOffset : -1;
      id = offset >= 0 && offset + d.id.byteLength <= d.bytes.byteLength
        ? bytes.subarray(offset, offset + d.id.byteLength)
        : d.id.slice();
    }
    at += d.bytes.byteLength + 1;
    return { ...d, bytes, id };
  });
  return { documents, buffer };
}
