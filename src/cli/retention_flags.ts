/**
 * @module
 * The retention options, defined once for `prune` and for `backup` (which prunes after a complete
 * backup when any of them is given), so both spell and parse them the same way.
 */

import { type Command, InvalidArgumentError } from "commander";
import type { RetentionPolicy } from "../prune/rules.ts";
import { durationMs, KEEP_COUNT_RANGE, numberIn, rangeText } from "./flags.ts";

/** `--keep-within` at most: a century. */
const KEEP_WITHIN_MAX_MS = 36_500 * 86_400_000;
const count = numberIn(KEEP_COUNT_RANGE);

/** The retention flags as commander parses them. */
export interface RetentionFlags {
  keepLast?: number;
  keepHourly?: number;
  keepDaily?: number;
  keepWeekly?: number;
  keepMonthly?: number;
  keepYearly?: number;
  keepWithin?: { ms: number; text: string };
  keepMin?: number;
}

function duration(value: string): { ms: number; text: string } {
  const ms = durationMs(value);
  if (!(ms > 0 && ms <= KEEP_WITHIN_MAX_MS)) {
    throw new InvalidArgumentError("expected a duration like 30d, 12h or 90m, from 1s to 36500d");
  }
  return { ms, text: value.trim() };
}

/**
 * Adds `--keep-last` … `--keep-within` and `--keep-min`. On backup (`afterBackup`) the help says
 * when the prune happens.
 */
export function addRetentionOptions(
  cmd: Command,
  options: { afterBackup?: boolean } = {},
): Command {
  if (options.afterBackup) {
    cmd.addHelpText(
      "after",
      `
Any --keep-* rule prunes --out (and the Box folder, when this run's upload succeeded) after a
complete backup only, exactly as astrabak prune does (see astrabak prune --help); after an
incomplete or failed backup nothing is pruned. A failed prune exits 3.`,
    );
  }
  return cmd
    .option("--keep-last <n>", "keep the n newest complete snapshots", count)
    .option(
      "--keep-hourly <n>",
      "keep the newest snapshot of each of the last n hours that have one (UTC)",
      count,
    )
    .option(
      "--keep-daily <n>",
      "keep the newest snapshot of each of the last n days that have one (UTC)",
      count,
    )
    .option(
      "--keep-weekly <n>",
      "keep the newest snapshot of each of the last n ISO weeks that have one",
      count,
    )
    .option(
      "--keep-monthly <n>",
      "keep the newest snapshot of each of the last n months that have one",
      count,
    )
    .option(
      "--keep-yearly <n>",
      "keep the newest snapshot of each of the last n years that have one",
      count,
    )
    .option(
      "--keep-within <duration>",
      "keep every snapshot less than this (30d, 12h, 90m; 1s to 36500d) older than the newest",
      duration,
    )
    .option(
      "--keep-min <n>",
      `remove nothing when fewer than n complete snapshots would remain (default 1; n ${
        rangeText(KEEP_COUNT_RANGE)
      } for every --keep-* count)`,
      count,
    );
}

/** The policy the flags ask for (no rule at all when none of them is given). */
export function retentionPolicy(flags: RetentionFlags): RetentionPolicy {
  const p: RetentionPolicy = {};
  if (flags.keepLast !== undefined) p.last = flags.keepLast;
  if (flags.keepHourly !== undefined) p.hourly = flags.keepHourly;
  if (flags.keepDaily !== undefined) p.daily = flags.keepDaily;
  if (flags.keepWeekly !== undefined) p.weekly = flags.keepWeekly;
  if (flags.keepMonthly !== undefined) p.monthly = flags.keepMonthly;
  if (flags.keepYearly !== undefined) p.yearly = flags.keepYearly;
  if (flags.keepWithin !== undefined) {
    p.withinMs = flags.keepWithin.ms;
    p.withinText = flags.keepWithin.text;
  }
  if (flags.keepMin !== undefined) p.keepMin = flags.keepMin;
  return p;
}
