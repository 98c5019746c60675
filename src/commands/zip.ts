/**
 * @module
 * `astrabak zip <snapshot-dir>`: packs an existing complete snapshot into `<ts>.zip` beside it.
 */

import type { Command } from "commander";
import { type CliContext, openOutput, type OutputFlags } from "../cli/context.ts";
import { addOutputOptions } from "../cli/flags.ts";
import { EXIT_CODE_HELP, ExitCode } from "../exit_codes.ts";
import { packSnapshot } from "../snapshot/zip.ts";
import { assertZipVerifies } from "../verify/verify.ts";

/** Registers `zip` on the program. */
export function registerZip(program: Command, ctx: CliContext): void {
  const cmd = program
    .command("zip")
    .argument("<snapshot-dir>", "a complete snapshot directory (<ts>/)")
    .description(
      "Pack a complete snapshot into <ts>.zip next to it (entries <ts>/manifest.json and <ts>/<data files>, stored, zip64 when needed); the zip is checked before it gets its final name",
    );
  addOutputOptions(cmd);
  cmd.addHelpText("after", `\nINCOMPLETE snapshots are refused (exit 2).\n\n${EXIT_CODE_HELP}\n`);
  cmd.action(async (dir: string, flags: OutputFlags) => {
    const out = openOutput(ctx, flags);
    const r = await packSnapshot(dir, (p) => assertZipVerifies(p, out), ctx.signal);
    out.result({ status: "ok", zip: r.zipPath, size_bytes: r.sizeBytes, zip64: r.zip64 }, [
      `Wrote ${r.zipPath} (${r.sizeBytes} bytes${r.zip64 ? ", zip64" : ""})`,
    ]);
    ctx.exitCode = ExitCode.Ok;
  });
}
