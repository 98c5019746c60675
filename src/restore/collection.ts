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
import { primaryKeyColumns, tableColumns, vectorSpec } from "../manifest/mod.ts";
import { type ProgressTask, startTask } from "../progress/progress.ts";
import type { Reporter } from "../reporter.ts";
import { dataFileProblems, readDataFile } from "../snapshot/data_stream.ts";
import type { SnapshotReader } from "../snapshot/reader.ts";
import { countByScan, createCollection, deleteCollection } from "../source/collections.ts";
import type { DataApiClient } from "../source/data_api.ts";
import { insertBatch, MAX_INSERT_DOCUMENTS } from "../source/insert.ts";
import { createTableFromDefinition, dropTable } from "../source/tables.ts";
import { BatchStream } from "../streams/batch_stream.ts";
import { concurrentSink } from "../streams/concurrent_sink.ts";
import { compactDuration } from "./duration.ts";
import type { PlannedCollection } from "./plan.ts";
import {
  DEFAULT_RESTORE_BATCH_SIZE,
  DEFAULT_RESTORE_CONCURRENCY,
  MAX_BATCH_BYTES,
  MAX_RESTORE_BYTES_IN_FLIGHT,
  type RestoreCollectionReport,
  type RestoreOptions,
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
        await createTableFromDefinition(client, keyspace, name, p.definition, signal);
      } else await createCollection(client, keyspace, name, p.definition, signal);
    }
    created = true;
    r.count_before = p.action === "append"
      ? await countByScan(client, keyspace, name, keys, signal)
      : 0;
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
      ...(table ? { inspect: { watch: durations } } : {}),
    });
    const batches = read.documents!.pipeThrough(
      new BatchStream(
        Math.min(options.batchSize ?? DEFAULT_RESTORE_BATCH_SIZE, MAX_INSERT_DOCUMENTS),
        MAX_BATCH_BYTES,
      ),
    );
    await batches.pipeTo(
      concurrentSink(
        {
          concurrency: options.concurrency ?? DEFAULT_RESTORE_CONCURRENCY,
          bytes: MAX_RESTORE_BYTES_IN_FLIGHT,
        },
        (batch) => batch.reduce((n, d) => n + d.bytes.byteLength, 0),
        async (batch) => {
          const bodies = batch.map((d) =>
            table
              ? rowBody(d, durations)
              : documentBody(d, spec?.vectorize === true, options.vectorize, r, lost)
          );
          const out = await insertBatch(client, { keyspace, collection: name }, batch, bodies, {
            signal,
          });
          confirmed += out.inserted;
          conflicts += out.alreadyExisting;
          ambiguous += out.alreadyExistingAfterRetry;
          r.refused += out.failed.length;
          for (const f of out.failed) if (r.refusals.length < 20) r.refusals.push(f);
          progress.advance(batch.length, bodies.reduce((n, b) => n + b.byteLength, 0));
        },
      ),
      signal ? { signal } : {},
    );
    r.write_seconds = Math.round(performance.now() - writeStarted) / 1000;
    const changed = dataFileProblems(await read.figures, p.entry);
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
  r.confirmed_writes = confirmed;
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
  const summary = `${r.target}: ${restoreFigures(r)}`;
  if (r.status === "ok") reporter.info(summary);
  else reporter.error(`${summary}: ${r.error}`);
  return r;
}

/** What a collection's restore did, in words (the progress line and the final report). */
export function restoreFigures(r: RestoreCollectionReport): string {
  const table = r.kind === "table";
  const unit = table ? "rows" : "documents";
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
 * The bytes sent for a document. In a vectorize collection the Data API refuses a document that
 * has both `$vector` and `$vectorize`, so one of them is left out as `--vectorize` says.
 */
function documentBody(
  doc: RawDocument,
  vectorizeCollection: boolean,
  mode: VectorizeMode,
  r: RestoreCollectionReport,
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
