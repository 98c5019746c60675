/**
 * @module
 * `astrabak prune` as a library call: take stock of each location (a local snapshot directory, a
 * remote: Box folder, S3 prefix), decide with {@linkcode decideRetention}, then remove. Each location is decided
 * only from what it holds. Everything that can fail as configuration (missing directory, lock
 * held by a running backup, remote credentials) fails before anything is removed; after that, one
 * failed removal is reported and the others go on.
 */

import { join } from "node:path";
import { sidecarPath } from "../encrypt/sidecar.ts";
import {
  isEncryptedArchive,
  openRemote,
  type Remote,
  type RemoteSettings,
  type RemoteSnapshot,
  type RemoteSpec,
  removeSnapshot,
} from "../remote/mod.ts";
import { ConfigError, errorMessage } from "../errors.ts";
import type { Reporter } from "../reporter.ts";
import { isOutDirLocked, lockOutDir, type OutDirLock } from "../snapshot/lock.ts";
import {
  decideRetention,
  describePolicy,
  groupSnapshotNames,
  hasKeepRule,
  type RetentionDecision,
  type RetentionPolicy,
  type SnapshotGroup,
  type SnapshotState,
  timestampDate,
} from "./rules.ts";

/**
 * Suffix a snapshot directory is renamed to (hidden, `.<name>.pruning`) before its files are
 * removed, so a removal that stops half-way never leaves a damaged directory under a snapshot
 * name. Leftovers are removed by the next prune.
 */
export const PRUNING_SUFFIX = ".pruning";

/** What to prune and how. */
export interface PruneOptions {
  policy: RetentionPolicy;
  /** Local snapshot directory, or null to leave local snapshots alone. */
  localDir: string | null;
  /** Remotes to prune (each decided from what it holds), or null. */
  remotes: { specs: readonly RemoteSpec[]; settings: RemoteSettings } | null;
  /** Decide and report only. */
  dryRun: boolean;
  /** Clock (tests). */
  now?: () => Date;
  /** Aborted on SIGINT/SIGTERM: no further removal starts. */
  signal?: AbortSignal;
}

/** One snapshot in a prune report. */
export interface PrunedSnapshot {
  timestamp: string;
  state: SnapshotState;
  /** Its names in the location (a directory and its zip; a Box file name). */
  names: string[];
  /** Box file id, for Box snapshots. */
  box_file_id?: string;
  /** Object key, for S3 snapshots. */
  key?: string;
  action: "keep" | "remove";
  reasons: string[];
  /** True once it is gone (never in a dry run). */
  removed: boolean;
  /** Why the removal failed. */
  error?: string;
}

/** The decisions and removals of one location. */
export interface PruneLocationReport {
  where: "local" | "box" | "s3";
  /** The directory, the Box folder id, or the remote (`s3://bucket/prefix`). */
  location: string;
  snapshots: PrunedSnapshot[];
  /** Leftovers of an interrupted prune (`.<name>.pruning`) removed this time (or to be removed). */
  leftovers: string[];
}

/** Result of a prune run. */
export interface PruneReport {
  dry_run: boolean;
  policy: string;
  locations: PruneLocationReport[];
  kept: number;
  removed: number;
  /** Removals that failed (exit 2). */
  failed: number;
}

interface LocalStock {
  dir: string;
  lock: OutDirLock | null;
  groups: SnapshotGroup[];
  leftovers: string[];
  inProgressLocked: boolean;
}

interface RemoteStock {
  spec: RemoteSpec;
  remote: Remote;
  /** One group per timestamp: its archives (a `.zip` and a `.zip.age` are one snapshot). */
  groups: Array<SnapshotGroup & { remote: RemoteSnapshot[] }>;
}

/** Runs a prune; see the module doc. Throws ConfigError/SourceError before removing anything. */
export async function runPrune(options: PruneOptions, reporter: Reporter): Promise<PruneReport> {
  if (!hasKeepRule(options.policy)) {
    throw new ConfigError("Cannot prune: no keep rule given", {
      hint:
        "pass at least one of --keep-last, --keep-hourly, --keep-daily, --keep-weekly, --keep-monthly, --keep-yearly, --keep-within",
    });
  }
  if (options.localDir === null && !options.remotes?.specs.length) {
    throw new ConfigError("Cannot prune: no location given", {
      hint: "pass --from DIR and/or --from-remote REMOTE (or --box-folder ID)",
    });
  }
  const now = (options.now ?? (() => new Date()))();
  const local = options.localDir === null ? null : await stockLocal(options.localDir, options);
  try {
    // Every remote is listed before anything is removed anywhere.
    const stocks: RemoteStock[] = [];
    for (const spec of options.remotes?.specs ?? []) {
      const remote = await openRemote(spec, options.remotes!.settings, reporter);
      const listed = await remote.list();
      // Remotes hold only archives of complete snapshots (upload refuses anything else); an
      // encrypted one's sidecar goes with it.
      const groups = new Map<string, RemoteStock["groups"][number]>();
      for (const r of listed.filter((r) => timestampDate(r.timestamp) !== null)) {
        const g = groups.get(r.timestamp) ??
          { timestamp: r.timestamp, state: "complete" as const, names: [], remote: [] };
        g.names.push(r.name, ...(r.sidecar ? [r.sidecar.name] : []));
        g.remote.push(r);
        groups.set(r.timestamp, g);
      }
      stocks.push({ spec, remote, groups: [...groups.values()] });
    }
    const locations: PruneLocationReport[] = [];
    if (local) {
      const decisions = decideRetention(local.groups, options.policy, {
        now,
        inProgressLocked: local.inProgressLocked,
      });
      locations.push({
        where: "local",
        location: local.dir,
        snapshots: await applyLocal(local, decisions, options, reporter),
        leftovers: local.leftovers,
      });
    }
    for (const stock of stocks) {
      const decisions = decideRetention(stock.groups, options.policy, {
        now,
        inProgressLocked: false,
      });
      locations.push({
        where: stock.spec.kind,
        location: stock.spec.kind === "box" ? stock.spec.folderId : stock.spec.label,
        snapshots: await applyRemote(stock, decisions, options, reporter),
        leftovers: [],
      });
    }
    const all = locations.flatMap((l) => l.snapshots);
    return {
      dry_run: options.dryRun,
      policy: describePolicy(options.policy),
      locations,
      kept: all.filter((s) => s.action === "keep").length,
      removed: all.filter((s) => s.removed).length,
      failed: all.filter((s) => s.error !== undefined).length,
    };
  } finally {
    local?.lock?.release();
  }
}

/**
 * Locks (or, in a dry run, probes the lock of) the directory and reads its names. The lock is
 * the same one backups take: while prune holds it no backup writes there, so every
 * `.inprogress` is a crashed run's leftover.
 */
async function stockLocal(dir: string, options: PruneOptions): Promise<LocalStock> {
  const info = await Deno.stat(dir).catch(() => null);
  if (!info?.isDirectory) {
    throw new ConfigError(`Cannot prune ${dir}: no such directory`, {
      hint: "pass --from with the directory backups are written into (--out of backup)",
    });
  }
  const lock = options.dryRun ? null : await lockOutDir(dir, { holder: "prune", flag: "--from" });
  try {
    const inProgressLocked = options.dryRun ? await isOutDirLocked(dir) : false;
    const names: string[] = [];
    const leftovers: string[] = [];
    for await (const e of Deno.readDir(dir)) {
      if (e.name.startsWith(".") && e.name.endsWith(PRUNING_SUFFIX)) leftovers.push(e.name);
      else names.push(e.name);
    }
    return { dir, lock, groups: groupSnapshotNames(names).groups, leftovers, inProgressLocked };
  } catch (e) {
    lock?.release();
    throw e;
  }
}

async function applyLocal(
  local: LocalStock,
  decisions: RetentionDecision[],
  { dryRun, signal }: PruneOptions,
  reporter: Reporter,
): Promise<PrunedSnapshot[]> {
  const out: PrunedSnapshot[] = [];
  if (!dryRun) {
    for (const name of local.leftovers) {
      await Deno.remove(join(local.dir, name), { recursive: true }).then(
        () => reporter.info(`Removed ${join(local.dir, name)} (left over by an interrupted prune)`),
        (e) => reporter.warn(`Cannot remove ${join(local.dir, name)}: ${errorMessage(e)}`),
      );
    }
  }
  for (const d of decisions) {
    const row = reportRow(d);
    out.push(row);
    if (d.action !== "remove" || dryRun) continue;
    signal?.throwIfAborted();
    try {
      for (const name of d.snapshot.names) await removeLocal(local.dir, name);
      row.removed = true;
      reporter.info(`Removed ${d.snapshot.names.map((n) => join(local.dir, n)).join(" and ")}`);
    } catch (e) {
      row.error = `Cannot remove ${d.snapshot.names.join(", ")} in ${local.dir}: ${
        errorMessage(e).split("\n")[0]
      }`;
      reporter.error(row.error);
    }
  }
  return out;
}

/**
 * Removes one name (and a `.zip.age`'s sidecar); a directory is first renamed out of the
 * snapshot namespace.
 */
async function removeLocal(dir: string, name: string): Promise<void> {
  const path = join(dir, name);
  const info = await Deno.lstat(path);
  if (!info.isDirectory) {
    await Deno.remove(path);
    // An encrypted snapshot's sidecar (`<ts>.zip.age.sha256`) goes with it.
    if (isEncryptedArchive(name)) {
      await Deno.remove(sidecarPath(path)).catch((e) => {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
      });
    }
    return;
  }
  const doomed = join(dir, `.${name}${PRUNING_SUFFIX}`);
  await Deno.rename(path, doomed);
  await Deno.remove(doomed, { recursive: true });
}

async function applyRemote(
  stock: RemoteStock,
  decisions: RetentionDecision<RemoteStock["groups"][number]>[],
  { dryRun, signal }: PruneOptions,
  reporter: Reporter,
): Promise<PrunedSnapshot[]> {
  const out: PrunedSnapshot[] = [];
  for (const d of decisions) {
    const first = d.snapshot.remote[0]!;
    const row: PrunedSnapshot = {
      ...reportRow(d),
      ...(stock.spec.kind === "box" ? { box_file_id: first.id } : { key: first.id }),
    };
    out.push(row);
    if (d.action !== "remove" || dryRun) continue;
    signal?.throwIfAborted();
    try {
      for (const snap of d.snapshot.remote) {
        const r = await removeSnapshot(stock.remote, snap);
        reporter.info(stock.remote.removalMessage(snap, r));
      }
      row.removed = true;
    } catch (e) {
      row.error = errorMessage(e);
      reporter.error(row.error);
    }
  }
  return out;
}

function reportRow(d: RetentionDecision): PrunedSnapshot {
  return {
    timestamp: d.snapshot.timestamp,
    state: d.snapshot.state,
    names: [...d.snapshot.names],
    action: d.action,
    reasons: d.reasons,
    removed: false,
  };
}

/** What `backup --keep-*` did after the backup. */
export interface PruneAfterBackup {
  /** The prune, or null when it did not run. */
  prune: PruneReport | null;
  /** Why it did not run (an incomplete snapshot). */
  prune_skipped?: string;
  /** Why it failed as a whole (for example the lock was taken by another run meanwhile). */
  prune_error?: string;
}

/**
 * Prunes the backup's own destinations, only after a complete snapshot: never after an
 * incomplete (or failed) one, whose data must not cost an older complete snapshot its place.
 * A remote is pruned only when this run's upload to it succeeded, so a remote is never thinned
 * while its copies are not being renewed. Never throws: the backup itself is done and reported either way.
 */
export async function pruneAfterBackup(
  backup: {
    status: "complete" | "incomplete";
    uploads?: ReadonlyArray<{ ok: boolean; remote: string }>;
  },
  destinations: {
    outDir: string;
    remotes: { specs: readonly RemoteSpec[]; settings: RemoteSettings } | null;
  },
  policy: RetentionPolicy,
  reporter: Reporter,
  signal?: AbortSignal,
): Promise<PruneAfterBackup> {
  if (backup.status !== "complete") {
    const why = "the snapshot is INCOMPLETE; nothing is pruned after an incomplete backup";
    reporter.warn(`Not pruning: ${why}`);
    return { prune: null, prune_skipped: why };
  }
  const specs = destinations.remotes?.specs ?? [];
  const proven = specs.filter((spec) =>
    backup.uploads?.some((u) => u.ok && u.remote === spec.label) === true
  );
  for (const spec of specs.filter((s) => !proven.includes(s))) {
    reporter.warn(`Not pruning ${spec.label}: this run's upload to it failed`);
  }
  try {
    return {
      prune: await runPrune({
        policy,
        localDir: destinations.outDir,
        remotes: proven.length > 0
          ? { specs: proven, settings: destinations.remotes!.settings }
          : null,
        dryRun: false,
        ...(signal ? { signal } : {}),
      }, reporter),
    };
  } catch (e) {
    if (signal?.aborted) throw e;
    const message = errorMessage(e);
    reporter.error(`Pruning failed: ${message}`);
    return { prune: null, prune_error: message };
  }
}
