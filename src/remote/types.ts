/**
 * @module
 * The one interface every off-host store implements (Box, S3-compatible; a third backend is one
 * more file beside them). Commands never see a backend: they name a remote (`box:ID`,
 * `s3://BUCKET/PREFIX`) and call src/remote/mod.ts, which opens the backend lazily.
 */

import type { Reporter } from "../reporter.ts";

/** A snapshot archive stored in a remote. */
export interface RemoteSnapshot {
  /** The backend's handle: a Box file id, an S3 key. */
  id: string;
  /** The file name (`<ts>.zip`), the part of the key after the prefix. */
  name: string;
  /** `<ts>` from the name. */
  timestamp: string;
  sizeBytes: number | null;
  /**
   * The sidecar `<ts>.zip.age.sha256` of an encrypted archive, when the remote holds one: it is
   * downloaded and removed with its archive (a file like any other for `download`/`remove`).
   */
  sidecar?: RemoteSnapshot;
}

/**
 * What one proven upload did. `proof` says in words what confirmed the stored bytes equal the
 * local ones (a store-reported SHA-1 or SHA-256, an MD5 ETag, a re-read), so a report never claims
 * more than what was checked.
 */
export interface RemoteUploadResult {
  /** The remote, as named on the command line (`box:123`, `s3://bucket/nightly`). */
  remote: string;
  name: string;
  sizeBytes: number;
  /** simple / chunked (Box), single / multipart (S3), or nothing sent: the same bytes were there. */
  method: "simple" | "chunked" | "single" | "multipart" | "already-present";
  /** How the stored copy was proven, e.g. `x-amz-checksum-sha256 matches`. */
  proof: string;
  /** Where it is: `box:<file id>`, `s3://bucket/key`. */
  location: string;
  /** The object version a versioned bucket gave it (an older one of the same name is kept). */
  versionId?: string;
}

/** A connected off-host store. */
export interface Remote {
  /** `box:<folder id>` or `s3://bucket/prefix`, for messages and reports. */
  readonly label: string;
  /** `box`, `s3`: the report's `where`. */
  readonly kind: string;
  /**
   * The snapshot archives it holds, oldest name first, sorted out by groupListing
   * (src/remote/names.ts): only archive names are listed, a `.zip.age` with its sidecar
   * attached; anything else there is never touched.
   */
  list(): Promise<RemoteSnapshot[]>;
  /** Uploads one local file under its own name and proves it; an UploadError (exit 3) if not. */
  upload(localPath: string, reporter: Reporter, signal?: AbortSignal): Promise<RemoteUploadResult>;
  /**
   * Downloads `snap` into a private (0600) hidden temporary file in `dir`, checked against the
   * store's checksum; returns its path (the caller removes it). A mismatch is a VerificationError.
   */
  download(snap: RemoteSnapshot, dir: string, reporter: Reporter): Promise<string>;
  /** Removes `snap` (Box: into its trash); `already-gone` when it was not there. */
  remove(snap: RemoteSnapshot): Promise<"removed" | "already-gone">;
  /** How reports name one of its snapshots: `box:<name>`, `s3://bucket/prefix/<name>`. */
  snapshotLabel(snap: RemoteSnapshot): string;
  /** The log line of a removal: what happened to it, and where it can still be recovered. */
  removalMessage(snap: RemoteSnapshot, result: "removed" | "already-gone"): string;
}

/** A `.zip.age` downloaded from a remote (temporary files under other names than its own). */
export interface DownloadedArchive {
  name: string;
  label: string;
  /** The downloaded sidecar; null when the remote holds none. */
  sidecar: string | null;
  /** The remote's label (`box:123`, `s3://bucket/prefix`). */
  remote: string;
}
