/**
 * @module
 * The commander program: global help and version, and one registration per command.
 */

import { Command } from "commander";
import { registerBackup } from "../commands/backup.ts";
import { registerDrill } from "../commands/drill.ts";
import { registerList } from "../commands/list.ts";
import { registerPrune } from "../commands/prune.ts";
import { registerRestore } from "../commands/restore.ts";
import { registerUpload } from "../commands/upload.ts";
import { registerVerify } from "../commands/verify.ts";
import { registerZip } from "../commands/zip.ts";
import { registerEncrypt } from "../commands/encrypt.ts";
import { EXIT_CODE_HELP } from "../exit_codes.ts";
import { VERSION } from "../version.ts";
import { RunMetrics } from "../metrics/run_metrics.ts";
import type { CliContext } from "./context.ts";
import { Output } from "./output.ts";
import { addMetricsOption, addProgressOptions } from "./run_flags.ts";

/** Long commands that show progress per collection (`--progress`, `--progress-interval`). */
export const PROGRESS_COMMANDS: readonly string[] = ["backup", "verify", "restore"];

/** Commands that can leave a Prometheus metrics file (`--metrics-file`). */
export const METRICS_COMMANDS: readonly string[] = ["backup", "verify", "restore", "prune"];

/**
 * Refuses an empty argument or option value (`--out ''`, `--token-file ''`, `verify ''`): an
 * empty path would otherwise fall back to a default or reach the file system as "".
 */
function refuseEmptyValues(command: Command): void {
  const empty = (v: unknown) =>
    (typeof v === "string" && v.trim() === "") ||
    (Array.isArray(v) && v.some((x) => typeof x === "string" && x.trim() === ""));
  for (const o of command.options) {
    if (empty(command.getOptionValue(o.attributeName()))) {
      command.error(`error: option '${o.flags}' is empty: give a value or leave the option out`, {
        code: "astrabak.emptyValue",
      });
    }
  }
  command.registeredArguments.forEach((a, i) => {
    if (empty(command.processedArgs[i])) {
      command.error(`error: argument '${a.name()}' is empty`, { code: "astrabak.emptyValue" });
    }
  });
}

/** Builds the program. Commander never exits the process: errors surface as CommanderError. */
export function buildProgram(ctx: CliContext): Command {
  const fallback = new Output({ json: false, logFormat: "text", verbose: false });
  const program = new Command("astrabak")
    .description(
      "Back up, verify and restore DataStax Astra DB (Data API) collections, losslessly.",
    )
    .version(VERSION, "-V, --version", "print the version")
    .helpOption("-h, --help", "show help")
    .exitOverride()
    .configureOutput({
      writeOut: (s) => fallback.stdout(s),
      writeErr: (s) => fallback.stderr(s),
      // Usage errors are printed by main.ts from the CommanderError: redacted, and as JSON when
      // --json or --log-format json was asked for.
      outputError: () => {},
      // Fixed width and no colours: commander would otherwise read TERM-like env variables.
      getOutHelpWidth: () => 100,
      getErrHelpWidth: () => 100,
      getOutHasColors: () => false,
      getErrHasColors: () => false,
    })
    .addHelpText("after", `\n${EXIT_CODE_HELP}\n`)
    .hook("preAction", (_program, command) => refuseEmptyValues(command));
  registerBackup(program, ctx);
  registerVerify(program, ctx);
  registerRestore(program, ctx);
  registerDrill(program, ctx);
  registerUpload(program, ctx);
  registerList(program, ctx);
  registerZip(program, ctx);
  registerEncrypt(program, ctx);
  registerPrune(program, ctx);
  for (const cmd of program.commands) {
    if (PROGRESS_COMMANDS.includes(cmd.name())) addProgressOptions(cmd);
    if (METRICS_COMMANDS.includes(cmd.name())) addMetricsOption(cmd);
  }
  // The metrics file is claimed before the command runs, so main.ts can write it whatever the
  // exit code (its directory is checked first: exit 1 before any work if it cannot be written).
  program.hook("preAction", async (_program, action) => {
    const path = action.opts<{ metricsFile?: string }>().metricsFile;
    if (path !== undefined) ctx.metrics = await RunMetrics.open(action.name(), path);
  });
  return program;
}
