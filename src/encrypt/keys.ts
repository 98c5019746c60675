/**
 * @module
 * Where recipients and identities come from: flags, files and the environment (already read by
 * src/config/env.ts, the one place that reads it). Recipients are public; identities are secrets
 * and arrive only as a file path, never on the command line.
 */

import type { Env } from "../config/env.ts";
import {
  type AgeIdentities,
  checkRecipient,
  parseIdentityFile,
  parseRecipientsFile,
  readOptionFile,
} from "./age.ts";

/** Recipient flags of backup and encrypt. */
export interface RecipientFlags {
  encryptTo?: string[];
  encryptToFile?: string[];
}

/**
 * The recipients to encrypt to: `--encrypt-to` (repeatable) and `--encrypt-to-file` (repeatable)
 * together; when neither is given, `ASTRABAK_AGE_RECIPIENTS` (comma-separated). Null when there
 * are none (no encryption). Each is checked by the age library; duplicates are dropped.
 */
export async function resolveRecipients(
  flags: RecipientFlags,
  env: Env,
): Promise<string[] | null> {
  const out: string[] = [];
  for (const r of flags.encryptTo ?? []) {
    out.push(await checkRecipient(r, { where: "--encrypt-to" }));
  }
  for (const f of flags.encryptToFile ?? []) {
    out.push(
      ...await parseRecipientsFile(
        await readOptionFile(f, "recipients file", "--encrypt-to-file"),
        f,
      ),
    );
  }
  if (out.length === 0 && env.ASTRABAK_AGE_RECIPIENTS !== undefined) {
    for (const r of env.ASTRABAK_AGE_RECIPIENTS.split(",").map((s) => s.trim()).filter(Boolean)) {
      out.push(await checkRecipient(r, { where: "ASTRABAK_AGE_RECIPIENTS" }));
    }
  }
  return out.length === 0 ? null : [...new Set(out)];
}

/**
 * The identities to decrypt with: `--identity-file PATH`, else `ASTRABAK_AGE_IDENTITY_FILE`;
 * null when neither is given. Read (and registered for redaction) only when called, which is
 * only when a `.zip.age` is actually read.
 */
export async function resolveIdentities(
  flag: string | undefined,
  env: Env,
): Promise<AgeIdentities | null> {
  const file = flag ?? env.ASTRABAK_AGE_IDENTITY_FILE;
  if (file === undefined) return null;
  const source = flag !== undefined
    ? `--identity-file ${file}`
    : `ASTRABAK_AGE_IDENTITY_FILE (${file})`;
  const text = await readOptionFile(
    file,
    "identity file",
    "--identity-file (or ASTRABAK_AGE_IDENTITY_FILE)",
  );
  return await parseIdentityFile(text, source);
}
