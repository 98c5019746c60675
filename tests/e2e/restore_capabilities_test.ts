/**
 * `astrabak restore` onto targets that cannot hold every definition of the snapshot (issue 11
 * items 1 and 4, issue 12 items 3 and 4): lexical or reranking off, vectorize absent, a model at
 * end of life, the database's collection limit. Each is refused before anything is dropped or
 * written, the dry-run says so, and --adapt-definitions restores what the target can hold and
 * reports every change.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import type { FakeDataApi } from "../fakes/data_api/server.ts";
import { seedTables } from "../fakes/data_api/sample_data.ts";
import { makeSnapshot } from "../support/snapshots.ts";
import { docsOf, restoreInto, restoreTarget } from "../support/restore_target.ts";

const KS = "default_keyspace";

const setup = (options: Parameters<typeof FakeDataApi.start>[0] = {}) =>
  restoreTarget(options, "astrabak-capabilities-");

const restore = restoreInto;

/** The commands that change a target. */
const WRITES = ["deleteCollection", "insertMany", "insertOne", "deleteMany", "dropTable"];

function writesTo(api: FakeDataApi): string[] {
  return api.requests.filter((q) => WRITES.includes(q.command)).map((q) =>
    `${q.command} ${q.body.slice(0, 80)}`
  );
}

for (
  const [what, features, code] of [
    ["lexical is off", { lexicalAvailable: false }, "LEXICAL_FEATURE_NOT_ENABLED"],
    ["reranking is off", { rerankingEnabled: false }, "RERANKING_FEATURE_NOT_ENABLED"],
  ] as const
) {
  Deno.test(`restore: --if-exists replace onto a target where ${what} leaves the existing collection and its documents untouched`, async () => {
    await using t = await setup({ features });
    const snap = await makeSnapshot(t.dir, { sample: { articles: 12, dimension: 4 } });
    // The target holds its own articles collection, created the way this target can.
    t.target.store.createCollection(KS, "articles", { vector: { dimension: 4 } });
    t.target.store.seed(KS, "articles", ['{"_id":"mine1","v":1}', '{"_id":"mine2","v":2}']);
    const before = docsOf(t.target, "articles");
    const optionsBefore = structuredClone(t.target.store.keyspace(KS).get("articles")!.options);

    const dry = await restore(t, [
      snap.snapshot,
      "--collections",
      "articles",
      "--if-exists",
      "replace",
      "--dry-run",
    ]);
    assert.equal(dry.code, 1, dry.stderr);
    assert.match(
      dry.stderr,
      new RegExp(`default_keyspace\\.articles: the target refuses its definition \\(${code}`),
    );
    assert.match(dry.stderr, /--adapt-definitions/);

    const r = await restore(t, [
      snap.snapshot,
      "--collections",
      "articles",
      "--if-exists",
      "replace",
    ]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(`default_keyspace\\.articles: the target refuses its definition \\(${code}`),
    );
    assert.match(r.stderr, /nothing existing was dropped/);
    assert.doesNotMatch(r.stderr, /dropping the existing/);
    assert.doesNotMatch(r.stderr, /--if-exists append/, "no hint that cannot work");
    assert.deepEqual(writesTo(t.target), [], "nothing dropped or written");
    assert.deepEqual(docsOf(t.target, "articles"), before);
    assert.deepEqual(t.target.store.keyspace(KS).get("articles")!.options, optionsBefore);
  });
}

Deno.test("restore: --if-exists replace of a definition the target accepts drops only after the server validated it", async () => {
  await using t = await setup();
  const snap = await makeSnapshot(t.dir, { sample: { articles: 6, dimension: 4 } });
  t.target.store.createCollection(KS, "articles", {
    vector: { dimension: 4, metric: "euclidean" },
  });
  t.target.store.seed(KS, "articles", ['{"_id":"mine1"}']);
  // Adapting explains only what the target refuses, not another metric.
  const append = await restore(t, [
    snap.snapshot,
    "--collections",
    "articles",
    "--if-exists",
    "append",
    "--adapt-definitions",
  ]);
  assert.equal(append.code, 1, append.stderr);
  assert.match(
    append.stderr,
    /default_keyspace\.articles exists with a different definition \(vector: .*\) even where adapted to this target; only --if-exists replace may change it/,
  );
  assert.equal(t.target.requestsOf("insertMany").length, 0);
  const seen = t.target.requests.length;
  const r = await restore(t, [
    snap.snapshot,
    "--collections",
    "articles",
    "--if-exists",
    "replace",
  ]);
  assert.equal(r.code, 0, r.stderr);
  const commands = t.target.requests.slice(seen).map((q) => q.command);
  const probe = commands.indexOf("createCollection");
  assert.ok(probe >= 0 && probe < commands.indexOf("deleteCollection"), commands.join(","));
  assert.equal(docsOf(t.target, "articles").length, 6);
});

Deno.test("restore: a target without vectorize, lexical and reranking is refused in the plan; --adapt-definitions restores with every change reported", async () => {
  const features = { lexicalAvailable: false, rerankingEnabled: false, vectorizeAvailable: false };
  await using t = await setup({ features });
  const snap = await makeSnapshot(t.dir, {
    sample: { articles: 8, dimension: 4 },
    prepare: (api) => {
      // One collection this target can create as it is (lexical and rerank explicitly off).
      api.store.createCollection(KS, "plain", {
        lexical: { enabled: false },
        rerank: { enabled: false },
      });
      api.store.seed(KS, "plain", ['{"_id":1}']);
      api.store.seed(KS, "articles", ['{"_id":"lex","$lexical":"some words"}']);
    },
  });

  // An empty database: the read-only provider listings answer for vectorize and rerank.
  const blind = await restore(t, [snap.snapshot, "--dry-run"]);
  assert.equal(blind.code, 1, blind.stderr);
  assert.match(
    blind.stderr,
    /default_keyspace\.faq: the target refuses its definition \(VECTORIZE_FEATURE_NOT_AVAILABLE/,
  );
  assert.match(
    blind.stderr,
    /default_keyspace\.articles: the target refuses its definition \(RERANKING_FEATURE_NOT_ENABLED/,
  );
  assert.equal(t.target.requestsOf("createCollection").length, 0, "nothing asked by creating");
  // Lexical has no read-only question: once rerank is adapted away, the dry-run says so.
  const unchecked = await restore(t, [snap.snapshot, "--dry-run", "--adapt-definitions"]);
  assert.equal(unchecked.code, 0, unchecked.stderr);
  assert.match(
    unchecked.stdout,
    /default_keyspace\.articles: 9 documents; does not exist\n {10}definition adapted: rerank left out .*\n {10}definition lexical not checked: the database holds no collection/,
  );
  assert.deepEqual(writesTo(t.target), []);

  const refused = await restore(t, [snap.snapshot]);
  assert.equal(refused.code, 1, refused.stderr);
  for (const name of ["articles", "customers", "faq"]) {
    assert.match(refused.stderr, new RegExp(`default_keyspace\\.${name}: the target refuses`));
  }
  assert.match(refused.stderr, /VECTORIZE_FEATURE_NOT_AVAILABLE/);
  assert.match(refused.stderr, /1 empty collection\(s\) created to test this were dropped/);
  assert.deepEqual([...t.target.store.keyspace(KS).keys()], [], "the target is as it was");
  assert.equal(t.target.requestsOf("insertMany").length, 0, "no document written");

  // With a collection of its own, the dry-run tests each definition and reports the refusals.
  t.target.store.createCollection(KS, "keep", {});
  const dry = await restore(t, [snap.snapshot, "--dry-run"]);
  assert.equal(dry.code, 1, dry.stderr);
  for (const name of ["articles", "customers", "faq"]) {
    assert.match(dry.stderr, new RegExp(`default_keyspace\\.${name}: the target refuses`));
  }
  assert.doesNotMatch(dry.stderr, /default_keyspace\.plain/);
  assert.deepEqual([...t.target.store.keyspace(KS).keys()], ["keep"]);

  const seen = t.target.requests.length;
  const r = await restore(t, [snap.snapshot, "--adapt-definitions", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  const by = (n: string) =>
    report.collections.find((c: { source: string }) => c.source === `${KS}.${n}`);
  assert.deepEqual(by("plain").definition_changes, []);
  assert.match(by("articles").definition_changes.join("\n"), /lexical and rerank left out/);
  assert.equal(by("articles").lexical_texts_not_restored, 1);
  assert.match(
    by("faq").definition_changes.join("\n"),
    /vector\.service left out \(was openai\/text-embedding-3-small\): a plain vector collection of dimension 4 keeping \$vector/,
  );
  assert.equal(by("faq").vectorize_texts_not_restored, 40);
  assert.equal(by("faq").inserted, 40);
  const faq = t.target.store.keyspace(KS).get("faq")!;
  assert.equal((faq.options.vector as { service?: unknown }).service, undefined);
  assert.ok([...faq.docs.values()].every((d) => d.full.includes('"$vector"')));
  assert.ok([...faq.docs.values()].every((d) => !d.full.includes('"$vectorize"')));
  assert.match(r.stderr, /--adapt-definitions: vector\.service left out/);
  assert.equal(
    t.target.requests.slice(seen).filter((q) => q.command === "deleteCollection").length,
    0,
  );
  // The adapted collections can be appended to again (an interrupted restore is finished so).
  const plainAppend = await restore(t, [snap.snapshot, "--if-exists", "append"]);
  assert.equal(plainAppend.code, 1, plainAppend.stderr);
  assert.match(plainAppend.stderr, /default_keyspace\.faq exists with a different definition/);
  const again = await restore(t, [
    snap.snapshot,
    "--if-exists",
    "append",
    "--adapt-definitions",
    "--json",
  ]);
  assert.equal(again.code, 0, again.stderr);
  assert.deepEqual(
    JSON.parse(again.stdout).collections.map((c: { already_present: number }) => c.already_present),
    report.collections.map((c: { inserted: number }) => c.inserted),
    "nothing added twice",
  );
  t.target.store.deleteCollection(KS, "articles");
  const human = await restore(t, [
    snap.snapshot,
    "--adapt-definitions",
    "--dry-run",
    "--if-exists",
    "skip",
  ]);
  assert.equal(human.code, 0, human.stderr);
  assert.match(
    human.stdout,
    /would create {2}default_keyspace\.articles → default_keyspace\.articles: 9 documents; does not exist\n {10}definition adapted: lexical and rerank left out/,
  );
});

Deno.test("restore: an end-of-life embedding model is refused, and --vectorize reembed cannot be adapted", async () => {
  await using t = await setup({
    features: { modelStatus: { "text-embedding-3-small": "END_OF_LIFE" } },
  });
  const snap = await makeSnapshot(t.dir, { sample: { articles: 2, dimension: 4 } });
  const dry = await restore(t, [snap.snapshot, "--collections", "faq", "--dry-run"]);
  assert.equal(dry.code, 1, dry.stderr);
  assert.match(
    dry.stderr,
    /default_keyspace\.faq: the target refuses its definition \(findEmbeddingProviders: model text-embedding-3-small of openai is not offered for new collections here/,
  );
  const r = await restore(t, [snap.snapshot, "--collections", "faq"]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(
    r.stderr,
    /default_keyspace\.faq: the target refuses its definition \(END_OF_LIFE_AI_MODEL/,
  );
  const reembed = await restore(t, [
    snap.snapshot,
    "--collections",
    "faq",
    "--adapt-definitions",
    "--vectorize",
    "reembed",
  ]);
  assert.equal(reembed.code, 1, reembed.stderr);
  assert.match(reembed.stderr, /--vectorize reembed needs the vectorize service/);
  assert.deepEqual([...t.target.store.keyspace(KS).keys()], []);
});

Deno.test("restore: the collection limit is checked before any write, in the dry-run and in the real run", async () => {
  await using t = await setup({ features: { maxCollections: 5 } });
  const snap = await makeSnapshot(t.dir, { sample: { articles: 3, dimension: 4 } });
  // Collections elsewhere in the database count against the same limit.
  t.target.store.keyspaces.set("other", new Map());
  for (const n of ["x", "y", "z"]) t.target.store.createCollection("other", n, {});

  // 3 + 3 new > 5, the Data API's default limit, known before anything is written.
  const dry = await restore(t, [snap.snapshot, "--dry-run"]);
  assert.equal(dry.code, 1, dry.stderr);
  assert.match(
    dry.stderr,
    /the target database has 3 collection\(s\) and this restore would create 3 more, over its limit of 5/,
  );
  assert.match(dry.stderr, /--collection-limit/);

  // Told the limit is higher, the real run meets the server's own: refused before any document
  // is written, and the collections it had created are dropped again.
  const r = await restore(t, [snap.snapshot, "--collection-limit", "50"]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(
    r.stderr,
    /TOO_MANY_COLLECTIONS: Cannot create collection '\w+': the maximum number of collections per database is 5, database already has 5\./,
  );
  assert.match(r.stderr, /2 empty collection\(s\) created to test this were dropped/);
  assert.equal(t.target.requestsOf("insertMany").length, 0);
  assert.deepEqual([...t.target.store.keyspace(KS).keys()], []);
});

Deno.test("restore: --if-exists replace of a table the target refuses leaves the table and its rows untouched", async () => {
  await using t = await setup();
  const snap = await makeSnapshot(t.dir, {
    sample: { articles: 2, dimension: 4 },
    prepare: (api) => seedTables(api.store, { rows: 5 }),
  });
  t.target.store.createTable(KS, "products", '{"columns":{"id":"text"},"primaryKey":"id"}');
  t.target.store.seedRows(KS, "products", ['{"id":"mine"}']);
  // The server refuses the snapshot's table definition (as a target would, for instance, a
  // vector column whose embedding model it no longer supports).
  t.target.faults.add({
    command: "createTable",
    times: Infinity,
    action: {
      kind: "error",
      errorCode: "DEPRECATED_AI_MODEL",
      message: "Cannot use deprecated model.",
    },
  });
  for (const dry of [["--dry-run"], []]) {
    const r = await restore(t, [
      snap.snapshot,
      "--collections",
      "products",
      "--if-exists",
      "replace",
      ...dry,
    ]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      /default_keyspace\.products: the target refuses the table's definition \(DEPRECATED_AI_MODEL: Cannot use deprecated model\.\)/,
    );
    assert.deepEqual(writesTo(t.target), [], "nothing dropped or written");
    assert.deepEqual(
      [...t.target.store.table(KS, "products")!.rows.values()].length,
      1,
      "the table keeps its row",
    );
  }
});

Deno.test("restore: replace onto an equal definition whose model the target has since deprecated is refused before the drop", async () => {
  await using t = await setup();
  const snap = await makeSnapshot(t.dir, { sample: { articles: 2, dimension: 4 } });
  const faq = JSON.parse(await Deno.readTextFile(join(snap.snapshot, "manifest.json")))
    .collections.find((c: { name: string }) => c.name === "faq");
  // The target holds faq with the snapshot's very definition, but its embedding model can no
  // longer be used for a new collection: existing under it proves nothing for a re-create.
  t.target.store.createCollection(KS, "faq", faq.definition);
  t.target.store.seed(KS, "faq", ['{"_id":"mine","$vector":[0.1,0.2,0.3,0.4]}']);
  t.target.store.features.modelStatus["text-embedding-3-small"] = "DEPRECATED";
  const before = docsOf(t.target, "faq");
  for (const extra of [["--dry-run"], []]) {
    const r = await restore(t, [
      snap.snapshot,
      "--collections",
      "faq",
      "--if-exists",
      "replace",
      ...extra,
    ]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      /default_keyspace\.faq: the target refuses its definition \(DEPRECATED_AI_MODEL/,
    );
  }
  assert.deepEqual(writesTo(t.target), [], "nothing dropped or written");
  assert.deepEqual(docsOf(t.target, "faq"), before, "the existing collection is untouched");
});

Deno.test("restore: replace of a table whose index the target refuses still writes the rows, and says so", async () => {
  await using t = await setup();
  const snap = await makeSnapshot(t.dir, {
    sample: { articles: 2, dimension: 4 },
    prepare: (api) => seedTables(api.store, { rows: 5 }),
  });
  seedTables(t.target.store, { rows: 7 });
  t.target.faults.add({
    command: "createTextIndex",
    times: Infinity,
    action: {
      kind: "error",
      errorCode: "LEXICAL_FEATURE_NOT_ENABLED",
      message: "Lexical search is not enabled.",
    },
  });
  const r = await restore(t, [
    snap.snapshot,
    "--collections",
    "products",
    "--if-exists",
    "replace",
    "--json",
  ]);
  assert.equal(r.code, 2, r.stderr);
  const report = JSON.parse(r.stdout);
  const products = report.collections.find((c: { target: string }) =>
    c.target === `${KS}.products`
  );
  assert.equal(products.status, "failed");
  assert.equal(products.not_created, undefined, "the table exists: it was created again");
  assert.match(products.error, /the rows were restored, but an index could not be created/);
  assert.equal(products.inserted, 5);
  assert.equal(t.target.store.table(KS, "products")!.rows.size, 5, "not left empty");
  assert.doesNotMatch(report.hint ?? "", /does not exist on the target/);
});
