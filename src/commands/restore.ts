/**
 * @module
 * `astrabak restore SNAPSHOT`: flags → {@linkcode runRestore} → per-collection report.
 */

import { type Command, Option } from "commander";
import type { Env } from "../config/env.ts";
import {
  formatNameRef,
  NAME_PATTERN,
  parseNameRef,
  parseNameRefs,
  type ReadTextFile,
  resolveConnection,
  resolveEmbeddingApiKey,
} from "../config/resolve.ts";
import { type CliContext, openOutput, type OutputFlags } from "../cli/context.ts";
import {
  addConnectionOptions,
  addIdentityOption,
  addOutputOptions,
  BATCH_SIZE_RANGE,
  collect,
  COLLECTION_LIMIT_RANGE,
  type ConnectFlags,
  connectOptions,
  COUNT_SCAN_LIMIT_RANGE,
  numberIn,
  PARALLEL_RANGE,
  rangeText,
  SAMPLE_RANGE,
} from "../cli/flags.ts";
import { ConfigError } from "../errors.ts";
import { EXIT_CODE_HELP, ExitCode } from "../exit_codes.ts";
import { describeEntries } from "../manifest/mod.ts";
import { IF_EXISTS, type IfExists, type Rename } from "../restore/plan.ts";
import { describeDropped, restoreFigures } from "../restore/collection.ts";
import {
  COUNT_MODES,
  type CountMode,
  DEFAULT_COUNT_SAMPLE,
  DEFAULT_COUNT_SCAN_LIMIT,
  DEFAULT_RESTORE_BATCH_SIZE,
  DEFAULT_RESTORE_CONCURRENCY,
  type RestoreOptions,
  type RestoreReport,
  runRestore,
  type VectorizeMode,
} from "../restore/restore.ts";
import { resolveSnapshotArg, SNAPSHOT_ARG_HELP } from "../cli/snapshot_arg.ts";
import { resolveIdentities } from "../encrypt/keys.ts";
import { addRemoteOptions, type RemoteFlags } from "../cli/remote_flags.ts";

/** Raw flags of `restore`. */
export interface RestoreFlags extends OutputFlags, ConnectFlags, RemoteFlags {
  /** age identity file for a .zip.age (a path; the key is a secret). */
  identityFile?: string;
  endpoint?: string;
  environment?: string;
  keyspace?: string[];
  tokenFile?: string;
  from?: string;
  collections?: string[];
  rename?: string[];
  ifExists?: string;
  dryRun?: boolean;
  force?: boolean;
  vectorize?: string;
  concurrency?: number;
  batchSize?: number;
  adaptDefinitions?: boolean;
  collectionLimit?: number;
  count?: string;
  countScanLimit?: number;
  sample?: number;
  embeddingApiKeyFile?: string;
}

/** Resolves flags into {@linkcode RestoreOptions}; `snapshot` is an already resolved local path. */
export async function parseRestoreOptions(
  snapshot: string,
  flags: RestoreFlags,
  env: Env,
  readTextFile: ReadTextFile,
  signal?: AbortSignal,
): Promise<RestoreOptions> {
  const resolved = await resolveConnection(flags, env, readTextFile, { keyspaces: "flag-only" });
  const connection = Object.freeze({
    ...resolved,
    embeddingApiKey: await resolveEmbeddingApiKey(flags.embeddingApiKeyFile, env, readTextFile),
  });
  if (connection.keyspaces.length > 1) {
    throw new ConfigError(
      "Cannot restore into several keyspaces: give --keyspace once (or not at all)",
    );
  }
  const renames = parseRenames(flags.rename ?? []);
  return {
    connection,
    snapshot,
    targetKeyspace: connection.keyspaces[0] ?? null,
    include: parseNameRefs(flags.collections, "--collections"),
    renames,
    ifExists: (flags.ifExists ?? "fail") as IfExists,
    dryRun: flags.dryRun === true,
    force: flags.force === true,
    vectorize: (flags.vectorize ?? "keep-vector") as VectorizeMode,
    adaptDefinitions: flags.adaptDefinitions === true,
    ...(flags.collectionLimit === undefined ? {} : { collectionLimit: flags.collectionLimit }),
    concurrency: flags.concurrency ?? DEFAULT_RESTORE_CONCURRENCY,
    batchSize: flags.batchSize ?? DEFAULT_RESTORE_BATCH_SIZE,
    count: (flags.count ?? "auto") as CountMode,
    countScanLimit: flags.countScanLimit ?? DEFAULT_COUNT_SCAN_LIMIT,
    sample: flags.sample ?? DEFAULT_COUNT_SAMPLE,
    ...connectOptions(flags),
    signal,
  };
}

/**
 * Parses `--rename old=new` values: `old` is `name` or `keyspace.name` (as --collections), `new`
 * a name only (the target keyspace is each collection's own, or --keyspace).
 */
export function parseRenames(values: readonly string[]): Rename[] {
  const renames: Rename[] = [];
  for (const r of values) {
    const [from, to, ...rest] = r.split("=");
    if (from === undefined || to === undefined || rest.length > 0 || !from.trim()) {
      throw new ConfigError(`Cannot use --rename "${r}": expected old=new`);
    }
    const ref = parseNameRef(from, "--rename");
    if (!NAME_PATTERN.test(to.trim())) {
      throw new ConfigError(
        `Cannot use --rename "${r}": the new name is 1-48 letters, digits or underscores`,
        {
          hint: to.includes(".")
            ? "give the new name without a keyspace; --keyspace chooses the target keyspace"
            : undefined,
        },
      );
    }
    const same = renames.find((x) => formatNameRef(x.from) === formatNameRef(ref));
    if (same && same.to !== to.trim()) {
      throw new ConfigError(`Cannot use --rename "${r}": ${formatNameRef(ref)} is renamed twice`);
    }
    if (!same) renames.push({ from: ref, to: to.trim() });
  }
  return renames;
}

/** Human summary of a restore report. */
export function formatRestoreReport(r: RestoreReport): string[] {
  const lines: string[] = [];
  for (const c of r.collections) {
    const arrow = `${c.source} → ${c.target}`;
    const unit = c.kind === "table" ? "rows" : "documents";
    const changes = c.definition_changes.map((d) => `          definition adapted: ${d}`);
    if (r.status === "dry-run") {
      lines.push(
        c.action === "skip"
          ? `  would skip     ${arrow}: ${c.reason}`
          : `  would ${
            c.action.padEnd(8)
          }${arrow}: ${c.documents_in_snapshot} ${unit}; ${c.reason}`,
        ...changes,
        ...(c.unchecked ? [`          definition ${c.unchecked}`] : []),
      );
      if (c.action === "replace") lines.push(`          would drop ${describeDropped(c)}`);
      continue;
    }
    if (c.status === "skipped") {
      lines.push(`  skipped ${arrow}: ${c.reason}`);
      continue;
    }
    const figures = restoreFigures(c);
    lines.push(
      c.status === "ok"
        ? `  ok      ${arrow}: ${figures}`
        : `  FAILED  ${arrow}: ${figures}: ${c.error}`,
    );
    if (c.action === "replace") {
      lines.push(
        c.status === "ok"
          ? `          dropped ${describeDropped(c)} first`
          : `          the replace was to drop ${describeDropped(c)}`,
      );
    }
    if (c.vectorize_texts_not_restored > 0) {
      lines.push(
        `          ${c.vectorize_texts_not_restored} $vectorize texts not restored (kept the exact $vector; --vectorize reembed does the opposite)`,
      );
    }
    lines.push(...changes);
    if (c.lexical_texts_not_restored > 0) {
      lines.push(
        `          ${c.lexical_texts_not_restored} $lexical values not restored (the collection has no lexical here)`,
      );
    }
    if (c.documents_reembedded > 0) {
      lines.push(`          ${c.documents_reembedded} documents re-embedded from $vectorize`);
    }
  }
  const failed = r.collections.filter((c) => c.status === "failed").length;
  const written = r.collections.reduce((n, c) => n + c.inserted, 0);
  const unit = r.collections.length > 0 && r.collections.every((c) => c.kind === "table")
    ? "rows"
    : r.collections.some((c) => c.kind === "table")
    ? "documents and rows"
    : "documents";
  lines.push(
    r.status === "dry-run"
      ? `Dry run of ${r.snapshot}: verified; nothing was written`
      : failed === 0
      ? `Restored ${r.snapshot}: ${describeEntries(r.collections)}, ${written} ${unit} written`
      : `Restore of ${r.snapshot} FAILED for ${
        describeEntries(r.collections.filter((c) => c.status === "failed"))
      }`,
  );
  if (r.hint) lines.push(`hint: ${r.hint}`);
  return lines;
}

/** Registers `restore` on the program. */
export function registerRestore(program: Command, ctx: CliContext): void {
  const cmd = program
    .command("restore")
    .argument(
      "<snapshot>",
      SNAPSHOT_ARG_HELP,
    )
    .description(
      "Verify a snapshot, recreate its collections from their definitions, and write the documents back exactly as stored (same numbers, EJSON wrappers and $vector representation)",
    )
    .option("--from <dir>", "where to look for `latest` (env ASTRABAK_OUT; default ./backups)")
    .option(
      "--collections <names>",
      "only these collections: name (in every keyspace) or keyspace.name (comma-separated, repeatable)",
      collect,
    )
    .option(
      "--rename <old=new>",
      "restore a collection under another name; old is name or keyspace.name (repeatable)",
      collect,
    )
    .addOption(
      new Option(
        "--if-exists <mode>",
        "when the target collection exists: fail, skip, append or replace",
      )
        .choices([...IF_EXISTS]).default("fail"),
    )
    .option(
      "--dry-run",
      "verify and print the plan, with what the target would refuse; write nothing",
    )
    .option(
      "--adapt-definitions",
      "leave out what the target cannot create (rerank, lexical, vectorize service: a plain vector collection keeping $vector) and report each change",
    )
    .option(
      "--collection-limit <n>",
      `collections the target database allows, ${
        rangeText(COLLECTION_LIMIT_RANGE)
      } (default 10 on Astra, 5 elsewhere: the Data API's default)`,
      numberIn(COLLECTION_LIMIT_RANGE),
    )
    .option("--force", "restore the collections that were backed up from an INCOMPLETE snapshot")
    .addOption(
      new Option(
        "--vectorize <mode>",
        "vectorize collections: keep-vector (exact $vector, $vectorize text dropped) or reembed",
      ).choices(["keep-vector", "reembed"]).default("keep-vector"),
    )
    .option(
      "--embedding-api-key-file <path>",
      "file holding the embedding provider's API key, for --vectorize reembed through a provider that authenticates by header (else env ASTRABAK_EMBEDDING_API_KEY; never on the command line)",
    )
    .option(
      "--concurrency <n>",
      `insertMany requests in flight per collection, ${rangeText(PARALLEL_RANGE)}`,
      numberIn(PARALLEL_RANGE),
      DEFAULT_RESTORE_CONCURRENCY,
    )
    .option(
      "--batch-size <n>",
      `documents per insertMany, ${rangeText(BATCH_SIZE_RANGE)} (the Data API's limit)`,
      numberIn(BATCH_SIZE_RANGE),
      DEFAULT_RESTORE_BATCH_SIZE,
    )
    .addOption(
      new Option(
        "--count <mode>",
        "how the result is proven besides the server's confirmations: auto (a full key scan up to --count-scan-limit, a sample read-back above) or exact (always the full scan)",
      ).choices([...COUNT_MODES]).default("auto"),
    )
    .option(
      "--count-scan-limit <n>",
      `collections (or tables) of at most this many documents are counted afterwards by a full key scan, ${
        rangeText(COUNT_SCAN_LIMIT_RANGE)
      }`,
      numberIn(COUNT_SCAN_LIMIT_RANGE),
      DEFAULT_COUNT_SCAN_LIMIT,
    )
    .option(
      "--sample <n>",
      `above the limit: documents the server confirmed, chosen at random, read back and compared, ${
        rangeText(SAMPLE_RANGE)
      }`,
      numberIn(SAMPLE_RANGE),
      DEFAULT_COUNT_SAMPLE,
    );
  addRemoteOptions(
    cmd,
    "read",
    "to restore latest or box:<…> from (downloaded, SHA-1 checked, into --from)",
  );
  addIdentityOption(cmd);
  addConnectionOptions(
    cmd,
    "restore every collection into this keyspace (default: each into its own; ASTRA_DB_KEYSPACE is not used)",
  );
  addOutputOptions(cmd);
  cmd.addHelpText(
    "after",
    `
--keyspace NAME restores every collection into NAME (default: each into its own keyspace, which
must exist). The whole snapshot is verified before the first write; nothing is written if any
check fails, if a target exists and --if-exists is fail (the default), or if an existing target's
definition differs from the snapshot's (only --if-exists replace changes it), if the target would
refuse a definition (lexical or reranking off, vectorize absent, a deprecated or end-of-life
model: add --adapt-definitions to leave those out), or if the new collections would pass the
database's collection limit. --if-exists replace drops nothing before the server has accepted the
new definition. With append, existing _ids are never overwritten (counted as already present);
table inserts are upserts, so existing rows are overwritten. Every write is confirmed per
document by the server. After writing, a collection or table that holds at most
--count-scan-limit documents (with append: what was there plus the snapshot's) is counted by a
full key scan (the server reads each whole document for it) and compared with what was written;
above the limit (unless --count exact) a collection's size is the server's estimate (a table's
is unknown) and --sample documents the server confirmed, chosen at random, are read back by _id
and compared byte for byte (presence only for re-embedded documents, and for table rows, read by
primary key). The report's count_proof says which proof was used.

--vectorize reembed has the target embed every $vectorize text again. When the collection's
provider authenticates by header (findEmbeddingProviders says HEADER, and the collection stores no
shared secret), its API key comes from ASTRABAK_EMBEDDING_API_KEY or --embedding-api-key-file
PATH and is sent as x-embedding-api-key on the inserts only; without it the plan refuses before
anything is written.

--collections and the old side of --rename take name (that name in every keyspace) or
keyspace.name (one keyspace), and are checked against the manifest before the deep verify.
Box credentials are needed only when Box is read (box:<…>, or latest with --box-folder).
A <ts>.zip.age (encrypted with age) needs --identity-file (or ASTRABAK_AGE_IDENTITY_FILE): it is
decrypted as a stream into a hidden 0600 temporary zip in the directory that holds it (a zip
needs random access), verified and read like any zip, and removed afterwards, also on error or
interrupt. latest weighs .zip and .zip.age alike by the timestamp in the name. A wrong identity
exits 1, a damaged or truncated .zip.age exits 2; nothing is restored from either.

Examples:
  astrabak restore latest --from /var/backups/astra --dry-run
  astrabak restore /var/backups/astra/20261125_021500.zip --rename articles=articles_restored
  astrabak restore latest --collections default_keyspace.faq --if-exists append

${EXIT_CODE_HELP}
`,
  );
  cmd.action(async (snapshot: string, flags: RestoreFlags) => {
    const out = openOutput(ctx, flags);
    const target = await resolveSnapshotArg(snapshot, flags, ctx.env, out, {
      identity: () => resolveIdentities(flags.identityFile, ctx.env),
      signal: ctx.signal,
    });
    let report: RestoreReport;
    try {
      const options = await parseRestoreOptions(
        target.path,
        flags,
        ctx.env,
        (p) => Deno.readTextFile(p),
        ctx.signal,
      );
      report = await runRestore(options, out);
    } finally {
      await target.release();
    }
    report.snapshot = target.label;
    out.result(report, formatRestoreReport(report));
    ctx.exitCode = report.status === "failed" ? ExitCode.Incomplete : ExitCode.Ok;
  });
}
