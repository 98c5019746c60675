/**
 * @module
 * The one retry loop: exponential back-off with jitter, the server's `Retry-After` when it gives
 * one, a bounded number of attempts, and prompt cancellation. astra-db-ts never retries, so every
 * Data API call astrabak makes goes through this.
 */

/** Tunables of {@linkcode retry}. */
export interface RetryOptions {
  /** Total tries including the first. Default 6. */
  maxAttempts?: number;
  /** Delay before the first retry; doubles each time. Default 500 ms. */
  baseDelayMs?: number;
  /** Upper bound of a computed back-off delay. Default 20 000 ms. */
  maxDelayMs?: number;
  /** Upper bound of a server-requested `Retry-After`. Default 120 000 ms. */
  maxRetryAfterMs?: number;
}

/** Per-call hooks of {@linkcode retry}. */
export interface RetryHooks<E> {
  /** Decides whether a failure may be retried. */
  isRetriable: (error: unknown) => error is E;
  /** The server-requested delay for a failure, if any. */
  retryAfterMs?: (error: E) => number | undefined;
  /** Called before each wait, e.g. to log "retrying in 2 s". */
  onRetry?: (info: { attempt: number; delayMs: number; error: E }) => void;
  /** Aborts waiting and further attempts. */
  signal?: AbortSignal | undefined;
}

/** Defaults used when an option is omitted. */
export const DEFAULT_RETRY: Required<RetryOptions> = {
  maxAttempts: 6,
  baseDelayMs: 500,
  maxDelayMs: 20_000,
  maxRetryAfterMs: 120_000,
};

/** Calls `fn` until it succeeds, fails with a non-retriable error, or attempts run out. */
export async function retry<T, E>(
  fn: (attempt: number) => Promise<T>,
  options: RetryOptions,
  hooks: RetryHooks<E>,
): Promise<T> {
  const o = { ...DEFAULT_RETRY, ...options };
  for (let attempt = 1;; attempt++) {
    hooks.signal?.throwIfAborted();
    try {
      return await fn(attempt);
    } catch (error) {
      if (attempt >= o.maxAttempts || !hooks.isRetriable(error) || hooks.signal?.aborted) {
        throw error;
      }
      const delayMs = retryDelayMs(attempt, hooks.retryAfterMs?.(error), o);
      hooks.onRetry?.({ attempt, delayMs, error });
      await sleep(delayMs, hooks.signal);
    }
  }
}

/**
 * The wait before the retry that follows failed attempt `attempt` (1-based): the server's
 * requested delay when it gave one (capped), else exponential back-off with jitter. One formula
 * for every retry astrabak makes (the Data API loop above, the S3 SDK's retry strategy).
 */
export function retryDelayMs(
  attempt: number,
  requestedMs: number | undefined,
  options: RetryOptions = {},
): number {
  const o = { ...DEFAULT_RETRY, ...options };
  if (requestedMs !== undefined) return Math.min(Math.max(0, requestedMs), o.maxRetryAfterMs);
  const backoff = Math.min(o.maxDelayMs, o.baseDelayMs * 2 ** (attempt - 1));
  return Math.round(backoff * (0.5 + Math.random() * 0.5));
}

/** Resolves after `ms`, or rejects with the signal's reason when aborted first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * Parses a `Retry-After` header (delta-seconds or an HTTP date) into milliseconds; undefined when
 * absent or unreadable.
 */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  // An HTTP date names its day and month; Date.parse alone would take "-5" for a year.
  const at = /[A-Za-z]/.test(trimmed) ? Date.parse(trimmed) : NaN;
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
