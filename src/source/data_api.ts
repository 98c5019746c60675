/**
 * @module
 * The Data API wire client: one HTTP POST per command, raw bytes in and out.
 *
 * astrabak does not read documents through astra-db-ts: its default path rounds numbers beyond
 * 2^53 and its insert path rewrites `$vector` arrays as `$binary` (see
 * shared/docs/data-api-facts.md §2.3, §3.4). This client speaks the same protocol (same paths per
 * environment, same `Token` header, same error shapes; the tests hold the fake Data API to
 * astra-db-ts 2.3.0's requests) but hands back documents as the exact bytes the server sent.
 */

import { netSandboxHint, SourceError } from "../errors.ts";
import { JsonSyntaxError } from "../json/byte_json.ts";
import {
  type CommandResponse,
  type ErrorDescriptor,
  parseCommandResponse,
} from "../json/command_response.ts";
import type { InspectOptions } from "../json/raw_document.ts";
import type { Environment } from "../config/resolve.ts";
import { VERSION } from "../version.ts";
import { releaseBuffer } from "../streams/release_buffer.ts";
import type { RateLimiter } from "./rate_limiter.ts";
import { DEFAULT_RETRY, parseRetryAfter, retry, type RetryOptions } from "./retry.ts";

/** Where a command goes: the general endpoint, a keyspace, or a collection/table. */
export interface CommandTarget {
  keyspace?: string;
  collection?: string;
}

/** Settings of a {@linkcode DataApiClient}. */
export interface DataApiClientOptions {
  endpoint: string;
  environment: Environment;
  /** Value of the `Token` header (secret; never logged). */
  token: string;
  /** Where the token came from (`--token-file …`, an environment variable), for the 401 hint. */
  tokenSource?: string | undefined;
  /** Per-request timeout, covering the whole response body. Default 30 000 ms. */
  requestTimeoutMs?: number | undefined;
  retry?: RetryOptions | undefined;
  /** Called before each retry wait. */
  onRetry?: (info: RetryInfo) => void;
  /** Caps and adapts the request rate (`--max-rps`). */
  rateLimiter?: RateLimiter | undefined;
  /** Called for each entry of a response's `status.warnings` (any command). */
  onWarning?: (info: WarningInfo) => void;
  /**
   * The embedding provider key (secret), sent as `x-embedding-api-key` on the commands that make
   * the server embed ({@linkcode EMBEDDING_COMMANDS}); null or absent: never sent.
   */
  embeddingApiKey?: string | null | undefined;
}

/**
 * The header a vectorize provider that authenticates by HEADER reads its key from
 * (stargate/data-api config/constants/HttpConstants.java EMBEDDING_AUTHENTICATION_TOKEN_HEADER_NAME;
 * astra-db-ts 2.3.0 lib/headers-providers/impls/embedding/embedding-api-key-header-provider.ts
 * sends `embeddingApiKey` under the same name).
 */
export const EMBEDDING_API_KEY_HEADER = "x-embedding-api-key";

/**
 * Commands on which the server embeds `$vectorize` texts, the only ones that carry the embedding
 * key: astrabak never sorts or filters by `$vectorize`, so the key goes nowhere else.
 */
export const EMBEDDING_COMMANDS: ReadonlySet<string> = new Set(["insertOne", "insertMany"]);

/**
 * The server's answer when a provider that authenticates by header got no key: from v1.0.36
 * EMBEDDING_PROVIDER_AUTHENTICATION_KEYS_NOT_PROVIDED (errors.yaml scope EMBEDDING_PROVIDER,
 * service/embedding/operation/EmbeddingProvider.java checkEmbeddingApiKeyHeader), v1.0.14–v1.0.35
 * EMBEDDING_PROVIDER_API_KEY_MISSING (exception/ErrorCodeV1.java).
 */
export const MISSING_EMBEDDING_KEY_CODES: ReadonlySet<string> = new Set([
  "EMBEDDING_PROVIDER_AUTHENTICATION_KEYS_NOT_PROVIDED",
  "EMBEDDING_PROVIDER_API_KEY_MISSING",
]);

/** How to give restore the embedding key, for every message that needs it. */
export const EMBEDDING_KEY_FIX =
  "set ASTRABAK_EMBEDDING_API_KEY or pass --embedding-api-key-file PATH (the provider's API key)";

/** What {@linkcode DataApiClientOptions.onWarning} receives. */
export interface WarningInfo {
  command: string;
  target: string;
  warning: ErrorDescriptor;
} /** What {@linkcode DataApiClientOptions.onRetry} receives. */
export interface RetryInfo {
  command: string;
  target: string;
  attempt: number;
  maxAttempts: number;
  delayMs: number;
  error: SourceError;
}

/** Options of one {@linkcode DataApiClient.command} call. */
export interface CommandOptions {
  /** How to inspect `data.documents` (vector fields, watched members). */
  inspect?: InspectOptions;
  signal?: AbortSignal | undefined;
  /**
   * Decides whether a response that carries `errors[]` is a partial result to hand back (for
   * insertMany: `status.documentResponses` is present) rather than a failure to throw.
   */
  acceptPartial?: (response: CommandResponse) => boolean;
  /** Called before each attempt (1, 2, …): a retried write may have been applied already. */
  onAttempt?: (attempt: number) => void;
}

/**
 * Data API errors that are transient (database or provider overload, a write whose outcome the
 * database could not tell): retried as a whole request when they come inside HTTP 200, and per
 * document when insertMany reports them for a document. A write retried after one of these may
 * already have been applied; insert.ts settles that by reading the document back.
 *
 * Sources (stargate/data-api): src/main/resources/errors.yaml, scope DATABASE, from v1.0.2x on
 * (UNAVAILABLE_DATABASE, TIMEOUT_*, FAILED_TO_CONNECT_TO_DATABASE, FAILED_COMPARE_AND_SET; and
 * FAILED_CONCURRENT_OPERATIONS from v1.0.40: "The Data API has retried … SNIPPET.RETRY"); the
 * older ErrorCodeV1 codes that exception/mappers/ThrowableToErrorMapper.java gives driver
 * failures up to v1.0.34 (driver timeout, no node, closed connection, read failure,
 * unavailable/consistency) — those also come with HTTP 502/503/504 there
 * (CommandResult.toRestResponse takes the first error's status), which is retried as HTTP.
 */
export const RETRIABLE_ERROR_CODES: ReadonlySet<string> = new Set([
  "UNAVAILABLE_DATABASE",
  "TIMEOUT_READING_DATA",
  "TIMEOUT_WRITING_DATA",
  "FAILED_TO_CONNECT_TO_DATABASE",
  "FAILED_COMPARE_AND_SET",
  "FAILED_CONCURRENT_OPERATIONS",
  "EMBEDDING_PROVIDER_RATE_LIMITED",
  "EMBEDDING_PROVIDER_TIMEOUT",
  "EMBEDDING_PROVIDER_UNAVAILABLE",
  "EMBEDDING_GATEWAY_RATE_LIMITED",
  // Servers up to v1.0.34 (ErrorCodeV1.java)
  "SERVER_DRIVER_TIMEOUT",
  "SERVER_NO_NODE_AVAILABLE",
  "SERVER_CLOSED_CONNECTION",
  "SERVER_READ_FAILED",
  "SERVER_QUERY_CONSISTENCY_FAILURE",
]);

const encoder = new TextEncoder();

/** A Data API connection with retries; safe to share between concurrent callers. */
export class DataApiClient {
  readonly endpoint: string;
  readonly environment: Environment;
  readonly requestTimeoutMs: number;
  readonly #headers: Headers;
  /** {@linkcode DataApiClient.#headers} plus the embedding key, for EMBEDDING_COMMANDS. */
  readonly #embeddingHeaders: Headers;
  /** Whether an embedding key was configured. */
  readonly hasEmbeddingApiKey: boolean;
  readonly #retry: RetryOptions;
  readonly #onRetry: ((info: RetryInfo) => void) | undefined;
  readonly #prefix: string;
  readonly #limiter: RateLimiter | undefined;
  readonly #tokenSource: string;
  /** Whether the server has answered at least once (a refused connection before that is final). */
  #reached = false;
  readonly #onWarning: ((info: WarningInfo) => void) | undefined;

  constructor(options: DataApiClientOptions) {
    this.endpoint = options.endpoint.replace(/\/+$/, "");
    this.environment = options.environment;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    this.#retry = options.retry ?? {};
    this.#onRetry = options.onRetry;
    this.#limiter = options.rateLimiter;
    this.#tokenSource = options.tokenSource ?? "ASTRA_DB_APPLICATION_TOKEN (or --token-file)";
    this.#onWarning = options.onWarning;
    // Same prefixes as astra-db-ts DEFAULT_DATA_API_PATHS.
    this.#prefix = options.environment === "astra" ? "/api/json/v1" : "/v1";
    this.#headers = new Headers({
      "Token": options.token,
      "Content-Type": "application/json",
      "Accept": "application/json",
      "User-Agent": `astrabak/${VERSION}`,
    });
    this.#embeddingHeaders = new Headers(this.#headers);
    this.hasEmbeddingApiKey = Boolean(options.embeddingApiKey);
    if (options.embeddingApiKey) {
      this.#embeddingHeaders.set(EMBEDDING_API_KEY_HEADER, options.embeddingApiKey);
    }
  }

  /** The URL a command for `target` is posted to. */
  url(target: CommandTarget): string {
    let u = this.endpoint + this.#prefix;
    if (target.keyspace) u += `/${target.keyspace}`;
    if (target.keyspace && target.collection) u += `/${target.collection}`;
    return u;
  }

  /**
   * Posts `{"<name>": …}` (given pre-serialised as `body`) and returns the parsed response,
   * retrying transient failures. Throws {@linkcode SourceError} once retries are exhausted or on
   * a permanent failure.
   */
  command(
    target: CommandTarget,
    name: string,
    body: Uint8Array | string,
    options: CommandOptions = {},
  ): Promise<CommandResponse> {
    const bytes = typeof body === "string" ? encoder.encode(body) : body;
    const where = describeTarget(target);
    const maxAttempts = this.#retry.maxAttempts ?? DEFAULT_RETRY.maxAttempts;
    return retry(
      (attempt) => {
        options.onAttempt?.(attempt);
        return this.#once(target, name, where, bytes, options);
      },
      this.#retry,
      {
        isRetriable: (e): e is SourceError => e instanceof SourceError && e.retriable,
        retryAfterMs: (e) => e.retryAfterMs,
        onRetry: ({ attempt, delayMs, error }) =>
          this.#onRetry?.({ command: name, target: where, attempt, maxAttempts, delayMs, error }),
        signal: options.signal,
      },
    );
  }

  /** Convenience: serialises a plain command object (no document values) and sends it. */
  simple(
    target: CommandTarget,
    command: Record<string, unknown>,
    options: CommandOptions = {},
  ): Promise<CommandResponse> {
    const name = Object.keys(command)[0] ?? "";
    return this.command(target, name, JSON.stringify(command), options);
  }

  async #once(
    target: CommandTarget,
    name: string,
    where: string,
    body: Uint8Array,
    options: CommandOptions,
  ): Promise<CommandResponse> {
    const timeout = AbortSignal.timeout(this.requestTimeoutMs);
    const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
    const fail = (e: unknown): never => {
      if (options.signal?.aborted) throw options.signal.reason;
      if (timeout.aborted) {
        throw new SourceError(
          `Data API ${name} on ${where} timed out after ${this.requestTimeoutMs} ms`,
          { kind: "timeout", command: name, retriable: true, cause: e },
        );
      }
      const final = this.#notTransient(e, name);
      if (final) throw final;
      throw new SourceError(
        `Data API ${name} on ${where} failed: connection error (${describeCause(e)})`,
        { kind: "connection", command: name, retriable: true, cause: e },
      );
    };
    let res: Response;
    let raw: Uint8Array;
    await this.#limiter?.acquire(options.signal);
    try {
      res = await fetch(this.url(target), {
        method: "POST",
        headers: EMBEDDING_COMMANDS.has(name) ? this.#embeddingHeaders : this.#headers,
        body: body as BodyInit,
        signal,
      });
      this.#reached = true;
      raw = await readBody(res);
    } catch (e) {
      if (e instanceof ResponseTooLargeError) {
        throw new SourceError(
          `Data API ${name} on ${where} sent ${e.message}, over the ${MAX_RESPONSE_BYTES} byte limit`,
          { kind: "protocol", command: name, retriable: false, cause: e },
        );
      }
      return fail(e);
    }
    if (res.status === 401 || res.status === 403) {
      const code = safeErrorCode(raw);
      throw new SourceError(
        `Data API ${name} on ${where} was refused: authentication failed (HTTP ${res.status}${
          code ? `, ${code}` : ""
        })`,
        {
          kind: "auth",
          command: name,
          status: res.status,
          errorCode: code,
          retriable: false,
          hint:
            `check ${this.#tokenSource}: the token may be wrong, revoked, or lack access to this database`,
        },
      );
    }
    if (res.status === 429) this.#limiter?.throttled();
    else if (res.status < 400) this.#limiter?.succeeded();
    if (res.status >= 400) {
      const retriable = res.status === 429 || res.status === 408 || res.status >= 500;
      throw new SourceError(
        `Data API ${name} on ${where} failed: HTTP ${res.status} ${res.statusText}`.trimEnd(),
        {
          kind: "http",
          command: name,
          status: res.status,
          retriable,
          retryAfterMs: parseRetryAfter(res.headers.get("retry-after")),
          hint: res.status === 404
            ? `check --endpoint and --environment (environment "${this.environment}" posts to ${
              this.url(target)
            })`
            : undefined,
        },
      );
    }
    let parsed: CommandResponse;
    try {
      parsed = parseCommandResponse(raw, options.inspect);
    } catch (e) {
      if (!(e instanceof JsonSyntaxError)) throw e;
      throw new SourceError(
        `Data API ${name} on ${where} returned a malformed response (${e.message}; ${raw.length} bytes)`,
        { kind: "protocol", command: name, status: res.status, retriable: true, cause: e },
      );
    }
    // Warnings come in `status.warnings`, shaped like errors (CommandResult.addWarning).
    const warnings = parsed.status?.warnings;
    if (this.#onWarning && Array.isArray(warnings)) {
      for (const w of warnings) {
        if (w && typeof w === "object") {
          this.#onWarning({ command: name, target: where, warning: w as ErrorDescriptor });
        }
      }
    }
    if (parsed.errors.length > 0 && !options.acceptPartial?.(parsed)) {
      const first = parsed.errors[0]!;
      const code = typeof first.errorCode === "string" ? first.errorCode : undefined;
      // A missing embedding key is fixed by the user, not by a retry: say how, in the message
      // (it ends up in the per-collection error of the restore report).
      const fix = code !== undefined && MISSING_EMBEDDING_KEY_CODES.has(code)
        ? this.hasEmbeddingApiKey
          ? "; the server did not accept the embedding key given"
          : `; ${EMBEDDING_KEY_FIX}`
        : "";
      throw new SourceError(
        `Data API ${name} on ${where} failed: ${code ?? "error"}: ${
          String(first.message ?? first.title ?? "no message").split("\n")[0]
        }${fix}`,
        {
          kind: "command",
          command: name,
          status: res.status,
          errorCode: code,
          retriable: code !== undefined && RETRIABLE_ERROR_CODES.has(code),
        },
      );
    }
    return parsed;
  }

  /**
   * A failure that no retry can cure, as a final error: the permission sandbox refusing the host,
   * a request fetch refuses to send (an invalid header), or a refused connection before the
   * server ever answered (a wrong endpoint or port; not worth minutes of back-off at start-up).
   */
  #notTransient(e: unknown, name: string): SourceError | undefined {
    const host = new URL(this.endpoint).host;
    if (e instanceof Deno.errors.NotCapable) {
      return new SourceError(
        `Cannot connect to ${host}: the permission sandbox (--allow-net) does not include it`,
        {
          kind: "connection",
          command: name,
          retriable: false,
          cause: e,
          hint: netSandboxHint(host),
        },
      );
    }
    // fetch refuses before sending: an unparsable header, a bad URL, a port it blocks.
    if (e instanceof TypeError && e.cause === undefined && /header|url|blocked/i.test(e.message)) {
      return new SourceError(
        `Data API ${name} could not be sent to ${this.endpoint}: ${describeCause(e)}`,
        { kind: "protocol", command: name, retriable: false, cause: e },
      );
    }
    const unreachable = this.#reached ? undefined : startupFailure(e);
    if (unreachable) {
      return new SourceError(`Cannot connect to ${this.endpoint}: ${unreachable}`, {
        kind: "connection",
        command: name,
        retriable: false,
        cause: e,
        hint: unreachable === "connection refused"
          ? "check --endpoint (or ASTRA_DB_API_ENDPOINT): nothing accepts connections on that host and port"
          : "check --endpoint (or ASTRA_DB_API_ENDPOINT): the host name (database id, region) may be mistyped",
      });
    }
    return undefined;
  }
}

/**
 * Failures that mean the endpoint itself is wrong, when they happen before the server ever
 * answered: a refused TCP connection, or a host name DNS says does not exist (not a temporary
 * DNS failure). Looks through the fetch error's cause chain.
 */
export function startupFailure(e: unknown): "connection refused" | "no such host" | undefined {
  for (let c = e, depth = 0; c instanceof Error && depth < 5; c = c.cause, depth++) {
    if (c instanceof Deno.errors.ConnectionRefused) return "connection refused";
    if (/connection refused|os error 111|ECONNREFUSED/i.test(c.message)) {
      return "connection refused";
    }
    if (
      /Name or service not known|No address associated with hostname|nodename nor servname|ENOTFOUND/i
        .test(c.message)
    ) {
      return "no such host";
    }
  }
  return undefined;
}

function describeTarget(t: CommandTarget): string {
  if (t.keyspace && t.collection) return `${t.keyspace}.${t.collection}`;
  if (t.keyspace) return `keyspace ${t.keyspace}`;
  return "the database";
}

/**
 * The reason of a fetch failure in words. Deno's fetch says only "fetch failed"; the reason
 * ("Connection refused", "Name or service not known") is the last part of its innermost cause.
 */
function describeCause(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  let root: Error = e;
  for (let depth = 0; root.cause instanceof Error && depth < 5; depth++) root = root.cause;
  const line = root.message.split("\n")[0] ?? root.name;
  if (root === e) return line;
  return line.split(": ").at(-1)!.replace(/ \(os error \d+\)$/, "") || line;
}

function safeErrorCode(raw: Uint8Array): string | undefined {
  try {
    const r = parseCommandResponse(raw);
    const c = r.errors[0]?.errorCode;
    return typeof c === "string" ? c : undefined;
  } catch {
    return undefined;
  }
}

/** A Data API answer that is not what the protocol promises (never retried). */
export function protocolError(command: string, message: string): SourceError {
  return new SourceError(message, { kind: "protocol", command, retriable: false });
}

/**
 * Upper bound of one decoded response body. A find page is at most page size × the 4 MB document
 * limit; anything larger is not a Data API answer and is refused rather than buffered.
 */
export const MAX_RESPONSE_BYTES = 1 << 30;

/** A response body over {@linkcode MAX_RESPONSE_BYTES} (not retried: it would be again). */
class ResponseTooLargeError extends Error {}

/**
 * Reads a response body into one buffer sized by Content-Length when that is the size of what we
 * read. Measured on 1 MB pages, `Response.arrayBuffer()` more than doubles the process's peak
 * memory (it accumulates and copies chunks); filling a buffer of the announced size does not.
 *
 * A compressed response (a proxy or ingress honouring the `Accept-Encoding: gzip, br` Deno's fetch
 * sends) is decompressed by fetch, which keeps the *compressed* Content-Length: then the length
 * says nothing about the decoded size, and the body is gathered in chunks under the same cap.
 */
async function readBody(res: Response): Promise<Uint8Array> {
  if (!res.body) return new Uint8Array(0);
  const encoding = (res.headers.get("content-encoding") ?? "").trim().toLowerCase();
  const declared = encoding === "" || encoding === "identity"
    ? Number(res.headers.get("content-length") ?? NaN)
    : NaN;
  if (Number.isSafeInteger(declared) && declared >= 0) {
    if (declared > MAX_RESPONSE_BYTES) {
      throw new ResponseTooLargeError(`a response of ${declared} bytes`);
    }
    const out = new Uint8Array(declared);
    let at = 0;
    for await (const chunk of res.body) {
      if (at + chunk.byteLength > declared) {
        throw new Error("response body longer than its Content-Length");
      }
      out.set(chunk, at);
      at += chunk.byteLength;
      releaseBuffer(chunk);
    }
    if (at !== declared) throw new Error(`response body ended after ${at} of ${declared} bytes`);
    return out;
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of res.body) {
    size += chunk.byteLength;
    if (size > MAX_RESPONSE_BYTES) {
      throw new ResponseTooLargeError(`a response of more than ${MAX_RESPONSE_BYTES} bytes`);
    }
    chunks.push(chunk);
  }
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}
