/**
 * @module
 * One way to read a finished snapshot, whether it is a directory or a `.zip`: list its files and
 * stream any of them. Zip entries are read in place (random access, CRC-32 checked), never
 * extracted. Opening refuses anything unsafe before a single data byte is read: zip entries that
 * escape the snapshot root (`../`, absolute paths), symlinks, duplicate names, unfinished
 * (`.inprogress`) directories.
 */

import * as zip from "@zip.js/zip.js";
import { basename, join, resolve } from "node:path";
import { ConfigError, ioReason, VerificationError } from "../errors.ts";
import { INPROGRESS_SUFFIX, snapshotNameProblems } from "./layout.ts";
import {
  type Manifest,
  MANIFEST_FILE,
  MAX_MANIFEST_BYTES,
  parseManifest,
} from "../manifest/mod.ts";

zip.configure({ useWebWorkers: false });

/** A regular file at the root of a snapshot. */
export interface SnapshotFile {
  name: string;
  size: number;
}

/** A snapshot that is unsafe to read (path escape, symlink, ambiguous zip). */
export class UnsafeSnapshotError extends VerificationError {
  override readonly name: string = "UnsafeSnapshotError";
}

/** Read access to one snapshot. */
export interface SnapshotReader {
  /** The path given to {@linkcode openSnapshot}. */
  readonly path: string;
  readonly kind: "dir" | "zip";
  /** Name of the snapshot root: the directory name, or the zip's top-level folder. */
  readonly rootName: string;
  /** Regular files at the snapshot root, by name. */
  readonly files: ReadonlyMap<string, SnapshotFile>;
  /** Structural oddities that are not unsafe but are not expected either (e.g. subdirectories). */
  readonly oddities: readonly string[];
  /** Reads a whole (small) file, refusing more than `maxBytes`. */
  readBytes(name: string, maxBytes: number): Promise<Uint8Array>;
  /** Streams a file's bytes (for zips: the stored bytes, CRC-32 checked at the end). */
  open(name: string, signal?: AbortSignal): Promise<ReadableStream<Uint8Array>>;
  close(): Promise<void>;
}

/**
 * Reads and checks a snapshot's manifest.json (size-capped; schema, version and cross-field
 * rules). Throws a VerificationError naming the file when it is unusable.
 */
export async function readManifest(reader: SnapshotReader): Promise<Manifest> {
  return parseManifest(
    await reader.readBytes(MANIFEST_FILE, MAX_MANIFEST_BYTES),
    `${MANIFEST_FILE} in ${reader.path}`,
  );
}

/**
 * What is wrong with the names this snapshot goes by, against its manifest (the one naming rule
 * of layout.ts); empty when they agree. `zipName` is the zip's file name when it is known by
 * another (a Box download's temporary file is known by its name in Box).
 */
export function readerNameProblems(
  reader: SnapshotReader,
  manifest: Manifest,
  zipName: string = basename(reader.path),
): string[] {
  return snapshotNameProblems(reader.rootName, reader.kind === "zip" ? zipName : null, manifest);
}

/** Opens a snapshot directory or zip. Unreadable paths are ConfigErrors (exit 1). */
export async function openSnapshot(path: string): Promise<SnapshotReader> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch (e) {
    throw unreadable(path, e);
  }
  if (info.isDirectory) return await DirSnapshot.open(path);
  if (info.isFile) return await ZipSnapshot.open(path);
  throw new ConfigError(`Cannot read ${path}: not a directory or a .zip file`);
}

function unreadable(path: string, e: unknown): ConfigError {
  if (e instanceof Deno.errors.NotFound) {
    return new ConfigError(`Cannot read ${path}: no such file or directory`);
  }
  if (e instanceof Deno.errors.NotCapable) {
    return new ConfigError(`Cannot read ${path}: the permission sandbox does not allow it`, {
      hint:
        `rebuild with ASTRABAK_ALLOW_READ=${path} deno task compile (or run with --allow-read=${path})`,
    });
  }
  return new ConfigError(
    `Cannot read ${path}: ${ioReason(e)}`,
  );
}

class DirSnapshot implements SnapshotReader {
  readonly kind = "dir";
  readonly path: string;
  readonly rootName: string;
  readonly files = new Map<string, SnapshotFile>();
  readonly oddities: string[] = [];

  private constructor(path: string) {
    this.path = path;
    // The name the directory is known by (`.` and trailing slashes resolved, symlinks not).
    this.rootName = basename(resolve(path));
  }

  static async open(path: string): Promise<DirSnapshot> {
    const s = new DirSnapshot(path);
    if (s.rootName.startsWith(".") && s.rootName.endsWith(INPROGRESS_SUFFIX)) {
      throw new VerificationError(
        `${path} is not a finished snapshot: it is the working directory of a backup that is running or crashed`,
        {
          hint:
            "verify a <ts>/ or <ts>.INCOMPLETE/ directory or a .zip; crashed leftovers can be removed",
        },
      );
    }
    try {
      for await (const e of Deno.readDir(path)) {
        const info = await Deno.lstat(join(path, e.name));
        if (info.isSymlink) {
          throw new UnsafeSnapshotError(
            `Refusing ${path}: ${e.name} is a symbolic link (a snapshot holds only regular files)`,
          );
        }
        if (info.isFile) s.files.set(e.name, { name: e.name, size: info.size });
        else s.oddities.push(`unexpected ${info.isDirectory ? "directory" : "entry"} ${e.name}`);
      }
    } catch (e) {
      if (e instanceof VerificationError) throw e;
      throw unreadable(path, e);
    }
    return s;
  }

  async readBytes(name: string, maxBytes: number): Promise<Uint8Array> {
    const f = this.#file(name);
    if (f.size > maxBytes) {
      throw new VerificationError(
        `${name} in ${this.path} is ${f.size} bytes, over the ${maxBytes} allowed`,
      );
    }
    return await Deno.readFile(join(this.path, name));
  }

  async open(name: string): Promise<ReadableStream<Uint8Array>> {
    this.#file(name);
    const file = await Deno.open(join(this.path, name), { read: true });
    return file.readable;
  }

  async close(): Promise<void> {}

  #file(name: string): SnapshotFile {
    const f = this.files.get(name);
    if (!f) throw new VerificationError(`${name} is missing from ${this.path}`);
    return f;
  }
}

/** zip.js random-access reader over an open file: seek + read, nothing extracted. */
class FsFileReader extends zip.Reader<Deno.FsFile> {
  readonly #file: Deno.FsFile;
  constructor(file: Deno.FsFile) {
    super(file);
    this.#file = file;
  }
  override async init(): Promise<void> {
    this.size = (await this.#file.stat()).size;
  }
  override async readUint8Array(offset: number, length: number): Promise<Uint8Array> {
    const buf = new Uint8Array(length);
    await this.#file.seek(offset, Deno.SeekMode.Start);
    let n = 0;
    while (n < length) {
      const r = await this.#file.read(buf.subarray(n));
      if (r === null) break;
      n += r;
    }
    return n === length ? buf : buf.subarray(0, n);
  }
}

class ZipSnapshot implements SnapshotReader {
  readonly kind = "zip";
  readonly path: string;
  rootName = "";
  readonly files = new Map<string, SnapshotFile>();
  readonly oddities: string[] = [];
  readonly #entries = new Map<string, zip.FileEntry>();
  readonly #file: Deno.FsFile;
  readonly #reader: zip.ZipReader<Deno.FsFile>;

  private constructor(path: string, file: Deno.FsFile) {
    this.path = path;
    this.#file = file;
    this.#reader = new zip.ZipReader(new FsFileReader(file), {
      strictness: "strict",
      // Names are judged by unsafeEntryName below, which names the entry in its refusal.
      filenameValidation: "tolerant",
      checkCrc32: true,
      checkOverlappingEntry: true,
    });
  }

  static async open(path: string): Promise<ZipSnapshot> {
    let file: Deno.FsFile;
    try {
      file = await Deno.open(path, { read: true });
    } catch (e) {
      throw unreadable(path, e);
    }
    const s = new ZipSnapshot(path, file);
    try {
      await s.#index();
    } catch (e) {
      file.close();
      if (e instanceof VerificationError) throw e;
      throw new VerificationError(
        `Cannot read ${path} as a zip: ${e instanceof Error ? e.message : e}`,
      );
    }
    return s;
  }

  async #index(): Promise<void> {
    const entries = await this.#reader.getEntries();
    const roots = new Set<string>();
    // Pass 1: safety of every name, before anything else is looked at.
    for (const e of entries) {
      const problem = unsafeEntryName(e.filename);
      if (problem) {
        throw new UnsafeSnapshotError(`Refusing ${this.path}: entry "${e.filename}" ${problem}`);
      }
      if (e.symlink) {
        throw new UnsafeSnapshotError(
          `Refusing ${this.path}: entry "${e.filename}" is a symbolic link`,
        );
      }
      roots.add(e.filename.split("/")[0]!);
    }
    if (roots.size !== 1) {
      throw new UnsafeSnapshotError(
        `Refusing ${this.path}: entries must all sit in one <ts>/ folder, found ${
          roots.size === 0 ? "none" : [...roots].join(", ")
        }`,
      );
    }
    // Whether the folder is named after the snapshot is the naming rule's call (readerNameProblems).
    this.rootName = [...roots][0]!;
    for (const e of entries) {
      const rest = e.filename.slice(this.rootName.length + 1);
      if (e.directory) {
        if (rest !== "") this.oddities.push(`unexpected directory ${e.filename}`);
        continue;
      }
      if (rest === "" || rest.includes("/")) {
        this.oddities.push(`unexpected entry ${e.filename}`);
        continue;
      }
      if (this.#entries.has(rest)) {
        throw new UnsafeSnapshotError(`Refusing ${this.path}: entry "${e.filename}" appears twice`);
      }
      this.#entries.set(rest, e as zip.FileEntry);
      this.files.set(rest, { name: rest, size: e.uncompressedSize });
    }
  }

  async readBytes(name: string, maxBytes: number): Promise<Uint8Array> {
    const f = this.files.get(name);
    if (!f) throw new VerificationError(`${name} is missing from ${this.path}`);
    if (f.size > maxBytes) {
      throw new VerificationError(
        `${name} in ${this.path} is ${f.size} bytes, over the ${maxBytes} allowed`,
      );
    }
    return new Uint8Array(await new Response(await this.open(name)).arrayBuffer());
  }

  open(name: string, signal?: AbortSignal): Promise<ReadableStream<Uint8Array>> {
    const entry = this.#entries.get(name);
    if (!entry) {
      return Promise.reject(new VerificationError(`${name} is missing from ${this.path}`));
    }
    const pipe = new TransformStream<Uint8Array, Uint8Array>();
    const done = entry.getData(pipe.writable, signal ? { signal } : {});
    done.catch(() => {});
    // zip.js reports a CRC-32 mismatch (or a broken entry) by erroring the stream it writes
    // into, or when getData settles at the end: either way it becomes a verdict on this entry.
    const where = `${name} in ${basename(this.path)}`;
    return Promise.resolve(ReadableStream.from((async function* () {
      try {
        yield* pipe.readable;
        await done;
      } catch (e) {
        if (signal?.aborted || e instanceof VerificationError) throw e;
        throw new VerificationError(`${where}: ${e instanceof Error ? e.message : e}`);
      }
    })()));
  }

  async close(): Promise<void> {
    await this.#reader.close();
    try {
      this.#file.close();
    } catch {
      // already closed
    }
  }
}

/** Why a zip entry name is unsafe, or null when it is a plain relative path. */
export function unsafeEntryName(name: string): string | null {
  if (name === "") return "has an empty name";
  if (name.includes("\0")) return "contains a NUL byte";
  if (name.includes("\\")) return "contains a backslash";
  if (name.startsWith("/") || /^[A-Za-z]:/.test(name)) return "is an absolute path";
  const parts = name.split("/");
  if (parts.some((p) => p === ".." || p === ".")) return "escapes the snapshot root";
  if (parts.slice(0, -1).some((p) => p === "")) return "has an empty path segment";
  return null;
}
