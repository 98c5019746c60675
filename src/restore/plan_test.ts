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
