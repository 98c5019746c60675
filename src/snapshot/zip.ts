/**
 * @module
 * Packs a complete snapshot directory into `<ts>.zip` next to it: entries `<ts>/manifest.json`
 * and `<ts>/<data files>`, stored (the data is gzip already), zip64 when the snapshot needs it.
 * The zip is written under a hidden `.<ts>.zip.inprogress` name, fsynced, checked, and only then
 * renamed, so a `<ts>.zip` is always whole.
 */

import * as zip from "@zip.js/zip.js";
import { basename, dirname, join } from "node:path";
import { IncompleteSnapshotError, ioReason, StorageError, VerificationError } from "../errors.ts";
import { MANIFEST_FILE } from "../manifest/mod.ts";
import { fileSink } from "../streams/file_sink.ts";
import { openSnapshot, readManifest } from "./reader.ts";
import { pathExists, syncDir } from "./workdir.ts";

zip.configure({ useWebWorkers: false });

/** Past these, plain zip fields overflow and zip64 records are needed. */
const ZIP32_MAX_BYTES = 0xffff_0000;
const ZIP32_MAX_ENTRIES = 0xfff0;

/** Result of {@linkcode packSnapshot}. */
export interface PackResult {
  zipPath: string;
  sizeBytes: number;
  zip64: boolean;
}

/**
 * Packs the complete snapshot at `dir`. Refuses an incomplete snapshot (IncompleteSnapshotError)
 * and never replaces an existing zip. `check` is called with the finished temporary zip before it
 * is renamed (backup and `astrabak zip` pass a quick verify), so a zip that does not read back is
 * never published.
 */
export async function packSnapshot(
  dir: string,
  check: (zipPath: string) => Promise<void>,
  signal?: AbortSignal,
): Promise<PackResult> {
  const snapshot = await openSnapshot(dir);
  let files: string[];
  let total = 0;
  try {
    if (snapshot.kind !== "dir") throw new VerificationError(`${dir} is already a zip`);
    const manifest = await readManifest(snapshot);
    if (manifest.status !== "complete") {
      throw new IncompleteSnapshotError(`Refusing to zip ${dir}: the snapshot is INCOMPLETE`, {
        hint: "only complete snapshots are packed (and uploaded); take a new backup",
      });
    }
    files = [MANIFEST_FILE, ...manifest.collections.map((c) => c.data_file!)];
    for (const f of files) {
      const info = snapshot.files.get(f);
      if (!info) throw new VerificationError(`Refusing to zip ${dir}: ${f} is missing`);
      total += info.size;
    }
  } finally {
    await snapshot.close();
  }

  const root = basename(dir.replace(/\/+$/, ""));
  const outDir = dirname(dir.replace(/\/+$/, ""));
  const zipPath = join(outDir, `${root}.zip`);
  const tmpPath = join(outDir, `.${root}.zip.inprogress`);
  if (await pathExists(zipPath)) {
    throw new StorageError(`Cannot write ${zipPath}: it already exists`);
  }
  const zip64 = total > ZIP32_MAX_BYTES || files.length > ZIP32_MAX_ENTRIES;
  let out: Deno.FsFile;
  try {
    out = await Deno.open(tmpPath, { write: true, createNew: true, mode: 0o600 });
  } catch (e) {
    throw new StorageError(`Cannot create ${tmpPath}: ${ioReason(e)}`, {
      cause: e,
    });
  }
  try {
    const writer = new zip.ZipWriter(fileSink(out), { level: 0, zip64, keepOrder: true });
    for (const name of files) {
      signal?.throwIfAborted();
      const file = await Deno.open(join(dir, name), { read: true });
      const info = await file.stat();
      await writer.add(`${root}/${name}`, { readable: file.readable, size: info.size }, {
        level: 0,
        zip64,
        lastModDate: info.mtime ?? new Date(),
        ...(signal ? { signal } : {}),
      });
    }
    await writer.close(undefined, { zip64 });
    await check(tmpPath);
    if (await pathExists(zipPath)) {
      throw new StorageError(`Cannot write ${zipPath}: it already exists`);
    }
    await Deno.rename(tmpPath, zipPath);
    await syncDir(outDir);
  } catch (e) {
    try {
      out.close();
    } catch {
      // closed by the sink already
    }
    await Deno.remove(tmpPath).catch(() => {});
    throw e;
  }
  return { zipPath, sizeBytes: (await Deno.stat(zipPath)).size, zip64 };
}
