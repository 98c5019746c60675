/**
 * @module
 * What snapshots a directory holds, with their manifest figures, for `astrabak list`.
 */

import { join } from "node:path";
import { parseSnapshotName, type SnapshotNameKind } from "./layout.ts";
import { openSnapshot, readerNameProblems, readManifest } from "./reader.ts";

/** One snapshot found on disk. */
export interface LocalSnapshot {
  path: string;
  timestamp: string;
  kind: SnapshotNameKind;
  /**
   * complete / incomplete from the manifest; `unfinished` for .inprogress; `unreadable` if the
   * manifest is bad; `misnamed` when the name is not the one its manifest gives (the naming rule
   * of layout.ts: verify, restore, zip and upload refuse it, and `latest` never takes it).
   */
  status: "complete" | "incomplete" | "unfinished" | "unreadable" | "misnamed";
  collections: number | null;
  documents: number | null;
  /** Data bytes (directories) or the zip's size. */
  sizeBytes: number | null;
  problem?: string;
}

/**
 * Lists the snapshots in `dir` (directories, zips, and unfinished work), oldest first. Symbolic
 * links are followed and judged by the link's name, as every command judges them.
 */
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
    if (p.kind === "zip.age") {
      // Only complete snapshots are encrypted; what it holds needs the identity to read.
      const info = await Deno.stat(path).catch(() => null);
      out.push({ ...base, status: "complete", sizeBytes: info?.size ?? null });
      continue;
    }
    try {
      const reader = await openSnapshot(path);
      try {
        const m = await readManifest(reader);
        const misnamed = readerNameProblems(reader, m);
        base.status = misnamed.length > 0 ? "misnamed" : m.status;
        if (misnamed.length > 0) base.problem = misnamed.join("; ");
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
