/**
 * @module
 * Generated documents of the fake's synthetic collections (FakeStore.seedSynthetic stores them;
 * synthetic.ts serves them without storing).
 */

/** What a synthetic collection holds. */
export interface SyntheticSpec {
  count: number;
  dimension: number;
  /** Seed of the vectors (default 1). */
  seed?: number;
  /** Length of the `text` field (default 200). */
  textBytes?: number;
}

/**
 * The documents of a spec. A stored (FakeStore.seedSynthetic) and a synthetic collection of
 * one spec hold the same bytes: 64 distinct vectors of
 * float32 values, cycled, and `{"_id":"doc-<i>","n":<i>,"text":"…","$vector":[…]}`.
 */
export class SyntheticGenerator {
  readonly count: number;
  readonly #vectors: string[];
  readonly #text: string;

  constructor(spec: SyntheticSpec) {
    this.count = spec.count;
    let h = spec.seed ?? 1;
    const rand = () => {
      h ^= h << 13;
      h ^= h >>> 17;
      h ^= h << 5;
      return (h >>> 0) / 0x100000000;
    };
    this.#vectors = Array.from({ length: 64 }, () => {
      const v = new Array<string>(spec.dimension);
      for (let i = 0; i < spec.dimension; i++) v[i] = String(Math.fround(rand() * 2 - 1));
      return `[${v.join(",")}]`;
    });
    const textBytes = spec.textBytes ?? 200;
    this.#text = "lorem ipsum dolor sit amet ".repeat(Math.ceil(textBytes / 27)).slice(
      0,
      textBytes,
    );
  }

  /** `_id` of document `i` as JSON text (the key the fake's stores use). */
  idKey(i: number): string {
    return `"doc-${i}"`;
  }

  /** Document `i` without `$vector` (the default projection). */
  plain(i: number): string {
    return `{"_id":"doc-${i}","n":${i},"text":"${this.#text}"}`;
  }

  /** Document `i` in full (projection `{"*": true}`). */
  full(i: number): string {
    return `{"_id":"doc-${i}","n":${i},"text":"${this.#text}","$vector":${
      this.#vectors[i % this.#vectors.length]
    }}`;
  }

  /** The index of an `_id` given as JSON text, or null when no document of this spec has it. */
  indexOf(idKey: string): number | null {
    const m = /^"doc-(0|[1-9][0-9]*)"$/.exec(idKey);
    if (!m) return null;
    const i = Number(m[1]);
    return i < this.count ? i : null;
  }
}
