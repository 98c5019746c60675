/**
 * @module
 * An order-independent multiset digest of documents, so a drill proves a whole collection equal
 * with constant memory: the server returns documents in its own order, and no map of every
 * document may be kept.
 *
 * Each document contributes the first 128 bits of the SHA-256 of its exact bytes, read as an
 * unsigned integer; the digest is their sum modulo 2^128 (a sum, not an xor, so a document seen
 * twice does not cancel out). Two multisets of documents with the same count and the same sum
 * are equal except with probability about 2^-128 per differing pair — far below a disk error.
 */

import { createHash } from "node:crypto";

const MOD = 1n << 128n;

/** The 128-bit hash prefix of one document's bytes, as hex. */
export function documentHash(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex").slice(0, 32);
}

/** Running count and sum of document hashes. */
export class MultisetDigest {
  count = 0;
  #sum = 0n;

  /** Adds one document (its exact bytes). */
  add(bytes: Uint8Array): void {
    this.addHash(documentHash(bytes));
  }

  /** Adds one document by its {@linkcode documentHash}. */
  addHash(hex: string): void {
    this.count++;
    this.#sum = (this.#sum + BigInt(`0x${hex}`)) % MOD;
  }

  /** The digest as 32 hex digits. */
  get hex(): string {
    return this.#sum.toString(16).padStart(32, "0");
  }

  /** Same documents (with multiplicity). */
  equals(other: MultisetDigest): boolean {
    return this.count === other.count && this.#sum === other.#sum;
  }
}

/** Partition (0 ≤ p < parts) of an `_id`'s raw JSON, for the bounded second pass. */
export function partitionOf(idText: string, parts: number): number {
  if (parts <= 1) return 0;
  let h = 2166136261;
  for (let i = 0; i < idText.length; i++) {
    h ^= idText.charCodeAt(i);
    h = Math.imul(h, 16777619);
  }
  return (h >>> 0) % parts;
}
