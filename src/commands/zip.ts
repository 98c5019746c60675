/**
 * @module
 * `astrabak zip <snapshot-dir>`: packs an existing complete snapshot into `<ts>.zip` beside it.
 */

import type { Command } from "commander";
import { type CliContext, openOutput, type OutputFlags } from "../cli/context.ts";
import { addOutputOptions } from "../cli/flags.ts";
import { EXIT_CODE_HELP, ExitCode } from "../exit_codes.ts";
import { zipSnapshot } from "../snapshot/zip.ts";
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
  cmd.addHelpText(
    "after",
    `
INCOMPLETE snapshots, and snapshots not stored under their own name (<ts>/, as their manifest
says), are refused (exit 2); an existing zip is never replaced, and a .zip given as the snapshot
is a usage error (exit 1). The directory the zip goes into is locked like backup's --out.

${EXIT_CODE_HELP}
`,
  );
  cmd.action(async (dir: string, flags: OutputFlags) => {
    const out = openOutput(ctx, flags);
    const r = await zipSnapshot(dir, (p) => assertZipVerifies(p, out), ctx.signal);
    out.result({ status: "ok", zip: r.zipPath, size_bytes: r.sizeBytes, zip64: r.zip64 }, [
      `Wrote ${r.zipPath} (${r.sizeBytes} bytes${r.zip64 ? ", zip64" : ""})`,
    ]);
    ctx.exitCode = ExitCode.Ok;
  });
}
