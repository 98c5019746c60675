/**
 * @module
 * The drill's comparison of a snapshot's documents with a scratch copy's, in bounded memory and a
 * fixed number of passes: a multiset digest of the whole (the proof) and of each key partition
 * (where to look), then, on a mismatch, one more pass over each side that holds only the
 * documents of the first differing partitions, to name the first differences.
 */

import { documentHash, MultisetDigest, partitionOf } from "./digest.ts";
import { firstDifference } from "./json_diff.ts";

/** One difference found by the comparison (or the definition comparison). */
export interface DrillDifference {
  /** The document's `_id` (raw JSON) or the row's primary key (`{"col":value,…}`). */
  _id: string;
  kind: "missing" | "extra" | "differs" | "definition";
  /** Where the document first differs (`meta.price`, `$vector[3]`); null for a whole document. */
  path: string | null;
  detail: string;
}

/** A document as compared: its key (`_id` or primary key) and the exact bytes that must match. */
export interface Keyed {
  key: string;
  bytes: Uint8Array;
}

/** One full read of one side (the snapshot's documents, or the scratch copy's). */
export type Pass = () => AsyncIterable<Keyed>;

/** Snapshot documents per key partition, about (the second pass holds a few partitions). */
export const PARTITION_DOCUMENTS = 5_000;
/** Fewest partitions: the manifest's count may be unknown (0), and small partitions cost little. */
const MIN_PARTITIONS = 4_096;
/** Most partitions: 16 bytes each. */
const MAX_PARTITIONS = 1 << 20;

/** How many key partitions a collection of `count` documents is split into. */
export function partitionCount(count: number): number {
  return Math.min(MAX_PARTITIONS, Math.max(MIN_PARTITIONS, Math.ceil(count / PARTITION_DOCUMENTS)));
}

/**
 * A {@linkcode MultisetDigest} of the whole, plus a count and a 64-bit sum of document hashes per
 * key partition, so that a mismatch says which partitions to look in without another full pass
 * per partition.
 */
export class PartitionedDigest {
  readonly total = new MultisetDigest();
  readonly #counts: Float64Array;
  readonly #sums: BigUint64Array;

  constructor(readonly parts: number) {
    this.#counts = new Float64Array(parts);
    this.#sums = new BigUint64Array(parts);
  }

  /** Adds one document by its key and exact bytes. */
  add(key: string, bytes: Uint8Array): void {
    const hash = documentHash(bytes);
    this.total.addHash(hash);
    const p = partitionOf(key, this.parts);
    this.#counts[p]!++;
    this.#sums[p] = BigInt.asUintN(64, this.#sums[p]! + BigInt(`0x${hash.slice(0, 16)}`));
  }

  /** The partitions (ascending) whose documents differ from `other`'s. */
  differing(other: PartitionedDigest): number[] {
    const out: number[] = [];
    for (let p = 0; p < this.parts; p++) {
      if (this.#counts[p] !== other.#counts[p] || this.#sums[p] !== other.#sums[p]) out.push(p);
    }
    return out;
  }
}

/**
 * Names up to `max` differences (missing, extra, differing documents, the latter down to their
 * first differing field) with one more pass over each side, holding only the hashes of the
 * snapshot's documents in the first `max` differing partitions (each holds at least one
 * difference), and one more snapshot pass to describe the documents stored differently.
 */
export async function nameDifferences(
  snapshot: Pass,
  server: Pass,
  parts: number,
  differing: readonly number[],
  max: number,
): Promise<DrillDifference[]> {
  const selected = new Set(differing.slice(0, max));
  const out: DrillDifference[] = [];
  if (selected.size === 0) return out;
  const held = new Map<string, { hash: string; size: number; n: number }>();
  for await (const { key, bytes } of snapshot()) {
    if (!selected.has(partitionOf(key, parts))) continue;
    const had = held.get(key);
    if (had) had.n++;
    else held.set(key, { hash: documentHash(bytes), size: bytes.byteLength, n: 1 });
  }
  /** Stored bytes of the documents that differ, by key (at most `max`). */
  const stored = new Map<string, Uint8Array>();
  for await (const { key, bytes } of server()) {
    if (out.length >= max) break;
    if (!selected.has(partitionOf(key, parts))) continue;
    const want = held.get(key);
    if (!want || want.n === 0) {
      out.push({ _id: key, kind: "extra", path: null, detail: "read back, not in the snapshot" });
      continue;
    }
    want.n--;
    if (documentHash(bytes) !== want.hash) {
      stored.set(key, bytes.slice());
      out.push({
        _id: key,
        kind: "differs",
        path: null,
        detail: `stored ${bytes.byteLength} bytes differ from the ${want.size} bytes sent`,
      });
    }
  }
  for (const [key, want] of held) {
    if (out.length >= max) break;
    if (want.n > 0) {
      out.push({ _id: key, kind: "missing", path: null, detail: "in the snapshot, not read back" });
    }
  }
  if (stored.size > 0) {
    for await (const { key, bytes } of snapshot()) {
      const got = stored.get(key);
      if (!got) continue;
      stored.delete(key);
      const d = firstDifference(bytes, got);
      const named = out.find((x) => x._id === key && x.kind === "differs");
      if (d && named) {
        named.path = d.path;
        named.detail = d.detail;
      }
      if (stored.size === 0) break;
    }
  }
  return out;
}
