/**
 * @module
 * `astrabak upload <snapshot-dir|zip> --box-folder ID`: an off-host copy of an existing complete
 * snapshot (packed first when a directory is given and has no zip yet).
 */

import type { Command } from "commander";
import { uploadSnapshotZip } from "../box/offsite.ts";
import { type CliContext, openOutput, type OutputFlags } from "../cli/context.ts";
import { addBoxOption, addOutputOptions } from "../cli/flags.ts";
import { resolveBox } from "../config/resolve.ts";
import { ConfigError } from "../errors.ts";
import { EXIT_CODE_HELP, ExitCode } from "../exit_codes.ts";
import { zipSnapshot } from "../snapshot/zip.ts";
import { assertZipVerifies } from "../verify/verify.ts";
import type { UploadResult } from "../box/upload.ts";

/** Raw flags of `upload`. */
export interface UploadFlags extends OutputFlags {
  boxFolder?: string;
  boxRetries?: number;
}

/** Registers `upload` on the program. */
export function registerUpload(program: Command, ctx: CliContext): void {
  const cmd = program
    .command("upload")
    .argument("<snapshot>", "a complete snapshot directory or its .zip")
    .description(
      "Upload a complete snapshot's zip to a Box folder (a directory is zipped first); the upload counts only when Box's SHA-1 of the stored file equals the local one",
    );
  addBoxOption(cmd, "to upload to (required)");
  addOutputOptions(cmd);
  cmd.addHelpText(
    "after",
    `
The zip is quick-verified (hashes and sizes against its manifest) before it is sent. An existing
file of the same name becomes a new version, unless Box already holds the same bytes. INCOMPLETE
snapshots, and snapshots not stored under their own name (<ts>/, as their manifest says), are
refused (exit 2); a failed upload exits 3 and changes nothing locally.

${EXIT_CODE_HELP}
`,
  );
  cmd.action(async (path: string, flags: UploadFlags) => {
    const out = openOutput(ctx, flags);
    const box = resolveBox(flags, ctx.env);
    if (!box) {
      throw new ConfigError("Cannot upload: no Box folder given", {
        hint: "pass --box-folder ID or set BOX_FOLDER_ID",
      });
    }
    const zipPath = await zipFor(path, out, ctx.signal);
    const r = await uploadSnapshotZip(box, zipPath, out, ctx.signal);
    out.result({ status: "ok", zip: zipPath, upload: r }, [describeUpload(r)]);
    ctx.exitCode = ExitCode.Ok;
  });
}

/** The verified zip of `path`: the zip itself, `<dir>.zip`, or a fresh pack of the directory. */
async function zipFor(
  path: string,
  out: Parameters<typeof assertZipVerifies>[1],
  signal: AbortSignal,
): Promise<string> {
  const info = await Deno.stat(path).catch(() => null);
  if (!info) throw new ConfigError(`Cannot read ${path}: no such file or directory`);
  if (info.isFile) {
    await assertZipVerifies(path, out, `Refusing to upload ${path}`);
    return path;
  }
  const existing = `${path.replace(/\/+$/, "")}.zip`;
  if (await Deno.stat(existing).then(() => true, () => false)) {
    await assertZipVerifies(existing, out);
    return existing;
  }
  return (await zipSnapshot(path, (p) => assertZipVerifies(p, out), signal)).zipPath;
}

/** The one line that reports a proven upload (upload and backup --box-folder). */
export function describeUpload(u: UploadResult): string {
  return `Box: ${u.name} is file ${u.fileId} (${u.method}${
    u.newVersion ? ", new version" : ""
  }; SHA-1 ${u.sha1} matches)`;
}
