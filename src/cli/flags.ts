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
import type { ConnectOptions } from "../source/connect.ts";

/** Collects a repeatable option into an array. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/**
 * The allowed range of a numeric flag. One definition feeds the parser, its error message and the
 * help text, so `--help` states exactly what is accepted. Every range is bounded: an unbounded
 * timeout or rate overflows the timers (setTimeout takes at most 2^31 - 1 ms and fires at once
 * beyond that), and an unbounded count can exhaust the machine.
 */
export interface FlagRange {
  readonly min: number;
  readonly max: number;
  /** Whole numbers only. */
  readonly integer: boolean;
}

/** `--request-timeout`, seconds: an hour covers the slowest page; 2^31 ms would overflow. */
export const REQUEST_TIMEOUT_RANGE: FlagRange = { min: 0.1, max: 3600, integer: false };
/** `--retries` and `--box-retries`: back-off caps each wait at 20 s (Data API) or 120 s (Box). */
export const RETRIES_RANGE: FlagRange = { min: 0, max: 100, integer: true };
/** `--max-rps`: at least one request every 10 s (slower would overflow no timer, but never ends). */
export const MAX_RPS_RANGE: FlagRange = { min: 0.1, max: 10_000, integer: false };
/** `--parallel` (backup) and `--concurrency` (restore). */
export const PARALLEL_RANGE: FlagRange = { min: 1, max: 64, integer: true };
/** `--batch-size`: the Data API accepts at most 100 documents per insertMany. */
export const BATCH_SIZE_RANGE: FlagRange = { min: 1, max: 100, integer: true };
/** `--collection-limit`: collections a database allows (the Data API's setting is a count). */
export const COLLECTION_LIMIT_RANGE: FlagRange = { min: 1, max: 10_000, integer: true };
/** `--count-scan-limit` (restore): 0 (never scan) to a billion documents. */
export const COUNT_SCAN_LIMIT_RANGE: FlagRange = { min: 0, max: 1_000_000_000, integer: true };
/** `--sample` (restore): documents held in memory and read back (10 000 × 1 MB at worst). */
export const SAMPLE_RANGE: FlagRange = { min: 1, max: 10_000, integer: true };
/** `--compression-level`: gzip's levels. */
export const COMPRESSION_LEVEL_RANGE: FlagRange = { min: 1, max: 9, integer: true };
/** `backup --checkpoint-every`: pages between two checkpoints. */
export const CHECKPOINT_EVERY_RANGE: FlagRange = { min: 1, max: 1_000_000, integer: true };

/** `1 to 9`, as help texts and error messages say it. */
export function rangeText(r: FlagRange): string {
  return `${r.min} to ${r.max}`;
}

/** A commander argument parser that accepts exactly the numbers in `r`. */
export function numberIn(r: FlagRange): (value: string) => number {
  return (value) => {
    const t = value.trim();
    const n = /^[+]?(\d+(\.\d*)?|\.\d+)$/.test(t) ? Number(t) : NaN;
    if (!Number.isFinite(n) || (r.integer && !Number.isInteger(n)) || n < r.min || n > r.max) {
      throw new InvalidArgumentError(
        `expected ${r.integer ? "a whole number" : "a number"} from ${rangeText(r)}`,
      );
    }
    return n;
  };
}

/** `30s`, `30m`, `24h` or `7d` in milliseconds; NaN when the text is no such duration. */
export function durationMs(value: string): number {
  const m = /^(\d+(?:\.\d+)?)(s|m|h|d)$/.exec(value.trim());
  const unit = m ? { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as "s"] : NaN;
  return m ? Number(m[1]) * unit : NaN;
}

/** `--keep-*` counts: a million buckets is more history than any backup has. */
export const KEEP_COUNT_RANGE: FlagRange = { min: 1, max: 1_000_000, integer: true };

/** `--clean-stale` ages: from 0s (any leftover) to a year. */
export const CLEAN_STALE_MAX_MS = 365 * 86_400_000;

/**
 * Parses `30s`, `30m`, `24h` or `7d` into milliseconds, from 0 to
 * {@linkcode CLEAN_STALE_MAX_MS}; a commander argument parser.
 */
export function durationArg(value: string): number {
  const ms = durationMs(value);
  if (!(ms >= 0 && ms <= CLEAN_STALE_MAX_MS)) {
    throw new InvalidArgumentError("expected a duration like 30m, 24h or 7d, from 0s to 365d");
  }
  return ms;
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
      "read the token from this file (env ASTRABAK_TOKEN_FILE; else ASTRA_DB_APPLICATION_TOKEN, or ASTRA_DB_USERNAME/ASTRA_DB_PASSWORD)",
    )
    .option(
      "--request-timeout <seconds>",
      `timeout of one Data API request, ${rangeText(REQUEST_TIMEOUT_RANGE)} seconds`,
      numberIn(REQUEST_TIMEOUT_RANGE),
      DEFAULT_REQUEST_TIMEOUT_SECONDS,
    )
    .option(
      "--retries <n>",
      `retries of a failed request (429, 5xx, timeout, dropped connection), ${
        rangeText(RETRIES_RANGE)
      }`,
      numberIn(RETRIES_RANGE),
      DEFAULT_RETRIES,
    )
    .option(
      "--max-rps <n>",
      `at most this many Data API requests per second, ${
        rangeText(MAX_RPS_RANGE)
      } (halves on each 429, then recovers)`,
      numberIn(MAX_RPS_RANGE),
    );
}

/** `--json`, `--log-format`, `--verbose`. */
export function addOutputOptions(cmd: Command): Command {
  return cmd
    .option(
      "--json",
      "print one JSON object on stdout, always: the report, or the error; both with exit_code",
    )
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
      `Box folder id ${what} (env BOX_FOLDER_ID; credentials from BOX_CLIENT_ID, BOX_CLIENT_SECRET and BOX_ENTERPRISE_ID or BOX_USER_ID)`,
    )
    .option(
      "--box-retries <n>",
      `retries of a failed Box request (429, 5xx, network), ${rangeText(RETRIES_RANGE)}`,
      numberIn(RETRIES_RANGE),
      DEFAULT_RETRIES,
    );
} /** The tuning flags of {@linkcode addConnectionOptions}. */
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

/** `--encrypt-to` and `--encrypt-to-file` (backup, encrypt): age recipients, public keys only. */
export function addRecipientOptions(cmd: Command): void {
  cmd
    .option(
      "--encrypt-to <recipient>",
      "encrypt the off-host copy to this age recipient: age1… (X25519) or age1pq1… (post-quantum hybrid); repeatable (env ASTRABAK_AGE_RECIPIENTS, comma-separated)",
      collect,
    )
    .option(
      "--encrypt-to-file <path>",
      "read age recipients from this file (one per line, # comments), as age -R reads them; repeatable",
      collect,
    );
}

/** `--identity-file` (verify, restore, drill): the age identity that decrypts a .zip.age. */
export function addIdentityOption(cmd: Command): void {
  cmd.option(
    "--identity-file <path>",
    "age identity file (AGE-SECRET-KEY-1… lines, as age-keygen writes) to read a .zip.age with (env ASTRABAK_AGE_IDENTITY_FILE); a secret: only its path is given",
  );
}
