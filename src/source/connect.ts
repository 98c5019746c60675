import type { ConnectionConfig } from "../config/resolve.ts";
import type { Reporter } from "../reporter.ts";
import { DataApiClient } from "./data_api.ts";
import { RateLimiter } from "./rate_limiter.ts";
import type { RetryOptions } from "./retry.ts";

/** How hard to try and how fast to go; shared by backup and restore. */
export interface ConnectOptions {
  /** Per-request timeout in ms (default 30 000). */
  requestTimeoutMs?: number;
  /** Request retry policy. */
  retry?: RetryOptions;
  /** Cap on Data API requests per second across the process (adaptive on 429); none by default. */
  maxRps?: number | null;
}

/**
 * Warnings astrabak causes on purpose: ZERO_FILTER_OPERATIONS comes with every unfiltered table
 * `find` (stargate/data-api errors.yaml, scope WARNING), which is how backup reads a table.
 */
const EXPECTED_WARNINGS: ReadonlySet<string> = new Set(["ZERO_FILTER_OPERATIONS"]);

/**
 * The Data API client for a resolved connection, with its retries, rate changes and server
 * warnings (each distinct one once) logged through `reporter`, so every command reports them the
 * same way.
 */
export function connect(
  conn: ConnectionConfig,
  options: ConnectOptions,
  reporter: Reporter,
): DataApiClient {
  const limiter = options.maxRps
    ? new RateLimiter({
      maxRps: options.maxRps,
      onChange: (rps, why) =>
        reporter.warn(
          why === "throttled"
            ? `Data API answered 429: slowing down to ${rps.toFixed(1)} requests/s`
            : `request rate back to the --max-rps cap of ${rps} requests/s`,
        ),
    })
    : undefined;
  const seen = new Set<string>();
  return new DataApiClient({
    endpoint: conn.endpoint,
    environment: conn.environment,
    token: conn.token,
    tokenSource: conn.tokenSource,
    embeddingApiKey: conn.embeddingApiKey?.key ?? null,
    requestTimeoutMs: options.requestTimeoutMs,
    retry: options.retry,
    rateLimiter: limiter,
    onWarning: ({ command, target, warning }) => {
      const code = typeof warning.errorCode === "string" ? warning.errorCode : "WARNING";
      const message = String(warning.message ?? warning.title ?? "").split("\n")[0];
      const key = `${code}\u0000${message}`;
      if (seen.has(key)) return;
      seen.add(key);
      const line = `Data API warning on ${target} (${command}): ${code}: ${message}`;
      // A table scan without a filter is what a backup does: the server says so on every page.
      if (EXPECTED_WARNINGS.has(code)) reporter.debug(line);
      else reporter.warn(line);
    },
    onRetry: (r) =>
      reporter.warn(
        `${r.command} on ${r.target}: ${r.error.message}; retrying in ${
          (r.delayMs / 1000).toFixed(1)
        } s (attempt ${r.attempt + 1}/${r.maxAttempts})`,
      ),
  });
}
