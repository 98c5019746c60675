/**
 * @module
 * Uploads a snapshot zip to a Box folder: a simple multipart upload under 20 MB, a chunked upload
 * session above (parts as Box sizes them, each with its SHA-1 `Digest`, a few in flight, the
 * whole-file digest on commit). A name that already exists becomes a new version of that file
 * (or nothing at all when Box already holds the same bytes). The upload only counts when the
 * SHA-1 Box reports for the stored file equals the local one.
 */

import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { basename } from "node:path";
import { Buffer } from "node:buffer";
import { Readable } from "node:stream";
import { UploadError } from "../../errors.ts";
import type { Reporter } from "../../reporter.ts";
import { hashFile } from "../../streams/digest_stream.ts";
import { sleep } from "../../source/retry.ts";
import { type BoxSession, describeBoxError } from "./session.ts";

/** Box's threshold: chunked upload sessions need at least 20 MB; simple uploads are fine below. */
export const CHUNKED_THRESHOLD_BYTES = 20_000_000;

/** What an upload did. */
export interface UploadResult {
  fileId: string;
  name: string;
  sha1: string;
  sizeBytes: number;
  /** simple or chunked upload, or nothing sent because Box already had these bytes. */
  method: "simple" | "chunked" | "already-present";
  /** The file existed under this name and got a new version. */
  newVersion: boolean;
}

/** Chunked-upload parts in flight (3, as Box's guide suggests). */
const PART_CONCURRENCY = 3;

/** Options of {@linkcode uploadZip}. */
export interface UploadOptions {
  signal?: AbortSignal | undefined;
}

interface Conflict {
  id: string;
  sha1: string | undefined;
}

/** Uploads `zipPath` into the session's folder. Every failure is an UploadError (exit 3). */
export async function uploadZip(
  session: BoxSession,
  zipPath: string,
  reporter: Reporter,
  options: UploadOptions = {},
): Promise<UploadResult> {
  const name = basename(zipPath);
  const size = (await Deno.stat(zipPath)).size;
  const sha1 = (await hashFile(zipPath, { algorithm: "sha1" })).hex;
  try {
    const result = size < CHUNKED_THRESHOLD_BYTES
      ? await simpleUpload(session, zipPath, name, size, sha1)
      : await chunkedUpload(session, zipPath, name, size, sha1, reporter, options);
    if (result.sha1 !== sha1 || result.sizeBytes !== size) {
      throw new UploadError(
        `Box stored ${name} with SHA-1 ${result.sha1} and ${result.sizeBytes} bytes, but the local zip has ${sha1} and ${size} bytes`,
      );
    }
    return result;
  } catch (e) {
    if (e instanceof UploadError) throw e;
    const d = describeBoxError(e);
    throw new UploadError(
      `Upload of ${name} to Box folder ${session.config.folderId} failed: ${d.message}`,
      { cause: e, hint: d.hint },
    );
  }
}

async function simpleUpload(
  session: BoxSession,
  path: string,
  name: string,
  size: number,
  sha1: string,
): Promise<UploadResult> {
  const { client, config } = session;
  let conflict: Conflict | null = null;
  try {
    await client.uploads.preflightFileUploadCheck({ name, size, parent: { id: config.folderId } });
  } catch (e) {
    conflict = conflictOf(e);
    if (!conflict) throw e;
  }
  if (conflict?.sha1 === sha1) return await alreadyPresent(session, conflict.id, name);
  const newVersion = (fileId: string) =>
    client.uploads.uploadFileVersion(fileId, {
      attributes: { name },
      file: createReadStream(path),
      fileFileName: name,
      fileContentType: "application/zip",
    });
  let files;
  if (conflict) {
    files = await newVersion(conflict.id);
  } else {
    try {
      files = await client.uploads.uploadFile({
        attributes: { name, parent: { id: config.folderId } },
        file: createReadStream(path),
        fileFileName: name,
        fileContentType: "application/zip",
      });
    } catch (e) {
      // Someone created the name between the preflight and the upload.
      const late = conflictOf(e);
      if (!late) throw e;
      if (late.sha1 === sha1) return await alreadyPresent(session, late.id, name);
      conflict = late;
      files = await newVersion(late.id);
    }
  }
  const f = files.entries?.[0];
  if (!f) throw new UploadError(`Box answered the upload of ${name} without the file`);
  return stored(f, name, "simple", conflict !== null);
}

/** What Box says it stored (its SHA-1 and size are compared with the local zip by the caller). */
function stored(
  f: { id: string; sha1?: string; size?: number },
  name: string,
  method: UploadResult["method"],
  newVersion: boolean,
): UploadResult {
  return { fileId: f.id, name, sha1: f.sha1 ?? "", sizeBytes: f.size ?? -1, method, newVersion };
}
async function chunkedUpload(
  session: BoxSession,
  path: string,
  name: string,
  size: number,
  sha1: string,
  reporter: Reporter,
  options: UploadOptions,
): Promise<UploadResult> {
  const { client, config } = session;
  let conflict: Conflict | null = null;
  let upload;
  try {
    upload = await client.chunkedUploads.createFileUploadSession({
      folderId: config.folderId,
      fileSize: size,
      fileName: name,
    });
  } catch (e) {
    conflict = conflictOf(e);
    if (!conflict) throw e;
    if (conflict.sha1 === sha1) return await alreadyPresent(session, conflict.id, name);
    upload = await client.chunkedUploads.createFileUploadSessionForExistingFile(conflict.id, {
      fileSize: size,
    });
  }
  const endpoints = upload.sessionEndpoints;
  const partSize = upload.partSize;
  if (!endpoints?.uploadPart || !endpoints.commit || !partSize) {
    throw new UploadError(
      `Box returned an upload session for ${name} without part size or endpoints`,
    );
  }
  reporter.info(`Uploading ${name} in ${Math.ceil(size / partSize)} parts of ${partSize} bytes`);
  const parts: Array<{ partId: string; offset: number; size: number; sha1: string }> = [];
  const file = await Deno.open(path, { read: true });
  try {
    const inflight = new Set<Promise<void>>();
    let failure: { e: unknown } | null = null;
    for (let offset = 0; offset < size && !failure; offset += partSize) {
      options.signal?.throwIfAborted();
      const length = Math.min(partSize, size - offset);
      const bytes = await readExactly(file, length);
      const partSha1 = createHash("sha1").update(bytes);
      const hex = partSha1.copy().digest("hex");
      const digest = `sha=${partSha1.digest("base64")}`;
      const contentRange = `bytes ${offset}-${offset + length - 1}/${size}`;
      const at = offset;
      const p: Promise<void> = client.chunkedUploads.uploadFilePartByUrl(
        endpoints.uploadPart,
        Readable.from(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)),
        { digest, contentRange },
      ).then((r) => {
        const part = r.part;
        if (!part?.partId || part.offset !== at || part.size !== length || part.sha1 !== hex) {
          throw new UploadError(
            `Box acknowledged part at ${at} of ${name} with different offset, size or SHA-1`,
          );
        }
        parts.push({ partId: part.partId, offset: at, size: length, sha1: hex });
      }).catch((e) => {
        failure ??= { e };
      }).finally(() => inflight.delete(p));
      inflight.add(p);
      while (inflight.size >= PART_CONCURRENCY) await Promise.race(inflight);
    }
    await Promise.all(inflight);
    if (failure) throw (failure as { e: unknown }).e;
    parts.sort((a, b) => a.offset - b.offset);
    const digest = `sha=${Buffer.from(sha1, "hex").toString("base64")}`;
    // Box answers 202 while it still assembles the parts; the retry policy waits and commits
    // again on Retry-After, and this loop covers a 202 that came without one.
    for (let attempt = 1;; attempt++) {
      const files = await client.chunkedUploads.createFileUploadSessionCommitByUrl(
        endpoints.commit,
        { parts },
        { digest },
      );
      const f = files?.entries?.[0];
      if (f) return stored(f, name, "chunked", conflict !== null);
      if (attempt >= 10) {
        throw new UploadError(`Box kept answering "processing" to the commit of ${name}`);
      }
      await sleep(2000, options.signal);
    }
  } catch (e) {
    if (endpoints.abort) {
      await client.chunkedUploads.deleteFileUploadSessionByUrl(endpoints.abort).catch(() => {});
    }
    throw e;
  } finally {
    file.close();
  }
}

async function alreadyPresent(
  session: BoxSession,
  fileId: string,
  name: string,
): Promise<UploadResult> {
  const f = await session.client.files.getFileById(fileId, {
    queryParams: { fields: ["sha1", "size", "name"] },
  });
  return {
    fileId,
    name,
    sha1: f.sha1 ?? "",
    sizeBytes: f.size ?? -1,
    method: "already-present",
    newVersion: false,
  };
}

/** The existing file of a 409 item_name_in_use, whose `conflicts` may be an object or an array. */
function conflictOf(e: unknown): Conflict | null {
  const info = (e as { responseInfo?: { statusCode?: number; body?: Record<string, unknown> } })
    ?.responseInfo;
  if (info?.statusCode !== 409 || info.body?.code !== "item_name_in_use") return null;
  const raw = (info.body.context_info as { conflicts?: unknown } | undefined)?.conflicts;
  const c = (Array.isArray(raw) ? raw[0] : raw) as { id?: unknown; sha1?: unknown } | undefined;
  if (typeof c?.id !== "string") return null;
  return { id: c.id, sha1: typeof c.sha1 === "string" ? c.sha1 : undefined };
}

async function readExactly(file: Deno.FsFile, length: number): Promise<Uint8Array> {
  const buf = new Uint8Array(length);
  let n = 0;
  while (n < length) {
    const r = await file.read(buf.subarray(n));
    if (r === null) throw new UploadError(`The zip shrank while it was being uploaded`);
    n += r;
  }
  return buf;
}
