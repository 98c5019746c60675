import { join } from "node:path";
import { ConfigError, ioReason } from "../errors.ts";
import { parseSnapshotName } from "./layout.ts";

/**
 * Resolves `latest` to the newest finished snapshot under `dir`: the greatest timestamp in a
 * name, never file times (copies and restores change those). `.inprogress` and `.INCOMPLETE`
 * snapshots are skipped; when a directory and its zip both exist, the directory is used.
 */
export async function latestSnapshot(dir: string): Promise<string> {
  const found = new Map<string, string>();
  try {
    for await (const e of Deno.readDir(dir)) {
      const p = parseSnapshotName(e.name);
      if (!p) continue;
      if (p.kind === "complete" && e.isDirectory) found.set(p.timestamp, join(dir, e.name));
      if (p.kind === "zip" && e.isFile && !found.has(p.timestamp)) {
        found.set(p.timestamp, join(dir, e.name));
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
  const newest = [...found.keys()].sort().at(-1);
  if (newest === undefined) {
    throw new ConfigError(`Cannot restore latest: no finished snapshot in ${dir}`, {
      hint:
        "pass a snapshot path, or --from DIR where backups were written (INCOMPLETE ones need an explicit path and --force)",
    });
  }
  return found.get(newest)!;
}
