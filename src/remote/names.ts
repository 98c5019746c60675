/**
 * @module
 * How remotes and remote snapshots are named on the command line, one rule for every command:
 * a remote is `box:FOLDER_ID` or `s3://BUCKET/PREFIX`; a snapshot in one is `REMOTE:latest` or
 * `REMOTE:<name|timestamp>` (the older `box:<latest|file id|name>` still means the folder of
 * `--box-folder`/BOX_FOLDER_ID). What counts as a snapshot archive in a remote comes from the
 * naming rule of src/snapshot/layout.ts, so a new archive kind there is listed here too.
 */

import { ConfigError } from "../errors.ts";
import { parseSnapshotName } from "../snapshot/layout.ts";

/** A parsed remote name. */
export type RemoteSpec =
  | { readonly kind: "box"; readonly folderId: string; readonly label: string }
  | {
    readonly kind: "s3";
    readonly bucket: string;
    /** Key prefix without leading or trailing slash; "" for the bucket's root. */
    readonly prefix: string;
    readonly label: string;
  };

/** S3 bucket names: 3-63 lowercase letters, digits, dots and hyphens (the AWS rule, also R2's). */
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** Parses `box:FOLDER_ID` or `s3://BUCKET[/PREFIX]`; a ConfigError names the flag and the forms. */
export function parseRemote(raw: string, flag = "--to"): RemoteSpec {
  const value = raw.trim();
  if (value.startsWith("box:")) {
    const folderId = value.slice(4);
    if (!/^\d+$/.test(folderId)) {
      throw new ConfigError(
        `Cannot use ${flag} "${value}": a Box folder id is a number (box:123456; 0 is the root)`,
      );
    }
    return { kind: "box", folderId, label: `box:${folderId}` };
  }
  if (value.startsWith("s3://")) {
    const rest = value.slice(5);
    const slash = rest.indexOf("/");
    const bucket = slash < 0 ? rest : rest.slice(0, slash);
    const prefix = slash < 0 ? "" : rest.slice(slash + 1).replace(/^\/+|\/+$/g, "");
    if (!BUCKET.test(bucket)) {
      throw new ConfigError(
        `Cannot use ${flag} "${value}": "${bucket}" is not an S3 bucket name (3-63 lowercase letters, digits, dots, hyphens)`,
      );
    }
    const control = [...prefix].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f);
    if (control || /\\|(^|\/)\.\.?(\/|$)/.test(prefix)) {
      throw new ConfigError(
        `Cannot use ${flag} "${value}": the prefix holds a control character, a backslash, or a . or .. segment`,
      );
    }
    return { kind: "s3", bucket, prefix, label: `s3://${bucket}${prefix ? `/${prefix}` : ""}` };
  }
  throw new ConfigError(
    `Cannot use ${flag} "${value}": a remote is box:FOLDER_ID or s3://BUCKET/PREFIX`,
  );
}

/**
 * A SNAPSHOT argument that names a remote snapshot, split into the remote (or null: the Box folder
 * of `--box-folder`/BOX_FOLDER_ID, for the older `box:<which>`) and which snapshot (`latest`, a
 * name, a timestamp, a Box file id). Null when `arg` is not a remote form (a local path, `latest`).
 */
export function parseRemoteSnapshotArg(
  arg: string,
): { remote: RemoteSpec | null; which: string } | null {
  if (arg.startsWith("s3://")) {
    const at = arg.lastIndexOf(":");
    if (at <= 4) {
      throw new ConfigError(`Cannot read ${arg}: say which snapshot, e.g. ${arg}:latest`, {
        hint: "add :latest or :<name|timestamp> (astrabak list --from-remote REMOTE shows them)",
      });
    }
    return { remote: parseRemote(arg.slice(0, at), "SNAPSHOT"), which: whichOf(arg.slice(at + 1)) };
  }
  if (arg.startsWith("box:")) {
    const rest = arg.slice(4);
    const at = rest.indexOf(":");
    if (at < 0) return { remote: null, which: whichOf(rest) };
    return {
      remote: parseRemote(`box:${rest.slice(0, at)}`, "SNAPSHOT"),
      which: whichOf(rest.slice(at + 1)),
    };
  }
  return null;
}

function whichOf(which: string): string {
  if (which === "") {
    throw new ConfigError("Cannot read a remote snapshot without a name", {
      hint: "add :latest or :<name|timestamp>",
    });
  }
  return which;
}

/**
 * Whether a file name in a remote is a snapshot archive: a snapshot name whose kind is an archive
 * (not a directory kind). Written against the directory kinds so that any archive kind
 * parseSnapshotName learns (an encrypted `.zip.age`) is listed, pruned and fetched too.
 */
export function archiveName(name: string): { timestamp: string } | null {
  const p = parseSnapshotName(name);
  if (!p || p.kind === "complete" || p.kind === "incomplete" || p.kind === "inprogress") {
    return null;
  }
  return { timestamp: p.timestamp };
}

/**
 * The local files one upload sends for a snapshot archive, archive first. Today the archive alone.
 * Hook for encryption (issue 15): a `.zip.age` travels with its sidecar file; return
 * `[archive, sidecar]` here and every remote uploads (and proves) both.
 */
export function filesToUpload(archivePath: string): string[] {
  return [archivePath];
}
