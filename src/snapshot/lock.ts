import { join } from "node:path";
import { ConfigError, ioReason } from "../errors.ts";
import { LOCK_FILE } from "./layout.ts";

/** A held lock; release it when the run ends (the OS also releases it if the process dies). */
export interface OutDirLock {
  release(): void;
}

/**
 * Takes an exclusive advisory lock (flock) on `<outDir>/.astrabak.lock` without waiting, so two
 * backups never write into one output directory at once. Because the kernel drops the lock when
 * the holder exits, a crash never leaves a stale lock behind.
 */
export async function lockOutDir(outDir: string): Promise<OutDirLock> {
  const path = join(outDir, LOCK_FILE);
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true, write: true, create: true, mode: 0o600 });
  } catch (e) {
    throw new ConfigError(
      `Cannot lock ${outDir}: ${ioReason(e)}`,
      {
        hint: "choose a writable directory with --out (or ASTRABAK_OUT)",
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
    file.close();
    throw new ConfigError(
      `Cannot start: another astrabak run is writing into ${outDir} (lock ${path})`,
      {
        hint: "wait for the other run to finish; the lock is released as soon as it exits",
      },
    );
  }
  await file.truncate(0);
  await file.write(new TextEncoder().encode(`pid ${Deno.pid} since ${new Date().toISOString()}\n`));
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
