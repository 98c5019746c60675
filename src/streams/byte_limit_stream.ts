/** Thrown by {@linkcode ByteLimitStream} when more bytes arrive than allowed. */
export class ByteLimitError extends RangeError {
  override readonly name: string = "ByteLimitError";
}

/**
 * Pass-through stage that counts bytes and fails as soon as they exceed `limit`. Placed after
 * gunzip, it stops a gzip bomb at the size the manifest declared instead of at the memory limit.
 */
export class ByteLimitStream extends TransformStream<Uint8Array, Uint8Array> {
  /** Bytes seen so far. */
  get bytes(): number {
    return this.#state.bytes;
  }
  readonly #state: { bytes: number };

  constructor(limit: number, describe: (limit: number) => string) {
    const state = { bytes: 0 };
    super({
      transform(chunk, controller) {
        state.bytes += chunk.byteLength;
        if (state.bytes > limit) throw new ByteLimitError(describe(limit));
        controller.enqueue(chunk);
      },
    });
    this.#state = state;
  }
}
