/**
 * @module
 * What snapshots a directory holds, with their manifest figures, for `astrabak list`.
 */

import { join } from "node:path";
import { parseSnapshotName, type SnapshotNameKind } from "./layout.ts";
import { openSnapshot, readManifest } from "./reader.ts";

/** One snapshot found on disk. */
export interface LocalSnapshot {
  path: string;
  timestamp: string;
  kind: SnapshotNameKind;
  /** complete / incomplete from the manifest; `unfinished` for .inprogress; `unreadable` if the manifest is bad. */
  status: "complete" | "incomplete" | "unfinished" | "unreadable";
  collections: number | null;
  documents: number | null;
  /** Data bytes (directories) or the zip's size. */
  sizeBytes: number | null;
  problem?: string;
}

/** Lists the snapshots in `dir` (directories, zips, and unfinished work), oldest first. */
export async function listLocalSnapshots(dir: string): Promise<LocalSnapshot[]> {
  const out: LocalSnapshot[] = [];
  for await (const e of Deno.readDir(dir)) {
    const p = parseSnapshotName(e.name);
    if (!p) continue;
    const path = join(dir, e.name);
    const base: LocalSnapshot = {
      path,
      timestamp: p.timestamp,
      kind: p.kind,
      status: "unfinished",
      collections: null,
      documents: null,
      sizeBytes: null,
    };
    if (p.kind === "inprogress") {
      out.push(base);
      continue;
    }
    try {
      const reader = await openSnapshot(path);
      try {
        const m = await readManifest(reader);
        base.status = m.status;
        base.collections = m.collections.length;
        base.documents = m.totals.documents;
        base.sizeBytes = p.kind === "zip"
          ? (await Deno.stat(path)).size
          : m.collections.reduce((n, c) => n + (c.data_size_bytes ?? 0), 0);
      } finally {
        await reader.close();
      }
    } catch (err) {
      base.status = "unreadable";
      base.problem = err instanceof Error ? err.message : String(err);
    }
    out.push(base);
  }
  return out.sort((
    a,
    b,
  ) => (a.timestamp === b.timestamp
    ? (a.kind < b.kind ? -1 : 1)
    : a.timestamp < b.timestamp
    ? -1
    : 1)
  );
}
