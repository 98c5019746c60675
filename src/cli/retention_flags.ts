/**
 * @module
 * The retention options, defined once for `prune` and for `backup` (which prunes after a complete
 * backup when any of them is given), so both spell and parse them the same way.
 */

import { type Command, InvalidArgumentError } from "commander";
import type { RetentionPolicy } from "../prune/rules.ts";
import { parseDuration, positiveInt } from "./flags.ts";

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
  let ms: number;
  try {
    ms = parseDuration(value, "--keep-within");
  } catch {
    throw new InvalidArgumentError("expected a duration like 30d, 12h or 90m");
  }
  if (ms <= 0) throw new InvalidArgumentError("expected a duration > 0");
  return { ms, text: value.trim() };
}

/** Adds `--keep-last` … `--keep-within` and `--keep-min`; `when` ends each rule's help line. */
export function addRetentionOptions(cmd: Command, when = ""): Command {
  const rule = (what: string) => `${what}${when}`;
  return cmd
    .option("--keep-last <n>", rule("keep the n newest complete snapshots"), positiveInt)
    .option(
      "--keep-hourly <n>",
      rule("keep the newest snapshot of each of the last n hours that have one (UTC)"),
      positiveInt,
    )
    .option(
      "--keep-daily <n>",
      rule("keep the newest snapshot of each of the last n days that have one (UTC)"),
      positiveInt,
    )
    .option(
      "--keep-weekly <n>",
      rule("keep the newest snapshot of each of the last n ISO weeks that have one"),
      positiveInt,
    )
    .option(
      "--keep-monthly <n>",
      rule("keep the newest snapshot of each of the last n months that have one"),
      positiveInt,
    )
    .option(
      "--keep-yearly <n>",
      rule("keep the newest snapshot of each of the last n years that have one"),
      positiveInt,
    )
    .option(
      "--keep-within <duration>",
      rule("keep every snapshot less than this (30d, 12h, 90m) older than the newest"),
      duration,
    )
    .option(
      "--keep-min <n>",
      "remove nothing when fewer than n complete snapshots would remain (default 1)",
      positiveInt,
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
