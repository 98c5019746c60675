/**
 * @module
 * The two things commands do with Box: put a finished zip there, and bring one back to a local
 * temporary file for verify or restore.
 */

import type { BoxConfig } from "../config/resolve.ts";
import type { Reporter } from "../reporter.ts";
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
 * private temporary file in `dir`, SHA-1 checked. The caller removes `path` when done.
 */
export async function fetchFromBox(
  config: BoxConfig,
  which: string,
  dir: string,
  reporter: Reporter,
): Promise<{ path: string; remote: RemoteSnapshot }> {
  const session = await connectBox(config, reporter);
  const remote = await findRemoteSnapshot(session, which);
  reporter.info(`Downloading ${remote.name} (Box file ${remote.fileId}) into ${dir}`);
  const path = await downloadSnapshot(session, remote, dir);
  return { path, remote };
}
