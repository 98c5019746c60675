import { createHash } from "node:crypto";

/** What a {@linkcode DigestStream} saw. */
export interface DigestResult {
  /** Lower-case hex digest of every byte that passed through. */
  hex: string;
  /** Number of bytes that passed through. */
  bytes: number;
}

/** Options of {@linkcode DigestStream}. */
export interface DigestStreamOptions {
  /** Hash algorithm (default `sha256`; Box wants `sha1`; an S3 ETag is an `md5`). */
  algorithm?: "sha256" | "sha1" | "md5";
}

/**
 * Pass-through stage that hashes (via node:crypto, ~2 GB/s for SHA-256) and counts the bytes
 * flowing through it. `result` settles when the stream is flushed, so the hash always covers
 * exactly what was written downstream.
 */
export class DigestStream extends TransformStream<Uint8Array, Uint8Array> {
  /** Settles with the digest at flush; rejects if the stream errors or is cancelled. */
  readonly result: Promise<DigestResult>;

  constructor(options: DigestStreamOptions = {}) {
    const hash = createHash(options.algorithm ?? "sha256");
    let bytes = 0;
    let resolve!: (r: DigestResult) => void;
    let reject!: (e: unknown) => void;
    const result = new Promise<DigestResult>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    result.catch(() => {});
    super({
      transform(chunk, controller) {
        hash.update(chunk);
        bytes += chunk.byteLength;
        controller.enqueue(chunk);
      },
      flush() {
        resolve({ hex: hash.digest("hex"), bytes });
      },
      cancel(reason) {
        reject(reason);
      },
    });
    this.result = result;
  }
}

/**
 * Digest and size of a whole file, streamed: the one way a file on disk is hashed (sidecars,
 * uploads), so every algorithm reads it the same way.
 */
export async function hashFile(
  path: string,
  options: DigestStreamOptions & { signal?: AbortSignal | undefined } = {},
): Promise<DigestResult> {
  const file = await Deno.open(path, { read: true });
  const digest = new DigestStream(options);
  await file.readable.pipeThrough(digest).pipeTo(
    new WritableStream(),
    options.signal ? { signal: options.signal } : {},
  );
  return await digest.result;
}
