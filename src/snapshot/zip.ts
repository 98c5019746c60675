/**
 * @module
 * Packs a complete snapshot directory into `<ts>.zip` next to it: entries `<ts>/manifest.json`
 * and `<ts>/<data files>`, stored (the data is gzip already), zip64 when the snapshot needs it.
 * The zip is written under a hidden `.<ts>.zip.inprogress` name, fsynced, checked, and only then
 * renamed, so a `<ts>.zip` is always whole.
 */

import * as zip from "@zip.js/zip.js";
import { dirname, join, resolve } from "node:path";
import {
  ConfigError,
  IncompleteSnapshotError,
  InterruptedError,
  ioReason,
  StorageError,
  VerificationError,
} from "../errors.ts";
import { MANIFEST_FILE } from "../manifest/mod.ts";
import { fileSink } from "../streams/file_sink.ts";
import { lockOutDir } from "./lock.ts";
import { openSnapshot, readerNameProblems, readManifest } from "./reader.ts";
import { pathExists, syncDir } from "./workdir.ts";

zip.configure({ useWebWorkers: false });

/** Past these, plain zip fields overflow and zip64 records are needed. */
const ZIP32_MAX_BYTES = 0xffff_0000;
const ZIP32_MAX_ENTRIES = 0xfff0;

/** One file to put into a snapshot zip, opened only when its turn comes. */
export interface ZipSource {
  /** Name under the snapshot root (`manifest.json`, a data file). */
  name: string;
  open(): Promise<{ readable: ReadableStream<Uint8Array>; size: number; lastModDate: Date }>;
}

/** Whether a zip of `files` files totalling `bytes` needs zip64 records. */
export function needsZip64(bytes: number, files: number): boolean {
  return bytes > ZIP32_MAX_BYTES || files > ZIP32_MAX_ENTRIES;
}

/**
 * Writes the snapshot zip (entries `<root>/<name>`, stored, in the order given) into `sink` as a
 * stream, and closes it: into a file for `<ts>.zip`, or into the age encrypter for
 * `<ts>.zip.age`, so one zip layout serves both and no plaintext zip is ever needed on disk.
 */
export async function writeSnapshotZip(
  sink: WritableStream<Uint8Array>,
  root: string,
  sources: readonly ZipSource[],
  zip64: boolean,
  signal?: AbortSignal,
): Promise<void> {
  const writer = new zip.ZipWriter(sink, { level: 0, zip64, keepOrder: true });
  for (const source of sources) {
    signal?.throwIfAborted();
    const { readable, size, lastModDate } = await source.open();
    await writer.add(`${root}/${source.name}`, { readable, size }, {
      level: 0,
      zip64,
      lastModDate,
      ...(signal ? { signal } : {}),
    });
  }
  await writer.close(undefined, { zip64 });
}

/** Result of {@linkcode packSnapshot}. */
export interface PackResult {
  zipPath: string;
  sizeBytes: number;
  zip64: boolean;
}

/**
 * `astrabak zip` and `upload` of a directory: {@linkcode packSnapshot} under the lock of the
 * directory the zip is written into (the one lock rule of lock.ts), so a concurrent
 * `backup --clean-stale` can never remove the zip being written.
 */
export async function zipSnapshot(
  dir: string,
  check: (zipPath: string) => Promise<void>,
  signal?: AbortSignal,
): Promise<PackResult> {
  const lock = await lockOutDir(dirname(resolve(dir)), { holder: "zip" });
  try {
    return await packSnapshot(dir, check, signal);
  } catch (e) {
    if (signal?.aborted) {
      throw new InterruptedError(
        `Interrupted while packing the zip; the unfinished zip was removed and ${dir} is unchanged`,
        { cause: e },
      );
    }
    throw e;
  } finally {
    lock.release();
  }
}

/**
 * Packs the complete snapshot at `dir`; the caller holds the lock of the directory it lies in.
 * Refuses an incomplete snapshot (IncompleteSnapshotError), one whose name is not its own
 * (VerificationError), a zip (ConfigError), and never replaces an existing zip. `check` is called
 * with the finished temporary zip before it is renamed (backup and `astrabak zip` pass a quick
 * verify), so a zip that does not read back is never published.
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
    if (snapshot.kind !== "dir") {
      throw new ConfigError(`Cannot zip ${dir}: it is already a zip`, {
        hint: "give the snapshot directory (<ts>/); check a zip with: astrabak verify",
      });
    }
    const manifest = await readManifest(snapshot);
    const misnamed = readerNameProblems(snapshot, manifest);
    if (misnamed.length > 0) {
      throw new VerificationError(`Refusing to zip ${dir}: ${misnamed.join("; ")}`);
    }
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

  // The name was checked above: the root folder is the snapshot's own name.
  const root = snapshot.rootName;
  const outDir = dirname(resolve(dir));
  const zipPath = join(outDir, `${root}.zip`);
  const tmpPath = join(outDir, `.${root}.zip.inprogress`);
  if (await pathExists(zipPath)) {
    throw new ConfigError(`Cannot write ${zipPath}: it already exists`, {
      hint: `check it with: astrabak verify ${zipPath} (remove it first to pack again)`,
    });
  }
  const zip64 = needsZip64(total, files.length);
  let out: Deno.FsFile;
  try {
    out = await Deno.open(tmpPath, { write: true, createNew: true, mode: 0o600 });
  } catch (e) {
    throw new StorageError(`Cannot create ${tmpPath}: ${ioReason(e)}`, {
      cause: e,
    });
  }
  try {
    const sources = files.map((name): ZipSource => ({
      name,
      async open() {
        const file = await Deno.open(join(dir, name), { read: true });
        const info = await file.stat();
        return { readable: file.readable, size: info.size, lastModDate: info.mtime ?? new Date() };
      },
    }));
    await writeSnapshotZip(fileSink(out), root, sources, zip64, signal);
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
