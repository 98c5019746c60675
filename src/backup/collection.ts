/**
 * @module
 * Backing up one collection or table into the in-progress snapshot: the read loop with its
 * restart rule, the vector guard, and the manifest entry that describes the result.
 */

import { ConfigError, errorMessage, SourceError } from "../errors.ts";
import {
  type CollectionEntry,
  dataFileName,
  undescribedTypes,
  unreadableColumns,
  unrestorableReasons,
  vectorFields,
  vectorSpec,
  type VectorStatsEntry,
} from "../manifest/mod.ts";
import type { RawDocument } from "../json/raw_document.ts";
import { type ProgressTask, startTask } from "../progress/progress.ts";
import type { Reporter } from "../reporter.ts";
import type { SnapshotWorkdir } from "../snapshot/workdir.ts";
import { type CollectionInfo, estimatedDocumentCount } from "../source/collections.ts";
import type { DataApiClient } from "../source/data_api.ts";
import { readPages } from "../source/pages.ts";
import type { BackupOptions } from "./backup.ts";
import type { CollectionProgress } from "./checkpoint.ts";
import {
  type DataFileOptions,
  DataFileWriter,
  SegmentMismatchError,
  type SegmentState,
  type WrittenData,
} from "./pipeline.ts";

/** Default checkpoint interval without --checkpoint-every: about this many documents. */
export const DEFAULT_CHECKPOINT_DOCUMENTS = 1000;
/** A checkpoint is taken at least this often (ms), whatever the interval in pages. */
export const MAX_CHECKPOINT_INTERVAL_MS = 30_000;

/** How a collection continues from, and reports to, the checkpoint of its snapshot. */
export interface CollectionHooks {
  /** Continue from this saved progress (`backup --resume`) instead of the first page. */
  resume?: CollectionProgress;
  /** Saves progress after each complete segment; resolves once the checkpoint is durable. */
  checkpoint?: (progress: CollectionProgress) => Promise<void>;
}

/**
 * Streams one collection or table into its data file and describes it. Never throws for a
 * collection-level failure: that becomes a failed entry (with the error, so the caller can tell an
 * authentication failure). Throws for interruption and for disk failures, which end the run.
 */
export async function backupCollection(
  info: CollectionInfo,
  workdir: SnapshotWorkdir,
  client: DataApiClient,
  options: BackupOptions,
  reporter: Reporter,
  hooks: CollectionHooks = {},
): Promise<{ entry: CollectionEntry; error?: unknown; segments?: number }> {
  const label = `${info.keyspace}.${info.name}`;
  const what = info.kind === "table" ? "table" : "collection";
  const signal = options.signal;
  const warnings: string[] = [];
  const maxAttempts = options.collectionAttempts ?? 2;
  const fileName = dataFileName(info.keyspace, info.name, options.compress);
  const path = workdir.file(fileName);
  const vectors = vectorFields(info.kind, info.definition);
  const failed = (error: string, pages: number, attempts: number, e?: unknown) => ({
    entry: failedEntry(info, options.compress, error, warnings, pages, attempts),
    ...(e === undefined ? {} : { error: e }),
  });
  // Tables: estimatedDocumentCount does not exist (UNSUPPORTED_TABLE_COMMAND); the scan is the count.
  const estimate = async (when: string): Promise<number | null> => {
    if (info.kind === "table") return null;
    try {
      return await estimatedDocumentCount(client, info.keyspace, info.name, signal);
    } catch (e) {
      if (signal?.aborted || (e instanceof SourceError && e.kind === "auth")) throw e;
      warnings.push(`estimatedDocumentCount ${when} failed: ${errorMessage(e)}`);
      return null;
    }
  };

  reporter.info(`${label}: starting (${what})`);
  if (info.kind === "table") {
    const unreadable = unreadableColumns(info.definition);
    if (unreadable.length > 0) {
      return failed(
        `columns ${
          unreadable.join(", ")
        } have types the Data API cannot read, so this table cannot be backed up completely through it (use CQL tools such as dsbulk for it)`,
        0,
        0,
      );
    }
    // A type listTypes did not describe cannot be recreated: a snapshot without it would look
    // restorable and then fail on UNKNOWN_USER_DEFINED_TYPE in an empty database.
    const undescribed = undescribedTypes(info.definition);
    if (undescribed.length > 0) {
      return failed(
        `user-defined type${undescribed.length === 1 ? "" : "s"} ${
          undescribed.join(", ")
        } used by its columns ${
          undescribed.length === 1 ? "is" : "are"
        } not described by listTypes, so this table could not be recreated from the snapshot (check the type exists in keyspace ${info.keyspace}, then back up again)`,
        0,
        0,
      );
    }
    for (const why of unrestorableReasons(info.definition)) {
      warnings.push(`${why}; restore of this table through the Data API will refuse it`);
    }
  }
  let before: number | null;
  try {
    before = hooks.resume ? hooks.resume.estimated_document_count_before : await estimate("before");
  } catch (e) {
    if (signal?.aborted) throw e;
    return failed(errorMessage(e), 0, 0, e);
  }

  const resumed = hooks.resume ?? null;
  const fileOptions: DataFileOptions = {
    compress: options.compress,
    compressionLevel: options.compressionLevel,
    stats: { label, requireId: info.kind === "collection", vectorFields: vectors },
  };
  // The last durable checkpoint of this collection: where a restart (this run) or a resume
  // (a later run) continues.
  let saved: { pageState: string | null; data: SegmentState; pages: number } | null = resumed
    ? { pageState: resumed.page_state, data: resumed.data, pages: resumed.pages }
    : null;
  const priorAttempts = resumed?.attempts ?? 0;
  // The saved warnings already hold the ones found above when it started.
  if (resumed) warnings.splice(0, warnings.length, ...resumed.warnings);
  let written: WrittenData | null = null;
  let pages = saved?.pages ?? 0;
  let attempt = 0;
  let lastError: unknown = null;
  let projectionSchema: Record<string, unknown> | null = resumed?.projection_schema ?? null;
  while (attempt < maxAttempts && written === null) {
    attempt++;
    let writer: DataFileWriter | null = null;
    const fromDisk = attempt === 1 && resumed !== null;
    let pagesThisAttempt = 0;
    // Counted towards the estimate fetched above (said to be one); a restart counts from 0.
    const progress = startTask(reporter, label, {
      action: "backup",
      unit: info.kind === "table" ? "rows" : "documents",
      total: before,
      estimate: true,
    });
    try {
      if (saved !== null && saved.data.segments > 0) {
        try {
          writer = await DataFileWriter.resume(path, fileOptions, saved.data);
        } catch (e) {
          if (!(e instanceof SegmentMismatchError)) throw e;
          warnings.push(`${e.message}; the ${what} was read again from the beginning`);
          reporter.warn(`${label}: ${e.message}; reading the ${what} again from the beginning`);
          saved = null;
        }
      }
      if (writer === null) {
        await Deno.remove(path).catch(() => {});
        writer = await DataFileWriter.create(path, fileOptions);
        saved = null;
      }
      pages = saved?.pages ?? 0;
      progress.advance(writer.state.stats.documents, writer.state.uncompressedBytes);
      if (saved !== null) {
        reporter.info(
          `${label}: continuing from its checkpoint (${writer.state.stats.documents} ${
            info.kind === "table" ? "rows" : "documents"
          } kept)`,
        );
      }
      // Segment bookkeeping: set by onPage, read between segments.
      let segPages = 0;
      let segStart = Date.now();
      const maxSegmentMs = options.checkpointMaxMs ?? MAX_CHECKPOINT_INTERVAL_MS;
      let endSegment = false;
      let pageState: string | null = saved?.pageState ?? null;
      // Pages past the last durable checkpoint this run may have requested: the interval
      // (--checkpoint-every, or the pages that make about 1000 documents, from the first page).
      const gate = new CheckpointGate(pages, options.checkpointEvery ?? null);
      const it = countedPages(
        readPages(client, info.keyspace, info.name, {
          signal,
          pageState,
          inspect: { vectorFields: vectors.map((v) => v.field) },
          onPage: (p) => {
            pages++;
            pagesThisAttempt++;
            segPages++;
            pageState = p.nextPageState;
            gate.sawPage(p.documents);
            const schema = p.status?.projectionSchema;
            if (projectionSchema === null && schema && typeof schema === "object") {
              projectionSchema = schema as Record<string, unknown>;
            }
            endSegment = segPages >= gate.segmentPages ||
              Date.now() - segStart >= maxSegmentMs;
          },
          beforeNext: () => gate.mayRequest(pages + 1),
        }),
        progress,
      )[Symbol.asyncIterator]();
      let finished = false;
      // One segment: the pages up to the next checkpoint (the underlying reader stays open).
      const segment = async function* (first: IteratorResult<RawDocument[]>) {
        let r = first;
        for (;;) {
          if (r.done) {
            finished = true;
            return;
          }
          yield r.value;
          if (endSegment) return;
          r = await it.next();
        }
      };
      // The checkpoint of the segment before, still being made durable while the next is read.
      let checkpointed: Promise<void> = Promise.resolve();
      try {
        while (!finished) {
          segPages = 0;
          segStart = Date.now();
          endSegment = false;
          let first: IteratorResult<RawDocument[]>;
          try {
            first = await it.next();
          } catch (e) {
            if (fromDisk && pagesThisAttempt === 0) throw refusedPageState(label, e);
            throw e;
          }
          // Nothing after the last checkpoint: no empty segment (a gzip member of nothing).
          if (first.done && writer.segmentsHanded > 0) break;
          const segmentDone = await writer.writeSegment(segment(first), () => finished);
          if (finished) {
            await segmentDone.written;
            break;
          }
          // Checkpoints are written in order, each once its segment's bytes are written; the
          // reader meanwhile goes on as far as the gate lets it.
          const at = { pageState, pages };
          const previous = checkpointed;
          checkpointed = (async () => {
            const data = await segmentDone.written;
            await previous;
            saved = { pageState: at.pageState, data, pages: at.pages };
            await hooks.checkpoint?.({
              page_state: at.pageState,
              data,
              pages: at.pages,
              attempts: priorAttempts + attempt,
              estimated_document_count_before: before,
              projection_schema: projectionSchema,
              warnings: [...warnings],
            });
            gate.durable(at.pages);
          })();
          checkpointed.catch((e) => gate.fail(e));
        }
        await checkpointed;
      } catch (e) {
        // A checkpoint whose bytes were handed over still becomes durable, so that a restart
        // continues from it.
        await checkpointed.catch(() => {});
        throw e;
      } finally {
        // Stops the reader (and its prefetch) once it is suspended; never waits on a request.
        it.return(undefined).catch(() => {});
      }
      written = await writer.finish();
    } catch (e) {
      lastError = e;
      writer?.abort();
      if (signal?.aborted || isStorageError(e) || e instanceof ConfigError) throw e;
      if (!isRestartable(e) || attempt >= maxAttempts) {
        await Deno.remove(path).catch(() => {});
        break;
      }
      const how = saved === null
        ? "restarted from the beginning"
        : `continued from its last checkpoint (page ${saved.pages})`;
      warnings.push(`attempt ${attempt} failed (${errorMessage(e)}); ${how}`);
      reporter.warn(
        `${label}: ${errorMessage(e)}; the ${what} ${how} (attempt ${attempt + 1}/${maxAttempts})`,
      );
    } finally {
      progress.end();
    }
  }
  if (written === null) {
    return failed(errorMessage(lastError), pages, priorAttempts + attempt, lastError);
  }

  // The vector guard: a backup without vectors must never look complete.
  const documents = written.stats.documents;
  const spec = info.kind === "collection" ? vectorSpec(info.definition) : null;
  for (const v of written.stats.vectors) {
    if (documents === 0 || v.withVector > 0) continue;
    if (info.kind === "table") {
      // Vector columns of tables may legitimately be null.
      warnings.push(`vector column ${v.field} is empty in all ${documents} rows`);
    } else if (spec?.vectorize) {
      warnings.push(
        `no document has a $vector (vectorize collection): restore will need to re-embed from $vectorize`,
      );
    } else {
      await Deno.remove(path).catch(() => {});
      return failed(
        `${documents} documents but none has a $vector although the collection is a vector collection (dimension ${spec?.dimension}); the backup would be vectorless`,
        pages,
        priorAttempts + attempt,
      );
    }
  }
  const after = await estimate("after").catch(() => null);
  reporter.info(
    `${label}: ${documents} ${
      info.kind === "table" ? "rows" : "documents"
    }, ${written.sizeBytes} bytes`,
  );
  for (const w of warnings) reporter.warn(`${label}: ${w}`);
  const stats = written.stats.vectors.map((v) => vectorEntry(v.field, v.expectedDimension, v));
  const entry: CollectionEntry = {
    keyspace: info.keyspace,
    name: info.name,
    kind: info.kind,
    status: "ok",
    definition: info.definition,
    data_file: fileName,
    compressed: options.compress,
    document_count: documents,
    estimated_document_count_before: before,
    estimated_document_count_after: after,
    vector: info.kind === "collection" ? stats[0] ?? null : null,
    ...(info.kind === "table"
      ? { vector_columns: stats, projection_schema: projectionSchema }
      : {}),
    data_sha256: written.sha256,
    data_size_bytes: written.sizeBytes,
    uncompressed_size_bytes: written.uncompressedBytes,
    pages,
    attempts: priorAttempts + attempt,
    warnings,
  };
  return { entry, segments: written.segments };
}

/**
 * How far a collection's reader may run ahead of its last durable checkpoint. A checkpoint is
 * taken every half interval and the reader may request pages up to one interval past the last
 * durable one, so it never waits for a checkpoint to be written (the gzip worker and the reader
 * keep going while the checkpoint's bytes drain and checkpoint.json is written), yet a run killed
 * at any moment has requested at most one interval of pages past its last durable checkpoint.
 */
export class CheckpointGate {
  #durable: number;
  #interval: number | null;
  #waiting: Array<{ page: number; resolve: () => void; reject: (e: unknown) => void }> = [];
  #failure: unknown = null;

  /**
   * `durablePages`: pages already covered by a durable checkpoint (0, or where a resume starts);
   * `interval`: --checkpoint-every, or null for the pages that make about
   * {@linkcode DEFAULT_CHECKPOINT_DOCUMENTS} documents, fixed at the first page.
   */
  constructor(durablePages: number, interval: number | null) {
    this.#durable = durablePages;
    this.#interval = interval;
  }

  /** Fixes the default interval from the first page that holds documents. */
  sawPage(documents: number): void {
    if (this.#interval !== null || documents === 0) return;
    this.#interval = Math.max(1, Math.round(DEFAULT_CHECKPOINT_DOCUMENTS / documents));
  }

  /** Pages in a segment: half an interval (rounded up), so one checkpoint may be in flight. */
  get segmentPages(): number {
    return Math.ceil((this.#interval ?? 1) / 2);
  }

  /** Resolves when page number `page` (counted from the collection's first page) may be requested. */
  mayRequest(page: number): Promise<void> | undefined {
    if (this.#failure !== null) return Promise.reject(this.#failure);
    if (page - this.#durable <= (this.#interval ?? 1)) return undefined;
    return new Promise((resolve, reject) => this.#waiting.push({ page, resolve, reject }));
  }

  /** A checkpoint covering the first `pages` pages is durable. */
  durable(pages: number): void {
    this.#durable = pages;
    const interval = this.#interval ?? 1;
    this.#waiting = this.#waiting.filter((w) => {
      if (w.page - pages > interval) return true;
      w.resolve();
      return false;
    });
  }

  /** A checkpoint failed: the reader stops with that error. */
  fail(e: unknown): void {
    this.#failure = e;
    for (const w of this.#waiting.splice(0)) w.reject(e);
  }
}

/**
 * The server refused the page state a checkpoint saved (the real server answers a page state it
 * cannot decode with UNEXPECTED_SERVER_ERROR or UNEXPECTED_DRIVER_ERROR, not a dedicated code:
 * stargate/data-api service/cqldriver/executor/CqlPagingState.java decodes it with
 * Base64.getDecoder(), and the driver's error for bytes Cassandra rejects is unhandled in
 * DefaultDriverExceptionHandler.java). Only a refusal of that first request counts; a transient
 * failure was already retried.
 */
function refusedPageState(label: string, e: unknown): unknown {
  if (!(e instanceof SourceError) || e.kind !== "command" || e.retriable) return e;
  return new ConfigError(
    `Cannot resume ${label}: the Data API refused the page state saved at its last checkpoint (${
      errorMessage(e)
    })`,
    {
      hint:
        "run astrabak backup without --resume to start a new snapshot (the unfinished one is left for --clean-stale)",
      cause: e,
    },
  );
}

/** Passes pages through, adding each page's documents and bytes to `task`. */
async function* countedPages(
  pages: AsyncIterable<RawDocument[]>,
  task: ProgressTask,
): AsyncGenerator<RawDocument[]> {
  for await (const page of pages) {
    task.advance(page.length, page.reduce((n, d) => n + d.bytes.byteLength, 0));
    yield page;
  }
}

/** Failures of the local disk, which no retry of the Data API can fix. */
export function isStorageError(e: unknown): boolean {
  if (e instanceof Deno.errors.PermissionDenied || e instanceof Deno.errors.NotCapable) return true;
  const code = (e as { code?: unknown })?.code;
  if (typeof code === "string" && ["ENOSPC", "EDQUOT", "EROFS", "EIO", "EFBIG"].includes(code)) {
    return true;
  }
  return e instanceof Error && /os error (28|30|5|27|122)\)/.test(e.message);
}

function isRestartable(e: unknown): boolean {
  return e instanceof SourceError && (e.retriable || e.kind === "protocol") && e.kind !== "auth";
}

/** The manifest entry of a collection that could not be backed up (no data file is kept). */
export function failedEntry(
  info: CollectionInfo,
  compress: boolean,
  error: string,
  warnings: string[],
  pages: number,
  attempts: number,
): CollectionEntry {
  return {
    keyspace: info.keyspace,
    name: info.name,
    kind: info.kind,
    status: "failed",
    error: error.slice(0, 4000),
    definition: info.definition,
    data_file: null,
    compressed: compress,
    document_count: null,
    estimated_document_count_before: null,
    estimated_document_count_after: null,
    vector: null,
    ...(info.kind === "table" ? { vector_columns: [], projection_schema: null } : {}),
    data_sha256: null,
    data_size_bytes: null,
    uncompressed_size_bytes: null,
    pages,
    attempts,
    warnings,
  };
}

function vectorEntry(
  field: string,
  dimension: number | null,
  s: { withVector: number; withoutVector: number; array: number; binary: number },
): VectorStatsEntry {
  return {
    field,
    dimension,
    documents_with_vector: s.withVector,
    documents_without_vector: s.withoutVector,
    representation: { array: s.array, binary: s.binary },
  };
}
