/**
 * @module
 * What a SNAPSHOT argument names, for verify and restore (one rule for both): a local path,
 * `latest` (under the local directory, or in Box when `--box-folder` is on the command line),
 * `box:latest`, or `box:<file id | name | timestamp>`. A `BOX_FOLDER_ID` in the environment (as a
 * cron env file has) never turns a plain `latest` into a download: that takes the flag or the
 * `box:` prefix.
 * Box snapshots are downloaded to a private temporary file under the lock of the download
 * directory; `release` removes the file and frees the lock.
 */

import { fetchFromBox } from "../box/offsite.ts";
import type { BoxConfig } from "../config/resolve.ts";
import { ConfigError } from "../errors.ts";
import type { Reporter } from "../reporter.ts";
import { latestSnapshot } from "../snapshot/select.ts";

/** Help for a SNAPSHOT argument: verify, restore and drill take the same forms (one rule). */
export const SNAPSHOT_ARG_HELP =
  "snapshot directory, .zip, latest (newest finished snapshot under --from, or in Box with --box-folder), box:latest or box:<file id|name>";

/** A resolved snapshot argument. */
export interface SnapshotArg {
  /** Local path to read (for Box: the verified download). */
  path: string;
  /** What to call it in reports (`box:<name>` for Box). */
  label: string;
  /** Removes any temporary download. */
  release(): Promise<void>;
}

/**
 * Resolves `arg`; see the module doc. Box settings are resolved (and its credentials required)
 * only when Box is actually read, so a local restore or verify works with a cron env file that
 * names a folder but holds no credentials. Flags that a local argument leaves unused are warned
 * about rather than silently ignored.
 */
export async function resolveSnapshotArg(
  arg: string,
  options: {
    from: string;
    /** Resolves the Box settings; called only when `arg` is read from Box. */
    box: () => BoxConfig | null;
    /** `--box-folder` was given on the command line. */
    boxFlag: boolean;
    /** `--from` was given on the command line. */
    fromFlag: boolean;
  },
  reporter: Reporter,
): Promise<SnapshotArg> {
  const fromBox = arg.startsWith("box:") || (arg === "latest" && options.boxFlag);
  if (!fromBox) {
    if (options.boxFlag) {
      reporter.warn(
        `--box-folder is not used: ${arg} is a local snapshot (Box is read for box:<…>, or latest with --box-folder)`,
      );
    }
    if (arg === "latest") return local(await latestSnapshot(options.from));
    if (options.fromFlag) {
      reporter.warn(
        `--from is not used: ${arg} is a snapshot path (--from is where latest is looked for and Box downloads go)`,
      );
    }
    return local(arg);
  }
  const box = options.box();
  if (!box) {
    throw new ConfigError(`Cannot read ${arg}: no Box folder given`, {
      hint: "pass --box-folder ID or set BOX_FOLDER_ID",
    });
  }
  const which = arg === "latest" ? "latest" : arg.slice("box:".length);
  const { path, remote, release } = await fetchFromBox(box, which, options.from, reporter);
  return { path, label: `box:${remote.name}`, release };
}

function local(path: string): SnapshotArg {
  return { path, label: path, release: async () => {} };
}
