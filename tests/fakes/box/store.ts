/**
 * @module
 * In-memory folders and files of the fake Box, with the rules Box applies to names: unique per
 * folder ignoring case (files and folders share the namespace), at most 255 characters, no `/`
 * or `\`, no non-printable ASCII, no trailing spaces, not `.` or `..`.
 */

import { createHash } from "node:crypto";

/** A stored folder. The root is id "0", named "All Files", without parent. */
export interface FakeFolder {
  id: string;
  name: string;
  parentId: string | null;
  /** Box etag / sequence_id: "0" at creation, bumped on every change (null for the root). */
  etag: string | null;
  createdAt: Date;
  modifiedAt: Date;
}

/** One past (or the current) version of a file. */
export interface FakeFileVersion {
  id: string;
  sha1: string;
  size: number;
  content: Uint8Array;
  createdAt: Date;
}

/** A stored file: the current version plus the history. */
export interface FakeFile {
  id: string;
  name: string;
  parentId: string;
  /** Hex SHA-1 of `content`. */
  sha1: string;
  size: number;
  content: Uint8Array;
  /** Number of versions (1 after the first upload). */
  versions: number;
  /** file_version.id of the current version. */
  versionId: string;
  /** Box etag / sequence_id: "0" at creation, bumped by new versions and renames. */
  etag: string;
  createdAt: Date;
  modifiedAt: Date;
  contentCreatedAt: Date;
  contentModifiedAt: Date;
  /** Every version, oldest first; the last one is the current version. */
  history: FakeFileVersion[];
}

/** Why a name is not acceptable to Box, or undefined if it is. */
export function nameProblem(
  name: unknown,
): "item_name_invalid" | "item_name_too_long" | undefined {
  if (typeof name !== "string" || name === "" || name === "." || name === "..") {
    return "item_name_invalid";
  }
  if (name.length > 255) return "item_name_too_long";
  // deno-lint-ignore no-control-regex
  if (/[/\\\u0000-\u001f\u007f]/.test(name) || name.endsWith(" ")) return "item_name_invalid";
  return undefined;
}

/** Hex SHA-1. */
export function sha1Hex(bytes: Uint8Array): string {
  return createHash("sha1").update(bytes).digest("hex");
}

/** Base64 SHA-1 (the form used in `Digest: sha=...`). */
export function sha1Base64(bytes: Uint8Array): string {
  return createHash("sha1").update(bytes).digest("base64");
}

/** Folders and files, with Box-style numeric string ids. */
export class BoxStore {
  readonly folders = new Map<string, FakeFolder>();
  readonly files = new Map<string, FakeFile>();
  /** Files moved to the trash by DELETE /files/{id}, with when (Box purges them later). */
  readonly trash = new Map<string, { file: FakeFile; trashedAt: Date }>();
  #nextId = 1001;
  #nextVersionId = 50001;

  constructor() {
    const now = new Date();
    this.folders.set("0", {
      id: "0",
      name: "All Files",
      parentId: null,
      etag: null,
      createdAt: now,
      modifiedAt: now,
    });
  }

  newId(): string {
    return String(this.#nextId++);
  }

  newVersionId(): string {
    return String(this.#nextVersionId++);
  }

  /** The file or folder in `folderId` whose name equals `name` ignoring case. */
  childByName(
    folderId: string,
    name: string,
  ): { type: "file"; item: FakeFile } | { type: "folder"; item: FakeFolder } | undefined {
    const key = name.toLowerCase();
    for (const f of this.files.values()) {
      if (f.parentId === folderId && f.name.toLowerCase() === key) return { type: "file", item: f };
    }
    for (const f of this.folders.values()) {
      if (f.parentId === folderId && f.name.toLowerCase() === key) {
        return { type: "folder", item: f };
      }
    }
    return undefined;
  }

  /** Folders then files of a folder, each sorted by name (case-insensitive), then id. */
  children(folderId: string): Array<
    { type: "file"; item: FakeFile } | {
      type: "folder";
      item: FakeFolder;
    }
  > {
    const byName = (a: { name: string; id: string }, b: { name: string; id: string }) => {
      const x = a.name.toLowerCase();
      const y = b.name.toLowerCase();
      return x < y ? -1 : x > y ? 1 : Number(a.id) - Number(b.id);
    };
    const folders = [...this.folders.values()].filter((f) => f.parentId === folderId).sort(byName);
    const files = [...this.files.values()].filter((f) => f.parentId === folderId).sort(byName);
    return [
      ...folders.map((item) => ({ type: "folder" as const, item })),
      ...files.map((item) => ({ type: "file" as const, item })),
    ];
  }

  /** Ancestors of a folder from the root down to (and including) the folder itself. */
  pathTo(folderId: string): FakeFolder[] {
    const path: FakeFolder[] = [];
    let cur = this.folders.get(folderId);
    while (cur) {
      path.unshift(cur);
      cur = cur.parentId === null ? undefined : this.folders.get(cur.parentId);
    }
    return path;
  }

  /** Creates a folder (the caller has checked the name and the parent). */
  addFolder(name: string, parentId: string): FakeFolder {
    const now = new Date();
    const folder: FakeFolder = {
      id: this.newId(),
      name,
      parentId,
      etag: "0",
      createdAt: now,
      modifiedAt: now,
    };
    this.folders.set(folder.id, folder);
    return folder;
  }

  #newVersion(content: Uint8Array, createdAt: Date): FakeFileVersion {
    return {
      id: this.newVersionId(),
      sha1: sha1Hex(content),
      size: content.length,
      content,
      createdAt,
    };
  }

  /** Creates a file with its first version (the caller has checked the name and the parent). */
  addFile(
    parentId: string,
    name: string,
    content: Uint8Array,
    contentModifiedAt?: Date,
    contentCreatedAt?: Date,
  ): FakeFile {
    const now = new Date();
    const version = this.#newVersion(content, now);
    const file: FakeFile = {
      id: this.newId(),
      name,
      parentId,
      sha1: version.sha1,
      size: version.size,
      content,
      versions: 1,
      versionId: version.id,
      etag: "0",
      createdAt: now,
      modifiedAt: now,
      contentCreatedAt: contentCreatedAt ?? contentModifiedAt ?? now,
      contentModifiedAt: contentModifiedAt ?? now,
      history: [version],
    };
    this.files.set(file.id, file);
    return file;
  }

  /** Adds a new version to a file (optionally renaming it). */
  addVersion(
    file: FakeFile,
    content: Uint8Array,
    newName?: string,
    contentModifiedAt?: Date,
  ): FakeFile {
    const now = new Date();
    const version = this.#newVersion(content, now);
    file.history.push(version);
    file.versions++;
    file.versionId = version.id;
    file.sha1 = version.sha1;
    file.size = version.size;
    file.content = content;
    file.etag = String(Number(file.etag) + 1);
    file.modifiedAt = now;
    file.contentModifiedAt = contentModifiedAt ?? now;
    if (newName !== undefined) file.name = newName;
    return file;
  }

  /** Moves a file to the trash: it leaves its folder (freeing its name) but can still be read there. */
  trashFile(file: FakeFile): void {
    this.files.delete(file.id);
    this.trash.set(file.id, { file, trashedAt: new Date() });
  }
}
