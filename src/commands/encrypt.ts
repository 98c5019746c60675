/**
 * @module
 * `astrabak encrypt <snapshot-dir|.zip>`: flags → {@linkcode encryptSnapshotLocked} → report.
 * Writes `<ts>.zip.age` and its sidecar beside the snapshot; the logic lives in src/encrypt/.
 */

import type { Command } from "commander";
import { type CliContext, openOutput, type OutputFlags } from "../cli/context.ts";
import { addOutputOptions, addRecipientOptions } from "../cli/flags.ts";
import { encryptSnapshotLocked } from "../encrypt/encrypt.ts";
import { type RecipientFlags, resolveRecipients } from "../encrypt/keys.ts";
import { ConfigError } from "../errors.ts";
import { EXIT_CODE_HELP, ExitCode } from "../exit_codes.ts";

/** Raw flags of `encrypt`. */
interface EncryptFlags extends OutputFlags, RecipientFlags {}

/** Registers `encrypt` on the program. */
export function registerEncrypt(program: Command, ctx: CliContext): void {
  const cmd = program
    .command("encrypt")
    .argument("<snapshot>", "a complete snapshot directory (<ts>/) or its <ts>.zip")
    .description(
      "Encrypt a complete snapshot into <ts>.zip.age beside it (age format, to public keys only: the zip is encrypted as a stream, never written in plaintext), with a plaintext sidecar <ts>.zip.age.sha256 for checking it without the key",
    );
  addRecipientOptions(cmd);
  addOutputOptions(cmd);
  cmd.addHelpText(
    "after",
    `
Recipients come from --encrypt-to (repeatable), --encrypt-to-file, or ASTRABAK_AGE_RECIPIENTS;
one is required. The manifest inside records them (format 4). Before <ts>.zip.age gets its name,
every entry is checked against its manifest's SHA-256 as it enters the encrypter, and the file on
disk against the sidecar; this host cannot decrypt it (it needs the identity). INCOMPLETE or
misnamed snapshots are refused (exit 2); an existing .zip.age is never replaced (exit 1). The
directory it goes into is locked like backup's --out.

${EXIT_CODE_HELP}
`,
  );
  cmd.action(async (snapshot: string, flags: EncryptFlags) => {
    const out = openOutput(ctx, flags);
    const recipients = await resolveRecipients(flags, ctx.env);
    if (recipients === null) {
      throw new ConfigError("Cannot encrypt: no recipient given", {
        hint:
          "pass --encrypt-to age1… (the public key age-keygen printed), or --encrypt-to-file PATH",
      });
    }
    const r = await encryptSnapshotLocked(snapshot, recipients, out, ctx.signal);
    out.result({ status: "ok", ...r }, [
      `Wrote ${r.path} (${r.size_bytes} bytes, ${r.recipients.length} recipient(s)) and ${r.sidecar}`,
      ...r.proven.map((p) => `  proven: ${p}`),
    ]);
    ctx.exitCode = ExitCode.Ok;
  });
}
