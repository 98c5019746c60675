/**
 * @module
 * `--metrics-file PATH`: what a run leaves for monitoring. Once the exit code is known (main.ts,
 * also after a failure), the file is replaced atomically — a temporary file in the same
 * directory, then a rename — so node_exporter's textfile collector never reads half a file. The
 * last success is carried over from the previous file when this run failed, so "no successful
 * backup for 26 h" can be alerted on from one file.
 */

import { basename, dirname, join } from "node:path";
import { ConfigError, errorMessage } from "../errors.ts";
import { type Family, findSample, renderFamilies, type Sample } from "./prometheus.ts";

/** What a command's report says per collection, for metrics. */
export interface CollectionFigures {
  keyspace: string;
  collection: string;
  status: string;
  documents: number | null;
  bytes: number | null;
}

/** The figures of one run taken from its report (absent when the run ended without one). */
export interface RunFigures {
  documents: number | null;
  bytes: number | null;
  collections: CollectionFigures[];
  /** prune: snapshots per decision. */
  snapshots?: Record<string, number>;
}

const LAST_SUCCESS = "astrabak_last_success_timestamp_seconds";

/** The metrics file of one run, opened (and checked writable) before the command starts. */
export class RunMetrics {
  readonly command: string;
  readonly path: string;
  readonly startedAt: Date;

  private constructor(command: string, path: string, startedAt: Date) {
    this.command = command;
    this.path = path;
    this.startedAt = startedAt;
  }

  /**
   * Checks that the metrics file's directory exists and can be written (under the binary's
   * sandbox too) before any work starts: a run whose metrics cannot be written would otherwise
   * look, to monitoring, like no run at all. Throws ConfigError.
   */
  static async open(command: string, path: string, now = new Date()): Promise<RunMetrics> {
    const dir = dirname(path);
    try {
      const tmp = await Deno.makeTempFile({ dir, prefix: `.${basename(path)}.check-` });
      await Deno.remove(tmp);
    } catch (e) {
      throw new ConfigError(`Cannot write the metrics file ${path}: ${errorMessage(e)}`, {
        hint:
          `the directory ${dir} must exist and be writable; the binary's sandbox must allow it too (build with ASTRABAK_ALLOW_WRITE=<snapshot dir>,${dir})`,
      });
    }
    return new RunMetrics(command, path, now);
  }

  /** Renders this run's metrics (exported for tests; `previous` is the old file's text). */
  render(exitCode: number, figures: RunFigures | null, previous: string | null, now: Date): string {
    const command = { command: this.command };
    const nowSeconds = now.getTime() / 1000;
    const carried = previous === null ? null : findSample(previous, LAST_SUCCESS, command);
    const lastSuccess = exitCode === 0 ? nowSeconds : carried ?? 0;
    const one = (name: string, help: string, value: number | null): Family => ({
      name,
      help,
      samples: value === null ? [] : [{ name, labels: command, value }],
    });
    const perCollection = (
      name: string,
      help: string,
      value: (c: CollectionFigures) => number | null,
      extra: (c: CollectionFigures) => Record<string, string> = () => ({}),
    ): Family => ({
      name,
      help,
      samples: (figures?.collections ?? []).flatMap((c): Sample[] => {
        const v = value(c);
        return v === null ? [] : [{
          name,
          labels: { ...command, keyspace: c.keyspace, collection: c.collection, ...extra(c) },
          value: v,
        }];
      }),
    });
    const families: Family[] = [
      one(
        "astrabak_last_run_timestamp_seconds",
        "Unix time the last run of this command ended.",
        nowSeconds,
      ),
      one(
        LAST_SUCCESS,
        "Unix time the last run of this command that exited 0 ended (carried over from the previous file by failed runs; 0: none known).",
        lastSuccess,
      ),
      one(
        "astrabak_last_run_duration_seconds",
        "Seconds the last run of this command took.",
        Math.max(0, (now.getTime() - this.startedAt.getTime()) / 1000),
      ),
      one(
        "astrabak_last_run_exit_code",
        "Exit code of the last run: 0 ok, 1 configuration, 2 incomplete or not verified, 3 off-host copy or prune failed, 130 interrupted.",
        exitCode,
      ),
      one(
        "astrabak_documents",
        "Documents and rows of the last run: backed up (backup), verified (verify) or added (restore); 0 when it ended without a report.",
        figures === null ? (this.command === "prune" ? null : 0) : figures.documents,
      ),
      one(
        "astrabak_bytes",
        "Bytes of data files of the last run: written (backup) or read (verify, restore); 0 when it ended without a report.",
        figures === null ? (this.command === "prune" ? null : 0) : figures.bytes,
      ),
      perCollection(
        "astrabak_collection_documents",
        "Documents or rows per collection or table in the last run.",
        (c) => c.documents,
      ),
      perCollection(
        "astrabak_collection_bytes",
        "Bytes of the data file per collection or table in the last run.",
        (c) => c.bytes,
      ),
      perCollection(
        "astrabak_collection_status",
        "Outcome per collection or table in the last run (the status label; value always 1).",
        () => 1,
        (c) => ({ status: c.status }),
      ),
      {
        name: "astrabak_prune_snapshots",
        help: "Snapshots the last prune kept, removed, or failed to remove.",
        samples: Object.entries(figures?.snapshots ?? {}).map(([decision, value]) => ({
          name: "astrabak_prune_snapshots",
          labels: { ...command, decision },
          value,
        })),
      },
    ];
    return renderFamilies(families);
  }

  /**
   * Writes the file for a run that ended with `exitCode`, its report being `result` (what the
   * command printed; anything else, such as an error object, counts as no report).
   */
  async write(exitCode: number, result: unknown, now = new Date()): Promise<void> {
    let previous: string | null = null;
    try {
      previous = await Deno.readTextFile(this.path);
    } catch {
      previous = null; // first run, or unreadable: no last success to carry over
    }
    const text = this.render(exitCode, figuresOf(this.command, result), previous, now);
    const tmp = this.#tempPath();
    try {
      const file = await Deno.open(tmp, { write: true, createNew: true, mode: 0o644 });
      try {
        await file.write(encoder.encode(text));
        await file.sync();
      } finally {
        file.close();
      }
      // node_exporter usually runs as another user: readable whatever the umask (systemd 0077).
      await Deno.chmod(tmp, 0o644);
      await Deno.rename(tmp, this.path);
    } catch (e) {
      await Deno.remove(tmp).catch(() => {});
      throw e;
    }
  }

  /**
   * {@linkcode RunMetrics.write} for the one place that cannot wait: a second SIGINT/SIGTERM
   * exits at once (exit 130), and the file must still say so.
   */
  writeSync(exitCode: number, result: unknown, now = new Date()): void {
    let previous: string | null = null;
    try {
      previous = Deno.readTextFileSync(this.path);
    } catch {
      previous = null;
    }
    const text = this.render(exitCode, figuresOf(this.command, result), previous, now);
    const tmp = this.#tempPath();
    try {
      Deno.writeFileSync(tmp, encoder.encode(text), { createNew: true, mode: 0o644 });
      Deno.chmodSync(tmp, 0o644);
      Deno.renameSync(tmp, this.path);
    } catch (e) {
      try {
        Deno.removeSync(tmp);
      } catch { /* never created */ }
      throw e;
    }
  }

  #tempPath(): string {
    // Hidden and not ending in .prom: the textfile collector never reads it.
    return join(
      dirname(this.path),
      `.${basename(this.path)}.tmp-${crypto.randomUUID().slice(0, 8)}`,
    );
  }
}

const encoder = new TextEncoder();

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);
const str = (v: unknown): string => (typeof v === "string" ? v : "");
const sum = (xs: Array<number | null>): number => xs.reduce<number>((n, x) => n + (x ?? 0), 0);

/**
 * The figures of a command's JSON report (backup, verify, restore, prune), or null when `result`
 * is not one (the run failed before it had a report).
 */
export function figuresOf(command: string, result: unknown): RunFigures | null {
  if (!isObj(result) || result.status === "error") return null;
  if (command === "prune") {
    if (num(result.kept) === null) return null;
    return {
      documents: null,
      bytes: null,
      collections: [],
      snapshots: {
        kept: num(result.kept) ?? 0,
        removed: num(result.removed) ?? 0,
        failed: num(result.failed) ?? 0,
      },
    };
  }
  if (!Array.isArray(result.collections)) return null;
  const entries = result.collections.filter(isObj);
  if (command === "restore") {
    const collections = entries.map((c) => {
      const target = str(c.target);
      const dot = target.indexOf(".");
      return {
        keyspace: dot < 0 ? "" : target.slice(0, dot),
        collection: dot < 0 ? target : target.slice(dot + 1),
        status: str(c.status),
        documents: num(c.inserted),
        bytes: null,
      };
    });
    const verification = isObj(result.verification) ? result.verification : {};
    const totals = isObj(verification.totals) ? verification.totals : {};
    return {
      documents: sum(collections.map((c) => c.documents)),
      bytes: num(totals.bytes_read),
      collections,
    };
  }
  const collections = entries.map((c) => ({
    keyspace: str(c.keyspace),
    collection: str(c.name),
    status: str(c.status),
    documents: num(c.documents),
    // backup: data_size_bytes; verify: bytes
    bytes: num(c.data_size_bytes) ?? num(c.bytes),
  }));
  return {
    documents: sum(collections.filter((c) => c.status === "ok").map((c) => c.documents)),
    bytes: sum(collections.map((c) => c.bytes)),
    collections,
  };
}
