/**
 * astrabak entry point: parse argv, dispatch, and map errors to exit codes. This is the only
 * place that exits the process.
 */

import { CommanderError } from "commander";
import { buildProgram } from "./src/cli/program.ts";
import type { CliContext } from "./src/cli/context.ts";
import { Output } from "./src/cli/output.ts";
import { readEnv } from "./src/config/env.ts";
import { AstrabakError, describeIoError, InterruptedError, isDenoIoError } from "./src/errors.ts";
import { outputOptionsFromArgs, redactUsage, registerArgSecrets } from "./src/cli/usage.ts";
import { ExitCode } from "./src/exit_codes.ts";
import { finishRun, finishRunSync } from "./src/metrics/finish.ts";

/** Runs the CLI with `args` and returns the exit code (exported for in-process tests). */
export async function main(args: string[]): Promise<number> {
  const controller = new AbortController();
  let signals = 0;
  const onSignal = (name: string) => () => {
    signals++;
    if (signals > 1) {
      ctx.beforeForcedExit?.();
      finishRunSync(ctx, ExitCode.Interrupted);
      Deno.exit(ExitCode.Interrupted);
    }
    controller.abort(new InterruptedError(`Interrupted by ${name}`));
  };
  // SIGHUP is what a dropped SSH session sends: the same clean stop as Ctrl-C and SIGTERM.
  const handlers = [
    ["SIGINT", onSignal("SIGINT")],
    ["SIGTERM", onSignal("SIGTERM")],
    ["SIGHUP", onSignal("SIGHUP")],
  ] as const;
  for (const [sig, h] of handlers) Deno.addSignalListener(sig, h);

  const ctx: CliContext = {
    env: {},
    signal: controller.signal,
    exitCode: ExitCode.Ok,
    output: null,
  };
  registerArgSecrets(args);
  try {
    ctx.env = readEnv();
    await buildProgram(ctx).parseAsync(args, { from: "user" });
    ctx.output?.flushResult(ctx.exitCode);
    return await finishRun(ctx, ctx.exitCode);
  } catch (e) {
    return await finishRun(ctx, reportError(e, ctx, args));
  } finally {
    for (const [sig, h] of handlers) Deno.removeSignalListener(sig, h);
  }
}

/** Known command names, for the "run astrabak <command> --help" hint. */
const COMMANDS = [
  "backup",
  "verify",
  "restore",
  "drill",
  "upload",
  "list",
  "zip",
  "prune",
  "encrypt",
];

/**
 * Reports a failure and returns its exit code. With --json, stdout gets exactly one JSON object
 * whatever failed (usage, configuration, a bug); with --log-format json, stderr gets JSON lines.
 */
function reportError(e: unknown, ctx: CliContext, args: string[]): number {
  if (e instanceof CommanderError) {
    // Help and version are successes.
    if (
      e.code === "commander.helpDisplayed" || e.code === "commander.version" ||
      e.code === "commander.help"
    ) {
      return ExitCode.Ok;
    }
    return reportUsageError(e, args);
  }
  const out = ctx.output ?? new Output(outputOptionsFromArgs(args));
  if (ctx.signal.aborted && !(e instanceof AstrabakError)) {
    e = ctx.signal.reason;
  }
  if (e instanceof AstrabakError) {
    out.failure(e.name, e.message, e.hint, e.exitCode);
    return e.exitCode;
  }
  if (isDenoIoError(e)) {
    // A file-system or network refusal that no module turned into a sentence: still one line.
    out.failure("IoError", `Cannot continue: ${describeIoError(e)}`, undefined, ExitCode.Config);
    if (out.options.verbose) out.debug(e.stack ?? e.message);
    return ExitCode.Config;
  }
  // Unexpected: a bug. Show the stack so it can be reported.
  const first = e instanceof Error ? e.message.split("\n")[0] : String(e);
  out.failure(
    "InternalError",
    `internal error: ${first}`,
    undefined,
    ExitCode.Config,
    `internal error: ${e instanceof Error ? e.stack ?? e.message : String(e)}`,
  );
  return ExitCode.Config;
}

/** A command line commander refused: one redacted line (or JSON), exit 1. */
function reportUsageError(e: CommanderError, args: string[]): number {
  const options = outputOptionsFromArgs(args);
  const out = new Output(options);
  const message = redactUsage(e.message.replace(/^error: /, "").trim(), args);
  const command = args.find((a) => COMMANDS.includes(a));
  const hint = `run astrabak ${command ? `${command} ` : ""}--help for usage`;
  if (options.json || options.logFormat === "json") {
    out.failure("UsageError", message, hint, ExitCode.Config);
  } else {
    out.stderr(`error: ${message}\n(${hint})\n`);
  }
  return ExitCode.Config;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
