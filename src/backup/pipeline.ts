/**
 * @module
 * The one write pipeline: pages of raw documents → counts and vector checks → JSON Lines →
 * gzip → SHA-256 and size → durable file. Every stage streams, so memory is bounded by a page or
 * two whatever the collection size, and backpressure from the disk slows the reader.
 *
 * A data file is written in segments, one per checkpoint: each segment is one gzip member (a
 * multi-member gzip file is valid gzip and gunzips to the concatenation, RFC 1952 §2.2), ends
 * written (not fsynced: docs/FORMAT.md "Why segments are not fsynced"; resume checks the prefix's
 * hash), and leaves a state that a checkpoint can record. The next segment is written while the
 * one before drains, so checkpoints never stop the gzip worker. Resuming cuts the file back to the
 * end of the last recorded segment and appends from there, so no document is written twice.
 */

import { createHash, type Hash } from "node:crypto";
import type { RawDocument } from "../json/raw_document.ts";
import {
  type DocumentStats,
  type DocumentStatsOptions,
  DocumentStatsStream,
  emptyVectorStats,
} from "../streams/document_stats_stream.ts";
import { gzipStream } from "../streams/gzip_stream.ts";
import { GZIP_MEMBER_END } from "../streams/zlib_worker_stream.ts";
import { JsonlEncodeStream } from "../streams/jsonl_encode_stream.ts";
import { releaseBuffer } from "../streams/release_buffer.ts";

/** What was written for one collection. */
export interface WrittenData {
  stats: DocumentStats;
  /** SHA-256 of the file's bytes. */
  sha256: string;
  /** Size of the file. */
  sizeBytes: number;
  /** Size of the JSON Lines before compression. */
  uncompressedBytes: number;
  /** Segments (gzip members when compressed) the file holds. */
  segments: number;
}

/**
 * Where a data file stood at the end of its last complete segment: everything a checkpoint needs
 * to continue it without reading the database again. JSON-serialisable.
 */
export interface SegmentState {
  stats: DocumentStats;
  /** Length of the file (the offset the next segment starts at). */
  sizeBytes: number;
  uncompressedBytes: number;
  segments: number;
  /**
   * SHA-256 of the file's first `sizeBytes` bytes. A running hash's internal state cannot be
   * saved portably, so a resume re-hashes that prefix from disk (our own file, not the
   * database) and checks it against this value before appending.
   */
  sha256: string;
}

/** Options of {@linkcode DataFileWriter}. */
export interface DataFileOptions {
  compress: boolean;
  /** gzip level (default 6). */
  compressionLevel?: number | undefined;
  stats: DocumentStatsOptions;
}

/** The partial data file does not match its checkpoint (shorter, or other bytes). */
export class SegmentMismatchError extends Error {
  override readonly name: string = "SegmentMismatchError";
}

/** The state of a data file with nothing written yet. */
export function emptySegmentState(options: DataFileOptions): SegmentState {
  return {
    stats: {
      documents: 0,
      vectors: emptyVectorStats(options.stats.vectorFields),
    },
    sizeBytes: 0,
    uncompressedBytes: 0,
    segments: 0,
    sha256: createHash("sha256").digest("hex"),
  };
}

/**
 * Writes one collection's data file segment by segment (see the module doc). The file is created
 * 0600; the caller removes it on failure. One gzip stage (one worker stream) serves every
 * segment: a segment ends with {@linkcode GZIP_MEMBER_END}, so members are cut without stopping
 * and restarting the compression thread.
 */
export class DataFileWriter {
  readonly #file: Deno.FsFile;
  readonly #options: DataFileOptions;
  readonly #hash: Hash;
  #state: SegmentState;
  /** Where segments are written: the gzip stage, or the sink itself when not compressed. */
  readonly #input: WritableStream<Uint8Array>;
  /** Settles when the sink has closed (or failed). */
  readonly #drained: Promise<void>;
  /** Bytes the sink has written and hashed so far. */
  #written: number;
  /** Resolved by the sink when a member boundary is written: the file's length and hash there. */
  #boundary: Array<{
    resolve: (at: { sizeBytes: number; sha256: string }) => void;
    reject: (e: unknown) => void;
  }> = [];
  /** The state at the end of the last segment handed over (its length and hash not yet known). */
  #handed: SegmentState;
  /** The last segment closed the stream (and the sink fsynced the file). */
  #lastSegment = false;
  #closed = false;

  private constructor(
    file: Deno.FsFile,
    options: DataFileOptions,
    hash: Hash,
    state: SegmentState,
  ) {
    this.#file = file;
    this.#options = options;
    this.#hash = hash;
    this.#state = state;
    this.#handed = state;
    this.#written = state.sizeBytes;
    const sink = new WritableStream<Uint8Array>({
      write: async (chunk) => {
        if (chunk === GZIP_MEMBER_END) {
          // Written is enough for a kill; a power loss is caught by resume's prefix hash.
          this.#boundary.shift()?.resolve({
            sizeBytes: this.#written,
            sha256: hash.copy().digest("hex"),
          });
          return;
        }
        let off = 0;
        while (off < chunk.byteLength) off += await file.write(chunk.subarray(off));
        hash.update(chunk);
        this.#written += chunk.byteLength;
        if (options.compress) releaseBuffer(chunk);
      },
      close: async () => {
        await file.sync();
      },
    });
    if (options.compress) {
      const gzip = gzipStream(options.compressionLevel);
      this.#input = gzip.writable;
      this.#drained = gzip.readable.pipeTo(sink);
    } else {
      const pass = new TransformStream<Uint8Array, Uint8Array>();
      this.#input = pass.writable;
      this.#drained = pass.readable.pipeTo(sink);
    }
    this.#drained.catch((e) => {
      for (const b of this.#boundary.splice(0)) b.reject(e);
    });
  }

  /** Creates `path` (it must not exist). */
  static async create(path: string, options: DataFileOptions): Promise<DataFileWriter> {
    const file = await Deno.open(path, { write: true, createNew: true, mode: 0o600 });
    return new DataFileWriter(file, options, createHash("sha256"), emptySegmentState(options));
  }

  /**
   * Reopens a partial data file at the end of its last complete segment: cuts off whatever a
   * killed run wrote after it, and re-hashes the kept prefix, which must hash to `state.sha256`.
   */
  static async resume(
    path: string,
    options: DataFileOptions,
    state: SegmentState,
  ): Promise<DataFileWriter> {
    let file: Deno.FsFile;
    try {
      file = await Deno.open(path, { read: true, write: true });
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
      throw new SegmentMismatchError(`${path} is missing`);
    }
    try {
      const size = (await file.stat()).size;
      if (size < state.sizeBytes) {
        throw new SegmentMismatchError(
          `${path} holds ${size} bytes, fewer than the ${state.sizeBytes} its checkpoint recorded`,
        );
      }
      await file.truncate(state.sizeBytes);
      const hash = createHash("sha256");
      const buf = new Uint8Array(1 << 20);
      let left = state.sizeBytes;
      await file.seek(0, Deno.SeekMode.Start);
      while (left > 0) {
        const n = await file.read(buf.subarray(0, Math.min(buf.byteLength, left)));
        if (n === null || n === 0) break;
        hash.update(buf.subarray(0, n));
        left -= n;
      }
      if (left !== 0 || hash.copy().digest("hex") !== state.sha256) {
        throw new SegmentMismatchError(
          `the first ${state.sizeBytes} bytes of ${path} are not those its checkpoint recorded`,
        );
      }
      await file.seek(state.sizeBytes, Deno.SeekMode.Start);
      return new DataFileWriter(file, options, hash, structuredClone(state));
    } catch (e) {
      file.close();
      throw e;
    }
  }

  /** The state after the last complete segment (for a checkpoint). */
  get state(): SegmentState {
    return structuredClone(this.#state);
  }

  /**
   * Streams `pages` into the file as one segment. Resolves once the pages are handed to the
   * compression stage, with `written`: the state at the segment's end, settling once its last
   * byte is written (an ended gzip member), or, when `last()` says so once the pages are consumed,
   * once the whole stream is closed and fsynced (so no empty member follows). The next segment may
   * be written before `written` settles: the gzip worker then never waits for a checkpoint.
   * Rejects (or `written` does) with the first error of any stage; then call
   * {@linkcode abort}.
   */
  async writeSegment(
    pages: AsyncIterable<RawDocument[]>,
    last: () => boolean,
  ): Promise<{ written: Promise<SegmentState> }> {
    const stats = new DocumentStatsStream(this.#options.stats);
    const jsonl = new JsonlEncodeStream();
    // preventAbort: a failed read must not drop the member ends already handed over, so the
    // checkpoints before it still become durable.
    await ReadableStream.from(pages).pipeThrough(stats).pipeThrough(jsonl).pipeTo(this.#input, {
      preventClose: true,
      preventAbort: true,
    });
    const [s, j] = await Promise.all([stats.result, jsonl.result]);
    const prev = this.#handed;
    const handed: SegmentState = {
      stats: {
        documents: prev.stats.documents + s.documents,
        vectors: prev.stats.vectors.map((v, i) => {
          const add = s.vectors[i]!;
          return {
            ...v,
            withVector: v.withVector + add.withVector,
            withoutVector: v.withoutVector + add.withoutVector,
            array: v.array + add.array,
            binary: v.binary + add.binary,
          };
        }),
      },
      sizeBytes: 0,
      uncompressedBytes: prev.uncompressedBytes + j.bytes,
      segments: prev.segments + 1,
      sha256: "",
    };
    this.#handed = handed;
    let end: Promise<{ sizeBytes: number; sha256: string }>;
    if (last()) {
      this.#lastSegment = true;
      await this.#input.close();
      end = this.#drained.then(() => ({
        sizeBytes: this.#written,
        sha256: this.#hash.copy().digest("hex"),
      }));
    } else {
      // The sink records the file's length and hash when the marker reaches it.
      end = new Promise((resolve, reject) => this.#boundary.push({ resolve, reject }));
      const w = this.#input.getWriter();
      try {
        await w.write(GZIP_MEMBER_END);
      } finally {
        w.releaseLock();
      }
    }
    const written = end.then((at) => {
      this.#state = { ...handed, ...at };
      return this.state;
    });
    written.catch(() => {}); // observed by the caller
    return { written };
  }

  /** Segments handed to {@linkcode writeSegment} so far, written or not. */
  get segmentsHanded(): number {
    return this.#handed.segments;
  }

  /**
   * Closes the file and returns its figures; call it once every segment's `written` has
   * settled. When the last segment was not marked last (the scan ended exactly at a segment's
   * end), the file is fsynced here instead, so a finished data file is always durable.
   */
  async finish(): Promise<WrittenData> {
    const s = this.#state;
    if (!this.#lastSegment && !this.#closed) {
      this.#closed = true;
      this.#input.abort().catch(() => {});
      try {
        await this.#file.sync();
      } finally {
        this.#file.close();
      }
    } else {
      this.abort();
    }
    return {
      stats: s.stats,
      sha256: s.sha256,
      sizeBytes: s.sizeBytes,
      uncompressedBytes: s.uncompressedBytes,
      segments: s.segments,
    };
  }

  /** Stops the compression stage if still running and closes the file; idempotent. */
  abort(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#input.abort().catch(() => {});
    try {
      this.#file.close();
    } catch {
      // already closed
    }
  }
}
