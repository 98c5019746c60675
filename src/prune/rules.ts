/**
 * @module
 * Retention as a pure function: which snapshots to keep and which to remove, decided only from
 * the UTC timestamps in their names (never file times), with restic's `forget` semantics and a
 * safety floor on top.
 *
 * The bucket rules follow restic's `ApplyPolicy` (restic/restic, internal/data/snapshot_policy.go
 * at a80be14; it lived in internal/restic/ before): snapshots are walked newest first; a bucket
 * rule (`last`, `hourly`, `daily`, `weekly` = ISO 8601 week, `monthly`, `yearly`) keeps a
 * snapshot when its bucket differs from the bucket of the last snapshot that rule kept, and
 * counts down; it also keeps the very oldest snapshot while it still has counts left ("oldest
 * daily"), which maximises the history kept while the history is shorter than the rule. `within
 * D` keeps every snapshot newer than (newest snapshot not in the future) − D. A snapshot kept by
 * any rule stays. Only complete snapshots take part in the rules.
 *
 * The floor, whatever the rules say: the newest complete snapshot is kept; nothing at all is
 * removed when fewer than `keepMin` complete snapshots would remain; an `.inprogress` whose backup
 * holds the lock is kept; `.INCOMPLETE` (and unfinished, unlocked `.inprogress`) snapshots are
 * removed only when a newer complete snapshot exists; names that are not snapshot names never
 * reach this module.
 */

import { formatTimestamp, parseSnapshotName } from "../snapshot/layout.ts";

/** What the retention rules say to keep. Counts are whole numbers > 0 when present. */
export interface RetentionPolicy {
  last?: number;
  hourly?: number;
  daily?: number;
  weekly?: number;
  monthly?: number;
  yearly?: number;
  /** Keep everything newer than the newest snapshot minus this many milliseconds. */
  withinMs?: number;
  /** The duration as the user spelled it (for reasons), e.g. `30d`. */
  withinText?: string;
  /** Remove nothing when fewer complete snapshots than this would remain (default 1). */
  keepMin?: number;
}

/** True when the policy names at least one keep rule (keepMin alone is not a rule). */
export function hasKeepRule(p: RetentionPolicy): boolean {
  return p.last !== undefined || p.hourly !== undefined || p.daily !== undefined ||
    p.weekly !== undefined || p.monthly !== undefined || p.yearly !== undefined ||
    p.withinMs !== undefined;
}

/** The policy in words, e.g. `keep 7 daily, 4 weekly; keep-min 1`. */
export function describePolicy(p: RetentionPolicy): string {
  const parts: string[] = [];
  for (const [n, label] of BUCKET_RULES.map((r) => [p[r.rule], r.rule] as const)) {
    if (n !== undefined) parts.push(`${n} ${label}`);
  }
  if (p.withinMs !== undefined) parts.push(`within ${p.withinText ?? `${p.withinMs} ms`}`);
  return `keep ${parts.join(", ") || "nothing"}; keep-min ${p.keepMin ?? 1}`;
}

/** How finished a snapshot is, from its name. */
export type SnapshotState = "complete" | "incomplete" | "inprogress";

/** One snapshot as retention sees it: its timestamp, its state, and the names it occupies. */
export interface SnapshotGroup {
  /** `YYYYMMDD_HHMMSS` (UTC). */
  timestamp: string;
  state: SnapshotState;
  /** Every name of this snapshot: a complete one may be a directory, its `.zip`, or both. */
  names: string[];
}

/**
 * Groups directory entry (or Box file) names into snapshots: `<ts>/` and `<ts>.zip` are one
 * complete snapshot. Names that are not snapshot names, or whose timestamp is not a real date,
 * are returned in `ignored` and never decided on.
 */
export function groupSnapshotNames(
  names: readonly string[],
): { groups: SnapshotGroup[]; ignored: string[] } {
  const byKey = new Map<string, SnapshotGroup>();
  const ignored: string[] = [];
  for (const name of names) {
    const p = parseSnapshotName(name);
    if (!p || timestampDate(p.timestamp) === null) {
      ignored.push(name);
      continue;
    }
    const state: SnapshotState = p.kind === "zip" || p.kind === "zip.age" ? "complete" : p.kind;
    const key = `${p.timestamp}/${state}`;
    const g = byKey.get(key);
    if (g) g.names.push(name);
    else byKey.set(key, { timestamp: p.timestamp, state, names: [name] });
  }
  const groups = [...byKey.values()];
  for (const g of groups) g.names.sort();
  return { groups: groups.sort(newestFirst), ignored: ignored.sort() };
}

/** A snapshot with the decision taken on it. */
export interface RetentionDecision<T extends SnapshotGroup = SnapshotGroup> {
  snapshot: T;
  action: "keep" | "remove";
  /** Why: the rules that keep it (`daily`, `oldest weekly`, `within 30d`, a floor rule), or why it goes. */
  reasons: string[];
}

/** Facts about the location that the names alone do not tell. */
export interface RetentionContext {
  /** The current time; a snapshot newer than this does not anchor `within`. */
  now: Date;
  /** True when a running backup holds the directory lock (its `.inprogress` is never touched). */
  inProgressLocked: boolean;
}

type BucketRule = "last" | "hourly" | "daily" | "weekly" | "monthly" | "yearly";

const BUCKET_RULES: ReadonlyArray<
  { rule: BucketRule; bucket: (ts: string, nr: number) => string }
> = [
  { rule: "last", bucket: (_ts, nr) => String(nr) },
  { rule: "hourly", bucket: (ts) => ts.slice(0, 11) },
  { rule: "daily", bucket: (ts) => ts.slice(0, 8) },
  { rule: "weekly", bucket: (ts) => isoWeek(timestampDate(ts)!) },
  { rule: "monthly", bucket: (ts) => ts.slice(0, 6) },
  { rule: "yearly", bucket: (ts) => ts.slice(0, 4) },
];

/**
 * Decides keep/remove for every snapshot of one location (see the module doc). Returns the
 * decisions newest first.
 */
export function decideRetention<T extends SnapshotGroup>(
  snapshots: readonly T[],
  policy: RetentionPolicy,
  context: RetentionContext,
): RetentionDecision<T>[] {
  const decisions = [...snapshots].sort(newestFirst).map((snapshot): RetentionDecision<T> => ({
    snapshot,
    action: "remove",
    reasons: [],
  }));
  const complete = decisions.filter((d) => d.snapshot.state === "complete");

  // 1. restic's rules, over complete snapshots only (newest first).
  const counts = new Map<BucketRule, number>();
  const lastBucket = new Map<BucketRule, string>();
  for (const r of BUCKET_RULES) {
    const n = policy[r.rule];
    if (n !== undefined && n > 0) counts.set(r.rule, n);
  }
  const nowTs = formatTimestamp(context.now);
  const anchor = complete.find((d) => d.snapshot.timestamp <= nowTs)?.snapshot.timestamp;
  const withinFrom = policy.withinMs === undefined ? null : anchor === undefined
    ? -Infinity // every snapshot is in the future: restic then keeps them all
    : timestampDate(anchor)!.getTime() - policy.withinMs;
  complete.forEach((d, nr) => {
    const ts = d.snapshot.timestamp;
    if (withinFrom !== null && timestampDate(ts)!.getTime() > withinFrom) {
      d.reasons.push(`within ${policy.withinText ?? `${policy.withinMs} ms`}`);
    }
    const oldest = nr === complete.length - 1;
    for (const r of BUCKET_RULES) {
      const left = counts.get(r.rule);
      if (left === undefined || left <= 0) continue;
      const b = r.bucket(ts, nr);
      if (b === lastBucket.get(r.rule) && !oldest) continue;
      d.reasons.push(b === lastBucket.get(r.rule) ? `oldest ${r.rule}` : r.rule);
      lastBucket.set(r.rule, b);
      counts.set(r.rule, left - 1);
    }
    if (d.reasons.length > 0) d.action = "keep";
  });

  // 2. The floor.
  const newest = complete[0];
  if (newest && newest.action === "remove") {
    newest.action = "keep";
    newest.reasons.push("newest complete snapshot (always kept)");
  }
  for (const d of decisions) {
    if (d.snapshot.state === "complete") {
      if (d.action === "remove") d.reasons.push("no rule keeps it");
      continue;
    }
    const newer = complete.findLast((c) => c.snapshot.timestamp > d.snapshot.timestamp);
    const what = d.snapshot.state === "incomplete" ? "incomplete" : "unfinished";
    if (d.snapshot.state === "inprogress" && context.inProgressLocked) {
      d.action = "keep";
      d.reasons.push("in progress: a running backup holds the lock");
    } else if (newer) {
      d.reasons.push(`${what}; newer complete snapshot ${newer.snapshot.timestamp} exists`);
    } else {
      d.action = "keep";
      d.reasons.push(`${what}; no newer complete snapshot`);
    }
  }
  const keepMin = policy.keepMin ?? 1;
  const remaining = complete.filter((d) => d.action === "keep").length;
  if (remaining < keepMin) {
    for (const d of decisions) {
      if (d.action !== "remove") continue;
      d.action = "keep";
      d.reasons = [
        `keep-min ${keepMin}: only ${remaining} complete snapshot(s) would remain, so nothing is removed`,
      ];
    }
  }
  return decisions;
}

/** The UTC instant of a `YYYYMMDD_HHMMSS` timestamp, or null when it is not a real date and time. */
export function timestampDate(ts: string): Date | null {
  const m = /^(\d{4})(\d{2})(\d{2})_(\d{2})(\d{2})(\d{2})$/.exec(ts);
  if (!m) return null;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const date = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
  return formatTimestamp(date) === ts ? date : null;
}

/** ISO 8601 week of a UTC date as `YYYY-Www` (the week-numbering year may differ from the calendar year). */
export function isoWeek(date: Date): string {
  // The ISO week is the week (Monday to Sunday) that holds its Thursday; its year is Thursday's.
  const day = (date.getUTCDay() + 6) % 7; // Monday = 0
  const thursday = new Date(
    Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate() - day + 3),
  );
  const year = thursday.getUTCFullYear();
  const week = 1 + Math.floor((thursday.getTime() - Date.UTC(year, 0, 1)) / (7 * 86_400_000));
  return `${year}-W${String(week).padStart(2, "0")}`;
}

function newestFirst(a: SnapshotGroup, b: SnapshotGroup): number {
  if (a.timestamp !== b.timestamp) return a.timestamp < b.timestamp ? 1 : -1;
  const rank = { complete: 0, incomplete: 1, inprogress: 2 };
  return rank[a.state] - rank[b.state];
}
