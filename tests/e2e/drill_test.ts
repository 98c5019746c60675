/**
 * `astrabak drill` end to end: a snapshot backed up from a fake Data API is drilled against the
 * same fake through the CLI (a subprocess under the shipped sandbox): restored into scratch
 * collections, read back, compared, vector-probed and dropped.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { seedSample, seedTables } from "../fakes/data_api/sample_data.ts";
import type { FakeDataApi } from "../fakes/data_api/server.ts";
import { flipByte } from "../support/snapshots.ts";
import { fakeEnv, runCli, spawnCli, withFakeDataApi } from "./run_cli.ts";

const KS = "default_keyspace";
const SOURCES = ["articles", "customers", "faq"];

async function setup(articles = 30, tables = false) {
  const t = await withFakeDataApi({ logRequests: true });
  seedSample(t.api.store, { articles, dimension: 8 });
  if (tables) seedTables(t.api.store);
  const b = await runCli(["backup", "--out", t.out], { dir: t.dir, env: fakeEnv(t.api) });
  assert.equal(b.code, 0, b.stderr);
  return t;
}

type T = Awaited<ReturnType<typeof setup>>;

const drill = (t: T, args: string[] = []) =>
  runCli(["drill", "latest", "--from", t.out, "--json", ...args], {
    dir: t.dir,
    env: fakeEnv(t.api),
  });

/** Every collection of the keyspace with its documents, sorted: the fake's whole content. */
function content(api: FakeDataApi): string {
  const ks = api.store.keyspace(KS);
  return JSON.stringify(
    [...ks.keys()].sort().map((
      name,
    ) => [name, [...ks.get(name)!.docs.values()].map((d) => d.full).sort()]),
  );
}

function collectionNames(api: FakeDataApi): string[] {
  return [...api.store.keyspace(KS).keys()].sort();
}

Deno.test("drill: a sample snapshot is proven: every collection identical, probe overlap 1.0, nothing left, source unchanged", async () => {
  await using t = await setup();
  const before = content(t.api);
  // 3 sources + 3 scratch collections: over the Data API's default limit of 5.
  const r = await drill(t, ["--collection-limit", "6"]);
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  assert.equal(report.status, "proven");
  assert.deepEqual(
    report.collections.map((c: { source: string }) => c.source).sort(),
    SOURCES.map((n) => `${KS}.${n}`),
  );
  for (const c of report.collections) {
    assert.equal(c.status, "identical", `${c.source}: ${c.reason}`);
    assert.equal(c.documents_read_back, c.documents_in_snapshot);
    assert.ok(c.documents_read_back > 0);
    assert.match(c.scratch, /^default_keyspace\.drill_[0-9a-f]{6}_/);
    assert.equal(c.cleanup, "dropped");
  }
  const articles = report.collections.find((c: { source: string }) =>
    c.source === `${KS}.articles`
  );
  assert.equal(articles.probes.against, "source");
  assert.equal(articles.probes.probes, 20);
  assert.equal(articles.probes.overlap_min, 1);
  assert.equal(articles.probes.overlap_mean, 1);
  assert.deepEqual(collectionNames(t.api), SOURCES, "no scratch collection left");
  assert.equal(content(t.api), before, "source content unchanged");
  // The probes really searched by vector on both sides.
  const sorted = t.api.requests.filter((q) => q.command === "find" && q.body.includes('"$vector"'));
  assert.ok(sorted.some((q) => q.collection === "articles"));
  assert.ok(sorted.some((q) => q.collection?.startsWith("drill_")));
  // One journal line beside the snapshots, 0600.
  const journal = join(t.out, "drills.jsonl");
  const lines = (await Deno.readTextFile(journal)).trim().split("\n");
  assert.equal(lines.length, 1);
  assert.equal(JSON.parse(lines[0]!).status, "proven");
  assert.equal((await Deno.stat(journal)).mode! & 0o777, 0o600);
});

Deno.test("drill: without the source on this endpoint, each probe must be its own top-1", async () => {
  await using t = await setup();
  t.api.store.keyspace(KS).delete("articles");
  const r = await drill(t, ["--collections", "articles"]);
  assert.equal(r.code, 0, r.stderr);
  const c = JSON.parse(r.stdout).collections[0];
  assert.equal(c.probes.against, "self");
  assert.equal(c.probes.overlap_min, 1);
});

Deno.test("drill: without the source, a probe tied for top-1 with a document of the same vector is its own nearest neighbour", async () => {
  await using t = await withFakeDataApi();
  t.api.store.createCollection(KS, "twins", { vector: { dimension: 3, metric: "cosine" } });
  // Duplicated content is common: two documents with one vector have the same similarity to it,
  // and the server may answer either first.
  t.api.store.seed(KS, "twins", [
    '{"_id":"a","$vector":[1,0,0]}',
    '{"_id":"b","$vector":[1,0,0]}',
    '{"_id":"c","$vector":[0,1,0]}',
    '{"_id":"d","$vector":[2,0,0]}',
  ]);
  const b = await runCli(["backup", "--out", t.out], { dir: t.dir, env: fakeEnv(t.api) });
  assert.equal(b.code, 0, b.stderr);
  t.api.store.keyspace(KS).delete("twins");
  const r = await drill(t);
  assert.equal(r.code, 0, r.stdout);
  const c = JSON.parse(r.stdout).collections[0];
  assert.equal(c.probes.against, "self");
  assert.deepEqual([c.probes.probes, c.probes.overlap_min], [4, 1]);
});

for (
  const [mode, action, name] of [
    ["alter: a number changed", { kind: "alter", every: 7, change: "round" }, "customers"],
    ["alter: a field dropped", { kind: "alter", every: 5, change: "drop" }, "customers"],
    ["alter: a vector reordered", { kind: "alter", every: 3, change: "reorder" }, "articles"],
    ["lose: one document confirmed and not stored", { kind: "lose", count: 1 }, "customers"],
  ] as const
) {
  Deno.test(`drill: a server that stores wrongly (${mode}) fails the drill, naming the collection and _id (${name})`, async () => {
    await using t = await setup();
    t.api.faults.add({ command: "insertMany", times: 1, action });
    const r = await drill(t, ["--collections", name, "--probes", "0"]);
    assert.equal(r.code, 2, r.stderr);
    const report = JSON.parse(r.stdout);
    assert.equal(report.status, "failed");
    const c = report.collections[0];
    assert.equal(c.source, `${KS}.${name}`);
    assert.equal(c.status, "different", c.reason);
    assert.ok(c.differences.length > 0);
    assert.equal(c.differences[0].kind, action.kind === "lose" ? "missing" : "differs");
    assert.match(c.differences[0]._id, /./);
    if (action.kind === "alter" && action.change === "reorder") {
      assert.match(c.differences[0].path, /^\$vector/);
    }
    assert.equal(c.cleanup, "dropped");
    assert.deepEqual(collectionNames(t.api), SOURCES, "no scratch collection left");
    // The text report names them too.
    const text = await runCli(["drill", "latest", "--from", t.out, "--collections", name], {
      dir: t.dir,
      env: fakeEnv(t.api),
    });
    assert.equal(text.code, 0, "the fault was used up: a second drill is proven");
  });
}

Deno.test("drill: a single lost document among more than 5,000 is named with one more read of the scratch copy", async () => {
  await using t = await setup(5_001);
  t.api.faults.add({ command: "insertMany", times: 1, action: { kind: "lose", count: 1 } });
  const r = await drill(t, ["--collections", "articles", "--probes", "0"]);
  assert.equal(r.code, 2, r.stderr);
  const c = JSON.parse(r.stdout).collections[0];
  assert.deepEqual(c.differences.map((d: { kind: string }) => d.kind), ["missing"]);
  // Full reads of the scratch copy (a first page: no pageState): the restore's count proof, the
  // comparison, and one pass to name the difference. Before, one pass per 5,000-document
  // partition until five differences were named: all of them for one.
  const passes =
    t.api.requests.filter((q) =>
      q.command === "find" && q.collection?.startsWith("drill_") && !q.body.includes("pageState")
    ).length;
  assert.equal(passes, 3);
});

Deno.test("drill: a first document stored wrongly is named by its _id in the text report", async () => {
  await using t = await setup();
  t.api.faults.add({
    command: "insertMany",
    times: 1,
    action: { kind: "alter", every: 1000, change: "round" },
  });
  const r = await runCli([
    "drill",
    "latest",
    "--from",
    t.out,
    "--collections",
    "customers",
    "--probes",
    "0",
  ], {
    dir: t.dir,
    env: fakeEnv(t.api),
  });
  assert.equal(r.code, 2, r.stderr);
  assert.match(
    r.stdout,
    /FAILED\s+default_keyspace\.customers → default_keyspace\.drill_[0-9a-f]{6}_customers/,
  );
  assert.match(r.stdout, /_id .+: differs/);
});

Deno.test("drill: an existing collection with a scratch name makes it refuse before writing", async () => {
  await using t = await setup();
  const first = await drill(t, ["--collections", "customers", "--keep"]);
  assert.equal(first.code, 0, first.stderr);
  const kept = JSON.parse(first.stdout);
  assert.equal(kept.left.length, 1);
  assert.equal(kept.collections[0].cleanup, "kept");
  const name = kept.left[0].split(".")[1];
  assert.ok(collectionNames(t.api).includes(name), "--keep leaves it");
  const inserts = () => t.api.requests.filter((q) => q.command === "insertMany").length;
  const creates = () => t.api.requests.filter((q) => q.command === "createCollection").length;
  const before = [inserts(), creates()];
  // A second drill with the same run id finds the kept collection under its scratch name.
  const r = await drill(t, ["--collections", "customers", "--run-id", name.split("_")[1]!]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, new RegExp(`${name} already exist`));
  assert.deepEqual([inserts(), creates()], before, "nothing written");
  assert.ok(collectionNames(t.api).includes(name), "the existing collection is untouched");
});

Deno.test("drill: an existing table with a scratch collection's name makes it refuse before writing", async () => {
  await using t = await setup();
  // Collections and tables share one namespace per keyspace: the drill of collections alone must
  // look at the tables too, or it writes the other scratch collections before the create fails.
  t.api.store.createTable(
    KS,
    "drill_abc123_customers",
    '{"columns":{"id":"text"},"primaryKey":"id"}',
  );
  const writes = () =>
    t.api.requests.filter((q) => ["insertMany", "createCollection"].includes(q.command)).length;
  const r = await drill(t, ["--run-id", "abc123", "--collection-limit", "6"]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /default_keyspace\.drill_abc123_customers already exist/);
  assert.equal(writes(), 0, "nothing written");
  assert.deepEqual(collectionNames(t.api), SOURCES);
  assert.deepEqual(tableNames(t.api), ["drill_abc123_customers"], "the table is untouched");
});

Deno.test("drill: a collection definition the target refuses is a failed drill (exit 2), reported and journaled", async () => {
  await using t = await setup();
  // The database can no longer create what the snapshot holds (here: vectorize switched off): a
  // real restore would fail, which is what a drill is for, not a configuration error.
  t.api.store.features.vectorizeAvailable = false;
  const r = await drill(t, ["--collections", "faq,customers"]);
  assert.equal(r.code, 2, r.stderr);
  const report = JSON.parse(r.stdout);
  assert.equal(report.status, "failed");
  const faq = report.collections.find((c: { source: string }) => c.source === `${KS}.faq`);
  assert.equal(faq.status, "failed");
  assert.match(
    faq.reason,
    /^the restore failed: .*refuses its definition \(VECTORIZE_FEATURE_NOT_AVAILABLE/,
  );
  assert.equal(faq.cleanup, "not created");
  const customers = report.collections.find((c: { source: string }) =>
    c.source === `${KS}.customers`
  );
  assert.equal(customers.status, "not drilled");
  assert.match(customers.reason, /not drilled: the restore refused another definition first/);
  assert.equal(t.api.requests.filter((q) => q.command === "insertMany").length, 0);
  assert.deepEqual(collectionNames(t.api), SOURCES, "nothing left");
  const lines = (await Deno.readTextFile(join(t.out, "drills.jsonl"))).trim().split("\n");
  assert.equal(JSON.parse(lines.at(-1)!).status, "failed");
});

Deno.test("drill: the journal is never written inside a snapshot directory, even when --from names one", async () => {
  await using t = await setup();
  const [name] = (await Array.fromAsync(Deno.readDir(t.out)))
    .filter((e) => e.isDirectory).map((e) => e.name);
  const snap = join(t.out, name!);
  const r = await runCli(
    ["drill", snap, "--from", snap, "--collections", "customers", "--json"],
    { dir: t.dir, env: fakeEnv(t.api) },
  );
  assert.equal(r.code, 0, r.stderr);
  await assert.rejects(Deno.stat(join(snap, "drills.jsonl")), Deno.errors.NotFound);
  assert.match(r.stderr, /not appended to .*drills\.jsonl: .* is a snapshot directory/);
  const v = await runCli(["verify", snap], { dir: t.dir, env: fakeEnv(t.api) });
  assert.equal(v.code, 0, v.stdout + v.stderr);
});

Deno.test("drill SNAPSHOT-PATH --from DIR appends the journal to DIR and does not say --from is unused", async () => {
  await using t = await setup();
  const [name] = (await Array.fromAsync(Deno.readDir(t.out)))
    .filter((e) => e.isDirectory).map((e) => e.name);
  const r = await runCli(
    ["drill", join(t.out, name!), "--from", t.out, "--collections", "customers", "--json"],
    { dir: t.dir, env: fakeEnv(t.api) },
  );
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /--from is not used/);
  const lines = (await Deno.readTextFile(join(t.out, "drills.jsonl"))).trim().split("\n");
  assert.equal(lines.length, 1);
});

Deno.test("drill: SIGTERM mid-drill leaves no scratch collection behind", async () => {
  await using t = await setup();
  t.api.faults.add({ command: "insertMany", action: { kind: "hang" } });
  const child = spawnCli(
    ["drill", "latest", "--from", t.out, "--collections", "articles", "--json"],
    { dir: t.dir, env: fakeEnv(t.api) },
  );
  const until = Date.now() + 60_000;
  while (t.api.faults.usage()[0] !== 1) {
    if (Date.now() > until) throw new Error("timed out waiting for the hung insert");
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.ok(collectionNames(t.api).some((n) => n.startsWith("drill_")), "the scratch exists now");
  child.kill("SIGTERM");
  const out = await child.output();
  assert.equal(out.code, 130, new TextDecoder().decode(out.stderr));
  assert.deepEqual(collectionNames(t.api), SOURCES, "nothing left behind");
});

Deno.test("drill: a snapshot that fails verification is a failed drill (exit 2), nothing created", async () => {
  await using t = await setup();
  const [name] = (await Array.fromAsync(Deno.readDir(t.out)))
    .filter((e) => e.isDirectory).map((e) => e.name);
  await flipByte(join(t.out, name!, `${KS}.customers.jsonl.gz`), 40);
  const r = await drill(t, ["--collections", "customers"]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /customers/);
  // A failed drill like any other: reported, and journaled so that `list` shows it failed.
  const report = JSON.parse(r.stdout);
  assert.equal(report.status, "failed");
  assert.equal(report.collections[0].status, "failed");
  assert.match(report.collections[0].reason, /^the snapshot failed verification: .*customers/);
  assert.equal(report.collections[0].cleanup, "not created");
  const lines = (await Deno.readTextFile(join(t.out, "drills.jsonl"))).trim().split("\n");
  assert.equal(JSON.parse(lines.at(-1)!).status, "failed");
  assert.equal(
    t.api.requests.filter((q) => q.command === "createCollection").length,
    0,
    "nothing created",
  );
  assert.deepEqual(collectionNames(t.api), SOURCES);
});

// ---------------------------------------------------------------------------------------------
// Tables

const TABLES = ["audit_log", "products"];

/** Every table of the keyspace with its definition, indexes and rows, and the keyspace's types. */
function tableContent(api: FakeDataApi): string {
  const names = [...(api.store.schemas.get(KS)?.tables.keys() ?? [])].sort();
  return JSON.stringify([
    names.map((n) => [
      n,
      api.store.tableDefinition(KS, n),
      api.store.tableIndexes(KS, n).sort(),
      api.store.tableRows(KS, n).sort(),
    ]),
    api.store.keyspaceTypes(KS),
  ]);
}

const tableNames = (api: FakeDataApi, ks = KS) =>
  [...(api.store.schemas.get(ks)?.tables.keys() ?? [])].sort();

Deno.test("drill: collections and tables (the demo's snapshot) are proven: rows and definitions identical, probe overlap 1.0, nothing left", async () => {
  await using t = await setup(30, true);
  const before = [content(t.api), tableContent(t.api)];
  const r = await drill(t, ["--collection-limit", "6"]);
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  assert.equal(report.status, "proven");
  assert.equal(report.partial, false);
  assert.deepEqual(
    report.collections.map((c: { source: string }) => c.source).sort(),
    [...SOURCES, ...TABLES].sort().map((n) => `${KS}.${n}`),
  );
  for (const c of report.collections) {
    assert.equal(c.status, "identical", `${c.source}: ${c.reason}`);
    assert.equal(c.documents_read_back, c.documents_in_snapshot);
    assert.equal(c.cleanup, "dropped");
  }
  const products = report.collections.find((c: { source: string }) =>
    c.source === `${KS}.products`
  );
  assert.equal(products.kind, "table");
  assert.equal(products.documents_read_back, 60);
  assert.deepEqual(products.probes.columns, ["emb"]);
  assert.equal(products.probes.against, "source");
  assert.equal(products.probes.probes, 20);
  assert.equal(products.probes.overlap_min, 1);
  // The probes searched the scratch table and the source by the vector column.
  const sorted = t.api.requests.filter((q) =>
    q.command === "find" && q.body.includes('"sort":{"emb"')
  );
  assert.ok(sorted.some((q) => q.collection === "products"));
  assert.ok(
    sorted.some((q) => q.collection?.startsWith("drill_") && q.collection.endsWith("_products")),
  );
  assert.deepEqual(collectionNames(t.api), SOURCES, "no scratch collection left");
  assert.deepEqual(tableNames(t.api), TABLES, "no scratch table left");
  assert.deepEqual([content(t.api), tableContent(t.api)], before, "sources unchanged");
});

Deno.test("drill --keyspace: the scratch tables and the user-defined types the restore created there are dropped", async () => {
  await using t = await setup(30, true);
  t.api.store.keyspaces.set("scratch_ks", new Map());
  const r = await drill(t, ["--kind", "tables", "--keyspace", "scratch_ks"]);
  assert.equal(r.code, 0, r.stdout);
  const report = JSON.parse(r.stdout);
  assert.deepEqual(report.collections.map((c: { kind: string }) => c.kind), ["table", "table"]);
  for (const c of report.collections) {
    assert.equal(c.status, "identical", `${c.source}: ${c.reason}`);
    assert.match(c.scratch, /^scratch_ks\.drill_/);
  }
  assert.ok(
    t.api.requests.some((q) => q.command === "createType" && q.keyspace === "scratch_ks"),
    "the restore created the type in the scratch keyspace",
  );
  assert.deepEqual(tableNames(t.api, "scratch_ks"), []);
  assert.deepEqual(t.api.store.keyspaceTypes("scratch_ks"), [], "the type it created is dropped");
  assert.equal(t.api.store.keyspaceTypes(KS).length, 1, "the source's type is untouched");
});

Deno.test("drill --keep names the user-defined types it created as well as the scratch tables", async () => {
  await using t = await setup(30, true);
  t.api.store.keyspaces.set("scratch_ks", new Map());
  const r = await drill(t, ["--kind", "tables", "--keyspace", "scratch_ks", "--keep"]);
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  const types = [...t.api.store.schemas.get("scratch_ks")!.types.keys()];
  assert.equal(types.length, 1, "the type the restore created is kept");
  assert.deepEqual(
    [...report.left].sort(),
    [
      ...tableNames(t.api, "scratch_ks").map((n) => `scratch_ks.${n}`),
      ...types.map((ty) => `scratch_ks.${ty} (type)`),
    ].sort(),
  );
});

for (
  const [mode, action, kind] of [
    ["alter: a number changed", { kind: "alter", every: 7, change: "round" }, "differs"],
    ["alter: a column dropped", { kind: "alter", every: 5, change: "drop" }, "differs"],
    ["alter: a vector reordered", { kind: "alter", every: 3, change: "reorder" }, "differs"],
    ["lose: one row confirmed and not stored", { kind: "lose", count: 1 }, "missing"],
  ] as const
) {
  Deno.test(`drill: a server that stores table rows wrongly (${mode}) fails the drill, naming the table and the primary key`, async () => {
    await using t = await setup(30, true);
    t.api.faults.add({ command: "insertMany", times: 1, action });
    const r = await drill(t, ["--collections", "products", "--probes", "0"]);
    assert.equal(r.code, 2, r.stderr);
    const report = JSON.parse(r.stdout);
    assert.equal(report.status, "failed");
    const c = report.collections[0];
    assert.equal(c.source, `${KS}.products`);
    assert.equal(c.status, "different", c.reason);
    assert.equal(c.differences[0].kind, kind);
    assert.match(c.differences[0]._id, /^\{"category":"\w+","sku":"sku-\d{4}","version":\d\}$/);
    if (kind === "differs") {
      assert.match(c.differences[0].path, /^\w+(\.\$binary|\[\d+\])?$/, "the column is named");
    }
    assert.deepEqual(tableNames(t.api), TABLES, "no scratch table left");
  });
}

Deno.test("drill: a table whose copy lost an index fails on its definition", async () => {
  await using t = await setup(30, true);
  // The server confirms the vector index and keeps none (as a name clash under ifNotExists would).
  t.api.faults.add({
    command: "createVectorIndex",
    times: 1,
    action: { kind: "status", status: 200, body: '{"status":{"ok":1}}' },
  });
  const r = await drill(t, ["--collections", "products", "--probes", "0"]);
  assert.equal(r.code, 2, r.stderr);
  const c = JSON.parse(r.stdout).collections[0];
  assert.equal(c.status, "different", c.reason);
  assert.equal(c.differences[0].kind, "definition");
  assert.match(c.differences[0].path, /^indexes/);
  assert.deepEqual(tableNames(t.api), TABLES);
});

Deno.test("drill: differences name the field path, in text and --json", async () => {
  await using t = await setup();
  t.api.faults.add({
    command: "insertMany",
    times: 1,
    action: { kind: "alter", every: 1000, change: "round" },
  });
  const r = await drill(t, ["--collections", "articles", "--probes", "0"]);
  assert.equal(r.code, 2, r.stderr);
  const d = JSON.parse(r.stdout).collections[0].differences[0];
  assert.equal(d.kind, "differs");
  // The first number member of an article is "views" (9007199254740993 + i, rounded plus one).
  assert.equal(d.path, "views");
  assert.match(d.detail, /^snapshot \d{16}, read back \d{16}$/);
  t.api.faults.add({
    command: "insertMany",
    times: 1,
    action: { kind: "alter", every: 1000, change: "drop" },
  });
  const text = await runCli([
    "drill",
    "latest",
    "--from",
    t.out,
    "--collections",
    "articles",
    "--probes",
    "0",
  ], { dir: t.dir, env: fakeEnv(t.api) });
  assert.equal(text.code, 2, text.stderr);
  // The last member of an article is its $vector.
  assert.match(
    text.stdout,
    /_id "article-\d{4}": differs at \$vector \(missing in what was read back\)/,
  );
});

// ---------------------------------------------------------------------------------------------
// --max-docs, --kind, a second signal

Deno.test("drill --max-docs: only the first N of each are restored and compared, the report says partial, probes are against the copy itself", async () => {
  await using t = await setup(30, true);
  const r = await drill(t, ["--max-docs", "7", "--collections", "articles,products,customers"]);
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  assert.equal(report.status, "proven");
  assert.equal(report.partial, true);
  assert.equal(report.max_docs, 7);
  for (const c of report.collections) {
    assert.equal(c.status, "identical", `${c.source}: ${c.reason}`);
    assert.deepEqual([c.documents_in_snapshot, c.documents_read_back], [7, 7], c.source);
    assert.match(c.reason, /partial: the first 7 of \d+/);
  }
  const articles = report.collections.find((c: { source: string }) =>
    c.source === `${KS}.articles`
  );
  assert.equal(articles.documents_total, 30);
  assert.equal(articles.probes.against, "self");
  assert.match(articles.probes.why_self, /partial drill/);
  assert.equal(articles.probes.probes, 7, "probes only among the covered documents");
  assert.equal(articles.probes.overlap_min, 1);
  const products = report.collections.find((c: { source: string }) =>
    c.source === `${KS}.products`
  );
  assert.equal(products.probes.against, "self");
  // Only 7 of each were written.
  const written = (name: string) =>
    t.api.requests.filter((q) => q.command === "insertMany" && q.collection?.endsWith(`_${name}`))
      .reduce((n, q) => n + (q.body.match(/"sku":|"_id":/g)?.length ?? 0), 0);
  assert.equal(written("articles"), 7);
  assert.equal(written("products"), 7);
  assert.deepEqual(collectionNames(t.api), SOURCES);
  assert.deepEqual(tableNames(t.api), TABLES);
  // The text report says it too.
  const text = await runCli(["drill", "latest", "--from", t.out, "--max-docs", "7"], {
    dir: t.dir,
    env: fakeEnv(t.api),
  });
  assert.equal(text.code, 1, "3 scratch collections more than the default limit of 5");
  const ok = await runCli([
    "drill",
    "latest",
    "--from",
    t.out,
    "--max-docs",
    "7",
    "--kind",
    "collections",
    "--collection-limit",
    "6",
  ], { dir: t.dir, env: fakeEnv(t.api) });
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /PROVEN.*PARTIAL: only the first 7 documents\/rows of each/);
  assert.match(ok.stdout, /as a partial drill \(--max-docs 7\)/);
});

Deno.test("drill --kind: tables only, or collections only, with the same spelling as backup", async () => {
  await using t = await setup(30, true);
  const tables = await drill(t, ["--kind", "tables"]);
  assert.equal(tables.code, 0, tables.stderr);
  assert.deepEqual(
    JSON.parse(tables.stdout).collections.map((c: { source: string }) => c.source).sort(),
    TABLES.map((n) => `${KS}.${n}`),
  );
  const collections = await drill(t, ["--kind", "collections", "--collection-limit", "6"]);
  assert.equal(collections.code, 0, collections.stderr);
  assert.ok(
    JSON.parse(collections.stdout).collections.every((c: { kind: string }) =>
      c.kind === "collection"
    ),
  );
  const bad = await drill(t, ["--kind", "views"]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /collections, tables, all/);
});

Deno.test("drill: a second signal during the cleanup exits at once and names what is left", async () => {
  await using t = await setup();
  t.api.faults.add({ command: "insertMany", action: { kind: "hang" } });
  t.api.faults.add({ command: "deleteCollection", action: { kind: "hang" } });
  const child = spawnCli(
    ["drill", "latest", "--from", t.out, "--collections", "articles", "--json"],
    { dir: t.dir, env: fakeEnv(t.api) },
  );
  const until = Date.now() + 60_000;
  const waitFor = async (what: string, ok: () => boolean) => {
    while (!ok()) {
      if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  await waitFor("the hung insert", () => t.api.faults.usage()[0] === 1);
  const scratch = collectionNames(t.api).find((n) => n.startsWith("drill_"));
  assert.ok(scratch, "the scratch exists now");
  child.kill("SIGTERM");
  await waitFor("the hung drop", () => t.api.faults.usage()[1] === 1);
  child.kill("SIGTERM");
  const out = await child.output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 130, stderr);
  assert.match(
    stderr,
    new RegExp(`before its cleanup finished; left \\(where they exist\\): ${KS}\\.${scratch}`),
  );
});

Deno.test("list shows when each snapshot was last drilled and with what result (drills.jsonl)", async () => {
  await using t = await setup();
  const list = async () => {
    const r = await runCli(["list", "--from", t.out, "--json"], {
      dir: t.dir,
      env: fakeEnv(t.api),
    });
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout).local[0].last_drill;
  };
  assert.equal(await list(), null, "never drilled");
  assert.equal((await drill(t, ["--collections", "customers", "--max-docs", "5"])).code, 0);
  const first = await list();
  assert.deepEqual([first.status, first.partial], ["proven", true]);
  t.api.faults.add({ command: "insertMany", times: 1, action: { kind: "lose", count: 1 } });
  assert.equal((await drill(t, ["--collections", "customers"])).code, 2);
  const second = await list();
  assert.deepEqual([second.status, second.partial], ["failed", false]);
  assert.ok(second.started >= first.started);
  const text = await runCli(["list", "--from", t.out], { dir: t.dir, env: fakeEnv(t.api) });
  assert.match(text.stdout, /last drill/);
  assert.match(text.stdout, new RegExp(`${second.started.slice(0, 10)} failed `));
});

Deno.test("drill: a table the Data API cannot recreate fails the drill with the restore's reason, nothing left", async () => {
  await using t = await setup(30, true);
  t.api.store.createTable(
    KS,
    "legacy",
    '{"columns":{"id":"text","seen":"timeuuid"},"primaryKey":"id"}',
    { cqlTypes: true },
  );
  t.api.store.seedRows(KS, "legacy", ['{"id":"a","seen":"d2177dd0-eaa2-11de-a572-001b779c76e3"}']);
  await new Promise((r) => setTimeout(r, 1100));
  const b = await runCli(["backup", "--out", t.out, "--kind", "tables"], {
    dir: t.dir,
    env: fakeEnv(t.api),
  });
  assert.equal(b.code, 0, b.stderr);
  const r = await drill(t, ["--collections", "legacy"]);
  assert.equal(r.code, 2, r.stderr);
  const c = JSON.parse(r.stdout).collections[0];
  assert.equal(c.status, "failed");
  assert.match(
    c.reason,
    /^the restore failed: cannot be restored through the Data API: .*timeuuid/,
  );
  assert.equal(c.cleanup, "not created");
  assert.deepEqual(tableNames(t.api), [...TABLES, "legacy"].sort());
});

Deno.test("drill: a scratch collection it cannot drop fails the drill (exit 2) and is named", async () => {
  await using t = await setup();
  t.api.faults.add({
    command: "deleteCollection",
    times: Infinity,
    action: { kind: "error", errorCode: "SERVER_UNHANDLED_ERROR", message: "drop refused" },
  });
  const r = await drill(t, ["--collections", "customers", "--probes", "0"]);
  assert.equal(r.code, 2, r.stderr);
  const report = JSON.parse(r.stdout);
  assert.equal(report.status, "failed");
  const c = report.collections[0];
  assert.equal(c.status, "identical", "the copy itself was proven");
  assert.equal(c.cleanup, "failed");
  assert.deepEqual(report.left, [c.scratch]);
  assert.match(r.stderr, /could not drop the drill's scratch collection/);
  const journal = (await Deno.readTextFile(join(t.out, "drills.jsonl"))).trim().split("\n");
  assert.equal(JSON.parse(journal.at(-1)!).status, "failed");
});
