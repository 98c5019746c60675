/**
 * @module
 * Reading a `<ts>.zip.age`. The zip reader needs random access, which an age stream does not
 * offer, so with an identity the whole file is decrypted as a stream into a hidden 0600
 * temporary file `.<ts>.zip.<random>.decrypted` in the directory that holds it (same
 * filesystem, under that directory's lock: the one lock rule), read through the one read
 * pipeline like any zip, and removed by `release` (the commands call it in `finally`, so also on
 * error and on a signal; a killed run's leftover is removed by `backup --clean-stale`).
 * Without an identity only what needs no key is checked: the age header's structure and the
 * whole-file SHA-256 against the sidecar.
 */

import { basename, dirname, join, resolve } from "node:path";
import { ConfigError, errorMessage, ioReason, StorageError, VerificationError } from "../errors.ts";
import type { Reporter } from "../reporter.ts";
import type { DownloadedArchive } from "../remote/types.ts";
import { lockOutDir } from "../snapshot/lock.ts";
import { checkZipKnownAs } from "../snapshot/select.ts";
import { DigestStream, hashFile } from "../streams/digest_stream.ts";
import { fileSink } from "../streams/file_sink.ts";
import type { VerifyReport } from "../verify/verify.ts";
import { type AgeHeaderInfo, type AgeIdentities, decryptStream, inspectHeader } from "./age.ts";
import { AGE_SUFFIX, readSidecar, SIDECAR_SUFFIX, sidecarPath } from "./sidecar.ts";

/** Suffix of the temporary plaintext zip (recognised as a leftover by findStale). */
export const DECRYPTED_SUFFIX = ".decrypted";

/** Whether a path or name is an encrypted snapshot. */
export function isEncryptedName(name: string): boolean {
  return name.endsWith(AGE_SUFFIX);
}

/** A decrypted snapshot, readable at `path` until `release`. */
export interface DecryptedSnapshot {
  path: string;
  release(): Promise<void>;
}

/** Options of {@linkcode decryptToTemp}. */
export interface DecryptOptions {
  /** The name the file is known by, when not its own (a Box download): `<ts>.zip.age`. */
  name?: string;
  /** What to call it in messages (default: the path). */
  label?: string;
  /** The caller holds the directory's lock already (a Box download into it). */
  locked?: boolean;
  /**
   * A download from this remote (`box:123`, `s3://bucket/prefix`): `sidecar` is where its
   * sidecar was downloaded to, null when the remote holds none.
   */
  remote?: { label: string; sidecar: string | null };
  /** It was chosen as `latest`: it must also be non-empty (the rule of select.ts). */
  latest?: boolean;
  signal?: AbortSignal;
}

/**
 * Decrypts `agePath` with `identities` into a temporary zip beside it (see the module doc).
 * Wrong identity: WrongIdentityError (exit 1). A damaged or truncated file, or one that does not
 * match its sidecar: VerificationError (exit 2). Nothing is left behind on any failure.
 */
export async function decryptToTemp(
  agePath: string,
  identities: AgeIdentities,
  reporter: Reporter,
  options: DecryptOptions = {},
): Promise<DecryptedSnapshot> {
  const label = options.label ?? agePath;
  const name = options.name ?? basename(agePath);
  const dir = dirname(resolve(agePath));
  const lock = options.locked ? null : await lockOutDir(dir, { holder: "decrypt" });
  const ts = name.slice(0, -AGE_SUFFIX.length);
  const tmp = join(dir, `.${ts}.zip.${crypto.randomUUID().slice(0, 8)}${DECRYPTED_SUFFIX}`);
  const release = async () => {
    await Deno.remove(tmp).catch(() => {});
    lock?.release();
  };
  try {
    const expected = await readSidecar(
      agePath,
      options.remote ? { sidecar: options.remote.sidecar, name } : {},
    );
    let input: Deno.FsFile;
    try {
      input = await Deno.open(agePath, { read: true });
    } catch (e) {
      throw new ConfigError(`Cannot read ${agePath}: ${ioReason(e)}`);
    }
    let out: Deno.FsFile;
    try {
      out = await Deno.open(tmp, { write: true, createNew: true, mode: 0o600 });
    } catch (e) {
      input.close();
      throw new StorageError(`Cannot create ${tmp} to decrypt ${label} into: ${ioReason(e)}`, {
        hint:
          "the directory holding the .zip.age must be writable (the plaintext zip is read there)",
        cause: e,
      });
    }
    reporter.info(`Decrypting ${label} into a temporary file in ${dir}`);
    const cipher = new DigestStream();
    try {
      const plain = await decryptStream(input.readable.pipeThrough(cipher), identities, label);
      await plain.pipeTo(fileSink(out), options.signal ? { signal: options.signal } : {});
    } catch (e) {
      for (const f of [out, input]) {
        try {
          f.close();
        } catch {
          // closed by its stream already
        }
      }
      // The sidecar speaks first: a damaged file is named as such, also where the library's
      // own error would be ambiguous (a damaged recipient stanza reads as "no identity matches").
      if (expected !== null && !options.signal?.aborted) {
        const got = await hashFile(agePath).catch(() => null);
        if (got !== null && got.hex !== expected) throw sidecarMismatch(label, got.hex, expected);
      }
      throw e;
    }
    const { hex } = await cipher.result;
    if (expected !== null && hex !== expected) throw sidecarMismatch(label, hex, expected);
    if (expected === null && options.remote) {
      // The download was proven by the store's own checksum, and age authenticates every
      // chunk it decrypts: only the sidecar's second opinion on the ciphertext is missing.
      reporter.info(
        `${label} has no sidecar ${name}${SIDECAR_SUFFIX} in ${options.remote.label}; its download was proven by the store's checksum, and age authenticated what it decrypted`,
      );
    } else if (expected === null) {
      reporter.warn(`${label} has no sidecar ${basename(sidecarPath(agePath))}; decrypted anyway`);
    }
    await checkZipKnownAs(
      tmp,
      `${ts}.zip`,
      label,
      options.latest === true,
      options.remote ? { remote: options.remote.label } : { dir },
    );
    return { path: tmp, release };
  } catch (e) {
    await release();
    throw e;
  }
}

function sidecarMismatch(label: string, got: string, expected: string): VerificationError {
  return new VerificationError(
    `${label} does not match its sidecar: SHA-256 ${got.slice(0, 16)}…, the sidecar says ${
      expected.slice(0, 16)
    }…: the file is damaged`,
    { hint: "use another copy of this snapshot, or take a new backup" },
  );
}

/**
 * `verify <ts>.zip.age` without an identity: the age header parsed by the library (version line,
 * recipient stanzas, MAC line; the MAC itself needs the key) and the whole file's SHA-256 against
 * its sidecar. The contents are not verified, so the report fails unless `quick` was asked for.
 */
export async function verifyWithoutIdentity(
  agePath: string,
  options: {
    quick: boolean;
    signal?: AbortSignal;
    /** A download: the name it is known by, what to call it, and where its sidecar went. */
    downloaded?: DownloadedArchive;
  },
): Promise<VerifyReport & { encryption: AgeHeaderInfo | null }> {
  const name = options.downloaded?.name ?? basename(agePath);
  const started = performance.now();
  const problems: string[] = [];
  let header: AgeHeaderInfo | null = null;
  let file: Deno.FsFile;
  try {
    file = await Deno.open(agePath, { read: true });
  } catch (e) {
    throw new ConfigError(`Cannot read ${agePath}: ${ioReason(e)}`);
  }
  try {
    header = await inspectHeader(file.readable, options.downloaded?.label ?? agePath);
  } catch (e) {
    problems.push(errorMessage(e));
  } finally {
    try {
      file.close();
    } catch {
      // closed by its stream already
    }
  }
  let bytes = 0;
  try {
    const dl = options.downloaded;
    const expected = await readSidecar(agePath, dl ? { sidecar: dl.sidecar, name } : {});
    const got = await hashFile(agePath, { signal: options.signal });
    bytes = got.bytes;
    if (expected === null) {
      problems.push(
        `no sidecar ${name}${SIDECAR_SUFFIX}${
          dl ? ` in ${dl.remote}` : ""
        }: the file's SHA-256 cannot be checked`,
      );
    } else if (got.hex !== expected) {
      problems.push(sidecarMismatch(dl?.label ?? agePath, got.hex, expected).message);
    }
  } catch (e) {
    problems.push(errorMessage(e));
  }
  const hint = problems.length > 0
    ? "this copy cannot be trusted: use another copy, or take a new backup"
    : !options.quick
    ? "cannot verify contents without an identity: pass --identity-file PATH (or set ASTRABAK_AGE_IDENTITY_FILE) on a host that holds the key, or use --quick for the checks that need no key"
    : undefined;
  if (problems.length === 0 && !options.quick) {
    problems.push("cannot verify contents without an identity");
  }
  return {
    path: agePath,
    kind: "zip.age",
    snapshot: name.slice(0, -AGE_SUFFIX.length),
    mode: options.quick ? "quick" : "deep",
    status: problems.length === 0 ? "ok" : "failed",
    problems,
    collections: [],
    totals: { collections_ok: 0, collections_failed: 0, documents: 0, bytes_read: bytes },
    duration_seconds: Math.round(performance.now() - started) / 1000,
    ...(hint ? { hint } : {}),
    contents_verified: false,
    encryption: header,
  };
}

/**
 * What `upload` checks before a `<ts>.zip.age` leaves the host, without the key: its age header
 * and its SHA-256 against the sidecar, which must be there (it travels with the archive, and the
 * remote copy is checked against it later). A VerificationError (exit 2) names what is wrong.
 */
export async function assertAgeUploadable(agePath: string, signal?: AbortSignal): Promise<void> {
  const r = await verifyWithoutIdentity(agePath, { quick: true, ...(signal ? { signal } : {}) });
  if (r.status !== "ok") {
    throw new VerificationError(`Refusing to upload ${agePath}: ${r.problems.join("; ")}`, {
      hint: r.problems.some((p) => p.startsWith("no sidecar"))
        ? `write its sidecar first: cd ${dirname(resolve(agePath))} && sha256sum ${
          basename(agePath)
        } > ${basename(agePath)}${SIDECAR_SUFFIX}`
        : "this copy cannot be trusted: use another copy, or encrypt the snapshot again",
    });
  }
}
