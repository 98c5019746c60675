import { Duplex } from "node:stream";
import { createGzip } from "node:zlib";

/** Default gzip level (see docs/BENCHMARKS.md for why). */
export const DEFAULT_GZIP_LEVEL = 6;

/**
 * A gzip compression stage with a selectable level (1 fastest … 9 smallest). The platform's
 * CompressionStream has no level; node:zlib does, and produces one standard gzip member either
 * way, so `gunzip`, DecompressionStream and verify read both alike.
 */
export function gzipStream(
  level: number = DEFAULT_GZIP_LEVEL,
): TransformStream<Uint8Array, Uint8Array> {
  if (!Number.isInteger(level) || level < 1 || level > 9) {
    throw new RangeError(`gzip level ${level}`);
  }
  return Duplex.toWeb(createGzip({ level })) as unknown as TransformStream<Uint8Array, Uint8Array>;
}
