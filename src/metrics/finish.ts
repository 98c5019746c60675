/**
 * @module
 * The end of every run, once main.ts knows the exit code: clear any live progress display and
 * write the metrics file.
 */

import type { CliContext } from "../cli/context.ts";
import { Output } from "../cli/output.ts";
import { errorMessage } from "../errors.ts";

/**
 * Clears progress and writes `--metrics-file` for a run that ends with `code`; returns `code`.
 * A metrics file that cannot be written is reported on stderr but does not change the exit code
 * (the directory was checked before the run; monitoring then sees a stale file).
 */
export async function finishRun(ctx: CliContext, code: number): Promise<number> {
  ctx.output?.progress.stop();
  const metrics = ctx.metrics;
  if (!metrics) return code;
  try {
    await metrics.write(code, ctx.output?.lastResult);
  } catch (e) {
    const out = ctx.output ?? new Output({ json: false, logFormat: "text", verbose: false });
    out.error(`Cannot write the metrics file ${metrics.path}: ${errorMessage(e)}`);
  }
  return code;
}

/** {@linkcode finishRun} for an immediate exit (second signal): synchronous, never throws. */
export function finishRunSync(ctx: CliContext, code: number): void {
  try {
    ctx.output?.progress.stop();
    ctx.metrics?.writeSync(code, ctx.output?.lastResult);
  } catch {
    // Exiting at once: nothing more can be done.
  }
}
