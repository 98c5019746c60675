/**
 * @module
 * `<from>/drills.jsonl`: one JSON line per drill, beside the snapshots (never inside one, whose
 * hashes must not change), so that `list` can show when each snapshot was last drilled.
 */

import { join } from "node:path";
import { ConfigError } from "../errors.ts";
import { MANIFEST_FILE } from "../manifest/mod.ts";
import type { DrillReport } from "./drill.ts";

/** The journal's file name under `--from`. */
export const DRILL_JOURNAL = "drills.jsonl";

/**
 * Appends one line for `report` to `<dir>/drills.jsonl` (created 0600). `timestamp` is the
 * snapshot's name timestamp (what `list` shows), null when the snapshot has none. Throws
 * ConfigError, writing nothing, when `dir` is itself a snapshot directory.
 */
export async function appendDrillJournal(
  dir: string,
  report: DrillReport,
  timestamp: string | null,
): Promise<string> {
  const path = join(dir, DRILL_JOURNAL);
  // A snapshot directory's files are what its hashes prove: the journal goes beside snapshots.
  if (await Deno.stat(join(dir, MANIFEST_FILE)).then(() => true, () => false)) {
    throw new ConfigError(
      `${dir} is a snapshot directory (it holds ${MANIFEST_FILE}); give --from the folder that holds the snapshots`,
    );
  }
  const line = JSON.stringify({
    snapshot: report.snapshot,
    timestamp,
    run_id: report.run_id,
    started: report.started,
    status: report.status,
    partial: report.partial,
    max_docs: report.max_docs,
    seconds: report.seconds,
    collections: report.collections.map((c) => ({
      source: c.source,
      kind: c.kind,
      status: c.status,
      documents: c.documents_read_back,
      differences: c.differences.length,
      overlap_min: c.probes?.overlap_min ?? null,
    })),
  });
  await Deno.writeTextFile(path, `${line}\n`, { append: true, create: true, mode: 0o600 });
  return path;
}

/** The last drill of one snapshot, as `list` shows it. */
export interface LastDrill {
  started: string;
  status: "proven" | "failed";
  partial: boolean;
}

/**
 * The last drill of each snapshot timestamp from `<dir>/drills.jsonl` (empty when there is no
 * journal; lines that are not drill records, e.g. a line cut by a crash, are passed over).
 */
export async function lastDrills(dir: string): Promise<Map<string, LastDrill>> {
  const out = new Map<string, LastDrill>();
  let text: string;
  try {
    text = await Deno.readTextFile(join(dir, DRILL_JOURNAL));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return out;
    throw e;
  }
  for (const line of text.split("\n")) {
    let rec: Record<string, unknown>;
    try {
      rec = JSON.parse(line) as Record<string, unknown>;
    } catch {
      continue;
    }
    if (
      typeof rec?.timestamp !== "string" || typeof rec.started !== "string" ||
      (rec.status !== "proven" && rec.status !== "failed")
    ) continue;
    const had = out.get(rec.timestamp);
    if (had && had.started > rec.started) continue;
    out.set(rec.timestamp, {
      started: rec.started,
      status: rec.status,
      partial: rec.partial === true,
    });
  }
  return out;
}

/** A last drill in a few words for `list`: `2026-12-06 proven`, `… proven (partial)`, `-`. */
export function describeLastDrill(d: LastDrill | undefined): string {
  if (!d) return "-";
  return `${d.started.slice(0, 10)} ${d.status}${d.partial ? " (partial)" : ""}`;
}
