import { join } from "node:path";
import { ConfigError, ioReason, StorageError } from "../errors.ts";
import { sleep } from "../source/retry.ts";
import {
  formatTimestamp,
  INCOMPLETE_SUFFIX,
  INPROGRESS_SUFFIX,
  namesForTimestamp,
} from "./layout.ts";

/**
 * The hidden `.<ts>.inprogress/` directory a backup writes into, and its one-way exit: an atomic
 * rename to `<ts>/` or `<ts>.INCOMPLETE/` after everything inside is durable, or removal.
 */
export class SnapshotWorkdir {
  readonly outDir: string;
  readonly timestamp: string;
  /** Absolute or relative path of the in-progress directory. */
  readonly path: string;
  readonly startedAt: Date;

  private constructor(outDir: string, timestamp: string, startedAt: Date) {
    this.outDir = outDir;
    this.timestamp = timestamp;
    this.startedAt = startedAt;
    this.path = join(outDir, `.${timestamp}${INPROGRESS_SUFFIX}`);
  }

  /**
   * Creates the output directory (0700) if needed and a fresh in-progress directory (0700) whose
   * timestamp no existing snapshot uses (waiting for the next second if one does).
   */
  static async create(
    outDir: string,
    now: () => Date = () => new Date(),
  ): Promise<SnapshotWorkdir> {
    await ensureOutDir(outDir);
    for (let attempt = 0; attempt < 5; attempt++) {
      const startedAt = now();
      const ts = formatTimestamp(startedAt);
      if (!(await anyExists(namesForTimestamp(ts).map((n) => join(outDir, n))))) {
        const w = new SnapshotWorkdir(outDir, ts, startedAt);
        try {
          await Deno.mkdir(w.path, { mode: 0o700 });
        } catch (e) {
          if (e instanceof Deno.errors.AlreadyExists) continue;
          throw storageStartError(outDir, e);
        }
        return w;
      }
      await sleep(1000 - (startedAt.getTime() % 1000) + 5);
    }
    throw new ConfigError(`Cannot choose a snapshot name in ${outDir}: every recent name is taken`);
  }

  /**
   * The existing in-progress directory of the snapshot `timestamp` (`backup --resume`), which
   * keeps its name and start time.
   */
  static reopen(outDir: string, timestamp: string, startedAt: Date): SnapshotWorkdir {
    return new SnapshotWorkdir(outDir, timestamp, startedAt);
  }

  /** Path of a file inside the in-progress directory. */
  file(name: string): string {
    return join(this.path, name);
  }

  /**
   * Makes the directory durable and renames it to its final name. Never replaces an existing
   * snapshot. Returns the final path.
   */
  async finalize(complete: boolean): Promise<string> {
    const finalPath = join(this.outDir, this.timestamp + (complete ? "" : INCOMPLETE_SUFFIX));
    await syncDir(this.path);
    if (await anyExists([finalPath])) {
      throw new StorageError(`Cannot finish snapshot: ${finalPath} already exists`);
    }
    await Deno.rename(this.path, finalPath);
    await syncDir(this.outDir);
    return finalPath;
  }

  /** Removes the in-progress directory and everything in it. */
  async discard(): Promise<void> {
    await Deno.remove(this.path, { recursive: true }).catch(() => {});
  }
}

/** Creates the output directory (0700) if missing; a failure is a configuration error. */
export async function ensureOutDir(outDir: string): Promise<void> {
  try {
    await Deno.mkdir(outDir, { recursive: true, mode: 0o700 });
  } catch (e) {
    throw storageStartError(outDir, e);
  }
}

function storageStartError(outDir: string, e: unknown): ConfigError {
  if (e instanceof Deno.errors.NotCapable) {
    return new ConfigError(
      `Cannot write snapshots into ${outDir}: the permission sandbox does not allow it`,
      {
        hint:
          `use the directory the binary was built for, or rebuild with ASTRABAK_ALLOW_WRITE=${outDir} deno task compile`,
        cause: e,
      },
    );
  }
  const why = e instanceof Deno.errors.AlreadyExists
    ? "it exists and is not a directory"
    : ioReason(e);
  return new ConfigError(`Cannot write snapshots into ${outDir}: ${why}`, {
    hint: "choose a writable directory with --out (or ASTRABAK_OUT)",
    cause: e,
  });
}

async function anyExists(paths: string[]): Promise<boolean> {
  for (const p of paths) if (await pathExists(p)) return true;
  return false;
}

/** Whether anything (even a dangling symlink) has this name; other errors are thrown. */
export async function pathExists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/** fsync a directory so a rename or new entry in it survives a power loss. */
export async function syncDir(path: string): Promise<void> {
  const dir = await Deno.open(path, { read: true });
  try {
    await dir.sync();
  } finally {
    dir.close();
  }
}

/** A leftover of a crashed or killed run. */
export interface StaleEntry {
  path: string;
  ageMs: number;
}

/**
 * Leftovers in `outDir`: hidden `.<ts>.inprogress` directories, `.<ts>.zip.inprogress` zips (and
 * `.zip.age.inprogress`), `.…download` and `.…decrypted` temporary files. Only call this while holding the output directory's lock: then
 * no other run can be writing them.
 */
export async function findStale(outDir: string, now: number = Date.now()): Promise<StaleEntry[]> {
  const out: StaleEntry[] = [];
  for await (const e of Deno.readDir(outDir)) {
    const leftover = (e.name.startsWith(".") && e.name.endsWith(INPROGRESS_SUFFIX)) ||
      (e.name.startsWith(".") && e.name.endsWith(".download")) ||
      (e.name.startsWith(".") && e.name.endsWith(".decrypted"));
    if (!leftover) continue;
    const path = join(outDir, e.name);
    const info = await Deno.lstat(path);
    out.push({ path, ageMs: now - (info.mtime?.getTime() ?? now) });
  }
  return out.sort((a, b) => (a.path < b.path ? -1 : 1));
}

/** Removes the leftovers older than `olderThanMs`; returns what was removed. */
export async function removeStale(entries: StaleEntry[], olderThanMs: number): Promise<string[]> {
  const removed: string[] = [];
  for (const e of entries) {
    if (e.ageMs < olderThanMs) continue;
    await Deno.remove(e.path, { recursive: true });
    removed.push(e.path);
  }
  return removed;
}
