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
