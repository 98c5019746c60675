/**
 * @module
 * `astrabak prune`: flags → {@linkcode runPrune} → a table of every snapshot with keep/remove and
 * the rule that decided it. All logic lives in src/prune/.
 */

import type { Command } from "commander";
import { type CliContext, openOutput, type OutputFlags } from "../cli/context.ts";
import { addOutputOptions } from "../cli/flags.ts";
import { addRemoteOptions, readTargets, type RemoteFlags } from "../cli/remote_flags.ts";
import {
  addRetentionOptions,
  type RetentionFlags,
  retentionPolicy,
} from "../cli/retention_flags.ts";
import type { Env } from "../config/env.ts";
import { snapshotDir } from "../config/resolve.ts";
import { ExitCode } from "../exit_codes.ts";
import type { PruneOptions, PruneReport } from "../prune/prune.ts";
import { runPrune } from "../prune/prune.ts";

/** Raw flags of `prune`. */
export interface PruneFlags extends OutputFlags, RetentionFlags, RemoteFlags {
  from?: string;
  dryRun?: boolean;
}

/** prune's own exit table: 2 means a removal failed, not an incomplete snapshot. */
export const PRUNE_EXIT_HELP = `Exit status:
  0    done: every removal decided on happened (with --dry-run: decided, nothing removed)
  1    configuration: no keep rule, no such directory, a backup holds the directory's lock,
       remote credentials or name; nothing was removed
  2    a removal failed (named in the report and on stderr); the other removals went on
  130  interrupted by SIGINT/SIGTERM/SIGHUP; removals done so far are logged, no other is started`;

/**
 * Where to prune: `--from` (or ASTRABAK_OUT) locally, `--from-remote` and `--box-folder` (or
 * BOX_FOLDER_ID) off-host; the default snapshot directory when none names a place.
 */
export function pruneLocations(
  flags: PruneFlags,
  env: Env,
): Pick<PruneOptions, "localDir" | "remotes"> {
  const remotes = readTargets(flags, env);
  const local = flags.from !== undefined || env.ASTRABAK_OUT !== undefined ||
    remotes.specs.length === 0;
  return {
    localDir: local ? snapshotDir(flags.from, env) : null,
    remotes: remotes.specs.length > 0 ? remotes : null,
  };
}

/** The human table of a prune report (also used by `backup --keep-*`). */
export function formatPruneReport(r: PruneReport): string[] {
  const lines: string[] = [];
  for (const loc of r.locations) {
    lines.push(
      `${
        loc.where === "local" ? "Local" : loc.where === "box" ? "Box folder" : "Remote"
      } ${loc.location}${r.dry_run ? " (dry run: nothing removed)" : ""}`,
    );
    if (loc.snapshots.length === 0) lines.push("  (no snapshots)");
    for (const s of loc.snapshots) {
      const action = s.error !== undefined
        ? "FAILED"
        : s.action === "keep"
        ? "keep"
        : s.removed
        ? "removed"
        : "remove";
      lines.push(
        `  ${s.timestamp}  ${s.state.padEnd(10)}  ${action.padEnd(7)}  ${s.reasons.join(", ")}  [${
          s.box_file_id ? `box:${s.box_file_id} ` : s.key ? `${s.key} ` : ""
        }${s.names.join(", ")}]`,
      );
      if (s.error !== undefined) lines.push(`    ${s.error}`);
    }
    for (const l of loc.leftovers) {
      lines.push(
        `  leftover of an interrupted prune: ${l} (${r.dry_run ? "to remove" : "removed"})`,
      );
    }
  }
  const toRemove = r.locations.flatMap((l) => l.snapshots).filter((s) => s.action === "remove");
  lines.push(`Policy: ${r.policy}`);
  lines.push(
    r.dry_run
      ? `${r.kept} kept, ${toRemove.length} to remove (dry run: nothing was removed)`
      : `${r.kept} kept, ${r.removed} removed, ${r.failed} failed`,
  );
  return lines;
}

/** Registers `prune` on the program. */
export function registerPrune(program: Command, ctx: CliContext): void {
  const cmd = program
    .command("prune")
    .description(
      "Remove old snapshots by retention rules (restic forget semantics) with a safety floor, locally and/or off-host (Box, S3); decided from the UTC timestamps in the names, never file times",
    )
    .option(
      "--from <dir>",
      "local snapshot directory to prune (env ASTRABAK_OUT; default ./backups when no remote is given)",
    )
    .option("--dry-run", "decide and print the table, remove nothing");
  addRetentionOptions(cmd);
  addRemoteOptions(cmd, "read", "to prune (deleted zips go to the Box trash)");
  addOutputOptions(cmd);
  cmd.addHelpText(
    "after",
    `
At least one --keep-* rule is required. Each bucket rule keeps the newest complete snapshot in
each of the last n buckets that hold one (and, while it has counts left, the oldest snapshot);
a snapshot kept by any rule stays. Local and each remote are decided independently, each from
what it holds; a directory and its .zip are one snapshot. In S3, removal deletes the object (a
versioned bucket keeps it as a non-current version until its lifecycle rules expire it).

Safety floor, whatever the rules say: the newest complete snapshot is always kept; nothing is
removed when fewer than --keep-min complete snapshots would remain; names that are not snapshot
names are never touched; an .inprogress snapshot is never touched while its backup runs (prune
takes the same directory lock as backup); .INCOMPLETE snapshots are removed only when a newer
complete snapshot exists, and never count as complete.

Example (what a nightly job might keep):
  astrabak prune --from /var/backups/astra --keep-daily 7 --keep-weekly 4 --keep-monthly 12 \\
    --dry-run

${PRUNE_EXIT_HELP}
`,
  );
  cmd.action(async (flags: PruneFlags) => {
    const out = openOutput(ctx, flags);
    const report = await runPrune({
      policy: retentionPolicy(flags),
      ...pruneLocations(flags, ctx.env),
      dryRun: flags.dryRun === true,
      signal: ctx.signal,
    }, out);
    out.result(report, formatPruneReport(report));
    ctx.exitCode = report.failed > 0 ? ExitCode.Incomplete : ExitCode.Ok;
  });
}
