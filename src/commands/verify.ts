/**
 * @module
 * `astrabak verify PATH`: flags → {@linkcode verifySnapshot} → one line per collection and a
 * summary (or a JSON report).
 */

import type { Command } from "commander";
import { type CliContext, openOutput, type OutputFlags } from "../cli/context.ts";
import { addIdentityOption, addOutputOptions } from "../cli/flags.ts";
import { resolveIdentities } from "../encrypt/keys.ts";
import { verifyWithoutIdentity } from "../encrypt/decrypt.ts";
import { resolveSnapshotArg, SNAPSHOT_ARG_HELP } from "../cli/snapshot_arg.ts";
import { addRemoteOptions, type RemoteFlags } from "../cli/remote_flags.ts";
import { EXIT_CODE_HELP, ExitCode } from "../exit_codes.ts";
import { type VerifyReport, verifySnapshot } from "../verify/verify.ts";

/** Raw flags of `verify`. */
export interface VerifyFlags extends OutputFlags, RemoteFlags {
  quick?: boolean;
  from?: string;
  identityFile?: string;
} /** Human summary of a verify report. */
export function formatVerifyReport(r: VerifyReport): string[] {
  const lines: string[] = [];
  for (const c of r.collections) {
    const label = `${c.keyspace}.${c.name}`;
    if (c.status === "ok") {
      lines.push(`  ok      ${label}: ${c.documents} documents, ${c.bytes} bytes, hash ok`);
    } else if (c.status === "not_backed_up") {
      lines.push(`  -       ${label}: not in this snapshot (failed during backup)`);
    } else {
      lines.push(`  FAILED  ${label} (${c.data_file}): ${c.problems.join("; ")}`);
    }
  }
  const enc = (r as { encryption?: { recipients: number; types: string[] } | null }).encryption;
  if (enc) {
    lines.push(
      `  ok      age header: ${enc.recipients} recipient stanza(s) (${enc.types.join(", ")})`,
    );
  }
  if (r.contents_verified === false) {
    lines.push("  -       contents not verified: no identity given");
  }
  for (const p of r.problems) lines.push(`  FAILED  ${p}`);
  const t = r.totals;
  const what = `${r.kind ?? "snapshot"} ${r.path} (${r.mode})`;
  lines.push(
    r.status === "ok" && r.contents_verified === false
      ? `Checked ${what} without an identity: age header and SHA-256 against its sidecar ok; contents NOT verified`
      : r.status === "ok"
      ? `Verified ${what}: ${t.collections_ok} collections, ${t.documents} documents, ${t.bytes_read} bytes in ${r.duration_seconds} s`
      : `Verification FAILED for ${what}: ${r.problems.length + t.collections_failed} problem(s)`,
  );
  if (r.hint) lines.push(`hint: ${r.hint}`);
  return lines;
}

/** Registers `verify` on the program. */
export function registerVerify(program: Command, ctx: CliContext): void {
  const cmd = program
    .command("verify")
    .argument(
      "<path>",
      SNAPSHOT_ARG_HELP,
    )
    .description(
      "Prove a snapshot without extracting it: manifest schema and version, every file present and nothing extra, SHA-256 and size of each data file, and (unless --quick) every line is one valid JSON document an insert would accept (valid UTF-8, _id or primary key present, valid and not repeated, within the Data API document limits), and counts and vector dimensions match",
    )
    .option("--quick", "check hashes and sizes only")
    .option(
      "--from <dir>",
      "where `latest` is looked for and Box snapshots are downloaded to (env ASTRABAK_OUT; default ./backups)",
    );
  addRemoteOptions(cmd, "read", "to read box:<…> (and, given here, latest) from");
  addIdentityOption(cmd);
  addOutputOptions(cmd);
  cmd.addHelpText(
    "after",
    `
latest is chosen as restore chooses it: the greatest timestamp among finished snapshot names
under --from (BOX_FOLDER_ID alone does not make it Box's). Box credentials are needed only when
Box is read. A box:<file id|name> snapshot is downloaded (SHA-1 checked against Box) to a
temporary file under --from and removed afterwards. A zip is read in place (random access, CRC-32
checked); entries that escape the snapshot folder, symlinks and duplicate names are refused
before anything is read. Decompression is capped at the size the manifest declares, and lines
at the Data API's document size limit.

A <ts>.zip.age (encrypted with age) is read with --identity-file (or ASTRABAK_AGE_IDENTITY_FILE):
a zip needs random access, which an encrypted stream does not give, so it is decrypted as a
stream into a hidden 0600 temporary file in the directory that holds it (under its lock), read
like any zip, and removed afterwards, also on error or interrupt. Without an identity, only what
needs no key is checked: the age header (version line, recipient stanzas) and the whole file's
SHA-256 against its sidecar <ts>.zip.age.sha256; the contents are not verified, so this exits 2
"cannot verify contents without an identity", or 0 with --quick when those checks pass. A wrong
identity exits 1; a damaged or truncated .zip.age exits 2.

Exit status here: 0 the snapshot verifies; 2 it does not (including INCOMPLETE and unfinished
.inprogress snapshots); 1 the path cannot be read or the arguments are wrong.

${EXIT_CODE_HELP}
`,
  );
  cmd.action(async (path: string, flags: VerifyFlags) => {
    const out = openOutput(ctx, flags);
    const target = await resolveSnapshotArg(path, flags, ctx.env, out, {
      identity: () => resolveIdentities(flags.identityFile, ctx.env),
      allowWithoutIdentity: true,
      signal: ctx.signal,
    });
    let report: VerifyReport;
    try {
      if (target.encrypted?.decrypted === false) {
        report = await verifyWithoutIdentity(target.path, {
          quick: flags.quick === true,
          signal: ctx.signal,
          ...(target.encrypted.downloaded ? { downloaded: target.encrypted.downloaded } : {}),
        });
      } else {
        report = await verifySnapshot(target.path, {
          quick: flags.quick === true,
          signal: ctx.signal,
        }, out);
        if (target.encrypted) {
          report.kind = "zip.age";
          report.contents_verified = true;
        }
      }
    } finally {
      await target.release();
    }
    report.path = target.label;
    out.result(report, formatVerifyReport(report));
    ctx.exitCode = report.status === "ok" ? ExitCode.Ok : ExitCode.Incomplete;
  });
}
