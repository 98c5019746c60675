/**
 * @module
 * `astrabak list`: snapshots in a local directory and/or remotes (Box folder, S3 prefix).
 */

import type { Command } from "commander";
import { openRemote, type RemoteSnapshot } from "../remote/mod.ts";
import { type CliContext, openOutput, type OutputFlags } from "../cli/context.ts";
import { addOutputOptions } from "../cli/flags.ts";
import { addRemoteOptions, readTargets, type RemoteFlags } from "../cli/remote_flags.ts";
import { snapshotDir } from "../config/resolve.ts";
import { ConfigError, ioReason } from "../errors.ts";
import { EXIT_CODE_HELP, ExitCode } from "../exit_codes.ts";
import { listLocalSnapshots, type LocalSnapshot } from "../snapshot/catalog.ts";
import { describeLastDrill, lastDrills } from "../drill/journal.ts";

/** Raw flags of `list`. */
export interface ListFlags extends OutputFlags, RemoteFlags {
  from?: string;
}

/** Registers `list` on the program. */
export function registerList(program: Command, ctx: CliContext): void {
  const cmd = program
    .command("list")
    .description(
      "List snapshots: timestamp, status, collections, documents and size, locally and/or off-host (--from-remote, --box-folder)",
    )
    .option("--from <dir>", "local snapshot directory (env ASTRABAK_OUT; default ./backups)");
  addRemoteOptions(cmd, "read", "to list too");
  addOutputOptions(cmd);
  cmd.addHelpText(
    "after",
    `
Only names that are snapshot names are listed. A snapshot whose name is not the one its manifest
gives (renamed, or a symbolic link under another timestamp) is listed as misnamed: verify,
restore, zip and upload refuse it, and latest never takes it.

${EXIT_CODE_HELP}
`,
  );
  cmd.action(async (flags: ListFlags) => {
    const out = openOutput(ctx, flags);
    const from = snapshotDir(flags.from, ctx.env);
    const targets = readTargets(flags, ctx.env);
    let found: LocalSnapshot[] = [];
    try {
      found = await listLocalSnapshots(from);
    } catch (e) {
      if (
        !(e instanceof Deno.errors.NotFound) ||
        (flags.from !== undefined && targets.specs.length === 0)
      ) {
        throw new ConfigError(
          `Cannot list ${from}: ${ioReason(e)}`,
        );
      }
    }
    // The last drill of each snapshot (drills.jsonl beside them, written by `drill`).
    const drills = await lastDrills(from).catch(() => new Map());
    const local = found.map((s) => ({ ...s, last_drill: drills.get(s.timestamp) ?? null }));
    const remotes: Array<{ remote: string; kind: string; snapshots: RemoteSnapshot[] }> = [];
    for (const spec of targets.specs) {
      const remote = await openRemote(spec, targets.settings, out);
      remotes.push({ remote: remote.label, kind: remote.kind, snapshots: await remote.list() });
    }
    const lines = [
      `${"timestamp".padEnd(16)} ${"where".padEnd(6)} ${"status".padEnd(11)} ${
        "colls".padStart(5)
      } ${"documents".padStart(10)} ${"bytes".padStart(12)}  ${"last drill".padEnd(26)}  path`,
      ...local.map((s) =>
        `${s.timestamp.padEnd(16)} ${
          (s.kind === "zip" ? "zip" : s.kind === "zip.age" ? "age" : "dir").padEnd(6)
        } ${s.status.padEnd(11)} ${String(s.collections ?? "-").padStart(5)} ${
          String(s.documents ?? "-").padStart(10)
        } ${String(s.sizeBytes ?? "-").padStart(12)}  ${
          describeLastDrill(s.last_drill ?? undefined).padEnd(26)
        }  ${s.path}${s.problem ? `: ${s.problem}` : ""}`
      ),
      ...remotes.flatMap((r) =>
        r.snapshots.map((s) =>
          `${s.timestamp.padEnd(16)} ${r.kind.padEnd(6)} ${"complete".padEnd(11)} ${
            "-".padStart(5)
          } ${"-".padStart(10)} ${String(s.sizeBytes ?? "-").padStart(12)}  ${"-".padEnd(26)}  ${
            r.kind === "box" ? `box:${s.id} (${s.name})` : `${r.remote}/${s.name}`
          }`
        )
      ),
    ];
    // `box` as before (the first Box folder), and every remote under `remotes`.
    const box = targets.specs.find((s) => s.kind === "box");
    out.result({
      local,
      box: box?.kind === "box"
        ? {
          folder_id: box.folderId,
          snapshots: remotes.find((r) => r.remote === box.label)!.snapshots.map((s) => ({
            fileId: s.id,
            ...s,
          })),
        }
        : null,
      remotes,
    }, lines);
    ctx.exitCode = ExitCode.Ok;
  });
}
