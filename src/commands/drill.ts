/**
 * @module
 * `astrabak drill SNAPSHOT`: flags → {@linkcode runDrill} → per-collection report, and one line
 * appended to `<from>/drills.jsonl`.
 */

import { type Command, Option } from "commander";
import { parseNameRefs, resolveConnection, snapshotDir } from "../config/resolve.ts";
import { type CliContext, openOutput, type OutputFlags } from "../cli/context.ts";
import {
  addConnectionOptions,
  addIdentityOption,
  addOutputOptions,
  collect,
  COLLECTION_LIMIT_RANGE,
  type ConnectFlags,
  connectOptions,
  numberIn,
  rangeText,
} from "../cli/flags.ts";
import { resolveSnapshotArg, SNAPSHOT_ARG_HELP } from "../cli/snapshot_arg.ts";
import { resolveIdentities } from "../encrypt/keys.ts";
import { addRemoteOptions, type RemoteFlags } from "../cli/remote_flags.ts";
import { ConfigError, errorMessage } from "../errors.ts";
import { EXIT_CODE_HELP, ExitCode } from "../exit_codes.ts";
import {
  DEFAULT_MIN_OVERLAP,
  DEFAULT_PROBES,
  type DrillReport,
  type KindSelection,
  newRunId,
  PROBE_LIMIT,
  runDrill,
} from "../drill/drill.ts";
import { appendDrillJournal } from "../drill/journal.ts";
import { parseSnapshotName } from "../snapshot/layout.ts";
import { basename } from "node:path";

/** Raw flags of `drill`. */
export interface DrillFlags extends OutputFlags, ConnectFlags, RemoteFlags {
  /** age identity file for a .zip.age (a path; the key is a secret). */
  identityFile?: string;
  endpoint?: string;
  environment?: string;
  keyspace?: string[];
  tokenFile?: string;
  from?: string;
  collections?: string[];
  exclude?: string[];
  probes?: number;
  minOverlap?: number;
  keep?: boolean;
  runId?: string;
  collectionLimit?: number;
  kind?: string;
  maxDocs?: number;
}

const PROBES_RANGE = { min: 0, max: 1000, integer: true } as const;
const MAX_DOCS_RANGE = { min: 1, max: Number.MAX_SAFE_INTEGER, integer: true } as const;

function overlapArg(value: string): number {
  const n = Number(value);
  if (!/^\d*\.?\d+$/.test(value.trim()) || !(n >= 0 && n <= 1)) {
    throw new ConfigError(`--min-overlap "${value}" must be a number from 0 to 1`);
  }
  return n;
}

function runIdArg(value: string): string {
  if (!/^[a-z0-9]{1,12}$/.test(value)) {
    throw new ConfigError(`--run-id "${value}" must be 1-12 lowercase letters or digits`);
  }
  return value;
}

/** Human summary of a drill report. */
export function formatDrillReport(r: DrillReport): string[] {
  const lines: string[] = [];
  for (const c of r.collections) {
    const probes = c.probes
      ? `; probes ${c.probes.probes}${
        c.probes.columns ? ` on ${c.probes.columns.join(", ")}` : ""
      }: overlap@${PROBE_LIMIT} min ${c.probes.overlap_min} mean ${c.probes.overlap_mean}${
        c.probes.against === "self"
          ? ` (against itself: each probe must be its own top-1, as ${c.probes.why_self})`
          : ""
      }`
      : "";
    const head = c.status === "identical"
      ? "ok       "
      : c.status === "not drilled"
      ? "skipped  "
      : "FAILED   ";
    lines.push(
      `  ${head}${c.source} → ${c.scratch}: ${c.reason}${probes}; ${c.seconds}s; cleanup: ${c.cleanup}`,
    );
    const what = c.kind === "table" ? "primary key" : "_id";
    for (const d of c.differences) {
      lines.push(
        d.kind === "definition"
          ? `           definition: ${d.detail}`
          : `           ${what} ${d._id}: ${d.kind}${d.path ? ` at ${d.path}` : ""} (${d.detail})`,
      );
    }
  }
  if (r.left.length > 0) {
    lines.push(`Left (created by this drill; drop them when done): ${r.left.join(", ")}`);
  }
  const partial = r.partial
    ? ` (PARTIAL: only the first ${r.max_docs} documents/rows of each were restored and compared, ${
      r.collections.reduce((n, c) => n + c.documents_in_snapshot, 0)
    } of ${r.collections.reduce((n, c) => n + c.documents_total, 0)})`
    : "";
  lines.push(
    r.status === "proven"
      ? `Drill of ${r.snapshot} PROVEN: restored, read back identical, cleaned up (${r.seconds}s)${partial}`
      : `Drill of ${r.snapshot} FAILED${
        r.left.length > 0 && r.collections.every((c) => c.cleanup !== "kept")
          ? " (scratch copies left behind: see above)"
          : ""
      }${partial}`,
  );
  return lines;
}

/** Registers `drill` on the program. */
export function registerDrill(program: Command, ctx: CliContext): void {
  const cmd = program
    .command("drill")
    .argument(
      "<snapshot>",
      SNAPSHOT_ARG_HELP,
    )
    .description(
      "Prove the restore path: restore a snapshot into scratch collections and tables through the real server, read every document back and compare exactly, probe the vectors, drop the scratch copies",
    )
    .option(
      "--from <dir>",
      "where to look for `latest` and where drills.jsonl is appended (env ASTRABAK_OUT; default ./backups)",
    )
    .option(
      "--collections <names>",
      "only these collections: name (in every keyspace) or keyspace.name (comma-separated, repeatable)",
      collect,
    )
    .option("--exclude <names>", "leave out these collections (as --collections)", collect)
    .addOption(
      new Option("--kind <kind>", "what to drill: collections, tables, or all").choices([
        "collections",
        "tables",
        "all",
      ])
        .default("all"),
    )
    .option(
      "--max-docs <n>",
      "restore and compare only the first N documents/rows of each (a partial drill, said so in the report; probes then search the scratch copy only)",
      numberIn(MAX_DOCS_RANGE),
    )
    .option(
      "--probes <k>",
      `vector probes per vector collection or indexed vector column of a table, 0-1000`,
      numberIn(PROBES_RANGE),
      DEFAULT_PROBES,
    )
    .option(
      "--min-overlap <x>",
      `lowest acceptable overlap@${PROBE_LIMIT} of a probe (0-1)`,
      overlapArg,
      DEFAULT_MIN_OVERLAP,
    )
    .option(
      "--collection-limit <n>",
      `collections the target database allows (the scratch collections count), ${
        rangeText(COLLECTION_LIMIT_RANGE)
      } (default 10 on Astra, 5 elsewhere: the Data API's default)`,
      numberIn(COLLECTION_LIMIT_RANGE),
    )
    .option("--keep", "leave the scratch collections for inspection and print their names")
    .option(
      "--run-id <id>",
      "the run id in the scratch names, 1-12 lowercase letters or digits (default: 6 random hex digits)",
      runIdArg,
    );
  addRemoteOptions(
    cmd,
    "read",
    "to drill latest or box:<…> from (downloaded, SHA-1 checked, into --from)",
  );
  addIdentityOption(cmd);
  addConnectionOptions(
    cmd,
    "create the scratch collections in this keyspace (default: each in its own; ASTRA_DB_KEYSPACE is not used)",
  );
  addOutputOptions(cmd);
  cmd.addHelpText(
    "after",
    `
Each selected collection and table is restored as drill_<run id>_<name> (cut to 48 characters)
through the same code path as restore (verify, definitions, inserts, exact count), then every
document is read back and compared byte for byte with what was sent (an order-independent digest;
table rows by primary key, their columns in name order; on a mismatch the first differing, missing
or extra _ids or primary keys are named with the first differing field, e.g. $vector[3]). A
table's definition (columns, primary key, indexes, types) is compared too. For vector collections
and tables with a vector index, --probes documents with a vector are searched (limit
${PROBE_LIMIT}) in the scratch copy and in the source when it exists on this endpoint (else, and
with --max-docs, each must be its own nearest neighbour). The scratch collections, tables and the
types the restore created are dropped afterwards, also after a failure or SIGINT/SIGTERM/SIGHUP (a
second signal stops the cleanup and names what is left); nothing the drill did not create is
written or dropped, and it refuses to start if a scratch name exists. One JSON line per drill is
appended to <from>/drills.jsonl (mode 0600).

Exit status: 0 proven; 2 a difference, a restore failure (also a definition this database refuses
to create), a failed verification, a probe below --min-overlap, or a scratch copy it could not
drop (named); 1 configuration or connection
error (nothing written); 130 interrupted.

Examples:
  astrabak drill latest --from /var/backups/astra
  astrabak drill /var/backups/astra/20261125_021500 --collections articles --json

${EXIT_CODE_HELP}
`,
  );
  cmd.action(async (snapshot: string, flags: DrillFlags) => {
    const out = openOutput(ctx, flags);
    const from = snapshotDir(flags.from, ctx.env);
    // `fromAlwaysUsed`: drills.jsonl is appended under --from, whatever SNAPSHOT is.
    const target = await resolveSnapshotArg(
      snapshot,
      { ...flags, fromAlwaysUsed: true },
      ctx.env,
      out,
      {
        identity: () => resolveIdentities(flags.identityFile, ctx.env),
        signal: ctx.signal,
      },
    );
    let report: DrillReport;
    /** What this run may leave behind right now (told by the drill as it creates and drops). */
    let left: readonly string[] = [];
    // A second signal exits at once (main.ts): name what the cleanup had not dropped yet.
    ctx.beforeForcedExit = () => {
      if (left.length === 0) return;
      Deno.stderr.writeSync(
        new TextEncoder().encode(
          `astrabak: drill stopped by a second signal before its cleanup finished; left (where they exist): ${
            left.join(", ")
          }; drop them, they were created by this drill\n`,
        ),
      );
    };
    try {
      const connection = await resolveConnection(
        flags,
        ctx.env,
        (p) => Deno.readTextFile(p),
        { keyspaces: "flag-only" },
      );
      if (connection.keyspaces.length > 1) {
        throw new ConfigError("Cannot drill into several keyspaces: give --keyspace once");
      }
      report = await runDrill({
        connection,
        snapshot: target.path,
        targetKeyspace: connection.keyspaces[0] ?? null,
        include: parseNameRefs(flags.collections, "--collections"),
        exclude: parseNameRefs(flags.exclude, "--exclude"),
        kind: (flags.kind ?? "all") as KindSelection,
        maxDocuments: flags.maxDocs ?? null,
        probes: flags.probes ?? DEFAULT_PROBES,
        minOverlap: flags.minOverlap ?? DEFAULT_MIN_OVERLAP,
        keep: flags.keep === true,
        ...(flags.collectionLimit === undefined ? {} : { collectionLimit: flags.collectionLimit }),
        runId: flags.runId ?? newRunId(),
        ...connectOptions(flags),
        signal: ctx.signal,
        onLeft: (names) => (left = names),
      }, out);
    } finally {
      await target.release();
    }
    report.snapshot = target.label;
    try {
      await appendDrillJournal(
        from,
        report,
        parseSnapshotName(basename(target.path))?.timestamp ?? null,
      );
    } catch (e) {
      out.warn(`not appended to ${from}/drills.jsonl: ${errorMessage(e)}`);
    }
    out.result(report, formatDrillReport(report));
    ctx.exitCode = report.status === "proven" ? ExitCode.Ok : ExitCode.Incomplete;
  });
}
