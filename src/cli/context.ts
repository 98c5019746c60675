import type { Env } from "../config/env.ts";
import type { ExitCode } from "../exit_codes.ts";
import { type LogFormat, Output } from "./output.ts";

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
}

/** Output flags every command has. */
export interface OutputFlags {
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
  return ctx.output;
}
