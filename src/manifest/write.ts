import { writeFileDurably } from "../snapshot/durable_file.ts";
import { redactSecrets } from "../config/secrets.ts";
import { manifestProblems } from "./validate.ts";
import type { Manifest } from "./types.ts";
import { MANIFEST_FILE } from "./names.ts";

/**
 * The manifest as written (2-space JSON, fields in the order built, secrets masked), after the
 * schema self-check: for manifest.json, and for the copy `encrypt` puts into a `<ts>.zip.age`.
 */
export function serializeManifest(manifest: Manifest): string {
  const text = redactSecrets(JSON.stringify(manifest, null, 2)) + "\n";
  const problems = manifestProblems(JSON.parse(text));
  if (problems.length > 0) {
    throw new Error(
      `Internal error: refusing to write an invalid manifest: ${problems.join("; ")}`,
    );
  }
  return text;
}

/**
 * Serialises a manifest (2-space JSON, fields in the order built), masks any registered secret,
 * self-checks it against the schema, and writes it durably into `dir` via a temporary name, so a
 * reader never sees a half-written manifest. Files are created 0600.
 */
export async function writeManifest(dir: string, manifest: Manifest): Promise<void> {
  const text = serializeManifest(manifest);
  await writeFileDurably(dir, MANIFEST_FILE, text, { createNew: true });
}
