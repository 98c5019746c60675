/**
 * @module
 * Off-host copies, whatever the store: open a remote by its name (the backend module and its SDK
 * are imported only then), upload a verified archive to each of several remotes, find a snapshot
 * in one (`latest` by the name's timestamp, never the store's modified time) and bring it back to
 * a private temporary file under the download directory's lock. Commands call only this module.
 */

import type { BoxConfig } from "../config/resolve.ts";
import type { S3Settings } from "../config/remote.ts";
import { ConfigError, errorMessage, InterruptedError } from "../errors.ts";
import type { Reporter } from "../reporter.ts";
import { lockOutDir } from "../snapshot/lock.ts";
import { checkZipKnownAs } from "../snapshot/select.ts";
import { filesToUpload, isEncryptedArchive, type RemoteSpec } from "./names.ts";
import type { Remote, RemoteSnapshot, RemoteUploadResult } from "./types.ts";

export type { Remote, RemoteSnapshot, RemoteUploadResult } from "./types.ts";
export {
  isEncryptedArchive,
  parseRemote,
  parseRemoteSnapshotArg,
  type RemoteSpec,
} from "./names.ts";

/** How to configure each backend; resolved only when a remote of that kind is opened. */
export interface RemoteSettings {
  /** Box settings (credentials from the environment) for a folder. */
  box: (folderId: string) => BoxConfig;
  /** S3 settings (endpoint, encryption, credentials) for any bucket. */
  s3: () => S3Settings;
}

/** Opens a remote, importing its backend (and SDK) now. */
export async function openRemote(
  spec: RemoteSpec,
  settings: RemoteSettings,
  reporter: Reporter,
): Promise<Remote> {
  if (spec.kind === "box") {
    const { openBoxRemote } = await import("./box/mod.ts");
    return openBoxRemote(settings.box(spec.folderId), reporter);
  }
  const { openS3Remote } = await import("./s3.ts");
  return await openS3Remote(spec, settings.s3(), reporter);
}

/** One remote's outcome in an upload to several. */
export type UploadOutcome =
  | { ok: true; remote: string; results: RemoteUploadResult[] }
  | { ok: false; remote: string; error: string };

/**
 * Uploads the archive at `archivePath` (with any sidecar, see filesToUpload) to every remote in
 * turn. A remote that fails does not stop the others; each outcome is reported. An interruption
 * stops everything (InterruptedError): nothing unproven is reported as done.
 */
export async function uploadToRemotes(
  specs: readonly RemoteSpec[],
  settings: RemoteSettings,
  archivePath: string,
  reporter: Reporter,
  signal?: AbortSignal,
  /** What a failure log line adds about the local copy. */
  kept = `${archivePath} is kept`,
): Promise<UploadOutcome[]> {
  const outcomes: UploadOutcome[] = [];
  for (const spec of specs) {
    try {
      const remote = await openRemote(spec, settings, reporter);
      const results: RemoteUploadResult[] = [];
      for (const file of filesToUpload(archivePath)) {
        results.push(await remote.upload(file, reporter, signal));
      }
      outcomes.push({ ok: true, remote: spec.label, results });
    } catch (e) {
      if (signal?.aborted) {
        throw new InterruptedError(
          `Interrupted during the upload to ${spec.label}, which is not proven; ${kept}`,
          {
            cause: e,
            hint: `upload it again with: astrabak upload ${archivePath} --to ${spec.label}`,
          },
        );
      }
      const error = errorMessage(e);
      reporter.error(`Upload to ${spec.label} failed: ${error}; ${kept}`);
      outcomes.push({ ok: false, remote: spec.label, error });
    }
  }
  return outcomes;
}

/** The one line that reports an upload outcome (upload and backup). */
export function describeUploadOutcome(o: UploadOutcome): string {
  if (!o.ok) return `${o.remote}: upload FAILED: ${o.error}`;
  return o.results.map((r) => `${r.remote}: ${r.name} is ${r.location} (${r.method}; ${r.proof})`)
    .join("\n");
}

/**
 * Finds one snapshot in a remote: `latest` (the greatest timestamp in a name), or an id, a file
 * name or a timestamp.
 */
export async function findSnapshot(remote: Remote, which: string): Promise<RemoteSnapshot> {
  const all = await remote.list();
  const found = which === "latest"
    ? all.at(-1)
    : all.find((s) => s.id === which || s.name === which || s.timestamp === which);
  if (!found) {
    throw new ConfigError(
      which === "latest"
        ? `Cannot restore latest: ${remote.label} holds no snapshot archive`
        : `Cannot find "${which}" in ${remote.label} (found ${all.length} snapshot archives)`,
      { hint: `run astrabak list --from-remote ${remote.label} to see what is there` },
    );
  }
  return found;
}

/**
 * Downloads the snapshot `which` from `remote` into a private temporary file in `dir`, checked
 * against the store's checksum, under `dir`'s lock (the one lock rule: a concurrent
 * `backup --clean-stale` cannot remove it, and `dir` may not be a snapshot). The archive must
 * carry the name the remote lists it under (the naming rule), and `latest` must not be empty.
 * An encrypted archive (`<ts>.zip.age`) comes with its sidecar when the remote holds one
 * (`sidecar`, null otherwise); its naming and `latest` checks run once it is decrypted
 * (src/encrypt/decrypt.ts), since its zip cannot be opened before.
 * `release` removes the files and frees the lock; the caller calls it when done.
 */
export async function fetchRemoteSnapshot(
  remote: Remote,
  which: string,
  dir: string,
  reporter: Reporter,
): Promise<{
  path: string;
  label: string;
  name: string;
  sidecar: string | null;
  release: () => Promise<void>;
}> {
  const lock = await lockOutDir(dir, { holder: "download", flag: "--from" });
  const paths: string[] = [];
  const release = async () => {
    for (const p of paths) await Deno.remove(p).catch(() => {});
    lock.release();
  };
  try {
    const snap = await findSnapshot(remote, which);
    const label = remote.snapshotLabel(snap);
    reporter.info(`Downloading ${label} into ${dir}`);
    const path = await remote.download(snap, dir, reporter);
    paths.push(path);
    let sidecar: string | null = null;
    if (snap.sidecar) {
      sidecar = await remote.download(snap.sidecar, dir, reporter);
      paths.push(sidecar);
    }
    if (!isEncryptedArchive(snap.name)) {
      await checkZipKnownAs(path, snap.name, label, which === "latest", { remote: remote.label });
    }
    return { path, label, name: snap.name, sidecar, release };
  } catch (e) {
    await release();
    throw e;
  }
}

/**
 * Removes a snapshot from a remote, its sidecar after it (a sidecar left alone is never listed,
 * but would be clutter). The archive's result is what counts.
 */
export async function removeSnapshot(
  remote: Remote,
  snap: RemoteSnapshot,
): Promise<"removed" | "already-gone"> {
  const r = await remote.remove(snap);
  if (snap.sidecar) await remote.remove(snap.sidecar);
  return r;
}
