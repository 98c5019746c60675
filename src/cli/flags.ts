/**
 * @module
 * Option definitions shared by several commands, so every command spells them the same way.
 */

import { type Command, InvalidArgumentError, Option } from "commander";
import {
  DEFAULT_REQUEST_TIMEOUT_SECONDS,
  DEFAULT_RETRIES,
  ENVIRONMENTS,
} from "../config/resolve.ts";
import { ConfigError } from "../errors.ts";
import type { ConnectOptions } from "../source/connect.ts";

/** Collects a repeatable option into an array. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** Parses a positive number for options like `--request-timeout`. */
export function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError("expected a positive number");
  return n;
}

/** Parses a positive integer for options like `--concurrency`. */
export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError("expected a whole number > 0");
  return n;
}

/** Parses a non-negative integer for options like `--retries`. */
export function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError("expected a whole number >= 0");
  return n;
}

/**
 * `--endpoint`, `--environment`, `--keyspace`, `--token-file`, timeouts and retries. A command
 * whose `--keyspace` means something else (restore's target) passes its own help text.
 */
export function addConnectionOptions(
  cmd: Command,
  keyspaceHelp =
    "keyspace; repeat or comma-separate for several (env ASTRA_DB_KEYSPACE; default default_keyspace on Astra)",
): Command {
  return cmd
    .option("--endpoint <url>", "Data API endpoint (env ASTRA_DB_API_ENDPOINT)")
    .addOption(
      new Option(
        "--environment <env>",
        "astra|hcd|dse|cassandra|other (env ASTRA_DB_ENVIRONMENT; default astra for an Astra host or an AstraCS: token, else hcd)",
      ).choices([...ENVIRONMENTS]),
    )
    .option("--keyspace <name>", keyspaceHelp, collect).option(
      "--token-file <path>",
      "read the token from this file (else env ASTRA_DB_APPLICATION_TOKEN, or ASTRA_DB_USERNAME/ASTRA_DB_PASSWORD)",
    )
    .option(
      "--request-timeout <seconds>",
      "timeout of one Data API request",
      positiveNumber,
      DEFAULT_REQUEST_TIMEOUT_SECONDS,
    )
    .option(
      "--retries <n>",
      "retries of a failed request (429, 5xx, timeout, dropped connection)",
      nonNegativeInt,
      DEFAULT_RETRIES,
    )
    .option(
      "--max-rps <n>",
      "at most this many Data API requests per second (halves on each 429, then recovers)",
      positiveNumber,
    );
}

/** `--json`, `--log-format`, `--verbose`. */
export function addOutputOptions(cmd: Command): Command {
  return cmd
    .option("--json", "print the final report as one JSON object on stdout")
    .addOption(
      new Option("--log-format <format>", "log lines on stderr as text or json").choices([
        "text",
        "json",
      ])
        .default("text"),
    )
    .option("-v, --verbose", "also log debug details");
}

/** `--box-folder` (env BOX_FOLDER_ID) and `--box-retries`. */
export function addBoxOption(cmd: Command, what: string): Command {
  return cmd
    .option(
      "--box-folder <id>",
      `Box folder id ${what} (env BOX_FOLDER_ID; credentials from BOX_CLIENT_ID/BOX_CLIENT_SECRET)`,
    )
    .option(
      "--box-retries <n>",
      "retries of a failed Box request (429, 5xx, network)",
      nonNegativeInt,
      DEFAULT_RETRIES,
    );
} /** Parses `30s`, `30m`, `24h` or `7d` into milliseconds. */
export function parseDuration(value: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)(s|m|h|d)$/.exec(value.trim());
  if (!m) {
    throw new ConfigError(`Cannot use ${flag} "${value}": expected a duration like 30m, 24h or 7d`);
  }
  const unit = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as "s" | "m" | "h" | "d"];
  return Number(m[1]) * unit;
}

/** The tuning flags of {@linkcode addConnectionOptions}. */
export interface ConnectFlags {
  requestTimeout?: number;
  retries?: number;
  maxRps?: number;
}

/** Turns the tuning flags into connect options (one place for both backup and restore). */
export function connectOptions(flags: ConnectFlags): ConnectOptions {
  return {
    requestTimeoutMs: Math.round((flags.requestTimeout ?? DEFAULT_REQUEST_TIMEOUT_SECONDS) * 1000),
    retry: { maxAttempts: (flags.retries ?? DEFAULT_RETRIES) + 1 },
    maxRps: flags.maxRps ?? null,
  };
}
