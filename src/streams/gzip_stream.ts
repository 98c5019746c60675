import { ZlibWorkerStream } from "./zlib_worker_stream.ts";

/** Default gzip level (see docs/BENCHMARKS.md for why). */
export const DEFAULT_GZIP_LEVEL = 6;

/**
 * A gzip compression stage with a selectable level (1 fastest … 9 smallest), running on a worker
 * thread. The platform's CompressionStream has no level; node:zlib does, and produces one
 * standard gzip member either way, so `gunzip`, DecompressionStream and verify read both alike.
 */
export function gzipStream(
  level: number = DEFAULT_GZIP_LEVEL,
): TransformStream<Uint8Array, Uint8Array> {
  if (!Number.isInteger(level) || level < 1 || level > 9) {
    throw new RangeError(`gzip level ${level}`);
  }
  return new ZlibWorkerStream("gzip", level);
}

/** The matching decompression stage, also off the main thread (verify and restore). */
export function gunzipStream(): TransformStream<Uint8Array, Uint8Array> {
  return new ZlibWorkerStream("gunzip");
}
