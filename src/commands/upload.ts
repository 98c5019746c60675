/**
 * @module
 * `astrabak upload <snapshot-dir|zip|zip.age> --to REMOTE…`: an off-host copy of an existing
 * complete snapshot (packed first when a directory is given and has no zip yet), to each remote
 * named; a `.zip.age` goes with its sidecar.
 */

import type { Command } from "commander";
import { type CliContext, openOutput, type OutputFlags } from "../cli/context.ts";
import { addOutputOptions } from "../cli/flags.ts";
import { addRemoteOptions, type RemoteFlags, uploadTargets } from "../cli/remote_flags.ts";
import { describeUploadOutcome, type UploadOutcome, uploadToRemotes } from "../remote/mod.ts";
import { assertAgeUploadable, isEncryptedName } from "../encrypt/decrypt.ts";
import { ConfigError } from "../errors.ts";
import { EXIT_CODE_HELP, ExitCode } from "../exit_codes.ts";
import { zipSnapshot } from "../snapshot/zip.ts";
import { assertZipVerifies } from "../verify/verify.ts";

/** Raw flags of `upload`. */
export interface UploadFlags extends OutputFlags, RemoteFlags {}

/** Registers `upload` on the program. */
export function registerUpload(program: Command, ctx: CliContext): void {
  const cmd = program
    .command("upload")
    .argument("<snapshot>", "a complete snapshot directory, its .zip, or its .zip.age")
    .description(
      "Upload a complete snapshot's zip to each remote (--to box:ID, --to s3://BUCKET/PREFIX; a directory is zipped first); an upload counts only when the store's checksum of the stored object equals the local one",
    );
  addRemoteOptions(cmd, "upload", "to upload to (same as --to box:ID)");
  addOutputOptions(cmd);
  cmd.addHelpText(
    "after",
    `
The zip is quick-verified (hashes and sizes against its manifest) before it is sent. In Box an
existing file of the same name becomes a new version, unless Box already holds the same bytes. In
S3 an existing object of the same name is never overwritten: the same bytes are "already
present", other bytes are refused (exit 3). INCOMPLETE snapshots, and snapshots not stored under
their own name (<ts>/, as their manifest says), are refused (exit 2); a failed upload to any
remote exits 3 (the others are still tried) and changes nothing locally.

A <ts>.zip.age (backup --encrypt-to, astrabak encrypt) is checked without the key (its age header,
and its SHA-256 against its sidecar <ts>.zip.age.sha256, which must be beside it) and uploaded
with that sidecar; each remote proves both.

${EXIT_CODE_HELP}
`,
  );
  cmd.action(async (path: string, flags: UploadFlags) => {
    const out = openOutput(ctx, flags);
    const targets = uploadTargets(flags, ctx.env);
    if (targets.specs.length === 0) {
      throw new ConfigError("Cannot upload: no remote given", {
        hint: "pass --to s3://BUCKET/PREFIX or --to box:FOLDER_ID (or --box-folder ID)",
      });
    }
    const zipPath = await zipFor(path, out, ctx.signal);
    const uploads = await uploadToRemotes(
      targets.specs,
      targets.settings,
      zipPath,
      out,
      ctx.signal,
    );
    const failed = uploads.filter((u) => !u.ok);
    const first = uploads.find((u) => u.ok);
    out.result({
      status: failed.length === 0 ? "ok" : "failed",
      zip: zipPath,
      upload: first ? first.results[0] : null,
      uploads,
    }, describeUploads(uploads));
    ctx.exitCode = failed.length === 0 ? ExitCode.Ok : ExitCode.UploadFailed;
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
  if (info.isFile && isEncryptedName(path)) {
    await assertAgeUploadable(path, signal);
    return path;
  }
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

/** The lines that report upload outcomes (upload and backup --to/--box-folder). */
export function describeUploads(outcomes: readonly UploadOutcome[]): string[] {
  return outcomes.map(describeUploadOutcome);
}
