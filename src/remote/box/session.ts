/**
 * @module
 * A Box API session on box-node-sdk 10 (CCG auth), loaded only when a Box flag or command is used.
 *
 * Two things are fixed around the SDK (shared/docs/box-facts.md §0, §3.4, §4.4):
 * - its retry strategy never honours `Retry-After` (it looks the header up with the wrong case)
 *   and does not treat a `202` on upload commit as "wait and commit again"; {@link RetryPolicy}
 *   does both;
 * - one of its dependencies enumerates the whole process environment when it is imported, which
 *   would force a plain `--allow-env`. Before the import the SDK is given its own environment
 *   (src/remote/sdk_env.ts): it needs no variable (its settings come from astrabak's own
 *   configuration), and the sandbox keeps `--allow-env` to astrabak's names.
 */

import { sdkEnvironment } from "../sdk_env.ts";
import type * as Root from "box-node-sdk";
import type * as Networking from "box-node-sdk/networking";
import type { BoxConfig } from "../../config/resolve.ts";
import { netSandboxHint } from "../../errors.ts";
import { parseRetryAfter } from "../../source/retry.ts";

/** The SDK modules astrabak uses. */
export interface Sdk {
  root: typeof Root;
  networking: typeof Networking;
}

/** A connected SDK client plus the SDK (for its classes). */
export interface BoxSession {
  readonly client: Root.BoxClient;
  readonly sdk: Sdk;
  readonly config: BoxConfig;
}

/** Back-off base in seconds (doubles per attempt) when Box gives no Retry-After. */
const BASE_DELAY_SECONDS = 1;
/** Upper bound on any retry wait, in seconds. */
const MAX_DELAY_SECONDS = 120;
/** Per-request timeout: a 20 MB part or simple upload over a slow link fits well within it. */
const REQUEST_TIMEOUT_MS = 120_000;

/** Tunables of {@linkcode openBox}. */
export interface BoxSessionOptions {
  /** Total tries per request, including the first. Default 6. */
  maxAttempts?: number;
  /** Called before each retry wait, e.g. to log it. */
  onRetry?: (info: { status: number; url: string; attempt: number; delaySeconds: number }) => void;
}

let sdkPromise: Promise<Sdk> | undefined;

/** Imports the SDK once, with the environment hidden from it and Node deprecation noise off. */
function loadSdk(): Promise<Sdk> {
  if (!sdkPromise) {
    sdkEnvironment();
    sdkPromise = Promise.all([import("box-node-sdk"), import("box-node-sdk/networking")])
      .then(([root, networking]) => ({ root, networking }));
  }
  return sdkPromise;
}

/** Opens a session: CCG auth for the enterprise or user, custom base URLs, the retry policy. */
export async function openBox(
  config: BoxConfig,
  options: BoxSessionOptions = {},
): Promise<BoxSession> {
  const sdk = await loadSdk();
  const ccg = new sdk.root.CcgConfig({
    clientId: config.clientId,
    clientSecret: config.clientSecret,
    ...(config.userId ? { userId: config.userId } : { enterpriseId: config.enterpriseId! }),
  });
  const auth = new sdk.root.BoxCcgAuth({ config: ccg });
  const networkSession = new sdk.networking.NetworkSession({
    baseUrls: new sdk.networking.BaseUrls({
      baseUrl: config.apiBaseUrl,
      uploadUrl: config.uploadBaseUrl,
      oauth2Url: `${config.apiBaseUrl}/oauth2`,
    }),
    retryStrategy: new RetryPolicy(options),
    timeoutConfig: { timeoutMs: REQUEST_TIMEOUT_MS },
  });
  return { client: new sdk.root.BoxClient({ auth, networkSession }), sdk, config };
}

type FetchOptions = Parameters<Networking.RetryStrategy["shouldRetry"]>[0];
type FetchResponse = Parameters<Networking.RetryStrategy["shouldRetry"]>[1];

/**
 * Retries 429 and 5xx (honouring `Retry-After`), network failures, 401 once the token is
 * refreshed, and `202 Accepted` + `Retry-After` (an upload commit still processing, or a file not
 * yet downloadable). Delays are in seconds, as box-node-sdk 10 expects.
 */
export class RetryPolicy implements Networking.RetryStrategy {
  readonly #maxAttempts: number;
  readonly #onRetry: BoxSessionOptions["onRetry"];

  constructor(options: BoxSessionOptions = {}) {
    this.#maxAttempts = options.maxAttempts ?? 6;
    this.#onRetry = options.onRetry;
  }

  async shouldRetry(
    options: FetchOptions,
    response: FetchResponse,
    attempt: number,
  ): Promise<boolean> {
    if (attempt >= this.#maxAttempts) return false;
    const s = response.status;
    let retry = false;
    // A network error or timeout, unless the sandbox refused the host: that is final.
    if (s === 0) retry = await netAllowed(options.url);
    else if (s === 202) retry = retryAfterSeconds(response) !== undefined;
    else if (s === 429 || s >= 500) retry = true;
    else if (s === 401 && options.auth) {
      await options.auth.refreshToken(options.networkSession);
      retry = true;
    }
    return retry;
  }

  retryAfter(options: FetchOptions, response: FetchResponse, attempt: number): number {
    const asked = retryAfterSeconds(response);
    const backoff = BASE_DELAY_SECONDS * 2 ** (attempt - 1) * (0.5 + Math.random() * 0.5);
    const delaySeconds = Math.min(
      MAX_DELAY_SECONDS,
      asked ?? (response.status === 401 ? 0 : backoff),
    );
    this.#onRetry?.({
      status: response.status,
      url: redactUrl(options.url),
      attempt,
      delaySeconds,
    });
    return delaySeconds;
  }
}

/** Whether the permission sandbox lets this process connect to `url`'s host. */
async function netAllowed(url: string): Promise<boolean> {
  try {
    const { state } = await Deno.permissions.query({ name: "net", host: new URL(url).host });
    return state === "granted";
  } catch {
    return true;
  }
}

function retryAfterSeconds(response: FetchResponse): number | undefined {
  const headers = response.headers ?? {};
  const ms = parseRetryAfter(headers["retry-after"] ?? headers["Retry-After"] ?? null);
  return ms === undefined ? undefined : ms / 1000;
}

/** Drops query strings (download URLs carry tokens) from URLs shown in logs. */
function redactUrl(url: string): string {
  return url.split("?")[0] ?? url;
}

/**
 * The host a sandbox denial names, when `e` (or the error box-node-sdk wraps, or a cause) is the
 * network permission refusing it: Deno's NotCapable from fetch, or `EPERM` from the Node
 * compatibility layer box-node-sdk's requests go through (`getaddrinfo EPERM <host>`).
 */
function sandboxDenial(e: unknown): string | undefined {
  let c: unknown = e;
  for (let depth = 0; c instanceof Error && depth < 5; depth++) {
    const code = (c as { code?: unknown }).code;
    if (c instanceof Deno.errors.NotCapable || code === "EPERM" || /\bEPERM\b/.test(c.message)) {
      const named = /net access to "([^"]+)"/.exec(c.message)?.[1];
      const url = /request to (\S+) failed/.exec(c.message)?.[1];
      return named ?? (url ? hostOf(url) : undefined) ?? "the Box host";
    }
    c = (c as { error?: unknown }).error ?? c.cause;
  }
  return undefined;
}

function hostOf(url: string): string | undefined {
  try {
    const u = new URL(url);
    return u.port ? u.host : `${u.hostname}:${u.protocol === "http:" ? 80 : 443}`;
  } catch {
    return undefined;
  }
}

/** Status, Box error code and message of an SDK failure, never its request (it may hold secrets). */
export function describeBoxError(
  e: unknown,
): {
  status: number | undefined;
  code: string | undefined;
  message: string;
  hint: string | undefined;
} {
  const denied = sandboxDenial(e);
  if (denied) {
    return {
      status: undefined,
      code: undefined,
      message: `the permission sandbox (--allow-net) does not include ${denied}`,
      hint: netSandboxHint(denied),
    };
  }
  const err = e as {
    responseInfo?: { statusCode?: number; body?: { code?: unknown; message?: unknown } };
    message?: unknown;
  };
  const status = err?.responseInfo?.statusCode;
  const code = typeof err?.responseInfo?.body?.code === "string"
    ? err.responseInfo.body.code
    : undefined;
  const bodyMessage = typeof err?.responseInfo?.body?.message === "string"
    ? err.responseInfo.body.message
    : undefined;
  const base = bodyMessage ??
    (typeof err?.message === "string" ? err.message.split("\n")[0]! : String(e));
  const message = status !== undefined ? `HTTP ${status}${code ? ` ${code}` : ""}: ${base}` : base;
  return {
    status,
    code,
    message: message.replace(/client_secret=[^&\s]*/g, "client_secret=***"),
    hint: undefined,
  };
}
