/**
 * @module
 * How remotes and remote snapshots are named on the command line, one rule for every command:
 * a remote is `box:FOLDER_ID` or `s3://BUCKET/PREFIX`; a snapshot in one is `REMOTE:latest` or
 * `REMOTE:<name|timestamp>` (the older `box:<latest|file id|name>` still means the folder of
 * `--box-folder`/BOX_FOLDER_ID). What counts as a snapshot archive in a remote comes from the
 * naming rule of src/snapshot/layout.ts, so a new archive kind there is listed here too.
 */

import { basename } from "node:path";
import { SIDECAR_SUFFIX, sidecarPath } from "../encrypt/sidecar.ts";
import { ConfigError } from "../errors.ts";
import { parseSnapshotName } from "../snapshot/layout.ts";
import type { RemoteSnapshot } from "./types.ts";

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
 * Whether a file name in a remote is the sidecar of an encrypted archive (`<ts>.zip.age.sha256`):
 * the name of that archive, or null. A sidecar is never listed as a snapshot of its own; it
 * travels with its archive (upload, download, prune).
 */
export function sidecarOfName(name: string): string | null {
  if (!name.endsWith(SIDECAR_SUFFIX)) return null;
  const archive = name.slice(0, -SIDECAR_SUFFIX.length);
  return parseSnapshotName(archive)?.kind === "zip.age" ? archive : null;
}

/** Whether a name is an encrypted archive (`<ts>.zip.age`), whose contents need an identity. */
export function isEncryptedArchive(name: string): boolean {
  return parseSnapshotName(name)?.kind === "zip.age";
}

/** One file as a remote lists it, before {@linkcode groupListing} sorts it out. */
export interface ListedFile {
  id: string;
  name: string;
  sizeBytes: number | null;
}

/**
 * The snapshot archives among the files a remote lists, oldest timestamp first, each `.zip.age`
 * with its sidecar attached when the remote holds one. Every other name (a sidecar without its
 * archive too) is left out, so it is never touched. One rule for every backend.
 */
export function groupListing(files: readonly ListedFile[]): RemoteSnapshot[] {
  const sidecars = new Map<string, ListedFile>();
  for (const f of files) {
    const of = sidecarOfName(f.name);
    if (of !== null) sidecars.set(of, f);
  }
  const out: RemoteSnapshot[] = [];
  for (const f of files) {
    const parsed = archiveName(f.name);
    if (!parsed) continue;
    const snap: RemoteSnapshot = { ...f, timestamp: parsed.timestamp };
    const sidecar = sidecars.get(f.name);
    if (sidecar) snap.sidecar = { ...sidecar, timestamp: parsed.timestamp };
    out.push(snap);
  }
  // Within a timestamp, the encrypted copy first: `latest` (the last) takes a plain zip of the
  // same snapshot, as it does locally (src/snapshot/select.ts).
  const rank = (s: RemoteSnapshot) => `${s.timestamp}/${isEncryptedArchive(s.name) ? 0 : 1}`;
  return out.sort((a, b) => (rank(a) < rank(b) ? -1 : rank(a) > rank(b) ? 1 : 0));
}

/**
 * The local files one upload sends for a snapshot archive, archive first: a `<ts>.zip.age`
 * travels with its sidecar `<ts>.zip.age.sha256` (so anyone can check the ciphertext in the
 * store without the key, and a download can be checked against it), and every remote uploads
 * and proves both.
 */
export function filesToUpload(archivePath: string): string[] {
  return isEncryptedArchive(basename(archivePath))
    ? [archivePath, sidecarPath(archivePath)]
    : [archivePath];
}

/** The Content-Type a store records for a file astrabak uploads. */
export function contentTypeOf(name: string): string {
  if (sidecarOfName(name) !== null) return "text/plain; charset=utf-8";
  if (isEncryptedArchive(name)) return "application/octet-stream";
  return "application/zip";
}
