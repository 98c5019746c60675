/**
 * @module
 * Choosing how progress is shown (`--progress auto|tty|log|none`, `--progress-interval S`).
 */

import type { SyncWriter } from "../cli/output.ts";
import type { Reporter } from "../reporter.ts";
import { LogProgress } from "./log_progress.ts";
import { noProgress, type Progress } from "./progress.ts";
import { TtyProgress } from "./tty_progress.ts";

export * from "./progress.ts";

/** `--progress` values. `auto`: a live display when stderr is a terminal, else log lines. */
export const PROGRESS_MODES = ["auto", "tty", "log", "none"] as const;

/** A `--progress` value. */
export type ProgressMode = typeof PROGRESS_MODES[number];

/** Seconds between progress log lines off a terminal, by default. */
export const DEFAULT_PROGRESS_INTERVAL_SECONDS = 30;

/** Accepted `--progress-interval` range, in seconds: from chatty to once an hour. */
export const PROGRESS_INTERVAL_RANGE = { min: 1, max: 3600 } as const;

/** Options of {@linkcode createProgress}. */
export interface CreateProgressOptions {
  /** Seconds between log lines (log mode). */
  intervalSeconds: number;
  /** Whether stderr is a terminal (decides `auto`). */
  stderrIsTerminal: boolean;
  /** Where the live display is drawn. */
  stderr: SyncWriter;
  /** Where log lines go (log mode). */
  reporter: Reporter;
}

/** The Progress for a mode: live display, log lines, or nothing. */
export function createProgress(mode: ProgressMode, options: CreateProgressOptions): Progress {
  const resolved = mode === "auto" ? (options.stderrIsTerminal ? "tty" : "log") : mode;
  switch (resolved) {
    case "tty":
      return new TtyProgress(options.stderr);
    case "log":
      return new LogProgress(options.reporter, options.intervalSeconds * 1000);
    default:
      return noProgress;
  }
}
