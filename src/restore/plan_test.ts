import assert from "node:assert/strict";
import type { CollectionEntry, Manifest } from "../manifest/mod.ts";
import { definitionDifferences, planRestore } from "./plan.ts";

function entry(
  name: string,
  definition: Record<string, unknown> = {},
  status: "ok" | "failed" = "ok",
) {
  return {
    keyspace: "ks",
    name,
    kind: "collection",
    status,
    definition,
    document_count: 3,
    ...(status === "failed" ? { error: "boom" } : {}),
  } as unknown as CollectionEntry;
}

const manifest = (
  collections: CollectionEntry[],
) => ({ collections, status: "complete" } as unknown as Manifest);

Deno.test("definitionDifferences ignores key order and names each differing field", () => {
  assert.deepEqual(
    definitionDifferences({ vector: { dimension: 3, metric: "cosine" } }, {
      vector: { metric: "cosine", dimension: 3 },
    }),
    [],
  );
  assert.deepEqual(
    definitionDifferences({ vector: { dimension: 3 }, indexing: { deny: ["a"] } }, {
      vector: { dimension: 4 },
    }),
    [
      'indexing: snapshot {"deny":["a"]}, target absent',
      'vector: snapshot {"dimension":3}, target {"dimension":4}',
    ],
  );
});

Deno.test("planRestore applies renames, keyspace and if-exists, refusing clashes up front", () => {
  const m = manifest([entry("a"), entry("b"), entry("c", {}, "failed")]);
  const existing = new Map([["other.b", {
    keyspace: "other",
    name: "b",
    kind: "collection" as const,
    definition: {},
  }]]);
  const plan = planRestore({
    manifest: m,
    include: [],
    renames: new Map([["a", "a2"]]),
    targetKeyspace: "other",
    ifExists: "append",
    existing,
  });
  assert.deepEqual(
    plan.map((p) => [p.entry.name, `${p.target.keyspace}.${p.target.name}`, p.action]),
    [
      ["a", "other.a2", "create"],
      ["b", "other.b", "append"],
    ],
  );
  const base = {
    manifest: m,
    targetKeyspace: null,
    ifExists: "fail" as const,
    existing: new Map(),
  };
  assert.throws(
    () => planRestore({ ...base, include: ["c"], renames: new Map() }),
    /"c" was not backed up in this snapshot \(boom\)/,
  );
  assert.throws(
    () => planRestore({ ...base, include: [], renames: new Map([["a", "b"]]) }),
    /ks\.b and ks\.a would both be restored into ks\.b \(use --rename\)/,
  );
});

Deno.test("planRestore refuses creates past the database's collection limit, counting table replacements", () => {
  const m = manifest([entry("a"), entry("b"), entry("c")]);
  const table = { keyspace: "ks", name: "c", kind: "table" as const, definition: {} };
  const base = {
    manifest: m,
    include: [],
    renames: new Map(),
    targetKeyspace: null,
    collectionLimit: { limit: 5, source: "test" },
  };
  // 2 existing + a, b created + c replacing a table = 5: at the limit, allowed.
  const ok = planRestore({
    ...base,
    ifExists: "replace",
    existing: new Map([["ks.c", table]]),
    databaseCollections: { count: 2, atLeast: false },
  });
  assert.equal(ok.length, 3);
  assert.throws(
    () =>
      planRestore({
        ...base,
        ifExists: "replace",
        existing: new Map([["ks.c", table]]),
        databaseCollections: { count: 3, atLeast: true },
      }),
    /the target database has at least 3 collection\(s\) and this restore would create 3 more, over its limit of 5 \(test\); free 1 /,
  );
  // Replacing a collection by a collection adds none.
  const coll = { ...table, kind: "collection" as const };
  assert.equal(
    planRestore({
      ...base,
      include: ["c"],
      ifExists: "replace",
      existing: new Map([["ks.c", coll]]),
      databaseCollections: { count: 5, atLeast: false },
    }).length,
    1,
  );
});
