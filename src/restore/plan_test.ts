import assert from "node:assert/strict";
import type { CollectionEntry, Manifest } from "../manifest/mod.ts";
import { definitionDifferences, planRestore, selectionProblems } from "./plan.ts";

const ref = (name: string, keyspace: string | null = null) => ({ keyspace, name });

function entry(
  name: string,
  definition: Record<string, unknown> = {},
  status: "ok" | "failed" = "ok",
  keyspace = "ks",
) {
  return {
    keyspace,
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
    renames: [{ from: ref("a"), to: "a2" }],
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
    () => planRestore({ ...base, include: [ref("c")], renames: [] }),
    /--collections "c" was not backed up in this snapshot \(boom\)/,
  );
  assert.throws(
    () => planRestore({ ...base, include: [], renames: [{ from: ref("a"), to: "b" }] }),
    /ks\.b and ks\.a would both be restored into ks\.b \(use --rename\)/,
  );
});

Deno.test("selectionProblems: name means every keyspace, keyspace.name only that one", () => {
  const m = manifest([entry("a"), entry("a", {}, "ok", "ks2"), entry("b", {}, "ok", "ks2")]);
  const base = {
    manifest: m,
    targetKeyspace: null,
    ifExists: "fail" as const,
    existing: new Map(),
  };
  const targets = (
    include: ReturnType<typeof ref>[],
    renames = [] as { from: ReturnType<typeof ref>; to: string }[],
  ) =>
    planRestore({ ...base, include, renames }).map((p) =>
      `${p.entry.keyspace}.${p.entry.name}>${p.target.keyspace}.${p.target.name}`
    );
  assert.deepEqual(targets([ref("a")]), ["ks.a>ks.a", "ks2.a>ks2.a"]);
  assert.deepEqual(targets([ref("a", "ks2")]), ["ks2.a>ks2.a"]);
  assert.deepEqual(
    targets([], [{ from: ref("a", "ks2"), to: "a2" }]),
    ["ks.a>ks.a", "ks2.a>ks2.a2", "ks2.b>ks2.b"],
  );
  assert.deepEqual(selectionProblems(m, [ref("a", "ks")], []), []);
  assert.deepEqual(selectionProblems(m, [ref("b", "ks")], []), [
    '--collections "ks.b" is not in the snapshot (it holds ks.a, ks2.a, ks2.b)',
  ]);
  assert.deepEqual(selectionProblems(m, [ref("a", "ks")], [{ from: ref("b"), to: "x" }]), [
    "--rename b=x names a collection that --collections leaves out",
  ]);
  assert.deepEqual(
    selectionProblems(m, [], [{ from: ref("a"), to: "x" }, { from: ref("a", "ks2"), to: "y" }]),
    ["ks2.a is renamed twice (a=x, ks2.a=y)"],
  );
  assert.deepEqual(selectionProblems(m, [], [{ from: ref("nosuch"), to: "x" }]), [
    '--rename "nosuch" is not in the snapshot (it holds ks.a, ks2.a, ks2.b)',
  ]);
});

Deno.test("planRestore refuses creates past the database's collection limit, counting table replacements", () => {
  const m = manifest([entry("a"), entry("b"), entry("c")]);
  const table = { keyspace: "ks", name: "c", kind: "table" as const, definition: {} };
  const base = {
    manifest: m,
    include: [],
    renames: [],
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
      include: [ref("c")],
      ifExists: "replace",
      existing: new Map([["ks.c", coll]]),
      databaseCollections: { count: 5, atLeast: false },
    }).length,
    1,
  );
});
