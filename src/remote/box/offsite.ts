/**
 * @module
 * A Box session for astrabak (retries logged through the reporter), and the upload of one zip
 * with the log lines that say what Box confirmed.
 */

import type { BoxConfig } from "../../config/resolve.ts";
import type { Reporter } from "../../reporter.ts";
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
