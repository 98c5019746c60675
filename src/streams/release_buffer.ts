/**
 * Frees the memory of a buffer that nothing will read again, now rather than at V8's next full
 * garbage collection. Large buffers that live a few milliseconds (a response chunk, an insert
 * request body) are promoted out of the young generation before they die, and V8 frees their
 * memory only when external memory has grown by tens of megabytes; releasing them where their
 * life ends keeps peak RSS flat (docs/BENCHMARKS.md, "Where the memory goes").
 *
 * Only a view of its whole buffer is released (a view into a larger buffer shares it with
 * others); the caller guarantees no other view of that buffer is used afterwards.
 */
export function releaseBuffer(bytes: Uint8Array): void {
  const buffer = bytes.buffer;
  if (
    buffer instanceof ArrayBuffer && !buffer.detached && bytes.byteOffset === 0 &&
    bytes.byteLength === buffer.byteLength
  ) {
    buffer.transfer(0);
  }
}
