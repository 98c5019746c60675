/**
 * @module
 * The one definition of astrabak's Deno permission sandbox (and the few runtime flags that go
 * with it). `deno task compile` (scripts/compile.ts), the README table and the end-to-end tests
 * all derive their flags from here, so the sandbox the tests prove is the sandbox users run.
 */

import { DEFAULT_SNAPSHOT_DIR } from "../config/resolve.ts";

/** What the sandbox lets astrabak touch. */
export interface Sandbox {
  /** Hosts (with port) astrabak may connect to. */
  netHosts: readonly string[];
  /** Directories astrabak may create files in: where snapshots go. */
  writePaths: readonly string[];
  /** Paths astrabak may read: snapshot directories, token files, zips to verify. */
  readPaths: readonly string[];
}

/** Data API hosts on Astra: `<db-id>-<region>.apps.astra.datastax.com`, HTTPS only. */
export const ASTRA_HOSTS = ["*.apps.astra.datastax.com:443"] as const;

/**
 * Box: the API (token, folders, files), uploads, and the download hosts Box redirects to
 * (`dl.boxcloud.com` and its regional siblings), HTTPS only.
 */
export const BOX_HOSTS = ["api.box.com:443", "upload.box.com:443", "*.boxcloud.com:443"] as const;

/**
 * The AWS variables the S3 remote reads (src/config/env.ts), by name: the SDK sees only these
 * (src/remote/sdk_env.ts), so a wider `AWS_*` would grant nothing useful.
 */
export const AWS_ENV = [
  "AWS_ACCESS_KEY_ID",
  "AWS_SECRET_ACCESS_KEY",
  "AWS_SESSION_TOKEN",
  "AWS_REGION",
  "AWS_DEFAULT_REGION",
  "AWS_PROFILE",
  "AWS_SHARED_CREDENTIALS_FILE",
  "AWS_CONFIG_FILE",
] as const;

/**
 * S3: AWS endpoints (virtual-hosted `<bucket>.s3.<region>.amazonaws.com` and path style), HTTPS
 * only. Another S3-compatible store's host is added at build time (ASTRABAK_ALLOW_NET).
 */
export const S3_HOSTS = ["*.amazonaws.com:443"] as const;

/**
 * Environment variables astrabak may read: its own settings and the Data API ones (see
 * src/config/env.ts). Nothing else in the environment is visible to it.
 */
export const ENV_PATTERNS = ["ASTRA_DB_*", "ASTRABAK_*", "BOX_*", ...AWS_ENV] as const;

/** The sandbox `deno task compile` builds when no override is given. */
export const DEFAULT_SANDBOX: Sandbox = {
  netHosts: [...ASTRA_HOSTS, ...BOX_HOSTS, ...S3_HOSTS],
  writePaths: [DEFAULT_SNAPSHOT_DIR],
  readPaths: [DEFAULT_SNAPSHOT_DIR],
};

/**
 * The Deno flags for a sandbox, in a stable order. `--no-prompt` makes a denied access fail
 * instead of waiting for a terminal answer that cron can never give.
 */
export function permissionFlags(sandbox: Sandbox): string[] {
  const list = (xs: readonly string[]) => [...new Set(xs)].join(",");
  return [
    "--no-prompt",
    `--allow-net=${list(sandbox.netHosts)}`,
    `--allow-env=${list(ENV_PATTERNS)}`,
    `--allow-read=${list(sandbox.readPaths)}`,
    `--allow-write=${list(sandbox.writePaths)}`,
  ];
}

/**
 * V8 settings of the shipped binary (and of the tests' and the bench's subprocesses, through
 * {@linkcode runFlags}). Large buffers (response bodies, batches) that outlive a young-generation
 * collection are freed only when V8 next collects the old generation, which it does late when the
 * heap is small and the memory is outside it: a 1 MB young generation, and an old generation that
 * grows by 10 % (not V8's default factor of 1.1–4) before its next full collection, keep the peak
 * at 1536 dimensions near 135 MB instead of 165 MB. `--optimize-for-size` did the same for memory
 * but cost a quarter of the CPU at 1536 dimensions (it also makes V8 optimise code less), and a
 * hard heap limit would turn a large collection into an out-of-memory crash (docs/BENCHMARKS.md,
 * "Where the memory goes").
 */
export const V8_FLAGS = ["--max-semi-space-size=1", "--heap-growing-percent=10"] as const;

/** Everything `deno run`/`deno compile` needs besides the entry point: sandbox and V8 settings. */
export function runFlags(sandbox: Sandbox): string[] {
  return [...permissionFlags(sandbox), `--v8-flags=${V8_FLAGS.join(",")}`];
}
