/**
 * @module
 * The key a document or row is stored under, and a compact index of key hashes for finding two
 * lines with one key in a data file of any size.
 *
 * Two lines with the same key cannot both be restored: a collection refuses the second insert
 * (`DOCUMENT_ALREADY_EXISTS`), a table overwrites the first row with the second (an upsert), and
 * either way the collection ends with fewer documents than the snapshot holds.
 */

import { DocumentRuleError } from "./byte_json.ts";
import { documentIdKey } from "./document_id.ts";
import type { RawDocument } from "./raw_document.ts";

/** How a data file's documents are keyed. */
export type KeySpec =
  | { kind: "collection" }
  | { kind: "table"; columns: readonly string[] };

/**
 * The stored key of a document, checking it as an insert would: a collection document's `_id`
 * (see document_id.ts; a document without one fails elsewhere), a row's primary-key values in
 * the table's order (all present and not null: `MISSING_PRIMARY_KEY_COLUMNS`,
 * `WriteableTableRowBuilder.checkAllPrimaryKeys`). Null when the key cannot collide.
 */
export function documentKey(doc: RawDocument, spec: KeySpec): Uint8Array | null {
  if (spec.kind === "collection") return doc.id === null ? null : documentIdKey(doc.id);
  const parts: Uint8Array[] = [];
  let size = 0;
  for (const column of spec.columns) {
    const m = doc.members.find((x) => x.name === column);
    const value = m ? doc.bytes.subarray(m.valueStart, m.valueEnd) : null;
    if (value === null || (value.length === 4 && value[0] === 0x6e)) {
      throw new DocumentRuleError(
        `the row has no value for primary-key column ${column}`,
        "MISSING_PRIMARY_KEY_COLUMNS",
      );
    }
    parts.push(value);
    size += value.length + 1;
  }
  // Raw values joined by a NUL byte, which compact JSON never contains: the server returns each
  // type in one spelling, so equal keys are equal bytes.
  const key = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    key.set(p, at);
    at += p.length + 1;
  }
  return key;
}

/** 64-bit hash of `key` as two 32-bit words (FNV-1a and a murmur-style mix, each finalised). */
export function keyHash(key: Uint8Array): [number, number] {
  let a = 0x811c9dc5;
  let b = 0x9747b28c ^ key.length;
  for (let i = 0; i < key.length; i++) {
    const c = key[i]!;
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 15;
  }
  return [fmix(a), fmix(b)];
}

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Initial capacity cap: beyond this many keys the index grows by doubling. */
const MAX_INITIAL_KEYS = 1 << 24;

/**
 * The 64-bit hashes of every key of a data file, 8 bytes per document in one typed array (sized
 * from the manifest's count, so usually allocated once), sorted at the end to find the hashes seen
 * more than once. Those are candidates: an exact second pass over the file decides which are real
 * duplicates (with 10^7 documents a false candidate has a chance of about 3 in a million).
 */
export class KeyHashes {
  #words: Uint32Array;
  #count = 0;

  constructor(expected: number) {
    const initial = Math.max(1024, Math.min(Math.ceil(expected) + 1, MAX_INITIAL_KEYS));
    this.#words = new Uint32Array(initial * 2);
  }

  /** Number of keys recorded. */
  get size(): number {
    return this.#count;
  }

  add(key: Uint8Array): void {
    const [a, b] = keyHash(key);
    if (this.#count * 2 === this.#words.length) {
      const grown = new Uint32Array(this.#words.length * 2);
      grown.set(this.#words);
      this.#words = grown;
    }
    this.#words[this.#count * 2] = a;
    this.#words[this.#count * 2 + 1] = b;
    this.#count++;
  }

  /** Sorts the hashes (in place) and returns those seen more than once, as `a:b` strings. */
  repeated(): Set<string> {
    const n = this.#count;
    const words = this.#words;
    new BigUint64Array(words.buffer, 0, n).sort();
    const out = new Set<string>();
    for (let i = 1; i < n; i++) {
      const a = words[i * 2]!;
      const b = words[i * 2 + 1]!;
      if (a === words[i * 2 - 2] && b === words[i * 2 - 1]) out.add(hashName([a, b]));
    }
    return out;
  }
}

/** The form {@linkcode KeyHashes.repeated} names a hash in. */
export function hashName(h: [number, number]): string {
  return `${h[0]}:${h[1]}`;
}
