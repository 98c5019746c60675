/**
 * @module
 * `astrabak backup`: flags → {@linkcode runBackup} → report. All logic lives in src/backup/.
 */

import { type Command, Option } from "commander";
import { type BackupOptions, type BackupReport, runBackup } from "../backup/backup.ts";
import type { Env } from "../config/env.ts";
import {
  formatNameRef,
  parseNameRefs,
  type ReadTextFile,
  resolveConnection,
  snapshotDir,
} from "../config/resolve.ts";
import { type CliContext, openOutput, type OutputFlags } from "../cli/context.ts";
import { addRemoteOptions, type RemoteFlags, uploadTargets } from "../cli/remote_flags.ts";
import {
  addConnectionOptions,
  addOutputOptions,
  CHECKPOINT_EVERY_RANGE,
  collect,
  COMPRESSION_LEVEL_RANGE,
  type ConnectFlags,
  connectOptions,
  durationArg,
  numberIn,
  PARALLEL_RANGE,
  rangeText,
} from "../cli/flags.ts";
import { DEFAULT_GZIP_LEVEL } from "../streams/gzip_stream.ts";
import { ConfigError } from "../errors.ts";
import { EXIT_CODE_HELP, ExitCode } from "../exit_codes.ts";
import { describeUploads } from "./upload.ts";
import {
  addRetentionOptions,
  type RetentionFlags,
  retentionPolicy,
} from "../cli/retention_flags.ts";
import { hasKeepRule } from "../prune/rules.ts";
import { pruneAfterBackup } from "../prune/prune.ts";
import { formatPruneReport } from "./prune.ts";
import { addRecipientOptions } from "../cli/flags.ts";
import { type RecipientFlags, resolveRecipients } from "../encrypt/keys.ts";

/** Raw flags as commander parses them. */
export interface BackupFlags
  extends OutputFlags, ConnectFlags, RetentionFlags, RemoteFlags, RecipientFlags {
  /** `--no-keep-local` sets false. */
  keepLocal?: boolean;
  endpoint?: string;
  environment?: string;
  keyspace?: string[];
  tokenFile?: string;
  out?: string;
  collections?: string[];
  exclude?: string[];
  compress?: boolean;
  zip?: boolean;
  /** Milliseconds, or true for the default age. */
  cleanStale?: number | boolean;
  kind?: string;
  compressionLevel?: number;
  parallel?: number;
  allKeyspaces?: boolean;
  resume?: boolean;
  checkpointEvery?: number;
}

/** Turns flags and environment into {@linkcode BackupOptions} (reads the token file if named). */
export async function parseBackupOptions(
  flags: BackupFlags,
  env: Env,
  readTextFile: ReadTextFile,
  signal?: AbortSignal,
): Promise<BackupOptions> {
  checkContradictions(flags);
  const include = parseNameRefs(flags.collections, "--collections");
  const exclude = parseNameRefs(flags.exclude, "--exclude");
  for (const x of exclude) {
    // `--collections a --exclude ks.a` is a fine selection; `--exclude a` (or ks.a) of ks.a is not.
    const both = include.find((i) =>
      x.name === i.name && (x.keyspace === null || x.keyspace === i.keyspace)
    );
    if (both) {
      throw new ConfigError(
        `Cannot use --exclude ${formatNameRef(x)}: it excludes --collections ${
          formatNameRef(both)
        }`,
        { hint: "name each collection in --collections or in --exclude, not both" },
      );
    }
  }
  const encryptTo = await resolveRecipients(flags, env);
  if (flags.keepLocal === false && encryptTo === null) {
    throw new ConfigError("Cannot use --no-keep-local without recipients", {
      hint:
        "add --encrypt-to age1… (or --encrypt-to-file, or ASTRABAK_AGE_RECIPIENTS): only an encrypted copy replaces the local snapshot",
    });
  }
  if (flags.keepLocal === false && flags.zip === true) {
    throw new ConfigError("Cannot use --zip with --no-keep-local: the plaintext zip would stay", {
      hint: "drop one of the two flags",
    });
  }
  // --all-keyspaces: the keyspaces come from the server, not from ASTRA_DB_KEYSPACE's default.
  const connection = await resolveConnection(
    flags,
    env,
    readTextFile,
    flags.allKeyspaces ? { keyspaces: "flag-only" } : {},
  );
  return {
    connection,
    allKeyspaces: flags.allKeyspaces === true,
    outDir: snapshotDir(flags.out, env),
    include,
    exclude,
    compress: flags.compress !== false,
    zip: flags.zip === true,
    encryptTo,
    keepLocal: flags.keepLocal !== false,
    remotes: uploadTargets(flags, env),
    kind: (flags.kind ?? "all") as "collections" | "tables" | "all",
    ...(flags.compressionLevel === undefined ? {} : { compressionLevel: flags.compressionLevel }),
    parallel: flags.parallel ?? 4,
    resume: flags.resume === true,
    checkpointEvery: flags.checkpointEvery ?? null,
    cleanStaleAfterMs: flags.cleanStale === undefined
      ? null
      : typeof flags.cleanStale === "number"
      ? flags.cleanStale
      : durationArg("24h"),
    ...connectOptions(flags),
    ...(signal ? { signal } : {}),
  };
}

/**
 * Refuses flags that contradict each other, rather than silently honouring one of them:
 * `--no-compress` with `--compression-level`, `--all-keyspaces` with `--keyspace`.
 */
function checkContradictions(flags: BackupFlags): void {
  if (flags.allKeyspaces && (flags.keyspace?.length ?? 0) > 0) {
    throw new ConfigError(
      "Cannot use --keyspace with --all-keyspaces: --all-keyspaces backs up every keyspace",
      { hint: "drop one of the two flags" },
    );
  }
  if (flags.compress === false && flags.compressionLevel !== undefined) {
    throw new ConfigError(
      "Cannot use --compression-level with --no-compress: nothing is compressed",
      { hint: "drop one of the two flags" },
    );
  }
}

/** Human summary of a backup report. */
export function formatBackupReport(r: BackupReport): string[] {
  const lines = [
    ...(r.resume ? [`Resume: ${r.resume.detail}`] : []),
    ...r.warnings.map((w) => `WARNING: ${w}`),
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
  if (r.keyspaces_not_backed_up && r.keyspaces_not_backed_up.length > 0) {
    lines.push(
      `  not backed up: keyspace${r.keyspaces_not_backed_up.length === 1 ? "" : "s"} ${
        r.keyspaces_not_backed_up.join(", ")
      } (not selected; add --keyspace NAME or --all-keyspaces)`,
    );
  }
  const t = r.manifest.totals;
  lines.push(`${t.collections_ok} ok, ${t.collections_failed} failed, ${t.documents} documents`);
  if (r.zip) lines.push(`Zip: ${r.zip.path} (${r.zip.size_bytes} bytes)`);
  if (r.zip_error) {
    lines.push(`Zip FAILED: ${r.zip_error} (the snapshot directory is complete and kept)`);
  }
  if (r.encrypted) {
    lines.push(
      `Encrypted: ${r.encrypted.path} (${r.encrypted.size_bytes} bytes, ${r.encrypted.recipients.length} recipient(s); sidecar ${r.encrypted.sidecar})`,
    );
  }
  if (r.local_removed) lines.push(`Plaintext snapshot ${r.snapshot} removed (--no-keep-local)`);
  if (r.encrypt_error) {
    lines.push(
      `Encryption FAILED: ${r.encrypt_error} (the snapshot directory is complete and kept)`,
    );
  }
  lines.push(...describeUploads(r.uploads ?? []));
  if (r.upload_error) lines.push("(the local snapshot and zip are kept)");
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
      "only these collections or tables: name (in every keyspace) or keyspace.name (comma-separated, repeatable)",
      collect,
    )
    .option(
      "--exclude <names>",
      "skip these collections or tables: name or keyspace.name (comma-separated, repeatable; an unknown name is a warning)",
      collect,
    )
    .option(
      "--all-keyspaces",
      "back up every keyspace the token can see (findKeyspaces; system keyspaces left out; not with --keyspace)",
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
    .option(
      "--compression-level <n>",
      `gzip level, ${
        rangeText(COMPRESSION_LEVEL_RANGE)
      } (1 fastest, 9 smallest; default: ${DEFAULT_GZIP_LEVEL}; not with --no-compress)`,
      numberIn(COMPRESSION_LEVEL_RANGE),
    )
    .option(
      "--parallel <n>",
      `collections and tables backed up at the same time, ${rangeText(PARALLEL_RANGE)}`,
      numberIn(PARALLEL_RANGE),
      4,
    )
    .option(
      "--resume",
      "continue the newest unfinished snapshot in --out from its checkpoints (same connection and selection flags required); with none, start a new backup and say so",
    )
    .option(
      "--checkpoint-every <pages>",
      `pages a killed run may read again per collection, ${
        rangeText(CHECKPOINT_EVERY_RANGE)
      } (default: about 1000 documents); a checkpoint every half of it, and at least every 30 s`,
      numberIn(CHECKPOINT_EVERY_RANGE),
    )
    .option("--zip", "also pack a complete snapshot into <out>/<ts>.zip (never an INCOMPLETE one)")
    .option(
      "--clean-stale [age]",
      "remove leftovers of crashed runs (.inprogress) older than age, 0s to 365d (e.g. 30m, 24h, 7d; default 24h)",
      durationArg,
    );
  addRecipientOptions(cmd);
  cmd.option(
    "--no-keep-local",
    "with recipients: remove the plaintext snapshot directory once <ts>.zip.age is written and proven (and uploaded, with --to/--box-folder)",
  );
  addRemoteOptions(
    cmd,
    "upload",
    "to upload the zip (with recipients: the .zip.age) of a complete snapshot to (implies --zip; same as --to box:ID)",
  );
  addRetentionOptions(cmd, { afterBackup: true });
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
Each collection checkpoints as it goes (--checkpoint-every). A backup killed, crashed or cut off
leaves its .<ts>.inprogress/ with a checkpoint; backup --resume continues it: done collections
are kept, the others go on from their last checkpoint (at most one interval is read again, no
document is written twice). With --resume an interrupted run (SIGINT, SIGTERM, a full disk)
keeps the unfinished snapshot for the next --resume; without it, it is removed.
The output directory is locked while a run writes into it (a second one refuses to start), and
one that is a snapshot or lies inside one is refused. A selection that selects nothing is an
error (exit 1); a database that holds nothing is backed up with an EMPTY BACKUP warning.
Without --all-keyspaces the report names the keyspaces that exist but were not backed up (when
the server lists them).

With recipients (--encrypt-to, --encrypt-to-file or ASTRABAK_AGE_RECIPIENTS) a complete
snapshot is also packed straight into <ts>.zip.age (age format: the zip is encrypted as a stream,
never written in plaintext) with a plaintext sidecar <ts>.zip.age.sha256; that is the copy sent
to Box. The host needs only public keys. Before it is published, every zip entry is checked
against its manifest's SHA-256 as it enters the encrypter, and the file on disk against the
sidecar; decrypting it needs the identity, which should not live on this host.

Example:
  ASTRA_DB_APPLICATION_TOKEN=AstraCS:... astrabak backup \\
    --endpoint https://<db-id>-<region>.apps.astra.datastax.com --out /var/backups/astra

${EXIT_CODE_HELP}
`,
  );
  cmd.action(async (flags: BackupFlags) => {
    const out = openOutput(ctx, flags);
    const policy = retentionPolicy(flags);
    if (flags.keepMin !== undefined && !hasKeepRule(policy)) {
      throw new ConfigError("Cannot use --keep-min without a keep rule", {
        hint: "add --keep-last, --keep-daily, … or drop --keep-min",
      });
    }
    const options = await parseBackupOptions(
      flags,
      ctx.env,
      (p) => Deno.readTextFile(p),
      ctx.signal,
    );
    const report = await runBackup(options, out);
    // backup --keep-*: prune the same destinations, after a complete snapshot only.
    const pruned = hasKeepRule(policy)
      ? await pruneAfterBackup(
        report,
        { outDir: options.outDir, remotes: options.remotes ?? null },
        policy,
        out,
        ctx.signal,
      )
      : null;
    out.result(
      pruned ? { ...report, ...pruned } : report,
      [
        ...formatBackupReport(report),
        ...(pruned?.prune ? formatPruneReport(pruned.prune) : []),
        ...(pruned?.prune_error ? [`Prune FAILED: ${pruned.prune_error}`] : []),
      ],
    );
    const pruneFailed = pruned !== null &&
      (pruned.prune_error !== undefined || (pruned.prune?.failed ?? 0) > 0);
    ctx.exitCode = report.status !== "complete"
      ? ExitCode.Incomplete
      : report.zip_error !== undefined || report.upload_error !== undefined ||
          report.encrypt_error !== undefined || pruneFailed
      ? ExitCode.UploadFailed
      : ExitCode.Ok;
  });
}
