/**
 * @module
 * What a SNAPSHOT argument names, for verify, restore and drill (one rule for all): a local path;
 * `latest` (under the local directory, or in the remote of `--from-remote`, or in Box when
 * `--box-folder` is on the command line); `REMOTE:latest` or `REMOTE:<name|timestamp>` with
 * REMOTE `s3://BUCKET/PREFIX` or `box:FOLDER_ID`; or, as before, `box:latest` and
 * `box:<file id|name|timestamp>` in the folder of `--box-folder`/BOX_FOLDER_ID. A BOX_FOLDER_ID
 * in the environment (as a cron env file has) never turns a plain `latest` into a download: that
 * takes a flag or a remote form.
 * Remote snapshots are downloaded to a private temporary file under the lock of the download
 * directory; `release` removes the file and frees the lock.
 */

import type { Env } from "../config/env.ts";
import { snapshotDir } from "../config/resolve.ts";
import { ConfigError } from "../errors.ts";
import {
  fetchRemoteSnapshot,
  openRemote,
  parseRemote,
  parseRemoteSnapshotArg,
  type RemoteSpec,
} from "../remote/mod.ts";
import type { Reporter } from "../reporter.ts";
import { latestSnapshot } from "../snapshot/select.ts";
import { type RemoteFlags, remoteSettings } from "./remote_flags.ts";

/** Help for a SNAPSHOT argument: verify, restore and drill take the same forms (one rule). */
export const SNAPSHOT_ARG_HELP =
  "snapshot directory, .zip, latest (newest finished snapshot under --from, or in --from-remote, or in Box with --box-folder), s3://BUCKET/PREFIX:latest, box:FOLDER_ID:latest, REMOTE:<name|timestamp>, box:latest or box:<file id|name>";

/** A resolved snapshot argument. */
export interface SnapshotArg {
  /** Local path to read (for a remote: the verified download). */
  path: string;
  /** What to call it in reports (`box:<name>`, `s3://bucket/prefix/<name>`). */
  label: string;
  /** Removes any temporary download. */
  release(): Promise<void>;
}

/**
 * Resolves `arg`; see the module doc. A backend's settings are resolved (and its credentials
 * required) only when it is actually read, so a local restore or verify works with a cron env
 * file that names a folder but holds no credentials. Flags that a local argument leaves unused
 * are warned about rather than silently ignored.
 */
export async function resolveSnapshotArg(
  arg: string,
  flags: RemoteFlags & { from?: string | undefined },
  env: Env,
  reporter: Reporter,
): Promise<SnapshotArg> {
  const from = snapshotDir(flags.from, env);
  const named = parseRemoteSnapshotArg(arg);
  let target: { spec: RemoteSpec; which: string } | null = null;
  if (named?.remote) {
    target = { spec: named.remote, which: named.which };
  } else if (named) {
    target = { spec: boxFolder(arg, flags, env), which: named.which };
  } else if (flags.fromRemote !== undefined) {
    target = { spec: parseRemote(flags.fromRemote, "--from-remote"), which: arg };
  } else if (arg === "latest" && flags.boxFolder !== undefined) {
    target = { spec: boxFolder(arg, flags, env), which: "latest" };
  }
  if (!target) {
    if (flags.boxFolder !== undefined) {
      reporter.warn(
        `--box-folder is not used: ${arg} is a local snapshot (Box is read for box:<…>, or latest with --box-folder)`,
      );
    }
    if (arg === "latest") return local(await latestSnapshot(from));
    if (flags.from !== undefined) {
      reporter.warn(
        `--from is not used: ${arg} is a snapshot path (--from is where latest is looked for and downloads go)`,
      );
    }
    return local(arg);
  }
  const remote = await openRemote(target.spec, remoteSettings(flags, env), reporter);
  return await fetchRemoteSnapshot(remote, target.which, from, reporter);
}

/** The Box folder of `--box-folder`/BOX_FOLDER_ID for `box:<which>` and `latest`. */
function boxFolder(arg: string, flags: RemoteFlags, env: Env): RemoteSpec {
  const folder = flags.boxFolder ?? env.BOX_FOLDER_ID;
  if (folder === undefined) {
    throw new ConfigError(`Cannot read ${arg}: no Box folder given`, {
      hint: "pass --box-folder ID or set BOX_FOLDER_ID (or name it: box:FOLDER_ID:latest)",
    });
  }
  return parseRemote(`box:${folder}`, "--box-folder");
}

function local(path: string): SnapshotArg {
  return { path, label: path, release: async () => {} };
}
