/**
 * @module
 * `astrabak backup`: flags → {@linkcode runBackup} → report. All logic lives in src/backup/.
 */

import { type Command, InvalidArgumentError, Option } from "commander";
import { type BackupOptions, type BackupReport, runBackup } from "../backup/backup.ts";
import type { Env } from "../config/env.ts";
import {
  parseNameList,
  type ReadTextFile,
  resolveBox,
  resolveConnection,
  snapshotDir,
} from "../config/resolve.ts";
import { type CliContext, openOutput, type OutputFlags } from "../cli/context.ts";
import {
  addBoxOption,
  addConnectionOptions,
  addOutputOptions,
  collect,
  type ConnectFlags,
  connectOptions,
  parseDuration,
  positiveInt,
} from "../cli/flags.ts";
import { DEFAULT_GZIP_LEVEL } from "../streams/gzip_stream.ts";
import { EXIT_CODE_HELP, ExitCode } from "../exit_codes.ts";
import { describeUpload } from "./upload.ts";

/** Raw flags as commander parses them. */
export interface BackupFlags extends OutputFlags, ConnectFlags {
  endpoint?: string;
  environment?: string;
  keyspace?: string[];
  tokenFile?: string;
  out?: string;
  collections?: string[];
  exclude?: string[];
  compress?: boolean;
  zip?: boolean;
  boxFolder?: string;
  boxRetries?: number;
  cleanStale?: string | boolean;
  kind?: string;
  compressionLevel?: number;
  parallel?: number;
}

/** Turns flags and environment into {@linkcode BackupOptions} (reads the token file if named). */
export async function parseBackupOptions(
  flags: BackupFlags,
  env: Env,
  readTextFile: ReadTextFile,
  signal?: AbortSignal,
): Promise<BackupOptions> {
  const connection = await resolveConnection(flags, env, readTextFile);
  const include = parseNameList(flags.collections, "--collections");
  const exclude = parseNameList(flags.exclude, "--exclude");
  return {
    connection,
    outDir: snapshotDir(flags.out, env),
    include,
    exclude,
    compress: flags.compress !== false,
    zip: flags.zip === true,
    box: resolveBox(flags, env),
    kind: (flags.kind ?? "all") as "collections" | "tables" | "all",
    ...(flags.compressionLevel === undefined ? {} : { compressionLevel: flags.compressionLevel }),
    parallel: flags.parallel ?? 4,
    cleanStaleAfterMs: flags.cleanStale === undefined ? null : parseDuration(
      flags.cleanStale === true ? "24h" : String(flags.cleanStale),
      "--clean-stale",
    ),
    ...connectOptions(flags),
    ...(signal ? { signal } : {}),
  };
}

/** Human summary of a backup report. */
export function formatBackupReport(r: BackupReport): string[] {
  const lines = [
    `Snapshot ${r.status === "complete" ? "complete" : "INCOMPLETE"}: ${r.snapshot}`,
  ];
  for (const c of r.collections) {
    lines.push(
      c.status === "ok"
        ? `  ok      ${c.keyspace}.${c.name}: ${c.documents} ${
          c.kind === "table" ? "rows" : "documents"
        }, ${c.data_size_bytes} bytes (${c.data_file})`
        : `  FAILED  ${c.keyspace}.${c.name}: ${c.error}`,
    );
  }
  for (const w of r.manifest.warnings ?? []) lines.push(`  WARNING ${w}`);
  const t = r.manifest.totals;
  lines.push(`${t.collections_ok} ok, ${t.collections_failed} failed, ${t.documents} documents`);
  if (r.zip) lines.push(`Zip: ${r.zip.path} (${r.zip.size_bytes} bytes)`);
  if (r.zip_error) {
    lines.push(`Zip FAILED: ${r.zip_error} (the snapshot directory is complete and kept)`);
  }
  if (r.upload) lines.push(describeUpload(r.upload));
  if (r.upload_error) {
    lines.push(`Box upload FAILED: ${r.upload_error} (the local snapshot and zip are kept)`);
  }
  return lines;
}

/** Registers `backup` on the program. */
export function registerBackup(program: Command, ctx: CliContext): void {
  const cmd = program
    .command("backup")
    .description(
      "Back up every collection and table of the keyspace(s) into <out>/<UTC YYYYMMDD_HHMMSS>/: one gzipped JSON Lines file each, byte-exact as the Data API returned it ($vector and vector columns included), plus manifest.json with definitions (table columns, primary keys, indexes, types), counts and SHA-256 hashes",
    )
    .option(
      "--out <dir>",
      "directory that receives snapshots (env ASTRABAK_OUT; default ./backups)",
    )
    .option(
      "--collections <names>",
      "only these collections or tables (comma-separated, repeatable)",
      collect,
    )
    .option(
      "--exclude <names>",
      "skip these collections or tables (comma-separated, repeatable)",
      collect,
    )
    .addOption(
      new Option("--kind <kind>", "what to back up: collections, tables, or all").choices([
        "collections",
        "tables",
        "all",
      ])
        .default("all"),
    )
    .option("--no-compress", "write plain .jsonl instead of .jsonl.gz")
    .option("--compression-level <n>", "gzip level, 1 (fastest) to 9 (smallest)", (v) => {
      const n = positiveInt(v);
      if (n > 9) throw new InvalidArgumentError("expected 1 to 9");
      return n;
    }, DEFAULT_GZIP_LEVEL)
    .option("--parallel <n>", "collections and tables backed up at the same time", positiveInt, 4)
    .option("--zip", "also pack a complete snapshot into <out>/<ts>.zip (never an INCOMPLETE one)")
    .option(
      "--clean-stale [age]",
      "remove leftovers of crashed runs (.inprogress) older than age (e.g. 30m, 24h, 7d; default 24h)",
    );
  addBoxOption(cmd, "to upload the zip of a complete snapshot to (implies --zip)");
  addConnectionOptions(cmd);
  addOutputOptions(cmd);
  cmd.addHelpText(
    "after",
    `
Authentication comes only from the environment or a file: ASTRA_DB_APPLICATION_TOKEN, or
ASTRA_DB_USERNAME + ASTRA_DB_PASSWORD (non-Astra servers), or --token-file PATH. There is no
--token flag: command lines leak into ps output and cron mail.

The snapshot is written into a hidden .<ts>.inprogress/ directory and renamed to <ts>/ only when
every file is complete and synced; if any collection fails it becomes <ts>.INCOMPLETE/ instead.

Example:
  ASTRA_DB_APPLICATION_TOKEN=AstraCS:... astrabak backup \\
    --endpoint https://<db-id>-<region>.apps.astra.datastax.com --out /var/backups/astra

${EXIT_CODE_HELP}
`,
  );
  cmd.action(async (flags: BackupFlags) => {
    const out = openOutput(ctx, flags);
    const options = await parseBackupOptions(
      flags,
      ctx.env,
      (p) => Deno.readTextFile(p),
      ctx.signal,
    );
    const report = await runBackup(options, out);
    out.result(report, formatBackupReport(report));
    ctx.exitCode = report.status !== "complete"
      ? ExitCode.Incomplete
      : report.zip_error !== undefined || report.upload_error !== undefined
      ? ExitCode.UploadFailed
      : ExitCode.Ok;
  });
}
