/**
 * @module
 * The one lock rule for the output directory: every command that writes into it (backup, zip,
 * upload packing a zip, a Box download for verify or restore) takes the same exclusive lock first,
 * and nothing is ever written into a snapshot. `--clean-stale` runs only under this lock, so it
 * can never remove the live files of another run.
 */

import { basename, dirname, join, resolve } from "node:path";
import { ConfigError, ioReason } from "../errors.ts";
import { MANIFEST_FILE } from "../manifest/mod.ts";
import { LOCK_FILE, parseSnapshotName } from "./layout.ts";
import { ensureOutDir } from "./workdir.ts";

/** A held lock; release it when the run ends (the OS also releases it if the process dies). */
export interface OutDirLock {
  release(): void;
}

/** Who takes the lock, for the messages (and the lock file) of {@linkcode lockOutDir}. */
export interface LockPurpose {
  /** What the holder does, written into the lock file: `backup`, `zip`, `download`. */
  holder: string;
  /** The flag that chooses the directory (`--out`, `--from`), named in hints; none for zip. */
  flag?: string;
}

/**
 * Takes an exclusive advisory lock (flock) on `<outDir>/.astrabak.lock` without waiting, so two
 * runs never write into one output directory at once. Refuses (before creating anything) an
 * `outDir` that is a snapshot or lies inside one. Creates `outDir` (0700) when missing. Because
 * the kernel drops the lock when the holder exits, a crash never leaves a stale lock behind.
 */
export async function lockOutDir(outDir: string, purpose: LockPurpose): Promise<OutDirLock> {
  const snapshot = await enclosingSnapshot(outDir);
  if (snapshot !== null) {
    const parent = dirname(snapshot);
    throw new ConfigError(
      `Refusing to write into ${outDir}: it ${
        snapshot === resolve(outDir) ? "is" : "lies inside"
      } the snapshot ${snapshot}, which must stay exactly as it was written`,
      {
        hint: purpose.flag
          ? `pass the directory that holds the snapshots, e.g. ${purpose.flag} ${parent}`
          : `move the snapshot out of ${snapshot} first`,
      },
    );
  }
  await ensureOutDir(outDir);
  const path = join(outDir, LOCK_FILE);
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true, write: true, create: true, mode: 0o600 });
  } catch (e) {
    throw new ConfigError(
      `Cannot lock ${outDir}: ${ioReason(e)}`,
      {
        hint: `choose a writable directory${purpose.flag ? ` with ${purpose.flag}` : ""}`,
        cause: e,
      },
    );
  }
  let locked = false;
  try {
    locked = await file.tryLock(true);
  } catch (e) {
    file.close();
    throw e;
  }
  if (!locked) {
    const holder = await readHolder(file);
    file.close();
    throw new ConfigError(
      `Cannot start: another astrabak run is writing into ${outDir} (lock ${path})${
        holder ? `: ${holder}` : ""
      }`,
      {
        hint: `wait for the other run to finish; the lock is released as soon as it exits${
          purpose.flag ? ` (or pass another directory with ${purpose.flag})` : ""
        }`,
      },
    );
  }
  await file.truncate(0);
  await file.write(
    new TextEncoder().encode(
      `pid ${Deno.pid}, ${purpose.holder} since ${new Date().toISOString()}\n`,
    ),
  );
  return {
    release() {
      try {
        file.close();
      } catch {
        // already closed
      }
    },
  };
}

/**
 * Whether another run holds the lock of `outDir` right now, without taking it for longer than a
 * probe and without creating anything (a dry run writes nothing). Used where a read-only command
 * must know whether a backup is writing an `.inprogress` snapshot.
 */
export async function isOutDirLocked(outDir: string): Promise<boolean> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(join(outDir, LOCK_FILE), { read: true });
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
  try {
    const got = await file.tryLock(true);
    if (got) await file.unlock();
    return !got;
  } finally {
    file.close();
  }
}

/** The first line of a lock file held by someone else (`pid N, backup since …`), if readable. */
async function readHolder(file: Deno.FsFile): Promise<string | null> {
  try {
    const buf = new Uint8Array(200);
    const n = await file.read(buf);
    const line = new TextDecoder().decode(buf.subarray(0, n ?? 0)).split("\n")[0]?.trim();
    return line || null;
  } catch {
    return null;
  }
}

/**
 * The snapshot directory that `dir` is or lies in, or null. A directory counts as a snapshot when
 * it holds an astrabak manifest, whatever its name (so a renamed snapshot counts, and a dated
 * folder of the user's that merely looks like `<ts>` does not), or when it is a backup's working
 * directory `.<ts>.inprogress`. Places the sandbox does not let us look at are not snapshots we
 * could have written.
 */
export async function enclosingSnapshot(dir: string): Promise<string | null> {
  let p = resolve(dir);
  for (;;) {
    if (parseSnapshotName(basename(p))?.kind === "inprogress") return p;
    if (await holdsManifest(p)) return p;
    const parent = dirname(p);
    if (parent === p) return null;
    p = parent;
  }
}

async function holdsManifest(dir: string): Promise<boolean> {
  const path = join(dir, MANIFEST_FILE);
  try {
    const info = await Deno.stat(path);
    if (!info.isFile || info.size > 1 << 20) return false;
    const head = new TextDecoder().decode((await Deno.readFile(path)).subarray(0, 4096));
    return head.includes('"backup_format_version"');
  } catch {
    return false;
  }
}
