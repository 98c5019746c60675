/**
 * @module
 * Writes `<ts>.zip.age` (and its sidecar) from a complete snapshot, a directory or a `.zip`: the
 * snapshot zip is produced as a stream straight into the age encrypter and on into the file, so
 * no plaintext zip is ever written. Used by `backup --encrypt-to` and `astrabak encrypt`.
 *
 * What is proven before the file is published under its name (the backup host has only public
 * keys, so it cannot decrypt what it wrote): every entry's bytes, as they enter the encrypter,
 * have the SHA-256 and size its manifest gives (the zip's own proofs); the file on disk, read back,
 * has the SHA-256 computed while it was written, which the sidecar records.
 */

import { basename, dirname, join, resolve } from "node:path";
import {
  ConfigError,
  IncompleteSnapshotError,
  InterruptedError,
  ioReason,
  StorageError,
  VerificationError,
} from "../errors.ts";
import {
  formatVersionFor,
  type Manifest,
  MANIFEST_FILE,
  serializeManifest,
} from "../manifest/mod.ts";
import type { Reporter } from "../reporter.ts";
import { lockOutDir } from "../snapshot/lock.ts";
import { openSnapshot, readerNameProblems, readManifest } from "../snapshot/reader.ts";
import { pathExists, syncDir } from "../snapshot/workdir.ts";
import { needsZip64, writeSnapshotZip, type ZipSource } from "../snapshot/zip.ts";
import { DigestStream, hashFile } from "../streams/digest_stream.ts";
import { fileSink } from "../streams/file_sink.ts";
import { AGE_FORMAT, encryptStream } from "./age.ts";
import { AGE_SUFFIX, sidecarPath, sidecarText } from "./sidecar.ts";

/** Result of {@linkcode encryptSnapshot}. */
export interface EncryptResult {
  /** The published `<ts>.zip.age`. */
  path: string;
  /** Its sidecar `<ts>.zip.age.sha256`. */
  sidecar: string;
  size_bytes: number;
  /** SHA-256 of the ciphertext (as in the sidecar). */
  sha256: string;
  /** Size of the zip inside (never written to disk). */
  zip_bytes: number;
  recipients: string[];
  /** What was checked before publishing (see the module doc). */
  proven: string[];
}

/**
 * `astrabak encrypt`: {@linkcode encryptSnapshot} under the lock of the directory the
 * `.zip.age` is written into (the one lock rule of lock.ts).
 */
export async function encryptSnapshotLocked(
  source: string,
  recipients: readonly string[],
  reporter: Reporter,
  signal?: AbortSignal,
): Promise<EncryptResult> {
  const lock = await lockOutDir(dirname(resolve(source)), { holder: "encrypt" });
  try {
    return await encryptSnapshot(source, recipients, reporter, signal);
  } catch (e) {
    if (signal?.aborted) {
      throw new InterruptedError(
        `Interrupted while encrypting; the unfinished .zip.age was removed and ${source} is unchanged`,
        { cause: e },
      );
    }
    throw e;
  } finally {
    lock.release();
  }
}

/**
 * Encrypts the complete snapshot at `source` (directory or `.zip`) into `<ts>.zip.age` beside it;
 * the caller holds the lock of that directory. Refuses an incomplete or misnamed snapshot and
 * never replaces an existing `.zip.age`. The manifest inside records the recipients (format 4);
 * when the snapshot's own manifest already records exactly these, it is used byte for byte.
 */
export async function encryptSnapshot(
  source: string,
  recipients: readonly string[],
  reporter: Reporter,
  signal?: AbortSignal,
): Promise<EncryptResult> {
  if (source.endsWith(AGE_SUFFIX)) {
    throw new ConfigError(`Cannot encrypt ${source}: it is encrypted already`);
  }
  const reader = await openSnapshot(source);
  try {
    const manifest = await readManifest(reader);
    const misnamed = readerNameProblems(reader, manifest);
    if (misnamed.length > 0) {
      throw new VerificationError(`Refusing to encrypt ${source}: ${misnamed.join("; ")}`);
    }
    if (manifest.status !== "complete") {
      throw new IncompleteSnapshotError(
        `Refusing to encrypt ${source}: the snapshot is INCOMPLETE`,
        {
          hint: "only complete snapshots are encrypted (and sent off the host); take a new backup",
        },
      );
    }
    const manifestBytes = manifestFor(
      manifest,
      await reader.readBytes(MANIFEST_FILE, 64 * 1024 * 1024),
      recipients,
    );
    const files = manifest.collections.filter((c) => c.status === "ok" && c.data_file !== null);
    let total = manifestBytes.byteLength;
    for (const c of files) {
      const f = reader.files.get(c.data_file!);
      if (!f) {
        throw new VerificationError(`Refusing to encrypt ${source}: ${c.data_file} is missing`);
      }
      total += f.size;
    }
    const root = reader.rootName;
    const outDir = dirname(resolve(source));
    const agePath = join(outDir, `${root}${AGE_SUFFIX}`);
    const tmpPath = join(outDir, `.${root}${AGE_SUFFIX}.inprogress`);
    const sidecar = sidecarPath(agePath);
    const sidecarTmp = join(outDir, `.${basename(sidecar)}.inprogress`);
    for (const p of [agePath, sidecar]) {
      if (await pathExists(p)) {
        throw new ConfigError(`Cannot write ${p}: it already exists`, {
          hint: `check it with: astrabak verify ${agePath} (remove it first to encrypt again)`,
        });
      }
    }
    const mtime = new Date(manifest.finished_at_utc);
    const proofs: Promise<void>[] = [];
    const sources: ZipSource[] = [
      {
        name: MANIFEST_FILE,
        open: () =>
          Promise.resolve({
            readable: ReadableStream.from([manifestBytes]),
            size: manifestBytes.byteLength,
            lastModDate: mtime,
          }),
      },
      ...files.map((c): ZipSource => ({
        name: c.data_file!,
        async open() {
          // The zip's own proof: these bytes are the ones the manifest hashed.
          const digest = new DigestStream();
          const proof = digest.result.then((d) => {
            if (d.hex !== c.data_sha256 || d.bytes !== c.data_size_bytes) {
              throw new VerificationError(
                `Refusing to encrypt ${source}: ${c.data_file} has SHA-256 ${
                  d.hex.slice(0, 16)
                }… and ${d.bytes} bytes, the manifest says ${
                  c.data_sha256?.slice(0, 16)
                }… and ${c.data_size_bytes}`,
              );
            }
          });
          proof.catch(() => {}); // awaited below, once the file side is done
          proofs.push(proof);
          return {
            readable: (await reader.open(c.data_file!, signal)).pipeThrough(digest),
            size: reader.files.get(c.data_file!)!.size,
            lastModDate: mtime,
          };
        },
      })),
    ];

    let out: Deno.FsFile;
    try {
      out = await Deno.open(tmpPath, { write: true, createNew: true, mode: 0o600 });
    } catch (e) {
      throw new StorageError(`Cannot create ${tmpPath}: ${ioReason(e)}`, { cause: e });
    }
    try {
      reporter.info(
        `Encrypting ${source} to ${recipients.length} recipient(s) into ${agePath}`,
      );
      const zipped = new TransformStream<Uint8Array, Uint8Array>();
      const plain = new DigestStream();
      const cipher = new DigestStream();
      // Stops the file side when the zip side fails (or on a signal), so neither waits forever.
      const stop = new AbortController();
      const written = (await encryptStream(zipped.readable.pipeThrough(plain), recipients))
        .pipeThrough(cipher)
        .pipeTo(fileSink(out), {
          signal: signal ? AbortSignal.any([signal, stop.signal]) : stop.signal,
        });
      const packed = writeSnapshotZip(
        zipped.writable,
        root,
        sources,
        needsZip64(total, sources.length),
        signal,
      );
      // Whichever side fails first, the other is stopped with it.
      await Promise.all([
        packed.catch((e) => {
          stop.abort(e);
          throw e;
        }),
        written,
      ]);
      await Promise.all(proofs);
      const { hex } = await cipher.result;
      const zipBytes = (await plain.result).bytes;
      const onDisk = await hashFile(tmpPath, { signal });
      if (onDisk.hex !== hex) {
        throw new StorageError(
          `The file written at ${tmpPath} does not read back as written (SHA-256 ${
            onDisk.hex.slice(0, 16)
          }…, wrote ${hex.slice(0, 16)}…)`,
          { hint: "check the disk; nothing was published" },
        );
      }
      await writeSmallFile(sidecarTmp, sidecarText(hex, basename(agePath)));
      for (const p of [agePath, sidecar]) {
        if (await pathExists(p)) throw new StorageError(`Cannot write ${p}: it already exists`);
      }
      await Deno.rename(sidecarTmp, sidecar);
      await Deno.rename(tmpPath, agePath);
      await syncDir(outDir);
      reporter.info(`Encrypted ${agePath} (${onDisk.bytes} bytes, SHA-256 ${hex})`);
      return {
        path: agePath,
        sidecar,
        size_bytes: onDisk.bytes,
        sha256: hex,
        zip_bytes: zipBytes,
        recipients: [...recipients],
        proven: [
          "every zip entry entered the encrypter with the SHA-256 and size its manifest gives",
          "the file on disk has the SHA-256 its sidecar records",
        ],
      };
    } catch (e) {
      try {
        out.close();
      } catch {
        // closed by the sink already
      }
      await Deno.remove(tmpPath).catch(() => {});
      await Deno.remove(sidecarTmp).catch(() => {});
      throw e;
    }
  } finally {
    await reader.close();
  }
}

/**
 * The manifest bytes to put into the encrypted zip: the snapshot's own when it already records
 * exactly these recipients (a backup with --encrypt-to), else the same manifest with the
 * encryption record added and its format version raised to hold it.
 */
function manifestFor(
  manifest: Manifest,
  original: Uint8Array,
  recipients: readonly string[],
): Uint8Array {
  const same = manifest.encryption !== undefined &&
    manifest.encryption.recipients.length === recipients.length &&
    manifest.encryption.recipients.every((r, i) => r === recipients[i]);
  if (same) return original;
  const { encryption: _, ...rest } = manifest;
  const updated: Manifest = {
    ...rest,
    encryption: { format: AGE_FORMAT, recipients: [...recipients] },
  };
  updated.backup_format_version = Math.max(
    manifest.backup_format_version,
    formatVersionFor(updated),
  );
  return new TextEncoder().encode(serializeManifest(updated));
}

async function writeSmallFile(path: string, text: string): Promise<void> {
  const file = await Deno.open(path, { write: true, createNew: true, mode: 0o600 });
  try {
    await file.write(new TextEncoder().encode(text));
    await file.sync();
  } finally {
    file.close();
  }
}
