/**
 * @module
 * How modules below the commands tell the user what is happening without printing: they call a
 * Reporter that the command injects. The terminal implementation lives in src/cli/output.ts.
 */

import type { Progress } from "./progress/progress.ts";

/** Structured context attached to a log line (rendered as key=value or JSON fields). */
export type LogFields = Record<string, string | number | boolean | null | undefined>;

/** Receives progress and diagnostics from domain modules. */
export interface Reporter {
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  debug(message: string, fields?: LogFields): void;
  /** Where per-collection progress goes (none when absent); see src/progress/progress.ts. */
  readonly progress?: Progress;
}

/** A Reporter that drops everything (tests and library use). */
export const silentReporter: Reporter = {
  info() {},
  warn() {},
  error() {},
  debug() {},
};
