/**
 * @module
 * The scale series of `deno task bench --scale [--scale-docs 10000,100000,1000000]
 * [--scale-latency-docs 10000,100000] [--scale-restore-max N]`: how backup, verify and restore grow with the size of one
 * collection (384 dimensions). At 0 ms per request with pages of 50, each size of
 * `--scale-docs`; at 20 ms per request with pages of 20 and of 50, each size of
 * `--scale-latency-docs`. Per run: documents/s of backup, verify and restore (write phase), the
 * peak RSS of each, and the snapshot's bytes per document. Restore is measured up to
 * `--scale-restore-max` documents (default: all); the fake's insert path parses every document, so
 * on a small machine it is the slowest part of the series.
 *
 * The source is a synthetic collection of the fake Data API (tests/fakes/data_api/synthetic.ts):
 * documents are generated per page, never stored, so 10^6 documents cost the fake no memory; the
 * restore target is a synthetic sink that checks every document against the generator and keeps
 * one bit per document. Timings are never asserted anywhere; docs/BENCHMARKS.md records a run.
 */

import { join } from "node:path";
import { FakeDataApi } from "../tests/fakes/data_api/server.ts";
import {
  addSyntheticCollection,
  expectSyntheticRestore,
  type SyntheticSpec,
} from "../tests/fakes/data_api/synthetic.ts";
import { fakeEnv } from "../tests/e2e/run_cli.ts";
import { cli } from "./bench_cli.ts";

const KS = "default_keyspace";
const DIMENSION = 384;

/** One measured size of the series. */
export interface ScaleRow {
  documents: number;
  latencyMs: number;
  pageSize: number;
  backupDocsPerSecond: number;
  backupRssMb: number;
  verifyDocsPerSecond: number;
  verifyRssMb: number;
  restoreDocsPerSecond: number;
  restoreRssMb: number;
  bytesPerDocument: number;
}

/** Runs the series, printing each row as it is measured and the table at the end. */
export async function runScale(
  sizes: number[],
  latencySizes: number[],
  say: (s?: string) => void,
  restoreMax = Infinity,
): Promise<ScaleRow[]> {
  const plan: Array<{ documents: number; latencyMs: number; pageSize: number }> = [
    ...sizes.map((documents) => ({ documents, latencyMs: 0, pageSize: 50 })),
    ...[20, 50].flatMap((pageSize) =>
      latencySizes.map((documents) => ({ documents, latencyMs: 20, pageSize }))
    ),
  ];
  const rows: ScaleRow[] = [];
  const dir = await Deno.makeTempDir({ prefix: "astrabak-scale-" });
  try {
    for (const p of plan) {
      const row = await measure(
        p.documents,
        p.latencyMs,
        p.pageSize,
        dir,
        p.documents <= restoreMax,
      );
      rows.push(row);
      say(
        `${p.documents} docs, ${p.latencyMs} ms, page ${p.pageSize}: backup ${
          row.backupDocsPerSecond.toFixed(0)
        } docs/s (${row.backupRssMb.toFixed(0)} MB), verify ${
          row.verifyDocsPerSecond.toFixed(0)
        } docs/s (${row.verifyRssMb.toFixed(0)} MB), restore ${
          row.restoreDocsPerSecond.toFixed(0)
        } docs/s (${row.restoreRssMb.toFixed(0)} MB), ${row.bytesPerDocument.toFixed(0)} B/doc`,
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  say();
  say(scaleTable(rows));
  return rows;
}

async function measure(
  documents: number,
  latencyMs: number,
  pageSize: number,
  dir: string,
  withRestore: boolean,
): Promise<ScaleRow> {
  const spec: SyntheticSpec = { count: documents, dimension: DIMENSION };
  const out = join(dir, `s-${documents}-${latencyMs}-${pageSize}`);
  const source = await FakeDataApi.start({ pageSize, latencyMs, logRequests: false });
  let backup;
  try {
    addSyntheticCollection(source.store, KS, "bench", spec);
    backup = await cli(
      ["backup", "--out", out, "--collections", "bench", "--json"],
      dir,
      fakeEnv(source),
    );
  } finally {
    await source.close();
  }
  if (backup.code !== 0) throw new Error(`backup exited ${backup.code}: ${backup.stderr}`);
  const report = JSON.parse(backup.stdout);
  const entry = report.manifest.collections[0];
  if (entry.document_count !== documents) {
    throw new Error(`backup holds ${entry.document_count} of ${documents} documents`);
  }
  const snapshot = report.snapshot as string;

  const verify = await cli(["verify", snapshot, "--json"], dir, {});
  if (verify.code !== 0) throw new Error(`verify exited ${verify.code}: ${verify.stderr}`);
  const verified = JSON.parse(verify.stdout);

  let restoreDocsPerSecond = NaN;
  let restoreRssMb = NaN;
  if (withRestore) {
    const target = await FakeDataApi.start({ pageSize, latencyMs, logRequests: false });
    let restore;
    let sinkSize: number | undefined;
    try {
      const sink = expectSyntheticRestore(target.store, KS, "bench", spec);
      restore = await cli(
        ["restore", snapshot, "--json"],
        dir,
        fakeEnv(target, { ASTRA_DB_KEYSPACE: "" }),
      );
      sinkSize = sink()?.size;
    } finally {
      await target.close();
    }
    if (restore.code !== 0) throw new Error(`restore exited ${restore.code}: ${restore.stderr}`);
    const restored = JSON.parse(restore.stdout).collections[0];
    if (restored.status !== "ok" || sinkSize !== documents) {
      throw new Error(
        `restore ${restored.status}: the target holds ${sinkSize} of ${documents} documents`,
      );
    }
    restoreDocsPerSecond = documents / restored.write_seconds;
    restoreRssMb = restore.rssMb;
  }
  await Deno.remove(snapshot, { recursive: true });
  return {
    documents,
    latencyMs,
    pageSize,
    backupDocsPerSecond: documents / report.manifest.duration_seconds,
    backupRssMb: backup.rssMb,
    verifyDocsPerSecond: documents / verified.duration_seconds,
    verifyRssMb: verify.rssMb,
    restoreDocsPerSecond,
    restoreRssMb,
    bytesPerDocument: entry.data_size_bytes / documents,
  };
}

/** The series as the markdown table docs/BENCHMARKS.md records. */
export function scaleTable(rows: ScaleRow[]): string {
  const lines = [
    "| documents | latency | page | backup docs/s | backup RSS | verify docs/s | verify RSS | restore docs/s | restore RSS | disk bytes/doc |",
    "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.documents} | ${r.latencyMs} ms | ${r.pageSize} | ${
        r.backupDocsPerSecond.toFixed(0)
      } | ${r.backupRssMb.toFixed(0)} MB | ${r.verifyDocsPerSecond.toFixed(0)} | ${
        r.verifyRssMb.toFixed(0)
      } MB | ${restoreRate(r)} | ${restoreRss(r)} | ${r.bytesPerDocument.toFixed(0)} |`,
    );
  }
  return lines.join("\n");
}

function restoreRate(r: ScaleRow): string {
  return Number.isNaN(r.restoreDocsPerSecond) ? "not run" : r.restoreDocsPerSecond.toFixed(0);
}

function restoreRss(r: ScaleRow): string {
  return Number.isNaN(r.restoreRssMb) ? "" : `${r.restoreRssMb.toFixed(0)} MB`;
}
