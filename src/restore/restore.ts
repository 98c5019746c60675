/**
 * @module
 * `astrabak restore` as a library call: verify the whole snapshot first (nothing is written if
 * anything fails), plan every collection, then per collection recreate the definition and stream
 * the documents back in concurrent unordered `insertMany` batches, exactly as stored, and finally
 * count the result by a full `_id` scan. The report says, per collection, what was written and
 * what was not.
 */

import type { ConnectionConfig, NameRef } from "../config/resolve.ts";
import { ConfigError, errorMessage, InterruptedError, VerificationError } from "../errors.ts";
import { type EntryKind, type Manifest, primaryKeyColumns, vectorSpec } from "../manifest/mod.ts";
import type { Reporter } from "../reporter.ts";
import { openSnapshot, readManifest, type SnapshotReader } from "../snapshot/reader.ts";
import {
  type CollectionInfo,
  countByScan,
  estimatedDocumentCount,
  listCollections,
} from "../source/collections.ts";
import type { DataApiClient } from "../source/data_api.ts";
import { connect, type ConnectOptions } from "../source/connect.ts";
import type { InsertFailure } from "../source/insert.ts";
import { listTables } from "../source/tables.ts";
import {
  onlyIncomplete,
  verificationProblems,
  verifyReader,
  type VerifyReport,
} from "../verify/verify.ts";
import { emptyReport, restoreCollection, restoreFigures } from "./collection.ts";
import { databaseCollections, dropCreated, proveDefinitions } from "./capabilities.ts";
import { requireEmbeddingKey } from "./embedding_key.ts";
import {
  defaultCollectionLimit,
  type IfExists,
  type PlannedCollection,
  planRestore,
  type Rename,
  type RestoreAction,
  selectEntries,
  selectionProblems,
} from "./plan.ts";

/**
 * insertMany requests in flight per collection by default: 16 matched the raw insert floor in
 * scripts/bench.ts where 8 reached 0.56 of it (384 dimensions); docs/BENCHMARKS.md has the table.
 */
export const DEFAULT_RESTORE_CONCURRENCY = 16;

/**
 * Document bytes in flight per collection, whatever the concurrency: each request in flight holds
 * several copies of its body, so large documents are sent fewer at a time. 6 MB is 4 batches of
 * 50 × 1536-d documents and still 16 of 384-d ones; against 12 MB it lowered the peak RSS of a
 * 1536-d restore by 24 MB (docs/BENCHMARKS.md, "Where the memory goes"), and against a remote
 * database it still allows 6 MB per round trip (300 MB/s at 20 ms).
 */
export const MAX_RESTORE_BYTES_IN_FLIGHT = 6_000_000;

/** Documents per insertMany by default (as astra-db-ts; the Data API takes at most 100). */
export const DEFAULT_RESTORE_BATCH_SIZE = 50;

/** Bytes of documents per insertMany: well under the server's 20 MB request limit. */
export const MAX_BATCH_BYTES = 4_000_000;

/**
 * Collections (or tables) holding at most this many documents after the restore are counted by a
 * full key scan. Above it the scan is too dear: the server reads every whole document whatever the
 * projection (CollectionReadOperation.documentColumns selects doc_json, stargate/data-api), so 1M
 * documents would be 20k–50k sequential requests and a billed full read (twice with append).
 */
export const DEFAULT_COUNT_SCAN_LIMIT = 100_000;

/** Snapshot documents read back at random when a collection is above the scan limit. */
export const DEFAULT_COUNT_SAMPLE = 200;

/**
 * How a restore proves what it wrote, besides the server's per-document confirmations: `auto`
 * scans up to `--count-scan-limit` documents and samples above it, `exact` always scans.
 */
export const COUNT_MODES = ["auto", "exact"] as const;
export type CountMode = typeof COUNT_MODES[number];

/** How restore treats documents of vectorize collections that carry both `$vector` and `$vectorize`. */
export type VectorizeMode = "keep-vector" | "reembed";

/** Everything a restore needs, resolved. */
export interface RestoreOptions extends ConnectOptions {
  connection: ConnectionConfig;
  /** Snapshot directory or zip (already resolved from `latest`). */
  snapshot: string;
  targetKeyspace: string | null;
  /** Snapshot collections to restore (`name` or `keyspace.name`); empty = all. */
  include: readonly NameRef[];
  renames: readonly Rename[];
  ifExists: IfExists;
  dryRun: boolean;
  force: boolean;
  vectorize: VectorizeMode;
  /** `--adapt-definitions`: create what the target can hold (see capabilities.ts), report each change. */
  adaptDefinitions?: boolean;
  /** `--collection-limit`: collections the target database allows (default by environment). */
  collectionLimit?: number;
  /** insertMany requests in flight per collection (default {@linkcode DEFAULT_RESTORE_CONCURRENCY}). */
  concurrency?: number;
  /** Documents per insertMany (≤ 100; default {@linkcode DEFAULT_RESTORE_BATCH_SIZE}). */
  batchSize?: number;
  /** `--count` (default auto). */
  count?: CountMode;
  /** `--count-scan-limit` (default {@linkcode DEFAULT_COUNT_SCAN_LIMIT}). */
  countScanLimit?: number;
  /** `--sample` (default {@linkcode DEFAULT_COUNT_SAMPLE}). */
  sample?: number;
  /**
   * Only the first N documents of each data file (`drill --max-docs`): a deliberate partial
   * restore, after the whole snapshot was verified.
   */
  maxDocuments?: number;
  signal?: AbortSignal | undefined;
}

/** Outcome for one collection. */
export interface RestoreCollectionReport {
  source: string;
  target: string;
  kind: EntryKind;
  action: RestoreAction;
  status: "ok" | "failed" | "skipped" | "planned";
  reason: string;
  documents_in_snapshot: number;
  /** Documents this restore added to the target (from the count before and after). */
  inserted: number;
  /** Writes the server confirmed (the lower bound when the count afterwards failed). */
  confirmed_writes: number;
  /** Collections: snapshot documents whose `_id` already existed in the target (not overwritten). */
  already_present: number;
  /** Tables: rows whose primary key already existed; table inserts are upserts, so they were overwritten. */
  overwritten: number;
  /** Documents the server refused for another reason. */
  refused: number;
  /** First refusals, for diagnosis. */
  refusals: InsertFailure[];
  /** keep-vector: `$vectorize` texts left out (the server refuses them next to `$vector`). */
  vectorize_texts_not_restored: number;
  /** reembed: documents sent with `$vectorize` only, for the server to embed again. */
  documents_reembedded: number;
  /** What `--adapt-definitions` left out of the definition to make it creatable on the target. */
  definition_changes: string[];
  /** `$lexical` values left out because the definition lost lexical (`--adapt-definitions`). */
  lexical_texts_not_restored: number;
  count_before: number | null;
  count_after: number | null;
  /**
   * How the result was proven besides the server's confirmations: `scan` (a full key scan, exact
   * counts) or `sample` (above `--count-scan-limit`: counts are the server's estimate or unknown,
   * and `sample` says what the read-back found); null when nothing was counted.
   */
  count_proof: "scan" | "sample" | null;
  /**
   * True when count_after (and, with append, count_before) is estimatedDocumentCount's answer
   * (approximate); a new target's count_before is 0, exactly.
   */
  count_estimated: boolean;
  /** The sample read-back (count_proof `sample`). */
  sample: SampleReadBack | null;
  /** Seconds spent streaming documents into the target (not counting verification or counts). */
  write_seconds: number | null;
  /** `replace`: what the target held before it was (or, in a dry run, would be) dropped. */
  existing_before_replace: ExistingCount | null;
  error?: string;
  /** Dry-run: why the target's support for the definition could not be checked. */
  unchecked?: string;
  /** Set when the collection could not be created (so there is nothing to count or append to). */
  not_created?: boolean;
}

/**
 * Snapshot documents the server confirmed writing, chosen at random while they were written, then
 * read back: collections by `_id`, compared byte-for-byte with what was sent (presence only for
 * documents the server embeds from `$vectorize`); tables by primary key (presence: the server
 * answers rows in its own spelling).
 */
export interface SampleReadBack {
  compared: "bytes" | "primary_key";
  checked: number;
  /** Found (and, for bytes, identical). */
  matched: number;
  /** `_id`s or keys not found or stored differently (first 20). */
  mismatched: string[];
}

/**
 * Documents in a collection (estimatedDocumentCount: approximate) or rows in a table (a key scan:
 * exact; tables have no estimate) that a replace drops.
 */
export interface ExistingCount {
  count: number;
  estimated: boolean;
}

/** Result of a restore. */
export interface RestoreReport {
  snapshot: string;
  status: "ok" | "failed" | "dry-run";
  verification: VerifyReport;
  collections: RestoreCollectionReport[];
  /** What to do next when a collection failed. */
  hint?: string;
}

/** Verifies, plans and restores. Throws VerificationError/ConfigError before any write. */
export async function runRestore(
  options: RestoreOptions,
  reporter: Reporter,
): Promise<RestoreReport> {
  const signal = options.signal;
  let reader: SnapshotReader;
  try {
    reader = await openSnapshot(options.snapshot);
  } catch (e) {
    if (e instanceof VerificationError) {
      throw new VerificationError(`Refusing to restore: ${e.message}`, { cause: e });
    }
    throw e;
  }
  let writing = false;
  /** The plan, once made: collections it created before writing are dropped on interruption. */
  let planned: PlannedCollection[] = [];
  let connected: DataApiClient | undefined;
  try {
    // 0. Names are checked against the manifest first: a typo costs seconds, not a deep verify.
    //    (An unreadable manifest is left to the verify below, which reports it.)
    const early = await readManifest(reader).catch((e) => {
      if (e instanceof VerificationError) return null;
      throw e;
    });
    if (early) {
      const problems = selectionProblems(early, options.include, options.renames);
      if (problems.length > 0) {
        throw new ConfigError(`Cannot restore: ${problems.join("; ")}`, {
          hint: "nothing was verified or written; check --collections and --rename",
        });
      }
      const vectorize = selectEntries(early, options.include).some((c) =>
        vectorSpec(c.definition)?.vectorize === true
      );
      if (options.vectorize === "reembed" && !vectorize) {
        reporter.warn(
          "--vectorize reembed changes nothing: no selected collection is a vectorize collection",
        );
      }
    }

    // 1. Verify everything before the first write.
    reporter.info(`Verifying ${options.snapshot} before restoring`);
    const { report: verification, manifest } = await verifyReader(
      reader,
      { quick: false, signal, inlineGunzip: true },
      reporter,
    );
    if (!manifest) {
      throw new VerificationError(`Refusing to restore: ${verification.problems.join("; ")}`);
    }
    checkVerification(verification, manifest, options.force);

    // 2. Plan against what the target holds.
    const client = connect(options.connection, options, reporter);
    connected = client;
    // Only the keyspaces this restore writes to: another keyspace of the snapshot need not exist.
    const selected = selectEntries(manifest, options.include);
    const keyspaces = new Set(selected.map((c) => options.targetKeyspace ?? c.keyspace));
    const existing = new Map<string, CollectionInfo>();
    const hasTables = selected.some((c) => c.kind === "table");
    for (const ks of keyspaces) {
      const found = [
        ...await listCollections(client, ks, signal),
        ...(hasTables ? await listTables(client, ks, signal) : []),
      ];
      for (const c of found) existing.set(`${ks}.${c.name}`, c);
    }
    // The limit counts collections only; a restore of tables alone need not ask.
    const database = selected.some((c) => c.kind === "collection")
      ? await databaseCollections(client, existing, keyspaces, signal)
      : { count: 0, atLeast: true, elsewhere: [] };
    const plan = planRestore({
      manifest,
      include: options.include,
      renames: options.renames,
      targetKeyspace: options.targetKeyspace,
      ifExists: options.ifExists,
      existing,
      databaseCollections: database,
      adapt: options.adaptDefinitions === true,
      collectionLimit: options.collectionLimit === undefined
        ? defaultCollectionLimit(client.environment)
        : { limit: options.collectionLimit, source: "--collection-limit" },
    });
    planned = plan;
    // Before anything is created, dropped or written: can the target embed what reembed sends?
    if (options.vectorize === "reembed") await requireEmbeddingKey(plan, client, signal);
    // Before anything is dropped or written: can the target create every definition?
    await proveDefinitions(
      plan,
      client,
      existing,
      {
        dryRun: options.dryRun,
        adapt: options.adaptDefinitions === true,
        vectorize: options.vectorize,
        signal,
      },
      reporter,
      database.elsewhere,
    );

    const dropped = await countReplaced(plan, existing, client, reporter, signal);

    if (options.dryRun) {
      return {
        snapshot: options.snapshot,
        status: "dry-run",
        verification,
        collections: plan.map((p) => ({
          ...emptyReport(p),
          status: p.action === "skip" ? "skipped" : "planned",
          existing_before_replace: dropped.get(p) ?? null,
        })),
      };
    }

    // 3. Restore, collection by collection.
    writing = true;
    const collections: RestoreCollectionReport[] = [];
    for (const p of plan) {
      try {
        collections.push({
          ...await restoreCollection(p, reader, client, options, reporter),
          existing_before_replace: dropped.get(p) ?? null,
        });
      } catch (e) {
        if (!(e instanceof InterruptedError)) throw e;
        throw interruptedAfter(
          e,
          collections,
          options.adaptDefinitions === true,
          options.ifExists === "replace",
        );
      }
    }
    const ok = collections.every((c) => c.status === "ok" || c.status === "skipped");
    return {
      snapshot: options.snapshot,
      status: ok ? "ok" : "failed",
      verification,
      collections,
      ...(ok ? {} : { hint: failureHint(collections) }),
    };
  } catch (e) {
    if (signal?.aborted && !writing) {
      // Stopped while verifying or planning: before the first write. Collections the plan had
      // already created (empty) are dropped again, so a re-run meets the target as it was.
      const created = planned.filter((p) => p.created).length;
      const dropped = connected ? await dropCreated(planned, connected, reporter) : 0;
      throw new InterruptedError(
        `Restore interrupted before anything was written (${errorMessage(signal.reason)})${
          created === 0
            ? ""
            : dropped === created
            ? `; the ${created} empty collection(s) it had created were dropped again`
            : `; ${created - dropped} empty collection(s) it had created are left (see above)`
        }`,
        { cause: e },
      );
    }
    throw e;
  } finally {
    await reader.close();
  }
}

/**
 * The interruption of a collection's write, with what the collections before it wrote, so the
 * user knows how far the restore got (the README promises the count).
 */
function interruptedAfter(
  e: InterruptedError,
  done: readonly RestoreCollectionReport[],
  adapt: boolean,
  replace: boolean,
): InterruptedError {
  const finished = done.filter((c) => c.status !== "skipped").map((c) =>
    `${c.target} ${c.status === "ok" ? "finished" : "failed"} (${restoreFigures(c)})`
  );
  return new InterruptedError(
    `${e.message}${finished.length > 0 ? `; before it: ${finished.join("; ")}` : ""}`,
    {
      cause: e,
      // After replace, append would keep the old documents of the collections not reached yet.
      hint: replace
        ? `re-run the same restore (--if-exists replace${
          adapt ? " --adapt-definitions" : ""
        }): it drops the partly written collection again and goes on to those not replaced yet`
        : `re-run the same restore with --if-exists append${
          adapt ? " --adapt-definitions" : ""
        } to finish it: existing _ids are counted, not duplicated`,
    },
  );
}

/**
 * What each `replace` will drop, counted before anything is dropped so the dry run and the report
 * can say it: collections by estimatedDocumentCount (approximate), tables by a key scan (they have
 * no estimate). A count that fails is reported as unknown; it never stops the restore.
 */
async function countReplaced(
  plan: readonly PlannedCollection[],
  existing: ReadonlyMap<string, CollectionInfo>,
  client: DataApiClient,
  reporter: Reporter,
  signal: AbortSignal | undefined,
): Promise<Map<PlannedCollection, ExistingCount>> {
  const counts = new Map<PlannedCollection, ExistingCount>();
  for (const p of plan) {
    if (p.action !== "replace") continue;
    const { keyspace, name } = p.target;
    const info = existing.get(`${keyspace}.${name}`);
    try {
      counts.set(
        p,
        info?.kind === "table"
          ? {
            count: await countByScan(
              client,
              keyspace,
              name,
              primaryKeyColumns(info.definition),
              signal,
            ),
            estimated: false,
          }
          : {
            count: await estimatedDocumentCount(client, keyspace, name, signal),
            estimated: true,
          },
      );
    } catch (e) {
      if (signal?.aborted) throw e;
      reporter.warn(`${keyspace}.${name}: could not count what replace drops: ${errorMessage(e)}`);
    }
  }
  return counts;
}

/** What to do after a failed restore; true for each way a collection can fail. */
function failureHint(collections: RestoreCollectionReport[]): string {
  const failed = collections.filter((c) => c.status === "failed");
  const missing = failed.filter((c) => c.not_created).map((c) => c.target);
  const adapted = failed.filter((c) => !c.not_created && c.definition_changes.length > 0)
    .map((c) => c.target);
  const rest = failed.length - missing.length - adapted.length;
  const hints: string[] = [];
  if (missing.length > 0) {
    hints.push(
      `${
        missing.join(", ")
      } do(es) not exist on the target now: fix the cause, then re-run the restore for it (--collections)`,
    );
  }
  if (adapted.length > 0) {
    hints.push(
      `${
        adapted.join(", ")
      } were created with adapted definitions: re-run with --if-exists replace --adapt-definitions (append compares against the snapshot's definition)`,
    );
  }
  if (rest > 0) {
    hints.push(
      "fix the cause, then re-run the same restore with --if-exists append to finish it: existing _ids are counted, not duplicated",
    );
  }
  return hints.join("; ");
}

function checkVerification(v: VerifyReport, m: Manifest, force: boolean): void {
  if (v.status === "ok") return;
  const incompleteOnly = onlyIncomplete(v, m);
  if (incompleteOnly && force) return;
  if (incompleteOnly) {
    throw new VerificationError(`Refusing to restore an INCOMPLETE snapshot: ${v.problems[0]}`, {
      hint: "add --force to restore the collections that were backed up",
    });
  }
  throw new VerificationError(
    `Refusing to restore: the snapshot failed verification: ${verificationProblems(v).join("; ")}`,
    {
      hint: "nothing was written; run astrabak verify on it for details",
    },
  );
}
