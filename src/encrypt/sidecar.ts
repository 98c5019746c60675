/**
 * @module
 * The plaintext sidecar `<ts>.zip.age.sha256` beside an encrypted snapshot: one line in
 * `sha256sum` format, so anyone (and `astrabak verify` without the identity) can check the
 * ciphertext without the key.
 */

import { basename } from "node:path";
import { VerificationError } from "../errors.ts";

/** Suffix of an encrypted snapshot. */
export const AGE_SUFFIX = ".zip.age";
/** Suffix of its sidecar, after the `.zip.age` name. */
export const SIDECAR_SUFFIX = ".sha256";

/** The sidecar path of an encrypted snapshot. */
export function sidecarPath(agePath: string): string {
  return agePath + SIDECAR_SUFFIX;
}

/** The sidecar's one line: `<hex>  <name>` (what `sha256sum -c` reads). */
export function sidecarText(sha256Hex: string, ageName: string): string {
  return `${sha256Hex}  ${ageName}\n`;
}

/**
 * The SHA-256 a sidecar records for `ageName`; null when there is no sidecar. A sidecar that
 * is not one `sha256sum` line for that name is a VerificationError.
 */
export async function readSidecar(
  agePath: string,
  /**
   * For a download, whose temporary files have other names: the sidecar's path (null: the
   * remote has none) and the name the archive is known by.
   */
  known: { sidecar?: string | null; name?: string } = {},
): Promise<string | null> {
  if (known.sidecar === null) return null;
  const path = known.sidecar ?? sidecarPath(agePath);
  const ageName = known.name ?? basename(agePath);
  let text: string;
  try {
    const info = await Deno.stat(path);
    if (!info.isFile || info.size > 4096) throw new Error("not a small file");
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw new VerificationError(`Cannot read ${path}: ${e instanceof Error ? e.message : e}`);
  }
  const m = /^([0-9a-f]{64}) [ *](.+)\r?\n?$/.exec(text);
  if (!m || basename(m[2]!) !== ageName) {
    throw new VerificationError(
      `${path} is not a sha256sum line for ${ageName}`,
      { hint: `it should read "<64 hex digits>  ${ageName}"` },
    );
  }
  return m[1]!;
}
