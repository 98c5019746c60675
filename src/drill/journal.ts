/**
 * @module
 * `<from>/drills.jsonl`: one JSON line per drill, beside the snapshots (never inside one, whose
 * hashes must not change), so that a later `list` can show when each snapshot was last drilled.
 */

import { join } from "node:path";
import type { DrillReport } from "./drill.ts";

/** The journal's file name under `--from`. */
export const DRILL_JOURNAL = "drills.jsonl";

/** Appends one line for `report` to `<dir>/drills.jsonl` (created 0600). */
export async function appendDrillJournal(dir: string, report: DrillReport): Promise<string> {
  const path = join(dir, DRILL_JOURNAL);
  const line = JSON.stringify({
    snapshot: report.snapshot,
    run_id: report.run_id,
    started: report.started,
    status: report.status,
    seconds: report.seconds,
    collections: report.collections.map((c) => ({
      source: c.source,
      status: c.status,
      documents: c.documents_read_back,
      differences: c.differences.length,
      overlap_min: c.probes?.overlap_min ?? null,
    })),
  });
  await Deno.writeTextFile(path, `${line}\n`, { append: true, create: true, mode: 0o600 });
  return path;
}
