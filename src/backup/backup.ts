/**
 * @module
 * `astrabak backup` as a library call: discover collections, stream each into the in-progress
 * snapshot, write the manifest, and rename atomically. One collection's failure never stops the
 * others; it makes the snapshot `.INCOMPLETE` and is named in the manifest and report.
 */

import { AGE_FORMAT } from "../encrypt/age.ts";
import { type EncryptResult, encryptSnapshot } from "../encrypt/encrypt.ts";
import {
  type RemoteSettings,
  type RemoteSpec,
  type RemoteUploadResult,
  type UploadOutcome,
  uploadToRemotes,
} from "../remote/mod.ts";
import {
  type ConnectionConfig,
  formatNameRef,
  type NameRef,
  nameRefMatches,
} from "../config/resolve.ts";
import {
  ConfigError,
  errorMessage,
  InterruptedError,
  SourceError,
  StorageError,
} from "../errors.ts";
import {
  type CollectionEntry,
  describeEntries,
  type EntryKind,
  formatVersionFor,
  type Manifest,
  writeManifest,
} from "../manifest/mod.ts";
import type { Reporter } from "../reporter.ts";
import { lockOutDir, type OutDirLock } from "../snapshot/lock.ts";
import { findStale, removeStale, SnapshotWorkdir } from "../snapshot/workdir.ts";
import { packSnapshot } from "../snapshot/zip.ts";
import { type CollectionInfo, listCollections } from "../source/collections.ts";
import { connect, type ConnectOptions } from "../source/connect.ts";
import type { DataApiClient } from "../source/data_api.ts";
import { findUserKeyspaces, type KeyspaceListing } from "../source/keyspaces.ts";
import { listTables, listTablesOrWhyNot } from "../source/tables.ts";
import { DEFAULT_GZIP_LEVEL } from "../streams/gzip_stream.ts";
import { assertZipVerifies } from "../verify/verify.ts";
import { TOOL_NAME, VERSION } from "../version.ts";
import {
  assertSameSelection,
  CheckpointStore,
  findResumable,
  newCheckpoint,
  type Resumable,
  type Selection,
} from "./checkpoint.ts";
import { backupCollection, failedEntry, isStorageError } from "./collection.ts";

/** Everything a backup needs, already resolved and validated. */
export interface BackupOptions extends ConnectOptions {
  connection: ConnectionConfig;
  outDir: string;
  /** Only these collections (`name` in any keyspace, or `keyspace.name`); empty = all. */
  include: readonly NameRef[];
  /** Skip these collections (same forms). */
  exclude: readonly NameRef[];
  /** gzip data files (default true). */
  compress: boolean;
  /** gzip level 1-9 (default DEFAULT_GZIP_LEVEL). */
  compressionLevel?: number;
  /** Also pack a complete snapshot into `<ts>.zip` (checked before it is published). */
  zip?: boolean;
  /** Upload the zip of a complete snapshot to each of these remotes (implies `zip`). */
  remotes?: { specs: readonly RemoteSpec[]; settings: RemoteSettings } | null;
  /**
   * Encrypt the off-host copy to these age recipients: a complete snapshot is packed straight into
   * `<ts>.zip.age` (+ sidecar), never a plaintext zip first (unless `zip` asks for one too), and
   * that is what goes to the remotes. The manifest records them (format 4).
   */
  encryptTo?: readonly string[] | null;
  /**
   * Keep the plaintext snapshot directory (default true). False (`--no-keep-local`, needs
   * `encryptTo`): once `<ts>.zip.age` is written and proven, the directory is removed.
   */
  keepLocal?: boolean;
  /** Tries per collection; a retry starts the collection over with a truncated file. Default 2. */
  collectionAttempts?: number;
  /** Remove leftovers of crashed runs older than this (ms) before starting; null keeps them. */
  cleanStaleAfterMs?: number | null;
  /** Which objects to back up (default all). */
  kind?: "collections" | "tables" | "all";
  /**
   * `--all-keyspaces`: back up every user keyspace `findKeyspaces` lists, instead of
   * `connection.keyspaces` (which is then empty).
   */
  allKeyspaces?: boolean;
  /** Collections backed up at the same time (default 4). */
  parallel?: number;
  /**
   * `--resume`: continue the newest unfinished snapshot in `outDir` from its checkpoint (same
   * selection required); with nothing to resume, start a new backup and say so.
   */
  resume?: boolean;
  /** `--checkpoint-every N`: pages per checkpoint (default: about 1000 documents). */
  checkpointEvery?: number | null;
  /** A checkpoint at least this often, in ms, whatever the pages (default 30 s; tests). */
  checkpointMaxMs?: number;
  signal?: AbortSignal;
  /** Clock (tests). */
  now?: () => Date;
}

/** Per-collection line of a backup report. */
export interface BackupCollectionReport {
  keyspace: string;
  name: string;
  kind: EntryKind;
  status: "ok" | "failed";
  documents: number | null;
  data_file: string | null;
  data_size_bytes: number | null;
  error?: string;
  warnings: string[];
}

/** Result of a backup run. */
export interface BackupReport {
  status: "complete" | "incomplete";
  /** Final snapshot directory. */
  snapshot: string;
  manifest: Manifest;
  /** Snapshot-wide warnings (an empty database), also in the manifest. */
  warnings: string[];
  collections: BackupCollectionReport[];
  /** The packed zip, when `zip` was asked for and the snapshot is complete. */
  zip: { path: string; size_bytes: number; zip64: boolean } | null;
  /** Why packing the zip failed (the snapshot directory itself is complete and kept). */
  zip_error?: string;
  /** The encrypted off-host copy, when recipients were given and the snapshot is complete. */
  encrypted?: EncryptResult | null;
  /** Why encrypting failed (the snapshot directory is complete and kept). */
  encrypt_error?: string;
  /** The plaintext snapshot directory was removed (`--no-keep-local`) after the .zip.age. */
  local_removed?: boolean;
  /** The first proven off-host copy (kept for reports that knew one Box folder), or null. */
  upload: RemoteUploadResult | null;
  /** Every remote's outcome, in the order given (absent when no remote was named). */
  uploads?: UploadOutcome[];
  /** Why uploads failed, one per failed remote (the local snapshot and zip are kept). */
  upload_error?: string;
  /**
   * User keyspaces the token can see that this backup did not include (absent when the server
   * would not say: findKeyspaces refused).
   */
  keyspaces_not_backed_up?: string[];
  /** With --resume: whether an unfinished snapshot was continued, and which or why not. */
  resume?: { continued: boolean; detail: string };
}

/** Runs a backup; see the module doc. Throws ConfigError/SourceError before anything is written. */
export async function runBackup(
  requested: BackupOptions,
  reporter: Reporter,
): Promise<BackupReport> {
  const client = connect(requested.connection, requested, reporter);
  if (!requested.resume) return await freshBackup(client, requested, reporter, null);
  // --resume: the checkpoint is read under the lock, so no other run is writing it.
  const lock = await lockOutDir(requested.outDir, { holder: "backup", flag: "--out" });
  try {
    const found = await findResumable(requested.outDir);
    if ("resumable" in found) {
      return await resumeBackup(found.resumable, client, requested, reporter);
    }
    const detail = `nothing to resume (${found.why}); started a new backup`;
    reporter.warn(`--resume: ${detail}`);
    const report = await freshBackup(client, requested, reporter, lock);
    return { ...report, resume: { continued: false, detail } };
  } finally {
    lock.release();
  }
}

/** The flags that decide what a backup reads and writes, as its checkpoint records them. */
function selectionOf(options: BackupOptions): Selection {
  return {
    api_endpoint: options.connection.endpoint,
    environment: options.connection.environment,
    keyspaces: options.allKeyspaces ? [] : [...options.connection.keyspaces],
    all_keyspaces: options.allKeyspaces === true,
    collections: options.include.map(formatNameRef),
    exclude: options.exclude.map(formatNameRef),
    kind: options.kind ?? "all",
    compression_level: options.compress ? options.compressionLevel ?? DEFAULT_GZIP_LEVEL : null,
  };
}

/**
 * `backup --resume` with an unfinished snapshot: the same flags are required; the collections and
 * definitions are those recorded when it started, done collections are kept as they are, and
 * running ones continue from their last checkpoint.
 */
async function resumeBackup(
  found: Resumable,
  client: DataApiClient,
  options: BackupOptions,
  reporter: Reporter,
): Promise<BackupReport> {
  const saved = found.checkpoint;
  assertSameSelection(found.timestamp, saved.selection, selectionOf(options));
  await handleStale(options, reporter, found.path);
  const now = (options.now ?? (() => new Date()))();
  saved.resumed_at_utc.push(now.toISOString());
  const store = new CheckpointStore(found.path, saved);
  await store.write();
  const workdir = SnapshotWorkdir.reopen(
    options.outDir,
    found.timestamp,
    new Date(saved.created_at_utc),
  );
  const done = saved.collections.filter((c) => c.state === "done").length;
  const detail = `continued snapshot ${found.timestamp} (${
    saved.resumed_at_utc.length === 1 ? "first resume" : `resume ${saved.resumed_at_utc.length}`
  }; ${done} of ${saved.collections.length} done before)`;
  reporter.info(`--resume: ${detail}`);
  const resumed: BackupOptions = {
    ...options,
    connection: Object.freeze({ ...options.connection, keyspaces: saved.source_keyspaces }),
  };
  const selected: CollectionInfo[] = saved.collections.map((c) => ({
    keyspace: c.keyspace,
    name: c.name,
    kind: c.kind,
    definition: c.definition,
  }));
  let report: BackupReport;
  try {
    report = await backupInto(
      workdir,
      selected,
      client,
      resumed,
      reporter,
      [...saved.warnings],
      store,
    );
  } catch (e) {
    throw keptOnFailure(e, workdir, options);
  }
  if (saved.keyspaces_not_backed_up) report.keyspaces_not_backed_up = saved.keyspaces_not_backed_up;
  report.resume = { continued: true, detail };
  if (report.status === "complete") {
    Object.assign(report, await publish(report.snapshot, resumed, reporter));
  }
  return report;
}

/**
 * A --resume run that fails or is interrupted keeps its unfinished snapshot (the next --resume
 * continues it from its checkpoints), and says so.
 */
function keptOnFailure(e: unknown, workdir: SnapshotWorkdir, options: BackupOptions): unknown {
  const how =
    `the unfinished snapshot ${workdir.path} is kept; continue it with astrabak backup --resume`;
  if (options.signal?.aborted) {
    return new InterruptedError(`Backup interrupted; ${how}`, { cause: e });
  }
  if (isStorageError(e)) {
    return new StorageError(
      `Cannot write the snapshot in ${options.outDir}: ${errorMessage(e)}; ${how}`,
      { cause: e, hint: "free space or fix permissions on --out, then run backup --resume" },
    );
  }
  return e;
}

/** A backup into a new snapshot (`lock` already held with --resume, else taken here). */
async function freshBackup(
  client: DataApiClient,
  requested: BackupOptions,
  reporter: Reporter,
  held: OutDirLock | null,
): Promise<BackupReport> {
  const signal = requested.signal;
  // 0. --all-keyspaces: every keyspace the token can see, else the named ones.
  const all = requested.allKeyspaces ? await listAllKeyspaces(client, requested) : undefined;
  const options: BackupOptions = all
    ? {
      ...requested,
      connection: Object.freeze({ ...requested.connection, keyspaces: all.keyspaces }),
    }
    : requested;
  const conn = options.connection;

  // 1. Discover and select, before touching the disk: a wrong token, endpoint or name fails here
  //    with exit 1 and nothing written.
  reporter.info(
    `Connecting to ${conn.endpoint} (${conn.environment}), keyspaces ${conn.keyspaces.join(", ")}`,
  );
  const available: CollectionInfo[] = [];
  /** Snapshot-wide warnings (what this server could not offer), for the manifest and report. */
  const warnings: string[] = [];
  const kind = options.kind ?? "all";
  /** Keyspaces whose tables this server would not list, with its answer. */
  const tablesUnlisted = new Map<string, string>();
  for (const ks of conn.keyspaces) {
    if (kind !== "tables") available.push(...(await listCollections(client, ks, signal)));
    if (kind !== "collections") {
      available.push(
        ...(await listTablesIfSupported(
          client,
          ks,
          kind,
          reporter,
          warnings,
          tablesUnlisted,
          signal,
        )),
      );
    }
  }
  const selected = selectCollections(available, options.include, options.exclude, reporter);
  // One findKeyspaces, once the named keyspaces answered: what exists but is left out.
  const listing = all ?? await otherKeyspaces(client, signal, reporter);
  const notBackedUp = listing
    ? [...listing.keyspaces.filter((k) => !conn.keyspaces.includes(k)), ...listing.unaddressable]
    : undefined;
  if (notBackedUp && notBackedUp.length > 0) {
    reporter.info(`Keyspaces not backed up (not selected): ${notBackedUp.join(", ")}`);
  }
  if (selected.length === 0) {
    // Nothing selected is a mistake unless the database really holds nothing at all.
    // The warning claims only what was listed: "no tables" only where tables were listed.
    let unlisted: { kind: "collections" | "tables"; why: string } | null = tablesUnlisted.size > 0
      ? {
        kind: "tables",
        why: [...tablesUnlisted].map(([ks, why]) =>
          tablesUnlisted.size === conn.keyspaces.length ? why : `in ${ks}: ${why}`
        ).join("; "),
      }
      : null;
    const other = kind === "all"
      ? []
      : await listOtherKind(client, conn.keyspaces, kind, signal).catch((e) => {
        unlisted = { kind: kind === "tables" ? "collections" : "tables", why: errorMessage(e) };
        return [];
      });
    const exists = [...available, ...other];
    if (exists.length > 0) throw emptySelection(options, kind, exists);
    const nothing = unlisted === null
      ? "no collections or tables"
      : `no ${
        unlisted.kind === "tables" ? "collections" : "tables"
      }; ${unlisted.kind} could not be listed (${unlisted.why})`;
    const empty = `EMPTY BACKUP: keyspace${conn.keyspaces.length === 1 ? "" : "s"} ${
      conn.keyspaces.join(", ")
    } at ${conn.endpoint} hold${
      conn.keyspaces.length === 1 ? "s" : ""
    } ${nothing}; this snapshot contains nothing (restore latest will refuse it)`;
    warnings.push(empty);
    reporter.warn(empty);
  }
  reporter.info(
    `Backing up ${describeEntries(selected)}: ${
      selected.map((c) => `${c.keyspace}.${c.name}`).join(", ") || "(none)"
    }`,
  );

  // 2. Claim the output directory and open the hidden in-progress snapshot.
  const lock = held ?? await lockOutDir(options.outDir, { holder: "backup", flag: "--out" });
  try {
    await handleStale(options, reporter);
    const workdir = await SnapshotWorkdir.create(options.outDir, options.now);
    reporter.debug(`Writing into ${workdir.path}`);
    if (listing && listing.unaddressable.length > 0) {
      const w = `keyspace${listing.unaddressable.length === 1 ? "" : "s"} ${
        listing.unaddressable.join(", ")
      } not backed up: astrabak addresses only names of letters, digits and underscores`;
      warnings.push(w);
      reporter.warn(w);
    }
    let report: BackupReport;
    try {
      // The first checkpoint, before any data: from here on a killed run can be resumed.
      const store = new CheckpointStore(
        workdir.path,
        newCheckpoint(
          workdir.timestamp,
          workdir.startedAt,
          selectionOf(requested),
          [...conn.keyspaces],
          selected,
          warnings,
          notBackedUp ?? null,
        ),
      );
      await store.write();
      report = await backupInto(workdir, selected, client, options, reporter, warnings, store);
      if (notBackedUp) report.keyspaces_not_backed_up = notBackedUp;
    } catch (e) {
      if (options.resume) throw keptOnFailure(e, workdir, options);
      await workdir.discard();
      if (signal?.aborted) {
        throw new InterruptedError("Backup interrupted; the unfinished snapshot was removed", {
          cause: e,
        });
      }
      if (isStorageError(e)) {
        throw new StorageError(
          `Cannot write the snapshot in ${options.outDir}: ${
            errorMessage(e)
          }; the unfinished snapshot was removed`,
          { cause: e, hint: "free space or fix permissions on --out, then run the backup again" },
        );
      }
      throw e;
    }
    // 3. The snapshot is final from here on: an interruption or failure below never removes it.
    if (report.status === "complete") {
      Object.assign(report, await publish(report.snapshot, options, reporter));
    }
    return report;
  } finally {
    if (held === null) lock.release();
  }
}

/**
 * The keyspaces a backup without --all-keyspaces leaves out are named when that is cheap: one
 * findKeyspaces; if the server refuses it (or fails), nothing is said (undefined).
 */
async function otherKeyspaces(
  client: DataApiClient,
  signal: AbortSignal | undefined,
  reporter: Reporter,
): Promise<KeyspaceListing | undefined> {
  try {
    return await findUserKeyspaces(client, signal);
  } catch (e) {
    if (!(e instanceof SourceError)) throw e;
    reporter.debug(`findKeyspaces: ${e.message}; other keyspaces not looked for`);
    return undefined;
  }
}

/**
 * `--all-keyspaces`: the user keyspaces the token can see are what gets backed up, so a refusal
 * or an empty list is an error (exit 1, nothing written).
 */
async function listAllKeyspaces(
  client: DataApiClient,
  options: BackupOptions,
): Promise<KeyspaceListing> {
  const listing = await findUserKeyspaces(client, options.signal);
  if (!listing) {
    throw new ConfigError(
      `Cannot back up every keyspace: the Data API at ${client.endpoint} did not list them (findKeyspaces refused)`,
      { hint: "name the keyspaces with --keyspace (repeatable) instead of --all-keyspaces" },
    );
  }
  if (listing.keyspaces.length === 0) {
    throw new ConfigError(
      `Cannot back up every keyspace: the Data API at ${client.endpoint} lists no user keyspace${
        listing.unaddressable.length > 0
          ? ` astrabak can address (only ${listing.unaddressable.join(", ")})`
          : ""
      }`,
      { hint: "check that the token may see this database's keyspaces" },
    );
  }
  return listing;
}

async function backupInto(
  workdir: SnapshotWorkdir,
  selected: CollectionInfo[],
  client: DataApiClient,
  requested: BackupOptions,
  reporter: Reporter,
  warnings: string[],
  store: CheckpointStore,
): Promise<BackupReport> {
  // Up to `parallel` collections at a time, each with its own pipeline; entries keep the
  // discovery order. After an authentication failure nothing new is started; an error that ends
  // the run (disk, interruption, a refused page state) stops the others too.
  const stopAll = new AbortController();
  const options: BackupOptions = {
    ...requested,
    signal: requested.signal ? AbortSignal.any([requested.signal, stopAll.signal]) : stopAll.signal,
  };
  const saved = store.data.collections;
  const entries: CollectionEntry[] = new Array(selected.length);
  /** gzip members per data file: several make the snapshot format 4. */
  const members: number[] = new Array(selected.length).fill(1);
  let fatal: string | null = null;
  let next = 0;
  const record = (info: CollectionInfo) => ({
    keyspace: info.keyspace,
    name: info.name,
    kind: info.kind,
    definition: info.definition,
  });
  const worker = async () => {
    while (next < selected.length) {
      const i = next++;
      const info = selected[i]!;
      const before = saved[i];
      // A collection that failed gets another chance; one that is done is kept as it is.
      if (before?.state === "done" && before.entry.status === "ok") {
        entries[i] = before.entry;
        members[i] = before.members;
        continue;
      }
      if (fatal !== null) {
        entries[i] = failedEntry(info, options.compress, `not attempted: ${fatal}`, [], 0, 0);
        continue;
      }
      const { entry, error, segments } = await backupCollection(
        info,
        workdir,
        client,
        options,
        reporter,
        {
          ...(before?.state === "running" ? { resume: before.progress } : {}),
          checkpoint: (progress) => store.update({ ...record(info), state: "running", progress }),
        },
      );
      entries[i] = entry;
      members[i] = segments ?? 1;
      await store.update({ ...record(info), state: "done", entry, members: members[i]! });
      if (entry.status === "failed") {
        reporter.error(`${info.keyspace}.${info.name} failed: ${entry.error}`);
        if (error instanceof SourceError && error.kind === "auth") {
          fatal = "authentication failed earlier in this run";
        }
      }
    }
  };
  const results = await Promise.allSettled(
    Array.from(
      { length: Math.max(1, Math.min(options.parallel ?? 4, selected.length)) },
      () =>
        worker().catch((e) => {
          stopAll.abort();
          throw e;
        }),
    ),
  );
  const firstFailure = results.find((r) => r.status === "rejected");
  if (firstFailure) throw (firstFailure as PromiseRejectedResult).reason;
  const resumedAt = store.data.resumed_at_utc;
  const finishedAt = (options.now ?? (() => new Date()))();
  const failed = entries.filter((e) => e.status === "failed").length;
  const manifest: Manifest = {
    // Snapshot-wide warnings need format 3; encryption, `resumed` and data files of several gzip
    // members need 4 (astrabak 0.2.0 read gzip with DecompressionStream, which stops at the first
    // member); without any of these, the snapshot stays readable by 0.2.0.
    backup_format_version: formatVersionFor({
      ...(warnings.length > 0 ? { warnings } : {}),
      ...(options.encryptTo ? { encryption: true } : {}),
      ...(resumedAt.length > 0 ? { resumed: true } : {}),
      multiMember: entries.some((e, i) => e.status === "ok" && e.compressed && members[i]! > 1),
    }),
    snapshot: workdir.timestamp,
    status: failed === 0 ? "complete" : "incomplete",
    created_at_utc: workdir.startedAt.toISOString(),
    finished_at_utc: finishedAt.toISOString(),
    duration_seconds: Math.max(0, (finishedAt.getTime() - workdir.startedAt.getTime()) / 1000),
    tool: { name: TOOL_NAME, version: VERSION },
    client: {
      wire: `raw HTTP (astrabak/${VERSION}; lossless byte slicing)`,
      deno_version: Deno.version.deno,
    },
    source: {
      api_endpoint: options.connection.endpoint,
      environment: options.connection.environment,
      keyspaces: [...options.connection.keyspaces],
    },
    document_format: {
      layout: "jsonl",
      encoding: "utf-8",
      numbers: "verbatim",
      vectors: "verbatim",
      compression: options.compress ? "gzip" : "none",
      ...(options.compress
        ? { compression_level: options.compressionLevel ?? DEFAULT_GZIP_LEVEL }
        : {}),
      projection: { "*": true },
    },
    totals: {
      collections_ok: entries.length - failed,
      collections_failed: failed,
      documents: entries.reduce((n, e) => n + (e.status === "ok" ? e.document_count ?? 0 : 0), 0),
    },
    collections: entries,
    ...(warnings.length > 0 ? { warnings } : {}),
    ...(options.encryptTo
      ? { encryption: { format: AGE_FORMAT, recipients: [...options.encryptTo] } }
      : {}),
    ...(resumedAt.length > 0 ? { resumed: { times: resumedAt.length, at_utc: resumedAt } } : {}),
  };
  await writeManifest(workdir.path, manifest);
  options.signal?.throwIfAborted();
  // The checkpoint goes before the rename: no finished snapshot holds it. A crash in between
  // leaves a finished-looking .inprogress without one, which --resume does not continue.
  await store.remove();
  const snapshot = await workdir.finalize(failed === 0);
  return {
    status: manifest.status,
    snapshot,
    manifest,
    warnings,
    zip: null,
    upload: null,
    collections: entries.map((e) => ({
      keyspace: e.keyspace,
      name: e.name,
      kind: e.kind,
      status: e.status,
      documents: e.document_count,
      data_file: e.data_file,
      data_size_bytes: e.data_size_bytes,
      ...(e.error === undefined ? {} : { error: e.error }),
      warnings: e.warnings,
    })),
  };
}

/**
 * The steps after a complete snapshot: pack the zip (when asked, or for Box) and upload it. A
 * failure here never touches the snapshot directory; it is reported (exit 3) and the local copy
 * is kept.
 */
async function publish(
  snapshot: string,
  options: BackupOptions,
  reporter: Reporter,
): Promise<PublishReport> {
  if (options.encryptTo) {
    return await publishEncrypted(snapshot, options.encryptTo, options, reporter);
  }
  const remotes = options.remotes?.specs.length ? options.remotes : null;
  if (!options.zip && !remotes) return { zip: null, upload: null };
  let zip: BackupReport["zip"];
  try {
    reporter.info(`Packing ${snapshot} into a zip`);
    const r = await packSnapshot(snapshot, (p) => assertZipVerifies(p, reporter), options.signal);
    zip = { path: r.zipPath, size_bytes: r.sizeBytes, zip64: r.zip64 };
    reporter.info(`Packed ${r.zipPath} (${r.sizeBytes} bytes)`);
  } catch (e) {
    if (options.signal?.aborted) {
      throw new InterruptedError(
        `Interrupted while packing the zip; the snapshot ${snapshot} is complete and kept, only the unfinished zip was removed`,
        {
          cause: e,
          hint: `pack it again with: astrabak ${remotes ? "upload" : "zip"} ${snapshot}`,
        },
      );
    }
    const zipError = errorMessage(e);
    reporter.error(
      `Packing the zip failed: ${zipError}; the snapshot ${snapshot} is complete and kept`,
    );
    return { zip: null, zip_error: zipError, upload: null };
  }
  if (!remotes) return { zip, upload: null };
  return { zip, ...await uploadArchive(snapshot, zip.path, remotes, options, reporter) };
}

/** Uploads a finished archive to every remote; each outcome is reported, failures kept apart. */
async function uploadArchive(
  snapshot: string,
  archive: string,
  remotes: NonNullable<BackupOptions["remotes"]>,
  options: BackupOptions,
  reporter: Reporter,
): Promise<Pick<BackupReport, "upload" | "uploads" | "upload_error">> {
  const uploads = await uploadToRemotes(
    remotes.specs,
    remotes.settings,
    archive,
    reporter,
    options.signal,
    `the local snapshot ${snapshot} and ${archive} are complete and kept`,
  );
  const failed = uploads.filter((u) => !u.ok);
  const first = uploads.find((u) => u.ok);
  return {
    upload: first ? first.results[0]! : null,
    uploads,
    ...(failed.length > 0
      ? { upload_error: failed.map((f) => `${f.remote}: ${f.error}`).join("; ") }
      : {}),
  };
}

/** What publishing a complete snapshot adds to the report. */
type PublishReport = Pick<
  BackupReport,
  | "zip"
  | "zip_error"
  | "upload"
  | "uploads"
  | "upload_error"
  | "encrypted"
  | "encrypt_error"
  | "local_removed"
>;

/**
 * `publish` with recipients: `<ts>.zip.age` (+ sidecar) straight from the snapshot directory,
 * a plaintext zip only when `--zip` asks for one too, the upload of the `.zip.age`, and with
 * `--no-keep-local` the removal of the plaintext directory once the `.zip.age` is proven (and
 * uploaded, when remotes were named). A failure keeps the directory (exit 3).
 */
async function publishEncrypted(
  snapshot: string,
  recipients: readonly string[],
  options: BackupOptions,
  reporter: Reporter,
): Promise<PublishReport> {
  const plain = options.zip
    ? await publish(snapshot, { ...options, encryptTo: null, remotes: null }, reporter)
    : { zip: null, upload: null };
  let encrypted: EncryptResult;
  try {
    encrypted = await encryptSnapshot(snapshot, recipients, reporter, options.signal);
  } catch (e) {
    if (options.signal?.aborted) {
      throw new InterruptedError(
        `Interrupted while encrypting; the snapshot ${snapshot} is complete and kept, only the unfinished .zip.age was removed`,
        { cause: e, hint: `encrypt it again with: astrabak encrypt ${snapshot} --encrypt-to …` },
      );
    }
    const why = errorMessage(e);
    reporter.error(`Encrypting failed: ${why}; the snapshot ${snapshot} is complete and kept`);
    return { ...plain, encrypted: null, encrypt_error: why, upload: null };
  }
  const remotes = options.remotes?.specs.length ? options.remotes : null;
  const sent = remotes
    ? await uploadArchive(snapshot, encrypted.path, remotes, options, reporter)
    : { upload: null };
  if (sent.upload_error) return { ...plain, encrypted, ...sent };
  if (options.keepLocal === false) {
    await Deno.remove(snapshot, { recursive: true });
    reporter.info(
      `Removed the plaintext snapshot ${snapshot} (--no-keep-local); kept ${encrypted.path}`,
    );
    return { ...plain, encrypted, ...sent, local_removed: true };
  }
  return { ...plain, encrypted, ...sent };
}

/** Reports (or, with --clean-stale, removes) what crashed runs left in the output directory. */
async function handleStale(
  options: BackupOptions,
  reporter: Reporter,
  resuming?: string,
): Promise<void> {
  const stale = (await findStale(options.outDir)).filter((s) => s.path !== resuming);
  if (stale.length === 0) return;
  const limit = options.cleanStaleAfterMs;
  if (limit === undefined || limit === null) {
    reporter.warn(
      `${stale.length} leftover(s) of unfinished runs in ${options.outDir} (${
        stale.map((s) => s.path).join(", ")
      }); they are ignored, and --clean-stale removes them`,
    );
    return;
  }
  for (const p of await removeStale(stale, limit)) reporter.info(`Removed stale ${p}`);
}

/**
 * Tables of a keyspace. When the server has none to offer (listTables unknown, or the tables
 * feature off: see listTablesOrWhyNot), an `all` backup goes on with collections only and says so
 * in a warning (log, report and manifest); `--kind tables` cannot be served and fails before
 * anything is written.
 */
async function listTablesIfSupported(
  client: DataApiClient,
  keyspace: string,
  kind: "tables" | "all",
  reporter: Reporter,
  warnings: string[],
  unlisted: Map<string, string>,
  signal?: AbortSignal,
): Promise<CollectionInfo[]> {
  const listing = await listTablesOrWhyNot(client, keyspace, signal);
  if (listing.tables) return listing.tables;
  unlisted.set(keyspace, listing.unavailable);
  if (kind === "tables") {
    throw new ConfigError(
      `keyspace ${keyspace}: tables are not available on this Data API (${listing.unavailable})`,
      {
        hint:
          "enable the tables feature on the server (stargate.jsonapi.feature.flags.tables), or back up collections with --kind collections",
      },
    );
  }
  const warning =
    `keyspace ${keyspace}: tables not backed up: this Data API offers none (${listing.unavailable}); collections only`;
  reporter.warn(warning);
  warnings.push(warning);
  return [];
}

/** The objects of the kind `--kind` left out, to say what exists when a selection is empty. */
async function listOtherKind(
  client: DataApiClient,
  keyspaces: readonly string[],
  kind: "collections" | "tables",
  signal?: AbortSignal,
): Promise<CollectionInfo[]> {
  const out: CollectionInfo[] = [];
  for (const ks of keyspaces) {
    out.push(
      ...(kind === "tables"
        ? await listCollections(client, ks, signal)
        : await listTables(client, ks, signal)),
    );
  }
  return out;
}

/** A selection (`--collections`, `--exclude`, `--kind`) that leaves nothing of what exists. */
function emptySelection(
  options: BackupOptions,
  kind: "collections" | "tables" | "all",
  exists: CollectionInfo[],
): ConfigError {
  const selection = [
    options.include.length > 0
      ? `--collections ${options.include.map(formatNameRef).join(",")}`
      : "",
    options.exclude.length > 0 ? `--exclude ${options.exclude.map(formatNameRef).join(",")}` : "",
    kind === "all" ? "" : `--kind ${kind}`,
  ].filter(Boolean).join(" ");
  return new ConfigError(
    `Cannot back up: ${selection} selects nothing; the database holds ${
      exists.map((c) => `${c.keyspace}.${c.name} (${c.kind})`).join(", ")
    }`,
    { hint: "check --collections, --exclude and --kind; names are case-sensitive" },
  );
}

/**
 * Picks collections by `name` (every keyspace) or `keyspace.name`. Every `include` reference must
 * name something; an `exclude` reference that names nothing is only warned about (a cron job
 * should not break because an excluded collection was dropped).
 */
export function selectCollections(
  available: CollectionInfo[],
  include: readonly NameRef[],
  exclude: readonly NameRef[],
  reporter: Reporter,
): CollectionInfo[] {
  const known = () => available.map((c) => `${c.keyspace}.${c.name}`).join(", ") || "none";
  const missing = include.filter((r) => !available.some((c) => nameRefMatches(r, c)));
  if (missing.length > 0) {
    throw new ConfigError(
      `Cannot back up ${
        missing.map((r) => `"${formatNameRef(r)}"`).join(", ")
      }: no such collection or table (found: ${known()})`,
      {
        hint: "check --collections; names are case-sensitive",
      },
    );
  }
  for (const r of exclude.filter((r) => !available.some((c) => nameRefMatches(r, c)))) {
    reporter.warn(
      `--exclude "${formatNameRef(r)}" matches no collection or table (found: ${known()})`,
    );
  }
  return available.filter((c) =>
    (include.length === 0 || include.some((r) => nameRefMatches(r, c))) &&
    !exclude.some((r) => nameRefMatches(r, c))
  );
}
