/**
 * @module
 * The two things commands do with Box: put a finished zip there, and bring one back to a local
 * temporary file for verify or restore.
 */

import type { BoxConfig } from "../config/resolve.ts";
import { VerificationError } from "../errors.ts";
import type { Reporter } from "../reporter.ts";
import { lockOutDir } from "../snapshot/lock.ts";
import { openSnapshot, readerNameProblems, readManifest } from "../snapshot/reader.ts";
import { checkLatest } from "../snapshot/select.ts";
import { downloadSnapshot, findRemoteSnapshot, type RemoteSnapshot } from "./remote.ts";
import { type BoxSession, openBox } from "./session.ts";
import { type UploadResult, uploadZip } from "./upload.ts";

/** Opens a session whose retries are logged through `reporter`. */
export function connectBox(config: BoxConfig, reporter: Reporter): Promise<BoxSession> {
  return openBox(config, {
    maxAttempts: config.retries + 1,
    onRetry: ({ status, url, attempt, delaySeconds }) =>
      reporter.warn(
        `Box ${status === 0 ? "network error" : `HTTP ${status}`} on ${url}; retrying in ${
          delaySeconds.toFixed(1)
        } s (attempt ${attempt + 1})`,
      ),
  });
}

/** Uploads a verified zip; see {@link uploadZip}. */
export async function uploadSnapshotZip(
  config: BoxConfig,
  zipPath: string,
  reporter: Reporter,
  signal?: AbortSignal,
): Promise<UploadResult> {
  const session = await connectBox(config, reporter);
  reporter.info(`Uploading ${zipPath} to Box folder ${config.folderId}`);
  const r = await uploadZip(session, zipPath, reporter, { signal });
  reporter.info(
    r.method === "already-present"
      ? `Box already holds ${r.name} with the same SHA-1 (file ${r.fileId}); nothing sent`
      : `Uploaded ${r.name} to Box (file ${r.fileId}${
        r.newVersion ? ", new version" : ""
      }, SHA-1 ${r.sha1} matches)`,
  );
  return r;
}

/**
 * Downloads the snapshot `which` (`latest`, a file id, a name or a timestamp) from Box into a
 * private temporary file in `dir`, SHA-1 checked, under `dir`'s lock (the one lock rule: a
 * concurrent `backup --clean-stale` cannot remove it, and `dir` may not be a snapshot). The zip
 * must carry the name Box lists it under (the naming rule), and `latest` must not be empty.
 * `release` removes the file and frees the lock; the caller calls it when done.
 */
export async function fetchFromBox(
  config: BoxConfig,
  which: string,
  dir: string,
  reporter: Reporter,
): Promise<{ path: string; remote: RemoteSnapshot; release: () => Promise<void> }> {
  const lock = await lockOutDir(dir, { holder: "download", flag: "--from" });
  let path: string | null = null;
  const release = async () => {
    if (path !== null) await Deno.remove(path).catch(() => {});
    lock.release();
  };
  try {
    const session = await connectBox(config, reporter);
    const remote = await findRemoteSnapshot(session, which);
    reporter.info(`Downloading ${remote.name} (Box file ${remote.fileId}) into ${dir}`);
    path = await downloadSnapshot(session, remote, dir);
    await checkDownload(path, remote, which === "latest");
    return { path, remote, release };
  } catch (e) {
    await release();
    throw e;
  }
}

/** Holds a download to the naming rule under its Box name, and `latest` to being non-empty. */
async function checkDownload(path: string, remote: RemoteSnapshot, latest: boolean) {
  let reader;
  try {
    reader = await openSnapshot(path);
  } catch {
    return; // verify reports an unreadable zip, with the reason
  }
  try {
    const manifest = await readManifest(reader).catch(() => null);
    if (manifest === null) return;
    const label = `box:${remote.name}`;
    if (latest) {
      return await checkLatest(reader, manifest, label, null, remote.name);
    }
    const misnamed = readerNameProblems(reader, manifest, remote.name);
    if (misnamed.length > 0) {
      throw new VerificationError(`Refusing ${label}: ${misnamed.join("; ")}`);
    }
  } finally {
    await reader.close();
  }
}
