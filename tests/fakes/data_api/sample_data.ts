/**
 * @module
 * Deterministic sample data for the demo and the tests: a 384-dimension vector collection, a
 * plain collection full of awkward values, and a vectorize collection. Documents are JSON text so
 * numbers beyond what a JS number can hold survive.
 */

import type { FakeStore } from "./store.ts";

/** Documents that break naive JSON handling; each line is inserted exactly as written. */
export const NASTY_DOCS: readonly string[] = [
  '{"_id":"big-ints","beyond_2_53":9007199254740993,"beyond_2_64":123456789012345678901234567890,"negative":-18446744073709551617}',
  '{"_id":"decimals","d25":0.1234567890123456789012345,"tiny":1.5e-300,"huge":1E+400,"trailing_zeros":1.50,"neg_zero":-0.0}',
  '{"_id":{"$uuid":"0192f1a2-0000-7000-8000-000000000002"},"kind":"uuid id"}',
  '{"_id":{"$objectId":"65f000000000000000000002"},"kind":"objectId id"}',
  '{"_id":{"$date":1700000000000},"kind":"date id","when":{"$date":-62135596800000}}',
  '{"_id":12345678901234567890,"kind":"numeric id beyond 2^53"}',
  '{"_id":true,"kind":"boolean id"}',
  '{"_id":"binary-field","blob":{"$binary":"AAECAwQFBgcICQ=="}}',
  '{"_id":"key-order","z":1,"2":"two","a":2,"1":"one"}',
  '{"_id":"unicode","emoji":"😀 🎉","cjk":"漢字","escapes":"quote \\" backslash \\\\ tab \\t nl \\n","ls":"\\u2028\\u2029","lone":"\\ud800"}',
  '{"_id":"deep","a":{"b":{"c":{"d":{"e":{"f":{"g":{"h":{"i":{"j":{"k":{"l":[1,[2,[3]]]}}}}}}}}}}}}',
  '{"_id":"empties","s":"","o":{},"a":[],"n":null,"f":false}',
  '{"_id":"dates","created":{"$date":1700000000123},"list":[{"$date":0},{"$uuid":"0192f1a2-0000-7000-8000-000000000003"}]}',
];

/** A small deterministic PRNG (xorshift32). */
export function prng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 0x100000000;
  };
}

/** A float32-exact random vector as JSON array text. */
export function vectorText(rand: () => number, dim: number): string {
  const parts = new Array<string>(dim);
  for (let i = 0; i < dim; i++) parts[i] = String(Math.fround(rand() * 2 - 1));
  return `[${parts.join(",")}]`;
}

/** A random vector as `{"$binary": base64(big-endian float32)}`. */
export function binaryVectorText(rand: () => number, dim: number): string {
  const buf = new DataView(new ArrayBuffer(dim * 4));
  for (let i = 0; i < dim; i++) buf.setFloat32(i * 4, rand() * 2 - 1, false);
  const bytes = new Uint8Array(buf.buffer);
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return `{"$binary":"${btoa(bin)}"}`;
}

/** Options of {@linkcode seedSample}. */
export interface SampleOptions {
  keyspace?: string;
  /** Documents in the vector collection (default 300). */
  articles?: number;
  dimension?: number;
}

/** Creates `articles` (vector), `customers` (plain, awkward values) and `faq` (vectorize). */
export function seedSample(store: FakeStore, options: SampleOptions = {}): void {
  const ks = options.keyspace ?? "default_keyspace";
  const dim = options.dimension ?? 384;
  const n = options.articles ?? 300;
  const rand = prng(20261125);
  store.createCollection(ks, "articles", { vector: { dimension: dim, metric: "cosine" } });
  const articles: string[] = [];
  for (let i = 0; i < n; i++) {
    const vec = i % 10 === 9 ? binaryVectorText(rand, dim) : vectorText(rand, dim);
    articles.push(
      `{"_id":"article-${String(i).padStart(4, "0")}","title":"Article ${i}","views":${
        9007199254740993n + BigInt(i)
      },"score":0.${String(i).padStart(3, "0")}1234567890123456789,"published":{"$date":${
        1700000000000 + i * 86_400_000
      }},"tags":["t${i % 7}","t${i % 3}"],"$vector":${vec}}`,
    );
  }
  store.seed(ks, "articles", articles);

  store.createCollection(ks, "customers", { defaultId: { type: "uuid" } });
  const customers = [...NASTY_DOCS];
  for (let i = 0; i < 87; i++) {
    customers.push(
      `{"_id":{"$uuid":"00000000-0000-4000-8000-${
        String(i).padStart(12, "0")
      }"},"name":"Customer ${i}","balance":${
        (BigInt(i) * 10n ** 20n + 7n).toString()
      }.01,"active":${i % 2 === 0}}`,
    );
  }
  store.seed(ks, "customers", customers);

  store.createCollection(ks, "faq", {
    vector: {
      dimension: dim,
      metric: "dot_product",
      service: { provider: "openai", modelName: "text-embedding-3-small" },
    },
  });
  const faq: string[] = [];
  for (let i = 0; i < 40; i++) {
    faq.push(`{"_id":"q${i}","answer":"Answer ${i}","$vectorize":"How do I do thing ${i}?"}`);
  }
  store.seed(ks, "faq", faq);
}

/** Options of {@linkcode seedTables}. */
export interface TableSampleOptions {
  keyspace?: string;
  /** Rows in `products` (default 60). */
  rows?: number;
}

/** Durations as inserted; several read back differently (`1s500ms` → `PT1.5S`). */
const SAMPLE_DURATIONS = ["1s500ms", "2h45m", "-8h10m", "P1Y2M3DT4H5M6S", "1d", "500us", "0s"];

/**
 * Creates, in one keyspace: the UDT `address {street text, zip int}`; the vector table
 * `products` (partitionBy category, partitionSort sku asc then version desc) with one column of
 * each awkward kind, a cosine vector index on `emb`, a text index on `name` and a regular index
 * on `sku`; and the empty table `audit_log`. Rows are JSON text and deterministic; some leave
 * columns out or set them to null, and some have no vector.
 */
export function seedTables(store: FakeStore, options: TableSampleOptions = {}): void {
  const ks = options.keyspace ?? "default_keyspace";
  const n = options.rows ?? 60;
  const rand = prng(20261126);
  store.createType(ks, "address", '{"fields":{"street":"text","zip":{"type":"int"}}}');
  store.createTable(
    ks,
    "products",
    `{"columns":{"category":"text","sku":"text","version":"int","name":"text","price":"decimal",
      "big":"varint","tags":{"type":"set","valueType":"text"},
      "attrs":{"type":"map","keyType":"text","valueType":"int"},
      "counts":{"type":"map","keyType":"int","valueType":"text"},"blob":"blob",
      "created":"timestamp","ttl":"duration","ip":"inet","id":"uuid",
      "addr":{"type":"userDefined","udtName":"address"},"emb":{"type":"vector","dimension":8}},
      "primaryKey":{"partitionBy":["category"],"partitionSort":{"sku":1,"version":-1}}}`,
  );
  store.createIndex(ks, "products", "vector", "products_emb_idx", {
    column: "emb",
    options: { metric: "cosine" },
  });
  store.createIndex(ks, "products", "text", "products_name_idx", { column: "name" });
  store.createIndex(ks, "products", "regular", "products_sku_idx", { column: "sku" });
  const categories = ["books", "games", "tools", "music"];
  const rows: string[] = [];
  for (let i = 0; i < n; i++) {
    const cols: string[] = [
      `"category":"${categories[i % 4]}"`,
      `"sku":"sku-${String(i).padStart(4, "0")}"`,
      `"version":${(i % 3) + 1}`,
    ];
    if (i % 13 === 12) cols.push(`"name":null`);
    else cols.push(`"name":${JSON.stringify(i % 10 === 3 ? `Café ☕ ${i}` : `Product ${i}`)}`);
    const price = i % 15 === 7
      ? "1E+3"
      : i % 15 === 11
      ? "0.000000123"
      : `${i}.${String((i * 7) % 100).padStart(2, "0")}0`;
    cols.push(`"price":${price}`);
    const big = (18446744073709551616n + BigInt(i) * 1000003n) * (i % 5 === 4 ? -1n : 1n);
    cols.push(`"big":${big}`);
    cols.push(`"tags":${i % 8 === 7 ? "[]" : JSON.stringify([`t${i % 5}`, `t${i % 3}`, "all"])}`);
    if (i % 7 !== 3) cols.push(`"attrs":{"w":${i},"h":${i * 2},"d":-${i}}`);
    if (i % 6 !== 2) cols.push(`"counts":[[${i},"n${i}"],[-1,"neg"],[${i * 1000},"k"]]`);
    if (i % 3 !== 1) {
      cols.push(`"blob":{"$binary":"${btoa(String.fromCharCode(i, (i * 7) & 255, 255, 0))}"}`);
    }
    cols.push(`"created":{"$date":${1700000000000 + i * 3_600_000 + (i % 2 === 1 ? 123 : 0)}}`);
    cols.push(`"ttl":"${SAMPLE_DURATIONS[i % SAMPLE_DURATIONS.length]}"`);
    cols.push(`"ip":"${i % 2 === 0 ? `10.0.${i}.1` : `2001:db8::${i.toString(16)}`}"`);
    const uuid = `0192f1a2-0000-7000-8000-${String(i).padStart(12, "0")}`;
    cols.push(`"id":"${i % 7 === 0 ? uuid.toUpperCase() : uuid}"`);
    if (i % 5 === 1) cols.push(`"addr":{"street":"${i} Main St"}`);
    else if (i % 5 !== 2) cols.push(`"addr":{"street":"${i} Main St","zip":${10000 + i}}`);
    if (i % 6 !== 5) {
      cols.push(`"emb":${i % 10 === 9 ? binaryVectorText(rand, 8) : vectorText(rand, 8)}`);
    }
    rows.push(`{${cols.join(",")}}`);
  }
  store.seedRows(ks, "products", rows);
  store.createTable(ks, "audit_log", {
    columns: { id: "uuid", note: "text" },
    primaryKey: "id",
  });
}
