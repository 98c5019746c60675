/**
 * @module
 * Backing up one collection or table into the in-progress snapshot: the read loop with its
 * restart rule, the vector guard, and the manifest entry that describes the result.
 */

import { errorMessage, SourceError } from "../errors.ts";
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
import { writeDocuments, type WrittenData } from "./pipeline.ts";

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
): Promise<{ entry: CollectionEntry; error?: unknown }> {
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
    before = await estimate("before");
  } catch (e) {
    if (signal?.aborted) throw e;
    return failed(errorMessage(e), 0, 0, e);
  }

  let written: WrittenData | null = null;
  let pages = 0;
  let attempt = 0;
  let lastError: unknown = null;
  let projectionSchema: Record<string, unknown> | null = null;
  while (attempt < maxAttempts && written === null) {
    attempt++;
    pages = 0;
    const file = await Deno.open(path, { write: true, createNew: true, mode: 0o600 });
    // Counted towards the estimate fetched above (said to be one); a restart counts from 0.
    const progress = startTask(reporter, label, {
      action: "backup",
      unit: info.kind === "table" ? "rows" : "documents",
      total: before,
      estimate: true,
    });
    try {
      written = await writeDocuments(
        countedPages(
          readPages(client, info.keyspace, info.name, {
            signal,
            inspect: { vectorFields: vectors.map((v) => v.field) },
            onPage: (p) => {
              pages++;
              const schema = p.status?.projectionSchema;
              if (projectionSchema === null && schema && typeof schema === "object") {
                projectionSchema = schema as Record<string, unknown>;
              }
            },
          }),
          progress,
        ),
        file,
        {
          compress: options.compress,
          compressionLevel: options.compressionLevel,
          stats: { label, requireId: info.kind === "collection", vectorFields: vectors },
        },
      );
    } catch (e) {
      lastError = e;
      await Deno.remove(path).catch(() => {});
      if (signal?.aborted || isStorageError(e)) throw e;
      if (!isRestartable(e) || attempt >= maxAttempts) break;
      warnings.push(`attempt ${attempt} failed (${errorMessage(e)}); restarted from the beginning`);
      reporter.warn(
        `${label}: ${errorMessage(e)}; restarting the ${what} from the beginning (attempt ${
          attempt + 1
        }/${maxAttempts})`,
      );
    } finally {
      progress.end();
    }
  }
  if (written === null) return failed(errorMessage(lastError), pages, attempt, lastError);

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
        attempt,
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
    attempts: attempt,
    warnings,
  };
  return { entry };
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
