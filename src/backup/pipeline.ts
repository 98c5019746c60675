/**
 * @module
 * The one write pipeline: pages of raw documents → counts and vector checks → JSON Lines →
 * gzip → SHA-256 and size → durable file. Every stage streams, so memory is bounded by a page or
 * two whatever the collection size, and backpressure from the disk slows the reader.
 */

import type { RawDocument } from "../json/raw_document.ts";
import { DigestStream } from "../streams/digest_stream.ts";
import {
  type DocumentStats,
  type DocumentStatsOptions,
  DocumentStatsStream,
} from "../streams/document_stats_stream.ts";
import { fileSink } from "../streams/file_sink.ts";
import { gzipStream } from "../streams/gzip_stream.ts";
import { JsonlEncodeStream } from "../streams/jsonl_encode_stream.ts";

/** What was written for one collection. */
export interface WrittenData {
  stats: DocumentStats;
  /** SHA-256 of the file's bytes. */
  sha256: string;
  /** Size of the file. */
  sizeBytes: number;
  /** Size of the JSON Lines before compression. */
  uncompressedBytes: number;
}

/** Options of {@linkcode writeDocuments}. */
export interface WriteDocumentsOptions {
  compress: boolean;
  /** gzip level (default 6). */
  compressionLevel?: number | undefined;
  stats: DocumentStatsOptions;
}

/**
 * Streams `pages` into `file` (which this function closes, after fsync on success). Rejects with
 * the first error of any stage; the caller then removes the partial file.
 */
export async function writeDocuments(
  pages: AsyncIterable<RawDocument[]>,
  file: Deno.FsFile,
  options: WriteDocumentsOptions,
): Promise<WrittenData> {
  const stats = new DocumentStatsStream(options.stats);
  const jsonl = new JsonlEncodeStream();
  const digest = new DigestStream();
  let bytes = ReadableStream.from(pages).pipeThrough(stats).pipeThrough(jsonl);
  if (options.compress) {
    bytes = bytes.pipeThrough(gzipStream(options.compressionLevel));
  }
  await bytes.pipeThrough(digest).pipeTo(fileSink(file));
  const [s, j, d] = await Promise.all([stats.result, jsonl.result, digest.result]);
  return { stats: s, sha256: d.hex, sizeBytes: d.bytes, uncompressedBytes: j.bytes };
}
