/**
 * @module
 * Box as a {@linkcode Remote}: a folder holds `<ts>.zip` files (or `<ts>.zip.age` and its
 * sidecar); uploads are proven by the SHA-1 Box reports for the stored file, downloads by the
 * same SHA-1; removal moves a file to the folder owner's trash. Loaded (with box-node-sdk) only when a Box remote is used.
 */

import type { BoxConfig } from "../../config/resolve.ts";
import type { Reporter } from "../../reporter.ts";
import { groupListing } from "../names.ts";
import type { Remote, RemoteSnapshot, RemoteUploadResult } from "../types.ts";
import { connectBox, uploadSnapshotZip } from "./offsite.ts";
import {
  downloadSnapshot,
  listRemoteSnapshots,
  type RemoteSnapshot as BoxSnapshot,
  trashRemoteSnapshot,
} from "./remote.ts";
import type { BoxSession } from "./session.ts";
import type { UploadResult } from "./upload.ts";

/** What a Box upload reports: the common fields plus Box's own (file id, SHA-1, new version). */
export type BoxUploadResult = RemoteUploadResult & UploadResult;

/** Opens the Box remote for `config.folderId`. */
export function openBoxRemote(config: BoxConfig, reporter: Reporter): Remote {
  let session: Promise<BoxSession> | undefined;
  const connect = () => (session ??= connectBox(config, reporter));
  const known = new Map<string, BoxSnapshot>();
  const label = `box:${config.folderId}`;
  return {
    label,
    kind: "box",
    removalMessage: (snap, r) =>
      r === "removed"
        ? `Moved ${snap.name} (Box file ${snap.id}) to the Box trash`
        : `${snap.name} (Box file ${snap.id}) was already gone from Box`,
    snapshotLabel: (snap) => `box:${snap.name}`,
    async list(): Promise<RemoteSnapshot[]> {
      const all = await listRemoteSnapshots(await connect());
      for (const s of all) known.set(s.fileId, s);
      return groupListing(all.map((s) => ({ id: s.fileId, name: s.name, sizeBytes: s.sizeBytes })));
    },
    async upload(path, reporter, signal): Promise<BoxUploadResult> {
      const r = await uploadSnapshotZip(config, path, reporter, signal);
      return {
        ...r,
        remote: label,
        proof: r.method === "already-present"
          ? `Box already holds the same SHA-1 ${r.sha1}`
          : `SHA-1 ${r.sha1} reported by Box matches`,
        location: `box:${r.fileId}`,
      };
    },
    async download(snap, dir) {
      const box = known.get(snap.id) ??
        {
          fileId: snap.id,
          name: snap.name,
          timestamp: snap.timestamp,
          sizeBytes: null,
          sha1: null,
        };
      return await downloadSnapshot(await connect(), box, dir);
    },
    async remove(snap) {
      const r = await trashRemoteSnapshot(await connect(), { fileId: snap.id, name: snap.name });
      return r === "trashed" ? "removed" : "already-gone";
    },
  };
}
