/**
 * @module
 * How long-running work (backup, verify, restore) says how far it has got without printing: the
 * domain module starts a {@linkcode ProgressTask} per collection on the {@linkcode Progress} the
 * command injected (through its Reporter) and advances it; what the user sees — a live display on
 * a terminal, a log line every N seconds in cron, or nothing — is the command's choice.
 */

import type { Reporter } from "../reporter.ts";

/** What a task expects to do, when it starts. */
export interface ProgressPlan {
  /** What is being done ("backup", "verify", "restore"): the first word of every line. */
  action: string;
  /** What is counted: "documents" or "rows". */
  unit: "documents" | "rows";
  /** Items expected, or null when unknown (tables: no count exists but the scan). */
  total: number | null;
  /**
   * True when `total` is the server's `estimatedDocumentCount`: approximate (it comes from
   * Cassandra's size estimates) and said to be one.
   */
  estimate: boolean;
  /** Bytes expected, for work measured in bytes (a quick verify reads but never parses). */
  totalBytes?: number | null;
}

/** One collection in flight. */
export interface ProgressTask {
  /** Adds work done: items (documents or rows) and bytes. */
  advance(items: number, bytes: number): void;
  /** The task is over (done or failed); it leaves the display. Idempotent. */
  end(): void;
}

/** Where domain modules report progress; implementations decide how it is shown. */
export interface Progress {
  /** Starts a task labelled `label` (e.g. `ks.articles`). */
  start(label: string, plan: ProgressPlan): ProgressTask;
  /** Ends every task and clears any live display: called before the final report. */
  stop(): void;
  /**
   * Writes a log line above a live display so neither is torn; returns false when nothing is
   * live (the caller then writes the line itself).
   */
  printAbove?(line: string): boolean;
}

const noTask: ProgressTask = { advance() {}, end() {} };

/** Shows nothing (`--progress none`, tests, library use). */
export const noProgress: Progress = { start: () => noTask, stop() {} };

/**
 * Starts a task on the reporter's progress, if it has one: domain modules call this so a
 * Reporter without progress (tests, silentReporter) needs nothing.
 */
export function startTask(reporter: Reporter, label: string, plan: ProgressPlan): ProgressTask {
  return reporter.progress?.start(label, plan) ?? noTask;
}

/** A task's figures at one moment, as both renderers show them. */
export interface TaskFigures {
  label: string;
  plan: ProgressPlan;
  items: number;
  bytes: number;
  elapsedMs: number;
}

/** Derived numbers of {@linkcode TaskFigures}: rate, fraction and ETA (null when unknown). */
export interface TaskRates {
  /** Items per second (bytes per second for byte-measured tasks). */
  rate: number;
  /** 0..1, or null without a total (or past an estimate). */
  fraction: number | null;
  /** Seconds left, or null when it cannot be said. */
  etaSeconds: number | null;
}

/** Rate, fraction done and ETA from the average since the task started. */
export function taskRates(f: TaskFigures): TaskRates {
  const seconds = f.elapsedMs / 1000;
  const byBytes = f.plan.total === null && (f.plan.totalBytes ?? null) !== null;
  const done = byBytes ? f.bytes : f.items;
  const total = byBytes ? f.plan.totalBytes ?? null : f.plan.total;
  const rate = seconds > 0 ? done / seconds : 0;
  if (total === null || total <= 0 || done > total) {
    // Past an estimate the end cannot be told (the estimate lags); an exact total is done.
    return {
      rate,
      fraction: total !== null && total > 0 && !f.plan.estimate ? 1 : null,
      etaSeconds: null,
    };
  }
  return {
    rate,
    fraction: done / total,
    etaSeconds: rate > 0 ? (total - done) / rate : null,
  };
}

/** `1.5 MB`-style sizes (decimal units, as the bench and the report). */
export function formatBytes(n: number): string {
  if (n < 1000) return `${n} B`;
  const units = ["kB", "MB", "GB", "TB"];
  let v = n / 1000;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0)} ${units[i]}`;
}

/** `1:02:03` / `2:03` / `45s`. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  if (h > 0) return `${h}:${String(m).padStart(2, "0")}:${String(r).padStart(2, "0")}`;
  if (m > 0) return `${m}:${String(r).padStart(2, "0")}`;
  return `${r}s`;
}

/**
 * One line for a task: `backup ks.articles: 1200 of ~5000 documents (estimate) 24%, 310
 * documents/s, 1.20 MB, ETA 12s`. Used by the log lines and the live display alike.
 */
export function describeTask(f: TaskFigures): string {
  const r = taskRates(f);
  const p = f.plan;
  const byBytes = p.total === null && (p.totalBytes ?? null) !== null;
  let done: string;
  if (byBytes) {
    done = `${formatBytes(f.bytes)} of ${formatBytes(p.totalBytes ?? 0)}`;
  } else if (p.total === null) {
    done = `${f.items} ${p.unit}`;
  } else {
    done = `${f.items} of ${p.estimate ? "~" : ""}${p.total} ${p.unit}${
      p.estimate ? " (estimate)" : ""
    }`;
  }
  const parts = [
    `${p.action} ${f.label}: ${done}${
      r.fraction === null ? "" : ` ${Math.floor(r.fraction * 100)}%`
    }`,
    byBytes ? `${formatBytes(Math.round(r.rate))}/s` : `${Math.round(r.rate)} ${p.unit}/s`,
  ];
  if (!byBytes) parts.push(formatBytes(f.bytes));
  parts.push(
    r.etaSeconds !== null
      ? `ETA ${formatDuration(r.etaSeconds)}`
      : p.estimate && p.total !== null && f.items > p.total
      ? "ETA unknown (past the estimate)"
      : "ETA unknown",
  );
  return parts.join(", ");
}
