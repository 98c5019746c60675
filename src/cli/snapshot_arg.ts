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
 * An encrypted snapshot (`<ts>.zip.age`, local or downloaded) is decrypted with the identity into
 * a private temporary zip beside it (src/encrypt/decrypt.ts), which `release` removes too; without
 * an identity, verify may still check what needs no key, and restore and drill refuse it.
 */

import type { Env } from "../config/env.ts";
import { snapshotDir } from "../config/resolve.ts";
import type { AgeIdentities } from "../encrypt/age.ts";
import { decryptToTemp, isEncryptedName } from "../encrypt/decrypt.ts";
import { basename } from "node:path";
import { ConfigError } from "../errors.ts";
import {
  fetchRemoteSnapshot,
  openRemote,
  parseRemote,
  parseRemoteSnapshotArg,
  type RemoteSpec,
} from "../remote/mod.ts";
import type { Reporter } from "../reporter.ts";
import type { DownloadedArchive } from "../remote/types.ts";
import { latestSnapshot } from "../snapshot/select.ts";
import { type RemoteFlags, remoteSettings } from "./remote_flags.ts";

/** Help for a SNAPSHOT argument: verify, restore and drill take the same forms (one rule). */
export const SNAPSHOT_ARG_HELP =
  "snapshot directory, .zip, .zip.age (with --identity-file), latest (newest finished snapshot under --from, or in --from-remote, or in Box with --box-folder), s3://BUCKET/PREFIX:latest, box:FOLDER_ID:latest, REMOTE:<name|timestamp>, box:latest or box:<file id|name>";

/** A resolved snapshot argument. */
export interface SnapshotArg {
  /** Local path to read (for a remote: the verified download). */
  path: string;
  /** What to call it in reports (`box:<name>`, `s3://bucket/prefix/<name>`). */
  label: string;
  /** Removes any temporary download or decrypted copy. */
  release(): Promise<void>;
  /**
   * Set for a `.zip.age`: `decrypted` when `path` is its decrypted temporary zip; otherwise
   * `path` is the `.zip.age` itself (no identity was given, and the caller allowed that), and
   * `downloaded` says, for a download, the name it is known by and where its sidecar went.
   */
  encrypted?: { decrypted: boolean; downloaded?: DownloadedArchive };
}

/** How a resolved `.zip.age` is read; see {@linkcode resolveSnapshotArg}. */
export interface EncryptedArgOptions {
  /** Resolves the identities (`--identity-file`, ASTRABAK_AGE_IDENTITY_FILE); null when none. */
  identity: () => Promise<AgeIdentities | null>;
  /** Without an identity: hand back the `.zip.age` itself (verify) instead of refusing. */
  allowWithoutIdentity?: boolean;
  signal?: AbortSignal;
}

/** The flags a SNAPSHOT argument is resolved with. */
export type SnapshotArgFlags = RemoteFlags & {
  from?: string | undefined;
  /** `--from` is used whatever SNAPSHOT is (drill appends its journal there): no warning. */
  fromAlwaysUsed?: boolean;
};

/**
 * Resolves `arg`; see the module doc. A backend's settings are resolved (and its credentials
 * required) only when it is actually read, so a local restore or verify works with a cron env
 * file that names a folder but holds no credentials. Flags that a local argument leaves unused
 * are warned about rather than silently ignored.
 */
export async function resolveSnapshotArg(
  arg: string,
  flags: SnapshotArgFlags,
  env: Env,
  reporter: Reporter,
  encrypted?: EncryptedArgOptions,
): Promise<SnapshotArg> {
  const arg0 = await resolvePlain(arg, flags, env, reporter);
  if (!isEncryptedName(arg0.name)) return arg0;
  try {
    return await openEncrypted(
      arg0,
      arg === "latest" || arg.endsWith(":latest"),
      encrypted,
      reporter,
    );
  } catch (e) {
    await arg0.release();
    throw e;
  }
}

/** A `.zip.age` argument: decrypted with the identity, or (verify only) handed back as is. */
async function openEncrypted(
  target: PlainArg,
  latest: boolean,
  options: EncryptedArgOptions | undefined,
  reporter: Reporter,
): Promise<SnapshotArg> {
  const identities = options ? await options.identity() : null;
  if (identities === null) {
    if (options?.allowWithoutIdentity) {
      return {
        ...target,
        encrypted: {
          decrypted: false,
          ...(target.downloaded ? { downloaded: target.downloaded } : {}),
        },
      };
    }
    throw new ConfigError(`Cannot read ${target.label}: it is encrypted (age)`, {
      hint:
        "pass --identity-file PATH (or set ASTRABAK_AGE_IDENTITY_FILE) with a key it was encrypted to",
    });
  }
  const plain = await decryptToTemp(target.path, identities, reporter, {
    label: target.label,
    ...(target.downloaded
      ? {
        name: target.name,
        locked: true,
        remote: { label: target.downloaded.remote, sidecar: target.downloaded.sidecar },
      }
      : {}),
    latest,
    ...(options?.signal ? { signal: options.signal } : {}),
  });
  return {
    path: plain.path,
    label: target.label,
    encrypted: { decrypted: true },
    async release() {
      await plain.release();
      await target.release();
    },
  };
}

/** A resolved argument before decryption: `name` is the archive's own file name. */
interface PlainArg extends SnapshotArg {
  name: string;
  /** A download from a remote (under the `--from` lock already), or null. */
  downloaded: DownloadedArchive | null;
}

/** Resolves `arg` to a local path (downloading from a remote when it names one). */
async function resolvePlain(
  arg: string,
  flags: SnapshotArgFlags,
  env: Env,
  reporter: Reporter,
): Promise<PlainArg> {
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
    if (flags.from !== undefined && !flags.fromAlwaysUsed) {
      reporter.warn(
        `--from is not used: ${arg} is a snapshot path (--from is where latest is looked for and downloads go)`,
      );
    }
    return local(arg);
  }
  const remote = await openRemote(target.spec, remoteSettings(flags, env), reporter);
  const got = await fetchRemoteSnapshot(remote, target.which, from, reporter);
  return {
    path: got.path,
    label: got.label,
    name: got.name,
    release: got.release,
    downloaded: { name: got.name, label: got.label, sidecar: got.sidecar, remote: remote.label },
  };
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

function local(path: string): PlainArg {
  return { path, label: path, name: basename(path), downloaded: null, release: async () => {} };
}
