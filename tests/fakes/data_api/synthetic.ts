/**
 * @module
 * Synthetic collections for the scale benchmark (scripts/bench.ts `--scale`): a collection of up
 * to 10^8 generated documents that is never stored. Document `i` is produced on demand from
 * `i` and a seed, so a page costs the same at any size and the fake's memory stays flat; a
 * synthetic *sink* accepts restored documents, compares each with the one the generator makes for
 * its `_id`, and keeps only one bit per document. The wire format is the fake's ordinary one
 * (server.ts: `find` pages of `pageSize` documents with an opaque `nextPageState`, `insertMany`
 * with `documentResponses`), so astrabak cannot tell a synthetic collection from a stored one.
 */

import { FakeApiError } from "./errors.ts";
import { FakeCollection, type FakeStore, normaliseOptions } from "./store.ts";
import { SyntheticGenerator, type SyntheticSpec } from "./synthetic_docs.ts";

export { SyntheticGenerator, type SyntheticSpec };

/**
 * Adds a synthetic source collection `keyspace.name` (a vector collection of `spec.dimension`)
 * holding `spec.count` generated documents.
 */
export function addSyntheticCollection(
  store: FakeStore,
  keyspace: string,
  name: string,
  spec: SyntheticSpec,
): SyntheticCollection {
  const options = normaliseOptions({ vector: { dimension: spec.dimension } }, store.features);
  const c = new SyntheticCollection(keyspace, name, options, spec, "source");
  store.keyspace(keyspace).set(name, c);
  return c;
}

/**
 * Makes the next `createCollection` of `keyspace.name` on `store` create a synthetic sink for
 * `spec` (what a restore of a synthetic collection writes into); returns a getter for it.
 */
export function expectSyntheticRestore(
  store: FakeStore,
  keyspace: string,
  name: string,
  spec: SyntheticSpec,
): () => SyntheticCollection | undefined {
  let made: SyntheticCollection | undefined;
  store.collectionFactory = (ks, n, options) => {
    if (ks !== keyspace || n !== name) return undefined;
    made = new SyntheticCollection(ks, n, options, spec, "sink");
    return made;
  };
  return () => made;
}

/**
 * A collection whose documents are generated, not stored: a *source* holds all of them; a *sink*
 * starts empty and holds those inserted since (one bit each). Reads go in a fixed permutation of
 * the indexes, as the real server reads in token order rather than insertion order.
 */
export class SyntheticCollection extends FakeCollection {
  readonly generator: SyntheticGenerator;
  /** One bit per document of a sink; null for a source (every document present). */
  readonly #present: Uint8Array | null;
  #size: number;
  readonly #stride: number;

  constructor(
    keyspace: string,
    name: string,
    options: Record<string, unknown>,
    spec: SyntheticSpec,
    role: "source" | "sink",
  ) {
    super(keyspace, name, options);
    const dimension = (options.vector as { dimension?: number } | undefined)?.dimension;
    if (dimension !== spec.dimension) {
      throw new Error(`synthetic ${keyspace}.${name}: the collection is not ${spec.dimension}-d`);
    }
    this.generator = new SyntheticGenerator(spec);
    this.#present = role === "sink" ? new Uint8Array(Math.ceil(spec.count / 8)) : null;
    this.#size = role === "sink" ? 0 : spec.count;
    let stride = 7919;
    while (gcd(stride, Math.max(1, spec.count)) !== 1) stride += 2;
    this.#stride = stride;
  }

  /** Documents present. */
  get size(): number {
    return this.#size;
  }

  has(i: number): boolean {
    return this.#present === null || (this.#present[i >> 3]! & (1 << (i & 7))) !== 0;
  }

  /** Read position → document index: a fixed permutation of 0…count-1. */
  indexAt(position: number): number {
    return (position * this.#stride) % this.generator.count;
  }

  /**
   * Takes one restored document (compact JSON as the fake's tree prints it): "OK", or a
   * FakeApiError like the server's (DOCUMENT_ALREADY_EXISTS for an `_id` present), or one that
   * says the bytes are not the generator's (the restore changed a document).
   */
  accept(idKey: string, json: string): void {
    const i = this.generator.indexOf(idKey);
    if (i === null || this.generator.full(i) !== json) {
      throw new FakeApiError(
        "FAKE_SYNTHETIC_MISMATCH",
        `fake Data API: synthetic sink: document ${idKey} is not the generated one`,
      );
    }
    if (this.has(i)) {
      // Same message as FakeCollection.insert (the server's DOCUMENT_ALREADY_EXISTS).
      throw new FakeApiError(
        "DOCUMENT_ALREADY_EXISTS",
        `Cannot insert the document: a document already exists with given '_id' (${idKey}).`,
      );
    }
    if (this.#present === null) throw new Error("a synthetic source takes no inserts");
    this.#present[i >> 3]! |= 1 << (i & 7);
    this.#size++;
  }

  /**
   * Up to `size` present documents from read position `from`: their indexes and the position to
   * continue from (null at the end).
   */
  page(from: number, size: number): { indexes: number[]; next: number | null } {
    const indexes: number[] = [];
    let p = from;
    const n = this.generator.count;
    while (p < n && indexes.length < size) {
      const i = this.indexAt(p++);
      if (this.has(i)) indexes.push(i);
    }
    while (p < n && !this.has(this.indexAt(p))) p++;
    return { indexes, next: p < n ? p : null };
  }
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}
