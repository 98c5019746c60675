/**
 * @module
 * One way to write a small file that a crash must never leave half-written: a 0600 temporary
 * file beside it, written in full, fsynced, then renamed over the name. Readers see the old file
 * or the new one, never a torn one. The manifest and the backup checkpoint are written this way.
 */

import { join } from "node:path";

/**
 * Writes `text` to `dir/name` via `dir/.name.tmp` (see the module doc). `createNew` refuses a
 * leftover temporary file instead of reusing it (the manifest: one writer, once).
 */
export async function writeFileDurably(
  dir: string,
  name: string,
  text: string,
  options: { createNew?: boolean } = {},
): Promise<void> {
  const tmp = join(dir, `.${name}.tmp`);
  const file = await Deno.open(
    tmp,
    options.createNew
      ? { write: true, createNew: true, mode: 0o600 }
      : { write: true, create: true, truncate: true, mode: 0o600 },
  );
  try {
    const bytes = new TextEncoder().encode(text);
    let off = 0;
    while (off < bytes.byteLength) off += await file.write(bytes.subarray(off));
    await file.sync();
  } finally {
    file.close();
  }
  await Deno.rename(tmp, join(dir, name));
}
