import { createGunzip } from "node:zlib";
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

/** The matching decompression stage, also off the main thread (verify). */
export function gunzipStream(): TransformStream<Uint8Array, Uint8Array> {
  return new ZlibWorkerStream("gunzip");
}

/**
 * Decompression on the calling thread, with no worker isolate (15–20 MB of RSS): restore, whose
 * speed is the server's write rate, not gunzip's (docs/BENCHMARKS.md, "Where the memory goes").
 * node:zlib reads multi-member files (format 4) as their concatenation, as the worker does;
 * DecompressionStream would stop after the first member. Failures are TypeErrors worded like the
 * worker's, so verify and restore describe a broken file the same way either way.
 */
export function inlineGunzipStream(): TransformStream<Uint8Array, Uint8Array> {
  const z = createGunzip({ chunkSize: 256 * 1024 });
  let failure: Error | null = null;
  const failed = (e: unknown) =>
    failure ??= new TypeError(`gunzip failed: ${e instanceof Error ? e.message : String(e)}`);
  return new TransformStream({
    start(controller) {
      z.on("data", (c: Uint8Array) => {
        try {
          controller.enqueue(new Uint8Array(c.buffer, c.byteOffset, c.byteLength));
        } catch {
          // The readable side is gone (the pipeline failed elsewhere).
          z.destroy();
        }
      });
      z.on("error", failed);
    },
    transform(chunk) {
      if (failure) throw failure;
      return new Promise<void>((resolve, reject) => {
        z.write(chunk, (e) => {
          if (e) failed(e);
          if (failure) reject(failure);
          else resolve();
        });
      });
    },
    flush() {
      if (failure) throw failure;
      return new Promise<void>((resolve, reject) => {
        z.once("end", () => (failure ? reject(failure) : resolve()));
        z.once("error", (e) => reject(failed(e)));
        z.end();
      });
    },
    cancel() {
      z.destroy();
    },
  });
}
