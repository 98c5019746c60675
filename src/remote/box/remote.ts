/**
 * @module
 * Reading snapshots back from Box: list the zips in a folder (only names that are snapshot
 * names), and download one to a private temporary file, proven by the SHA-1 Box reports.
 */

import { join } from "node:path";
import { ConfigError, ioReason, VerificationError } from "../../errors.ts";
import { archiveName, sidecarOfName } from "../names.ts";
import { DigestStream } from "../../streams/digest_stream.ts";
import { fileSink } from "../../streams/file_sink.ts";
import { type BoxSession, describeBoxError } from "./session.ts";
import { SourceError } from "../../errors.ts";

/** A snapshot zip stored in Box. */
export interface RemoteSnapshot {
  fileId: string;
  name: string;
  /** `<ts>` from the name. */
  timestamp: string;
  sizeBytes: number | null;
  sha1: string | null;
}

/**
 * Lists the snapshot archives in the folder and the sidecars of encrypted ones (marker paging,
 * 1000 per page); every other name is left out.
 */
export async function listRemoteSnapshots(session: BoxSession): Promise<RemoteSnapshot[]> {
  const out: RemoteSnapshot[] = [];
  let marker: string | undefined;
  try {
    do {
      const page = await session.client.folders.getFolderItems(session.config.folderId, {
        queryParams: {
          fields: ["name", "size", "sha1"],
          usemarker: true,
          limit: 1000,
          ...(marker ? { marker } : {}),
        },
      });
      for (const e of page.entries ?? []) {
        const item = e as {
          type?: string;
          id: string;
          name?: string;
          size?: number;
          sha1?: string;
        };
        if (item.type !== "file" || !item.name) continue;
        const sidecarOf = sidecarOfName(item.name);
        const parsed = archiveName(sidecarOf ?? item.name);
        if (!parsed) continue;
        out.push({
          fileId: item.id,
          name: item.name,
          timestamp: parsed.timestamp,
          sizeBytes: item.size ?? null,
          sha1: item.sha1 ?? null,
        });
      }
      marker = page.nextMarker ?? undefined;
    } while (marker);
  } catch (e) {
    throw boxReadError(`list Box folder ${session.config.folderId}`, e);
  }
  return out; // groupListing (names.ts) orders them, one rule for every backend
}

/**
 * Downloads a snapshot zip into `dir` as a hidden temporary file (0600), streaming, and checks its
 * SHA-1 against Box's. Returns the path; the caller removes it. A mismatch removes the file and
 * throws VerificationError.
 */
export async function downloadSnapshot(
  session: BoxSession,
  snap: RemoteSnapshot,
  dir: string,
  options: { idleTimeoutMs?: number } = {},
): Promise<string> {
  const path = join(dir, `.${snap.name}.${crypto.randomUUID().slice(0, 8)}.download`);
  let expected = snap.sha1;
  let url: string;
  try {
    if (!expected) {
      const info = await session.client.files.getFileById(snap.fileId, {
        queryParams: { fields: ["sha1"] },
      });
      expected = info.sha1 ?? null;
    }
    // The SDK resolves the short-lived download URL; the body is fetched with Deno's own fetch,
    // because the SDK's stream stalls for ever when the connection is cut mid-body.
    url = await session.client.downloads.getDownloadFileUrl(snap.fileId);
  } catch (e) {
    throw boxReadError(`download ${snap.name}`, e);
  }
  let file: Deno.FsFile;
  try {
    await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
    file = await Deno.open(path, { write: true, createNew: true, mode: 0o600 });
  } catch (e) {
    throw new ConfigError(
      `Cannot download into ${dir}: ${ioReason(e)}`,
      {
        hint: "pass --from DIR with a writable directory",
      },
    );
  }
  const digest = new DigestStream({ algorithm: "sha1" });
  try {
    const body = await fetchBody(url, options.idleTimeoutMs ?? 60_000);
    await body.pipeThrough(digest).pipeTo(fileSink(file));
  } catch (e) {
    await Deno.remove(path).catch(() => {});
    throw boxReadError(`download ${snap.name}`, e);
  }
  const got = (await digest.result).hex;
  if (!expected || got !== expected) {
    await Deno.remove(path).catch(() => {});
    throw new VerificationError(
      `The download of ${snap.name} has SHA-1 ${got}, but Box reports ${
        expected ?? "none"
      }: refusing it`,
      { hint: "try again; if it persists, the copy in Box is damaged" },
    );
  }
  return path;
}

/**
 * GETs a (pre-signed) download URL and returns its body, failing when the server answers
 * anything but 200 or when no byte arrives for `idleMs` (a stalled transfer).
 */
async function fetchBody(url: string, idleMs: number): Promise<ReadableStream<Uint8Array>> {
  const controller = new AbortController();
  let timer = setTimeout(() => controller.abort(new Error(`no data for ${idleMs} ms`)), idleMs);
  const res = await fetch(url, { signal: controller.signal, redirect: "follow" });
  if (res.status !== 200 || !res.body) {
    clearTimeout(timer);
    await res.body?.cancel();
    throw new Error(`download answered HTTP ${res.status}`);
  }
  return res.body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, c) {
        clearTimeout(timer);
        timer = setTimeout(() => controller.abort(new Error(`no data for ${idleMs} ms`)), idleMs);
        c.enqueue(chunk);
      },
      flush() {
        clearTimeout(timer);
      },
    }),
  );
}

/** A failed Box read: a connection-class error (exit 1), nothing was written locally. */
function boxReadError(what: string, e: unknown): SourceError {
  const d = describeBoxError(e);
  return new SourceError(`Cannot ${what}: ${d.message}`, {
    kind: d.status === 401 ? "auth" : d.status === undefined ? "connection" : "http",
    command: "box",
    status: d.status,
    retriable: false,
    cause: e,
    hint: d.hint,
  });
}

/**
 * Deletes a snapshot zip from Box. Box moves a deleted file to the folder owner's trash (purged
 * after the enterprise's retention, 30 days by default) unless the enterprise purges at once, so a
 * prune mistake can still be undone from the Box web app. A 404 means it is already gone.
 */
export async function trashRemoteSnapshot(
  session: BoxSession,
  snap: Pick<RemoteSnapshot, "fileId" | "name">,
): Promise<"trashed" | "already-gone"> {
  try {
    await session.client.files.deleteFileById(snap.fileId);
    return "trashed";
  } catch (e) {
    const d = describeBoxError(e);
    if (d.status === 404) return "already-gone";
    throw new Error(`Cannot delete ${snap.name} (Box file ${snap.fileId}): ${d.message}`, {
      cause: e,
    });
  }
}
