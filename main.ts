/**
 * astrabak entry point: parse argv, dispatch, and map errors to exit codes. This is the only
 * place that exits the process.
 */

import { CommanderError } from "commander";
import { buildProgram } from "./src/cli/program.ts";
import type { CliContext } from "./src/cli/context.ts";
import { Output } from "./src/cli/output.ts";
import { readEnv } from "./src/config/env.ts";
import { AstrabakError, InterruptedError } from "./src/errors.ts";
import { ExitCode } from "./src/exit_codes.ts";
import { finishRun, finishRunSync } from "./src/metrics/finish.ts";

/** Runs the CLI with `args` and returns the exit code (exported for in-process tests). */
export async function main(args: string[]): Promise<number> {
  const controller = new AbortController();
  let signals = 0;
  const onSignal = (name: string) => () => {
    signals++;
    if (signals > 1) {
      finishRunSync(ctx, ExitCode.Interrupted);
      Deno.exit(ExitCode.Interrupted);
    }
    controller.abort(new InterruptedError(`Interrupted by ${name}`));
  };
  const handlers = [["SIGINT", onSignal("SIGINT")], ["SIGTERM", onSignal("SIGTERM")]] as const;
  for (const [sig, h] of handlers) Deno.addSignalListener(sig, h);

  const ctx: CliContext = {
    env: {},
    signal: controller.signal,
    exitCode: ExitCode.Ok,
    output: null,
  };
  try {
    ctx.env = readEnv();
    await buildProgram(ctx).parseAsync(args, { from: "user" });
    return await finishRun(ctx, ctx.exitCode);
  } catch (e) {
    return await finishRun(ctx, reportError(e, ctx));
  } finally {
    for (const [sig, h] of handlers) Deno.removeSignalListener(sig, h);
  }
}

function reportError(e: unknown, ctx: CliContext): number {
  if (e instanceof CommanderError) {
    // Help and version are successes; usage errors were already printed by commander.
    if (
      e.code === "commander.helpDisplayed" || e.code === "commander.version" ||
      e.code === "commander.help"
    ) {
      return ExitCode.Ok;
    }
    return ExitCode.Config;
  }
  const out = ctx.output ?? new Output({ json: false, logFormat: "text", verbose: false });
  if (ctx.signal.aborted && !(e instanceof AstrabakError)) {
    e = ctx.signal.reason;
  }
  if (e instanceof AstrabakError) {
    out.error(e.message);
    if (e.hint) out.error(`hint: ${e.hint}`);
    if (out.options.json) {
      out.result({ status: "error", error: e.name, message: e.message, exit_code: e.exitCode }, []);
    }
    return e.exitCode;
  }
  // Unexpected: a bug. Show the stack so it can be reported.
  out.error(`internal error: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
  return ExitCode.Config;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
