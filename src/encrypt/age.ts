/**
 * @module
 * astrabak's one door to the age format (age-encryption.org/v1), through `npm:age-encryption`
 * (typage, by the format's author). No cryptography is written here: this module parses the
 * recipient and identity lists the user gives, wraps the library's Web Streams encrypter and
 * decrypter, and turns the library's errors into astrabak's typed, one-line errors. The library
 * is loaded lazily, so commands that never encrypt never load it.
 *
 * Recipients: X25519 (`age1…`) and the post-quantum hybrid ML-KEM-768 + X25519 (`age1pq1…`),
 * both supported by the library (0.3.1). Identities: `AGE-SECRET-KEY-1…` and
 * `AGE-SECRET-KEY-PQ-1…`. Identities are secrets: registered for redaction the moment they are
 * read, never quoted, never written.
 */

import { ConfigError, ioReason, VerificationError } from "../errors.ts";
import { registerSecret } from "../config/secrets.ts";

type AgeLib = typeof import("age-encryption");

let loaded: Promise<AgeLib> | null = null;

/** The library, imported on first use (encryption and decryption only). */
export function loadAge(): Promise<AgeLib> {
  loaded ??= import("age-encryption");
  return loaded;
}

/** The format astrabak writes, as the manifest records it. */
export const AGE_FORMAT = "age-encryption.org/v1";

/** The recipient kinds astrabak accepts, for messages and help. */
export const RECIPIENT_KINDS =
  "an age recipient: age1… (X25519) or age1pq1… (post-quantum hybrid); SSH and plugin recipients are not supported";

/** Where a list of recipients came from, for messages. */
export interface RecipientSource {
  /** `--encrypt-to`, `ASTRABAK_AGE_RECIPIENTS`, or `recipients file "PATH"`. */
  where: string;
  /** 1-based line in a file, when the source is a file. */
  line?: number;
}

/**
 * Checks one recipient string with the library's own parser (the same one that will encrypt to
 * it), so a typo fails before anything is written.
 */
export async function checkRecipient(value: string, source: RecipientSource): Promise<string> {
  const age = await loadAge();
  const r = value.trim();
  try {
    if (!r.startsWith("age1")) throw new Error("not age1…");
    new age.Encrypter().addRecipient(r);
  } catch {
    const shown = r.length > 24 ? `${r.slice(0, 20)}…` : r;
    throw new ConfigError(
      `Cannot use ${source.where}${
        source.line === undefined ? "" : ` line ${source.line}`
      }: "${shown}" is not ${RECIPIENT_KINDS}`,
      { hint: "copy the public key printed by age-keygen (or age-keygen -y KEYFILE)" },
    );
  }
  return r;
}

/**
 * Parses an age recipients file as age reads it: one recipient per line, `#` comments and blank
 * lines ignored. A malformed line is refused with its number; nothing is written.
 */
export async function parseRecipientsFile(text: string, path: string): Promise<string[]> {
  const out: string[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === "" || line.startsWith("#")) continue;
    out.push(await checkRecipient(line, { where: `recipients file "${path}"`, line: i + 1 }));
  }
  if (out.length === 0) {
    throw new ConfigError(`Cannot use recipients file "${path}": it holds no recipient`, {
      hint: "put one age1… public key per line (# starts a comment)",
    });
  }
  return out;
}

/** Reads a file for one of the options here, with the sandbox and I/O failures in plain words. */
export async function readOptionFile(path: string, what: string, flag: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotCapable) {
      throw new ConfigError(
        `Cannot read ${what} "${path}": the permission sandbox does not allow it`,
        {
          hint:
            `rebuild with ASTRABAK_ALLOW_READ=${path} deno task compile (or run with --allow-read=${path})`,
        },
      );
    }
    throw new ConfigError(`Cannot read ${what} "${path}": ${ioReason(e)}`, {
      hint: `check the path given to ${flag} and its permissions`,
    });
  }
}

/** Decryption keys read from an identity file. Never printed, logged or written. */
export interface AgeIdentities {
  /** `--identity-file PATH` or `ASTRABAK_AGE_IDENTITY_FILE (PATH)`, for messages. */
  readonly source: string;
  /** The secret keys; registered for redaction. */
  readonly keys: readonly string[];
}

/**
 * Parses an age identity file (`AGE-SECRET-KEY-1…` or `AGE-SECRET-KEY-PQ-1…` lines, `#` comments,
 * blank lines; age-keygen writes one). Every line is registered as a secret before it is looked
 * at, so no message can quote it; a malformed line is named by its number only.
 */
export async function parseIdentityFile(text: string, source: string): Promise<AgeIdentities> {
  const lines = text.split(/\r?\n/).map((l) => l.trim());
  for (const l of lines) if (l !== "" && !l.startsWith("#")) registerSecret(l);
  const age = await loadAge();
  const keys: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === "" || line.startsWith("#")) continue;
    try {
      new age.Decrypter().addIdentity(line);
      // The constructor validates lazily for some kinds: derive the recipient to be sure.
      await age.identityToRecipient(line);
    } catch {
      throw new ConfigError(
        `Cannot use the identity file from ${source}: line ${
          i + 1
        } is not an age identity (AGE-SECRET-KEY-1… or AGE-SECRET-KEY-PQ-1…)`,
        { hint: "use the key file age-keygen wrote; SSH and plugin identities are not supported" },
      );
    }
    keys.push(line);
  }
  if (keys.length === 0) {
    throw new ConfigError(`Cannot use the identity file from ${source}: it holds no identity`, {
      hint: "use the key file age-keygen wrote (its AGE-SECRET-KEY-1… line)",
    });
  }
  return Object.freeze({ source, keys: Object.freeze(keys) });
}

/**
 * Encrypts `plaintext` to `recipients` as one age stream (64 KiB ChaCha20-Poly1305 chunks, so
 * memory stays flat however large the zip).
 */
export async function encryptStream(
  plaintext: ReadableStream<Uint8Array>,
  recipients: readonly string[],
): Promise<ReadableStream<Uint8Array>> {
  const age = await loadAge();
  const e = new age.Encrypter();
  for (const r of recipients) e.addRecipient(r);
  return await e.encrypt(plaintext);
}

/** What an age header says without any key: its recipient stanzas. */
export interface AgeHeaderInfo {
  /** Number of recipient stanzas. */
  recipients: number;
  /** Stanza types in order (`X25519`, `mlkem768x25519`, `scrypt`, …). */
  types: string[];
}

/**
 * Parses the header of an age file with the library's own parser and no key: the version line,
 * every stanza, and the MAC line must be well formed. The library hands the stanzas to each
 * identity; a stand-in identity that records them and declines to decrypt is how they are read
 * (the MAC itself needs the file key, so it is not checked here).
 */
export async function inspectHeader(
  ciphertext: ReadableStream<Uint8Array>,
  label: string,
): Promise<AgeHeaderInfo> {
  const age = await loadAge();
  let seen: AgeHeaderInfo | null = null;
  const d = new age.Decrypter();
  d.addIdentity({
    unwrapFileKey(stanzas) {
      seen = { recipients: stanzas.length, types: stanzas.map((s) => s.args[0] ?? "?") };
      return null;
    },
  });
  try {
    await d.decrypt(ciphertext);
  } catch (e) {
    if (seen !== null) return seen;
    throw damaged(label, e);
  } finally {
    await ciphertext.cancel().catch(() => {});
  }
  throw new VerificationError(`${label}: its age header was not read`);
}

/**
 * Decrypts an age stream with `identities`. The header (and whether any identity matches) is
 * processed before this resolves; the returned stream errors with a VerificationError when the
 * payload is damaged or truncated (every 64 KiB chunk is authenticated, and the last one is
 * marked, so truncation is caught).
 */
export async function decryptStream(
  ciphertext: ReadableStream<Uint8Array>,
  identities: AgeIdentities,
  label: string,
): Promise<ReadableStream<Uint8Array>> {
  const age = await loadAge();
  const d = new age.Decrypter();
  for (const k of identities.keys) d.addIdentity(k);
  let plain: ReadableStream<Uint8Array>;
  try {
    plain = await d.decrypt(ciphertext);
  } catch (e) {
    if (/no identity matched/.test(String((e as Error)?.message))) {
      throw new WrongIdentityError(
        `Cannot decrypt ${label}: no identity from ${identities.source} is one of its recipients`,
        {
          hint:
            "use the identity file whose public key (age-keygen -y FILE) the snapshot was encrypted to; if its header was damaged, its .sha256 sidecar says so (astrabak verify without --identity-file)",
        },
      );
    }
    throw damaged(label, e);
  }
  // Errors of the payload surface from the stream; each becomes one verdict naming the file.
  return ReadableStream.from((async function* () {
    let bytes = 0;
    try {
      for await (const chunk of plain) {
        bytes += chunk.byteLength;
        yield chunk;
      }
    } catch (e) {
      throw damaged(label, e, bytes);
    }
  })());
}

/** An identity that opens none of a file's recipient stanzas (exit 1: wrong key given). */
export class WrongIdentityError extends ConfigError {
  override readonly name: string = "WrongIdentityError";
}

/** The one-line verdict on an age file the library refused. */
function damaged(label: string, e: unknown, plaintextBytes?: number): VerificationError {
  if (e instanceof VerificationError) return e;
  const why = e instanceof Error ? e.message : String(e);
  const header = /header|stanza|version|non-ASCII|stream ended/.test(why);
  return new VerificationError(
    plaintextBytes === undefined || header
      ? `${label} is damaged: its age header does not parse or verify (${why})`
      : `${label} is damaged or truncated: decryption failed after ${plaintextBytes} bytes (${why}); nothing from it was used`,
    { cause: e, hint: "use another copy of this snapshot, or take a new backup" },
  );
}
