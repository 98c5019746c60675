/**
 * @module
 * `astrabak verify` as a library call, in restic-check style phases: entry safety → manifest →
 * names and status → files present and nothing extra → per data file: hash, size, and (unless
 * quick) gunzip, line-by-line parse, every check an insert would make offline (`_id`, primary
 * key, document rules), counts, vector dimensions and keys that appear twice (a second pass over
 * the file only when two key hashes match). It collects every finding
 * instead of stopping at the first, and never throws for a bad snapshot, only for an unreadable
 * path.
 */

import { errorMessage, VerificationError } from "../errors.ts";
import { type CollectionEntry, type Manifest, MANIFEST_FILE } from "../manifest/mod.ts";
import { type ProgressTask, startTask } from "../progress/progress.ts";
import type { Reporter } from "../reporter.ts";
import {
  dataFileProblems,
  discardingSink,
  duplicateKeyProblems,
  readDataFile,
} from "../snapshot/data_stream.ts";
import {
  openSnapshot,
  readerNameProblems,
  readManifest,
  type SnapshotReader,
} from "../snapshot/reader.ts";

/** Options of {@linkcode verifySnapshot}. */
export interface VerifyOptions {
  /** Only hashes and sizes (no decompression, no parsing). */
  quick: boolean;
  signal?: AbortSignal | undefined;
  /** Gunzip on the main thread (restore's verify pass: one isolate less; see readDataFile). */
  inlineGunzip?: boolean;
}

/** Verdict for one collection of the manifest. */
export interface CollectionVerdict {
  keyspace: string;
  name: string;
  data_file: string | null;
  /** `not_backed_up`: the collection failed during backup (there is no data to check). */
  status: "ok" | "failed" | "not_backed_up";
  documents: number | null;
  bytes: number | null;
  problems: string[];
}

/** Result of verifying one snapshot. */
export interface VerifyReport {
  path: string;
  kind: "dir" | "zip" | "zip.age" | null;
  /** False when a `.zip.age` was checked without its identity (header and sidecar only). */
  contents_verified?: boolean;
  snapshot: string | null;
  mode: "deep" | "quick";
  status: "ok" | "failed";
  /** Snapshot-level findings (safety, manifest, names, missing or extra files, incomplete). */
  problems: string[];
  collections: CollectionVerdict[];
  totals: {
    collections_ok: number;
    collections_failed: number;
    documents: number;
    bytes_read: number;
  };
  duration_seconds: number;
  /** What to do next, when something failed. */
  hint?: string;
}

/** Opens and verifies the snapshot at `path`. Throws only ConfigError (unreadable path). */
export async function verifySnapshot(
  path: string,
  options: VerifyOptions,
  reporter: Reporter,
): Promise<VerifyReport> {
  const started = performance.now();
  let reader: SnapshotReader;
  try {
    reader = await openSnapshot(path);
  } catch (e) {
    if (!(e instanceof VerificationError)) throw e;
    return finish(emptyReport(path, options, [e.message]), started);
  }
  try {
    const { report } = await verifyReader(reader, options, reporter);
    return finish(report, started);
  } finally {
    await reader.close();
  }
}

/**
 * Verifies an opened snapshot and also returns its manifest (null when the manifest itself is
 * unusable), so restore can verify and then read the same snapshot.
 */
export async function verifyReader(
  reader: SnapshotReader,
  options: VerifyOptions,
  reporter: Reporter,
): Promise<{ report: VerifyReport; manifest: Manifest | null }> {
  const report = emptyReport(reader.path, options, []);
  report.kind = reader.kind;
  report.problems.push(...reader.oddities);

  let manifest: Manifest;
  try {
    manifest = await readManifest(reader);
  } catch (e) {
    if (!(e instanceof VerificationError)) throw e;
    report.problems.push(e.message);
    report.status = "failed";
    return { report, manifest: null };
  }
  report.snapshot = manifest.snapshot;
  report.problems.push(...readerNameProblems(reader, manifest));
  const failed = manifest.collections.filter((c) => c.status === "failed");
  if (manifest.status === "incomplete") {
    report.problems.push(
      `the snapshot is INCOMPLETE: ${
        failed.map((c) => `${c.keyspace}.${c.name} (${c.error})`).join("; ")
      }`,
    );
  }
  const expected = new Set([
    MANIFEST_FILE,
    ...manifest.collections.flatMap((c) => (c.data_file ? [c.data_file] : [])),
  ]);
  for (const name of reader.files.keys()) {
    if (!expected.has(name)) {
      report.problems.push(`unexpected file ${name} (not listed in the manifest)`);
    }
  }

  for (const entry of manifest.collections) {
    options.signal?.throwIfAborted();
    const verdict = await verifyEntry(reader, entry, options, reporter);
    report.collections.push(verdict);
    report.totals.bytes_read += verdict.bytes ?? 0;
    if (verdict.status === "ok") {
      report.totals.collections_ok++;
      report.totals.documents += verdict.documents ?? 0;
      reporter.debug(`${entry.keyspace}.${entry.name}: ok`);
    } else if (verdict.status === "failed") {
      report.totals.collections_failed++;
      reporter.warn(
        `${entry.keyspace}.${entry.name} (${entry.data_file}): ${verdict.problems.join("; ")}`,
      );
    }
  }
  report.status = report.problems.length === 0 && report.totals.collections_failed === 0
    ? "ok"
    : "failed";
  if (report.status === "failed") {
    report.hint = onlyIncomplete(report, manifest)
      ? `the collections that were backed up verify; restore them with: astrabak restore ${reader.path} --force`
      : "this snapshot cannot be trusted: keep it for investigation and take a new backup with: astrabak backup";
  }
  return { report, manifest };
}

async function verifyEntry(
  reader: SnapshotReader,
  entry: CollectionEntry,
  options: VerifyOptions,
  reporter: Reporter,
): Promise<CollectionVerdict> {
  const verdict: CollectionVerdict = {
    keyspace: entry.keyspace,
    name: entry.name,
    data_file: entry.data_file,
    status: "ok",
    documents: null,
    bytes: null,
    problems: [],
  };
  if (entry.status === "failed" || entry.data_file === null) {
    verdict.status = "not_backed_up";
    return verdict;
  }
  if (!reader.files.has(entry.data_file)) {
    verdict.status = "failed";
    verdict.problems.push(`${entry.data_file} is missing`);
    return verdict;
  }
  // Deep: documents of the manifest's exact count; quick: bytes of the stored file.
  const progress = startTask(reporter, `${entry.keyspace}.${entry.name}`, {
    action: "verify",
    unit: entry.kind === "table" ? "rows" : "documents",
    total: options.quick ? null : entry.document_count,
    estimate: false,
    totalBytes: entry.data_size_bytes,
  });
  try {
    const stored = (await reader.open(entry.data_file, options.signal)).pipeThrough(
      progressBytes(progress),
    );
    const read = readDataFile(stored, entry, {
      quick: options.quick,
      duplicates: !options.quick,
      inlineGunzip: options.inlineGunzip ?? false,
    });
    if (read.documents) {
      await read.documents.pipeTo(
        discardingSink((page) => progress.advance(page.length, 0)),
        options.signal ? { signal: options.signal } : {},
      );
    }
    const figures = await read.figures;
    verdict.bytes = figures.sizeBytes;
    verdict.documents = figures.stats?.documents ?? entry.document_count;
    verdict.problems.push(...dataFileProblems(figures, entry));
    if (verdict.problems.length === 0 && figures.repeatedKeys && figures.repeatedKeys.size > 0) {
      verdict.problems.push(
        ...await duplicateKeyProblems(
          await reader.open(entry.data_file, options.signal),
          entry,
          figures.repeatedKeys,
          options.signal,
        ),
      );
    }
  } catch (e) {
    if (options.signal?.aborted) throw e;
    // A deep read stops at the first broken byte; a hash-only pass says whether the file is the
    // one the backup wrote (the strongest statement) before the reason it cannot be read.
    if (!options.quick) {
      verdict.problems.push(...(await hashProblems(reader, entry, options.signal)));
    }
    verdict.problems.push(describeReadError(e));
  } finally {
    progress.end();
  }
  if (verdict.problems.length > 0) verdict.status = "failed";
  return verdict;
}

/** Counts stored bytes into a progress task as they pass. */
function progressBytes(task: ProgressTask): TransformStream<Uint8Array, Uint8Array> {
  return new TransformStream({
    transform(chunk, controller) {
      task.advance(0, chunk.byteLength);
      controller.enqueue(chunk);
    },
  });
}

async function hashProblems(
  reader: SnapshotReader,
  entry: CollectionEntry,
  signal?: AbortSignal,
): Promise<string[]> {
  try {
    const read = readDataFile(await reader.open(entry.data_file!, signal), entry, { quick: true });
    return dataFileProblems(await read.figures, entry);
  } catch {
    return [];
  }
}

/** One line for a failure while reading hostile data. */
function describeReadError(e: unknown): string {
  const msg = errorMessage(e).split("\n")[0] ?? "";
  if (e instanceof TypeError && /gzip|deflate|corrupt|invalid|header|compress/i.test(msg)) {
    return `not a valid gzip stream (${msg})`;
  }
  return msg;
}

function emptyReport(path: string, options: VerifyOptions, problems: string[]): VerifyReport {
  return {
    path,
    kind: null,
    snapshot: null,
    mode: options.quick ? "quick" : "deep",
    status: "failed",
    problems,
    collections: [],
    totals: { collections_ok: 0, collections_failed: 0, documents: 0, bytes_read: 0 },
    duration_seconds: 0,
  };
}

function finish(report: VerifyReport, started: number): VerifyReport {
  report.duration_seconds = Math.round(performance.now() - started) / 1000;
  return report;
}

/** Every problem of a report in one list, each collection's named, for one-line refusals. */
export function verificationProblems(r: VerifyReport): string[] {
  return [
    ...r.problems,
    ...r.collections.flatMap((c) => c.problems.map((p) => `${c.keyspace}.${c.name}: ${p}`)),
  ];
}

/**
 * True when a failed verification's only finding is that the snapshot is INCOMPLETE: what it
 * holds verifies, so restore may take it with --force.
 */
export function onlyIncomplete(r: VerifyReport, m: Manifest): boolean {
  return m.status === "incomplete" && r.totals.collections_failed === 0 && r.problems.length === 1;
}

/**
 * Quick-verifies a zip (hashes and sizes of every entry against its manifest) and throws if
 * anything is off: before a fresh zip is published under its final name, and before an existing
 * one is uploaded. `what` opens the error message.
 */
export async function assertZipVerifies(
  path: string,
  reporter: Reporter,
  what = `The zip written at ${path} does not verify`,
): Promise<void> {
  const r = await verifySnapshot(path, { quick: true }, reporter);
  if (r.status !== "ok") {
    throw new VerificationError(`${what}: ${verificationProblems(r).join("; ")}`);
  }
}
