/**
 * @module
 * What a SNAPSHOT argument names, for verify and restore (one rule for both): a local path,
 * `latest` (under the local directory, or in Box when `--box-folder` is on the command line),
 * `box:latest`, or `box:<file id | name | timestamp>`. A `BOX_FOLDER_ID` in the environment (as a
 * cron env file has) never turns a plain `latest` into a download: that takes the flag or the
 * `box:` prefix.
 * Box snapshots are downloaded to a private temporary file under the lock of the download
 * directory; `release` removes the file and frees the lock.
 * An encrypted snapshot (`<ts>.zip.age`, local or downloaded) is decrypted with the identity into
 * a private temporary zip beside it (src/encrypt/decrypt.ts), which `release` removes too; without
 * an identity, verify may still check what needs no key, and restore and drill refuse it.
 */

import { fetchFromBox } from "../box/offsite.ts";
import type { AgeIdentities } from "../encrypt/age.ts";
import { decryptToTemp, isEncryptedName } from "../encrypt/decrypt.ts";
import type { BoxConfig } from "../config/resolve.ts";
import { ConfigError } from "../errors.ts";
import type { Reporter } from "../reporter.ts";
import { latestSnapshot } from "../snapshot/select.ts";

/** Help for a SNAPSHOT argument: verify, restore and drill take the same forms (one rule). */
export const SNAPSHOT_ARG_HELP =
  "snapshot directory, .zip, .zip.age (with --identity-file), latest (newest finished snapshot under --from, or in Box with --box-folder), box:latest or box:<file id|name>";

/** A resolved snapshot argument. */
export interface SnapshotArg {
  /** Local path to read (for Box: the verified download). */
  path: string;
  /** What to call it in reports (`box:<name>` for Box). */
  label: string;
  /** Removes any temporary download or decrypted copy. */
  release(): Promise<void>;
  /**
   * Set for a `.zip.age`: `decrypted` when `path` is its decrypted temporary zip; otherwise
   * `path` is the `.zip.age` itself (no identity was given, and the caller allowed that).
   */
  encrypted?: { decrypted: boolean };
}

/** How a resolved `.zip.age` is read; see {@linkcode resolveSnapshotArg}. */
export interface EncryptedArgOptions {
  /** Resolves the identities (`--identity-file`, ASTRABAK_AGE_IDENTITY_FILE); null when none. */
  identity: () => Promise<AgeIdentities | null>;
  /** Without an identity: hand back the `.zip.age` itself (verify) instead of refusing. */
  allowWithoutIdentity?: boolean;
  signal?: AbortSignal;
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
    /** How a `.zip.age` is read; without this, one is refused. */
    encrypted?: EncryptedArgOptions;
  },
  reporter: Reporter,
): Promise<SnapshotArg> {
  const arg0 = await resolvePlain(arg, options, reporter);
  if (!isEncryptedName(arg0.label)) return arg0;
  try {
    return await openEncrypted(arg0, arg === "latest" || arg === "box:latest", options, reporter);
  } catch (e) {
    await arg0.release();
    throw e;
  }
}

/** A `.zip.age` argument: decrypted with the identity, or (verify only) handed back as is. */
async function openEncrypted(
  target: SnapshotArg,
  latest: boolean,
  options: { encrypted?: EncryptedArgOptions },
  reporter: Reporter,
): Promise<SnapshotArg> {
  const identities = options.encrypted ? await options.encrypted.identity() : null;
  if (identities === null) {
    if (options.encrypted?.allowWithoutIdentity) {
      return { ...target, encrypted: { decrypted: false } };
    }
    throw new ConfigError(`Cannot read ${target.label}: it is encrypted (age)`, {
      hint:
        "pass --identity-file PATH (or set ASTRABAK_AGE_IDENTITY_FILE) with a key it was encrypted to",
    });
  }
  const fromBox = target.label.startsWith("box:");
  const plain = await decryptToTemp(target.path, identities, reporter, {
    label: target.label,
    ...(fromBox ? { name: target.label.slice("box:".length), locked: true } : {}),
    latest,
    ...(options.encrypted?.signal ? { signal: options.encrypted.signal } : {}),
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

/** Resolves `arg` to a local path (downloading from Box when it names Box). */
async function resolvePlain(
  arg: string,
  options: {
    from: string;
    box: () => BoxConfig | null;
    boxFlag: boolean;
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
