import type { Env } from "../config/env.ts";
import type { ExitCode } from "../exit_codes.ts";
import type { RunMetrics } from "../metrics/run_metrics.ts";
import { createProgress, DEFAULT_PROGRESS_INTERVAL_SECONDS } from "../progress/mod.ts";
import { type LogFormat, Output } from "./output.ts";
import type { RunFlags } from "./run_flags.ts";

/** State shared between main.ts and the command actions. */
export interface CliContext {
  /** The environment, read once by main.ts. */
  env: Env;
  /** Aborted on SIGINT, SIGTERM or SIGHUP. */
  signal: AbortSignal;
  /** Exit code chosen by the action that ran (errors are mapped by main.ts instead). */
  exitCode: ExitCode;
  /** The output of the running command, once its flags are known. */
  output: Output | null;
  /** The run's metrics file, when --metrics-file was given (written by main.ts at exit). */
  metrics?: RunMetrics | null;
  /** Called (synchronously) just before a second signal exits the process at once. */
  beforeForcedExit?: () => void;
}

/** Output flags every command has. */
export interface OutputFlags extends RunFlags {
  json?: boolean;
  logFormat?: string;
  verbose?: boolean;
}

/** Creates the command's Output from its flags and records it on the context. */
export function openOutput(ctx: CliContext, flags: OutputFlags): Output {
  const logFormat: LogFormat = flags.logFormat === "json" ? "json" : "text";
  ctx.output = new Output({
    json: flags.json === true,
    logFormat,
    verbose: flags.verbose === true,
  });
  const out = ctx.output;
  out.progress = createProgress(flags.progress ?? "none", {
    intervalSeconds: flags.progressInterval ?? DEFAULT_PROGRESS_INTERVAL_SECONDS,
    stderrIsTerminal: Deno.stderr.isTerminal(),
    stderr: Deno.stderr,
    reporter: out,
  });
  return out;
}
