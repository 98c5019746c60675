/**
 * @module
 * Settings of the S3 remote from flags and environment, resolved once and only when an S3 remote
 * is used. Credentials come from the environment or the shared AWS files, never from argv; the
 * secret ones are registered for redaction here, before anything could quote them.
 */

import { ConfigError } from "../errors.ts";
import type { Env } from "./env.ts";
import { DEFAULT_RETRIES } from "./resolve.ts";
import { registerSecret } from "./secrets.ts";

/** S3 flags, as commander parses them. */
export interface S3Flags {
  s3Endpoint?: string | undefined;
  s3PathStyle?: boolean | undefined;
  s3StorageClass?: string | undefined;
  s3Sse?: string | undefined;
  s3SseKmsKeyId?: string | undefined;
  s3Retries?: number | undefined;
}

/** Server-side encryption astrabak asks S3 for. */
export const S3_SSE = ["aws:kms", "AES256"] as const;

/** Resolved S3 settings (the bucket and prefix come from the remote's name). */
export interface S3Settings {
  /** Custom endpoint (R2, MinIO, B2, GCS), or null for AWS. */
  readonly endpoint: string | null;
  /** Region; null lets the SDK read it from the shared config file of AWS_PROFILE. */
  readonly region: string | null;
  readonly forcePathStyle: boolean;
  readonly storageClass: string | null;
  readonly sse: (typeof S3_SSE)[number] | null;
  readonly sseKmsKeyId: string | null;
  /** Retries per S3 request (503 SlowDown, 5xx, network), before giving up. */
  readonly retries: number;
  /**
   * The only environment the SDK is shown (src/remote/sdk_env.ts): the AWS variables astrabak
   * reads, nothing else.
   */
  readonly sdkEnv: Readonly<Record<string, string>>;
}

/** Resolves S3 settings; see the module doc. */
export function resolveS3(flags: S3Flags, env: Env): S3Settings {
  const rawEndpoint = flags.s3Endpoint ?? env.ASTRABAK_S3_ENDPOINT;
  const endpoint = rawEndpoint === undefined ? null : s3Endpoint(rawEndpoint);
  if (flags.s3SseKmsKeyId !== undefined && flags.s3Sse !== "aws:kms") {
    throw new ConfigError("Cannot use --s3-sse-kms-key-id without --s3-sse aws:kms", {
      hint: "add --s3-sse aws:kms, or drop the key id",
    });
  }
  if (Boolean(env.AWS_ACCESS_KEY_ID) !== Boolean(env.AWS_SECRET_ACCESS_KEY)) {
    throw new ConfigError(
      "Cannot connect to S3: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set together",
    );
  }
  if (
    !env.AWS_ACCESS_KEY_ID && env.AWS_SHARED_CREDENTIALS_FILE === undefined &&
    env.AWS_CONFIG_FILE === undefined
  ) {
    // The only credential sources the SDK is given (src/remote/sdk_env.ts): no instance metadata,
    // no home directory.
    throw new ConfigError("Cannot connect to S3: no credentials given", {
      hint:
        "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE with AWS_SHARED_CREDENTIALS_FILE)",
    });
  }
  if (
    env.AWS_PROFILE !== undefined && env.AWS_SHARED_CREDENTIALS_FILE === undefined &&
    env.AWS_CONFIG_FILE === undefined
  ) {
    throw new ConfigError(
      `Cannot use AWS_PROFILE=${env.AWS_PROFILE}: name the shared files it lives in`,
      {
        hint:
          "set AWS_SHARED_CREDENTIALS_FILE (and AWS_CONFIG_FILE) to absolute paths the sandbox may read (ASTRABAK_ALLOW_READ at build time)",
      },
    );
  }
  for (const s of [env.AWS_SECRET_ACCESS_KEY, env.AWS_SESSION_TOKEN]) {
    if (s !== undefined) registerSecret(s);
  }
  const sdkEnv: Record<string, string> = {};
  for (
    const name of [
      "AWS_ACCESS_KEY_ID",
      "AWS_SECRET_ACCESS_KEY",
      "AWS_SESSION_TOKEN",
      "AWS_PROFILE",
      "AWS_SHARED_CREDENTIALS_FILE",
      "AWS_CONFIG_FILE",
    ] as const
  ) {
    const v = env[name];
    if (v !== undefined) sdkEnv[name] = v;
  }
  const region = env.AWS_REGION ?? env.AWS_DEFAULT_REGION ??
    (endpoint !== null || env.AWS_PROFILE === undefined ? "us-east-1" : null);
  return Object.freeze({
    endpoint,
    region,
    forcePathStyle: flags.s3PathStyle === true,
    storageClass: flags.s3StorageClass ?? null,
    sse: (flags.s3Sse ?? null) as S3Settings["sse"],
    sseKmsKeyId: flags.s3SseKmsKeyId ?? null,
    retries: flags.s3Retries ?? DEFAULT_RETRIES,
    sdkEnv: Object.freeze(sdkEnv),
  });
}

/** An endpoint URL: https, or http to this machine only (a local MinIO, the tests). */
function s3Endpoint(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`Cannot use S3 endpoint "${raw}": not a URL`, {
      hint: "e.g. --s3-endpoint https://<account>.r2.cloudflarestorage.com",
    });
  }
  if (url.username || url.password || url.search || url.hash) {
    throw new ConfigError(
      `Cannot use S3 endpoint "${url.origin}": no credentials, query or fragment in it`,
      { hint: "credentials come from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY" },
    );
  }
  const local = ["127.0.0.1", "localhost", "[::1]"].includes(url.hostname);
  if (url.protocol !== "https:" && !(url.protocol === "http:" && local)) {
    throw new ConfigError(
      `Cannot use S3 endpoint "${url.origin}": only https (or http to this machine) is allowed`,
    );
  }
  return `${url.origin}${url.pathname}`.replace(/\/+$/, "");
}
