/**
 * A sink that runs `write` for up to `limits.concurrency` items at once and, past the first, up to
 * `limits.bytes` of their weight, applying backpressure beyond that; it fails (stopping the
 * source) at the first item that fails for good. The byte bound keeps memory flat when documents
 * are large: each request in flight holds several copies of its body.
 */
export function concurrentSink<T>(
  limits: { concurrency: number; bytes: number },
  weigh: (item: T) => number,
  write: (item: T) => Promise<void>,
): WritableStream<T> {
  const inflight = new Set<Promise<void>>();
  let bytes = 0;
  let failure: { error: unknown } | null = null;
  return new WritableStream<T>({
    async write(item) {
      const w = weigh(item);
      while (
        (inflight.size >= limits.concurrency ||
          (inflight.size > 0 && bytes + w > limits.bytes)) && !failure
      ) await Promise.race(inflight);
      if (failure) throw failure.error;
      bytes += w;
      const p: Promise<void> = write(item).catch((e) => {
        failure ??= { error: e };
      }).finally(() => {
        bytes -= w;
        inflight.delete(p);
      });
      inflight.add(p);
    },
    async close() {
      await Promise.all(inflight);
      if (failure) throw failure.error;
    },
    async abort() {
      await Promise.all(inflight);
    },
  });
}
