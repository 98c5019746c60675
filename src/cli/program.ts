/**
 * @module
 * The commander program: global help and version, and one registration per command.
 */

import { Command } from "commander";
import { registerBackup } from "../commands/backup.ts";
import { registerList } from "../commands/list.ts";
import { registerPrune } from "../commands/prune.ts";
import { registerRestore } from "../commands/restore.ts";
import { registerUpload } from "../commands/upload.ts";
import { registerVerify } from "../commands/verify.ts";
import { registerZip } from "../commands/zip.ts";
import { EXIT_CODE_HELP } from "../exit_codes.ts";
import { VERSION } from "../version.ts";
import type { CliContext } from "./context.ts";
import { Output } from "./output.ts";

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
    .showHelpAfterError("(run with --help for usage)")
    .configureOutput({
      writeOut: (s) => fallback.stdout(s),
      writeErr: (s) => fallback.stderr(s),
      // Fixed width and no colours: commander would otherwise read TERM-like env variables.
      getOutHelpWidth: () => 100,
      getErrHelpWidth: () => 100,
      getOutHasColors: () => false,
      getErrHasColors: () => false,
    })
    .addHelpText("after", `\n${EXIT_CODE_HELP}\n`);
  registerBackup(program, ctx);
  registerVerify(program, ctx);
  registerRestore(program, ctx);
  registerUpload(program, ctx);
  registerList(program, ctx);
  registerZip(program, ctx);
  registerPrune(program, ctx);
  return program;
}
