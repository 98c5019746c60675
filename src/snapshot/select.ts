/**
 * @module
 * What `latest` means: the newest finished snapshot by the timestamp in its name, provided the
 * name tells the truth (the naming rule of layout.ts) and the snapshot holds something.
 */

import { join } from "node:path";
import { ConfigError, ioReason, VerificationError } from "../errors.ts";
import type { Manifest } from "../manifest/mod.ts";
import { parseSnapshotName } from "./layout.ts";
import { openSnapshot, readerNameProblems, readManifest, type SnapshotReader } from "./reader.ts";

/**
 * Resolves `latest` to the newest finished snapshot under `dir`: the greatest timestamp in a
 * name, never file times (copies and restores change those). `.inprogress` and `.INCOMPLETE`
 * snapshots are skipped; when a directory and its zip both exist, the directory is used. Symbolic
 * links are followed (and judged by the link's name, like every other command judges them). A
 * `.zip` and a `.zip.age` count alike, by the timestamp in the name (a directory or plain zip is
 * preferred to an encrypted copy of the same snapshot). The choice is then checked with
 * {@linkcode checkLatest} (for a `.zip.age`, once it is decrypted: see src/encrypt/decrypt.ts).
 */
export async function latestSnapshot(dir: string): Promise<string> {
  const candidates = await finishedByTimestamp(dir);
  const newest = candidates.at(-1);
  if (newest === undefined) {
    throw new ConfigError(`Cannot use latest: no finished snapshot in ${dir}`, {
      hint:
        "pass a snapshot path, or --from DIR where backups were written (INCOMPLETE ones need an explicit path and --force)",
    });
  }
  await withManifest(
    newest,
    (reader, manifest) =>
      checkLatest(reader, manifest, newest, async () => {
        for (const older of candidates.slice(0, -1).reverse()) {
          const holds = await withManifest(older, (_, m) => Promise.resolve(m.collections.length))
            .catch(() => 0);
          if ((holds ?? 0) > 0) return older;
        }
        return null;
      }),
  );
  return newest;
}

/**
 * The checks `latest` owes its caller, local or in a remote: the snapshot carries its own name (a
 * renamed or copied-over folder could otherwise pass for the newest), and it is not empty (a
 * backup of an empty database is kept, but restoring "latest" from it would silently restore
 * nothing). `older` finds the newest earlier snapshot with data, for the hint (null where looking
 * would mean downloading or decrypting them: then the hint names `where` to list them);
 * `zipName` is the name a downloaded zip is known by.
 */
export async function checkLatest(
  reader: SnapshotReader,
  manifest: Manifest,
  label: string,
  older: (() => Promise<string | null>) | null,
  zipName?: string,
  /** Where the others can be listed, for the hint: the remote it came from, or a directory. */
  where?: { remote: string } | { dir: string },
): Promise<void> {
  const misnamed = readerNameProblems(reader, manifest, zipName);
  if (misnamed.length > 0) {
    throw new VerificationError(`Cannot use latest ${label}: ${misnamed.join("; ")}`, {
      hint: "rename it as said, or pass the snapshot you mean by its path",
    });
  }
  if (manifest.collections.length === 0) {
    const previous = older ? await older() : undefined;
    // What the snapshot holds is certain; what its source held is only what the backup could
    // list (tables may have been unavailable): its other warnings say what it could not.
    const notes = (manifest.warnings ?? []).filter((w) => !w.startsWith("EMPTY BACKUP: "));
    throw new ConfigError(
      `Cannot use latest: the latest snapshot ${label} is empty: it holds no collections or tables (taken from ${manifest.source.api_endpoint}, keyspace${
        manifest.source.keyspaces.length === 1 ? "" : "s"
      } ${manifest.source.keyspaces.join(", ")}, at ${manifest.created_at_utc}${
        notes.length > 0 ? `; its backup warned: ${notes.join("; ")}` : ""
      })`,
      {
        hint: previous
          ? `the newest snapshot with data is ${previous}: pass it by path (or pass the empty one by path if that is really what you want)`
          : previous === null
          ? "no earlier snapshot has data; pass the empty one by path if that is really what you want"
          : where && "remote" in where
          ? `see the others with astrabak list --from-remote ${where.remote} and pass the one you want as ${where.remote}:<name>`
          : `see the others with astrabak list${
            where ? ` --from ${where.dir}` : ""
          } and pass the one you want by its path`,
      },
    );
  }
}

/**
 * The naming rule and, for `latest`, {@linkcode checkLatest}, for a zip that lives under another
 * name (a download, a decrypted copy) and is known as `zipName`. An unreadable zip or manifest is
 * let through: the read pipeline that follows reports it, with the reason.
 */
export async function checkZipKnownAs(
  path: string,
  zipName: string,
  label: string,
  latest: boolean,
  where: { remote: string } | { dir: string },
): Promise<void> {
  let reader;
  try {
    reader = await openSnapshot(path);
  } catch {
    return;
  }
  try {
    const manifest = await readManifest(reader).catch(() => null);
    if (manifest === null) return;
    if (latest) return await checkLatest(reader, manifest, label, null, zipName, where);
    const misnamed = readerNameProblems(reader, manifest, zipName);
    if (misnamed.length > 0) {
      throw new VerificationError(`Refusing ${label}: ${misnamed.join("; ")}`);
    }
  } finally {
    await reader.close();
  }
}

/**
 * Finished snapshots (directories, zips, encrypted zips) under `dir`, oldest first, one per
 * timestamp: the directory, else the zip, else the `.zip.age`.
 */
async function finishedByTimestamp(dir: string): Promise<string[]> {
  const found = new Map<string, { path: string; rank: number }>();
  try {
    for await (const e of Deno.readDir(dir)) {
      const p = parseSnapshotName(e.name);
      if (!p || (p.kind !== "complete" && p.kind !== "zip" && p.kind !== "zip.age")) continue;
      const path = join(dir, e.name);
      const info = e.isSymlink ? await Deno.stat(path).catch(() => null) : e;
      const rank = p.kind === "complete" ? 3 : p.kind === "zip" ? 2 : 1;
      const usable = p.kind === "complete" ? info?.isDirectory : info?.isFile;
      const held = found.get(p.timestamp);
      if (usable && (held === undefined || held.rank < rank)) {
        found.set(p.timestamp, { path, rank });
      }
    }
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new ConfigError(`Cannot find snapshots: ${dir} does not exist`);
    }
    throw new ConfigError(
      `Cannot list ${dir}: ${ioReason(e)}`,
    );
  }
  return [...found.keys()].sort().map((ts) => found.get(ts)!.path);
}

/** Opens `path` and calls `fn` with its manifest; an unreadable one is left to verify to report. */
async function withManifest<T>(
  path: string,
  fn: (reader: SnapshotReader, manifest: Manifest) => Promise<T>,
): Promise<T | undefined> {
  let reader: SnapshotReader;
  let manifest: Manifest;
  try {
    reader = await openSnapshot(path);
  } catch {
    return undefined;
  }
  try {
    try {
      manifest = await readManifest(reader);
    } catch {
      return undefined;
    }
    return await fn(reader, manifest);
  } finally {
    await reader.close();
  }
}
