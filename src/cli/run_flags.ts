/**
 * @module
 * The flags of long-running, unattended commands: how progress is shown (`--progress`,
 * `--progress-interval`) and where the monitoring file goes (`--metrics-file`). program.ts adds
 * them to the commands listed there, so every such command spells them the same way.
 */

import { type Command, InvalidArgumentError, Option } from "commander";
import {
  DEFAULT_PROGRESS_INTERVAL_SECONDS,
  PROGRESS_INTERVAL_RANGE,
  PROGRESS_MODES,
  type ProgressMode,
} from "../progress/mod.ts";

/** Parsed progress and metrics flags. */
export interface RunFlags {
  progress?: ProgressMode;
  progressInterval?: number;
  metricsFile?: string;
}

/** Parses `--progress-interval`: whole seconds within {@linkcode PROGRESS_INTERVAL_RANGE}. */
export function progressInterval(value: string): number {
  const n = Number(value);
  const { min, max } = PROGRESS_INTERVAL_RANGE;
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new InvalidArgumentError(`expected whole seconds from ${min} to ${max}`);
  }
  return n;
}

/** `--progress` and `--progress-interval`. */
export function addProgressOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option(
        "--progress <mode>",
        "progress per collection: auto (a live display on stderr when it is a terminal, else log lines), tty, log or none",
      ).choices([...PROGRESS_MODES]).default("auto"),
    )
    .option(
      "--progress-interval <seconds>",
      `seconds between progress log lines off a terminal (${PROGRESS_INTERVAL_RANGE.min}-${PROGRESS_INTERVAL_RANGE.max})`,
      progressInterval,
      DEFAULT_PROGRESS_INTERVAL_SECONDS,
    );
}

/** `--metrics-file`. */
export function addMetricsOption(cmd: Command): Command {
  return cmd.option(
    "--metrics-file <path>",
    "write Prometheus metrics of this run to PATH (a .prom file for node_exporter's textfile collector), also when it fails",
  );
}
