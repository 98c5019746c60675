/**
 * Runs astrabak's main.ts as a subprocess under exactly the permission flags of
 * src/cli/permissions.ts, with only the fakes' loopback address added to --allow-net and the
 * test's scratch directory as the read/write paths. The environment is cleared, so the CLI sees
 * only what a test passes.
 */

import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { fileURLToPath } from "node:url";
import { DEFAULT_SANDBOX, runFlags, type Sandbox } from "../../src/cli/permissions.ts";
import { FAKE_TOKEN, FakeDataApi } from "../fakes/data_api/server.ts";
import { type ProfileName, PROFILES } from "../fakes/data_api/profiles.ts";

/** Repository root (where main.ts and deno.json are). */
export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** What a CLI run produced. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The sandbox e2e tests use: the shipped one, plus loopback and the scratch directory. */
export function testSandbox(dir: string): Sandbox {
  return {
    netHosts: [...DEFAULT_SANDBOX.netHosts, "127.0.0.1"],
    writePaths: [dir],
    readPaths: [dir],
  };
}

/** Options of {@linkcode runCli}. */
export interface RunCliOptions {
  /** Scratch directory: the only place the CLI may read or write. */
  dir: string;
  env?: Record<string, string>;
  /** Working directory (default: `dir`). */
  cwd?: string;
  signal?: AbortSignal;
}

/** Spawns the CLI and waits for it. */
export async function runCli(args: string[], options: RunCliOptions): Promise<CliResult> {
  const child = spawnCli(args, options);
  const out = await child.output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** Spawns the CLI without waiting (for signal tests). */
export function spawnCli(args: string[], options: RunCliOptions): Deno.ChildProcess {
  const env: Record<string, string> = { NO_COLOR: "1", ...options.env };
  for (const k of ["HOME", "DENO_DIR", "PATH"]) {
    const v = Deno.env.get(k);
    if (v !== undefined) env[k] = v;
  }
  return new Deno.Command(Deno.execPath(), {
    args: ["run", ...runFlags(testSandbox(options.dir)), `${REPO_ROOT}main.ts`, ...args],
    cwd: options.cwd ?? options.dir,
    env,
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    ...(options.signal ? { signal: options.signal } : {}),
  }).spawn();
}

/**
 * A keyspace no fake holds: restore tests put it in ASTRA_DB_KEYSPACE, so every restore proves
 * that restore ignores that variable (it would fail on the unknown keyspace otherwise).
 */
export const NOT_A_KEYSPACE = "not_a_keyspace";

/** Environment pointing the CLI at a fake Data API. */
export function fakeEnv(
  api: FakeDataApi,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    ASTRA_DB_API_ENDPOINT: api.url,
    // A fake playing Astra (profile astra) serves Astra's path prefix.
    ASTRA_DB_ENVIRONMENT: api.options.apiPath === "/api/json/v1" ? "astra" : "hcd",
    ASTRA_DB_KEYSPACE: "default_keyspace",
    ASTRA_DB_APPLICATION_TOKEN: FAKE_TOKEN,
    ...extra,
  };
}

/** Lists a directory's entry names, sorted. */
export async function ls(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) names.push(e.name);
  return names.sort();
}

/**
 * Reads a file, gunzipping when its name ends in .gz (every member: node:zlib reads them all,
 * while DecompressionStream stops after the first).
 */
export async function readData(path: string): Promise<string> {
  const bytes = await Deno.readFile(path);
  return new TextDecoder().decode(path.endsWith(".gz") ? gunzipSync(bytes) : bytes);
}

/**
 * A fake Data API plus a scratch directory (`out` is where backups go), both removed on dispose:
 * `await using t = await withFakeDataApi()`.
 */
export async function withFakeDataApi(
  options: Parameters<typeof FakeDataApi.start>[0] & { profile?: ProfileName } = {},
) {
  const { profile: name, ...rest } = options;
  const api = await FakeDataApi.start(name ? { ...PROFILES[name].options, ...rest } : rest);
  const dir = await Deno.makeTempDir({ prefix: "astrabak-e2e-" });
  return {
    api,
    dir,
    out: join(dir, "backups"),
    async [Symbol.asyncDispose]() {
      await api.close();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}
