/**
 * @module
 * What scripts/bench.ts and scripts/bench_scale.ts share: running astrabak as a subprocess under
 * the shipped sandbox and measuring its peak RSS.
 */

import { REPO_ROOT, testSandbox } from "../tests/e2e/run_cli.ts";
import { runFlags } from "../src/cli/permissions.ts";

/** A finished CLI run: wall time, peak RSS (MiB), stdout and exit code. */
export interface CliRun {
  seconds: number;
  rssMb: number;
  stdout: string;
  stderr: string;
  code: number;
}

/**
 * Runs the CLI as a subprocess under the shipped sandbox (`runFlags`: the permission and V8 flags
 * of `deno task compile`) with `dir` as its scratch directory, and measures its peak RSS with
 * /usr/bin/time (Deno allows reading /proc only with --allow-all).
 */
export async function cli(
  args: string[],
  dir: string,
  env: Record<string, string>,
): Promise<CliRun> {
  const deno = [
    Deno.execPath(),
    "run",
    ...runFlags(testSandbox(dir)),
    `${REPO_ROOT}main.ts`,
    ...args,
  ];
  const child = new Deno.Command("/usr/bin/time", {
    args: ["-f", "ASTRABAK_MAXRSS_KB %M", ...deno],
    env: { ...env, NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const t = performance.now();
  const out = await child.output();
  const stderr = new TextDecoder().decode(out.stderr);
  const kb = /ASTRABAK_MAXRSS_KB (\d+)/.exec(stderr)?.[1];
  return {
    seconds: (performance.now() - t) / 1000,
    rssMb: kb ? Number(kb) / 1024 : 0,
    stdout: new TextDecoder().decode(out.stdout),
    stderr,
    code: out.code,
  };
}
