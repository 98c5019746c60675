/**
 * Tables end to end: a keyspace with a vector collection, a vector table (composite primary key,
 * map, set, blob, decimal, varint beyond 2^64, timestamp, duration, UDT, vector column with a
 * vector index, text and regular indexes) and an empty table goes through backup → verify →
 * restore into a second fake Data API and comes back identical.
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { gzipSync } from "node:zlib";
import { join } from "node:path";
import { parseManifest } from "../../src/manifest/mod.ts";
import { FakeDataApi } from "../fakes/data_api/server.ts";
import { seedSample, seedTables } from "../fakes/data_api/sample_data.ts";
import { copyDir, dataLines, editManifest, replaceLines } from "../support/snapshots.ts";
import { fakeEnv, NOT_A_KEYSPACE, readData, runCli } from "./run_cli.ts";

const KS = "default_keyspace";

async function setup() {
  const source = await FakeDataApi.start({ logRequests: true });
  const target = await FakeDataApi.start({ logRequests: true });
  seedSample(source.store, { articles: 30, dimension: 8 });
  seedTables(source.store);
  const dir = await Deno.makeTempDir({ prefix: "astrabak-tables-" });
  return {
    source,
    target,
    dir,
    out: join(dir, "backups"),
    async [Symbol.asyncDispose]() {
      await source.close();
      await target.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

async function backup(t: Awaited<ReturnType<typeof setup>>, ...args: string[]) {
  const r = await runCli(["backup", "--out", t.out, "--json", ...args], {
    dir: t.dir,
    env: fakeEnv(t.source),
  });
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as { snapshot: string };
}

const parsed = (xs: string[]) =>
  xs.map((x) => JSON.parse(x)).sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));

Deno.test("tables: backup captures definition, indexes, types and rows exactly", async () => {
  await using t = await setup();
  const { snapshot } = await backup(t);
  const m = parseManifest(await Deno.readFile(join(snapshot, "manifest.json")), snapshot);
  assert.equal(m.backup_format_version, 2);
  const products = m.collections.find((c) => c.name === "products")!;
  assert.equal(products.kind, "table");
  assert.equal(products.status, "ok");
  assert.deepEqual(
    JSON.parse(
      JSON.stringify({
        columns: products.definition.columns,
        primaryKey: products.definition.primaryKey,
      }),
    ),
    JSON.parse(t.source.store.tableDefinition(KS, "products")).definition,
  );
  assert.deepEqual(
    parsed((products.definition.indexes as unknown[]).map((x) => JSON.stringify(x))),
    parsed(t.source.store.tableIndexes(KS, "products")),
  );
  assert.deepEqual(
    products.definition.types,
    t.source.store.keyspaceTypes(KS).map((x) => JSON.parse(x)),
  );
  assert.ok(products.projection_schema && "emb" in products.projection_schema);
  assert.equal(products.vector, null);
  const emb = products.vector_columns!.find((v) => v.field === "emb")!;
  assert.equal(emb.dimension, 8);
  assert.equal(emb.documents_with_vector + emb.documents_without_vector, 60);
  assert.ok(emb.documents_without_vector > 0 && emb.documents_with_vector > 0);
  // Rows: byte for byte what find returned (numbers beyond 2^64, decimals, map tuples, durations).
  const lines = (await readData(join(snapshot, products.data_file!))).trimEnd().split("\n");
  assert.deepEqual(lines.sort(), [...t.source.store.tableRows(KS, "products")].sort());
  const bigs = lines.map((l) => /"big":(-?\d+)/.exec(l)?.[1]).filter((b): b is string =>
    b !== undefined
  );
  assert.ok(
    bigs.some((b) => BigInt(b) > 2n ** 64n),
    `a varint beyond 2^64 kept its digits: ${bigs[0]}`,
  );
  assert.ok(lines.some((l) => l.includes('"ttl":"PT1.5S"')), "durations as the server prints them");
  const audit = m.collections.find((c) => c.name === "audit_log")!;
  assert.deepEqual([audit.kind, audit.status, audit.document_count], ["table", "ok", 0]);
  assert.equal(m.collections.find((c) => c.name === "articles")!.kind, "collection");
  assert.equal((await runCli(["verify", snapshot], { dir: t.dir })).code, 0);
  const commands = new Set(t.source.requests.map((q) => q.command));
  assert.ok(
    !commands.has("estimatedDocumentCount") ||
      t.source.requestsOf("estimatedDocumentCount").every((q) => q.collection !== "products"),
    "no count command on tables",
  );
});

Deno.test("tables: restore into an empty database recreates types, table, indexes and rows identically", async () => {
  await using t = await setup();
  const { snapshot } = await backup(t);
  const r = await runCli(["restore", snapshot, "--json"], {
    dir: t.dir,
    env: fakeEnv(t.target, { ASTRA_DB_KEYSPACE: NOT_A_KEYSPACE }),
  });
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  const products = report.collections.find((c: { source: string }) =>
    c.source === `${KS}.products`
  );
  assert.deepEqual(
    [products.status, products.inserted, products.overwritten, products.count_after],
    ["ok", 60, 0, 60],
  );
  for (const table of ["products", "audit_log"]) {
    assert.deepEqual(
      t.target.store.tableRows(KS, table).sort(),
      t.source.store.tableRows(KS, table).sort(),
      `${table} rows`,
    );
    assert.equal(
      t.target.store.tableDefinition(KS, table),
      t.source.store.tableDefinition(KS, table),
      `${table} definition`,
    );
    assert.deepEqual(
      parsed(t.target.store.tableIndexes(KS, table)),
      parsed(t.source.store.tableIndexes(KS, table)),
      `${table} indexes`,
    );
  }
  assert.deepEqual(t.target.store.keyspaceTypes(KS), t.source.store.keyspaceTypes(KS));
  // The restore order the server needs, and the duration re-spelled as the server accepts it.
  const at = (command: string, name: string) =>
    t.target.requests.findIndex((q) =>
      q.command === command && q.body.includes(`"name":"${name}"`)
    );
  const firstInsert = t.target.requests.findIndex((q) =>
    q.command === "insertMany" && q.collection === "products"
  );
  assert.ok(at("createType", "address") < at("createTable", "products"), "types before the table");
  assert.ok(
    at("createTable", "products") < at("createVectorIndex", "products_emb_idx"),
    "the table before its indexes",
  );
  assert.ok(at("createVectorIndex", "products_emb_idx") < firstInsert, "indexes before rows");
  const sent = t.target.requestsOf("insertMany", "products").map((q) => q.body).join("");
  assert.ok(sent.includes('"ttl":"1s500ms"') && !sent.includes('"ttl":"PT1.5S"'));
  assert.ok(
    !/"apiSupport"/.test(t.target.requestsOf("createTable").map((q) => q.body).join("")),
    "read-only annotations stripped",
  );
  // The collection in the same snapshot came back too.
  assert.equal(t.target.store.keyspace(KS).get("articles")!.docs.size, 30);
});

Deno.test("tables: --kind filters, and append reports overwritten rows (tables upsert)", async () => {
  await using t = await setup();
  const tablesOnly = await backup(t, "--kind", "tables");
  const m = parseManifest(await Deno.readFile(join(tablesOnly.snapshot, "manifest.json")), "m");
  assert.deepEqual(m.collections.map((c) => c.name).sort(), ["audit_log", "products"]);
  await new Promise((r) => setTimeout(r, 1100));
  const collectionsOnly = await backup(t, "--kind", "collections");
  const m2 = parseManifest(
    await Deno.readFile(join(collectionsOnly.snapshot, "manifest.json")),
    "m2",
  );
  assert.ok(m2.collections.every((c) => c.kind === "collection"));

  const env = fakeEnv(t.target, { ASTRA_DB_KEYSPACE: NOT_A_KEYSPACE });
  assert.equal((await runCli(["restore", tablesOnly.snapshot], { dir: t.dir, env })).code, 0);
  // Change one restored row, then append the snapshot again: the row is overwritten, and said so.
  t.target.store.seedRows(KS, "products", [
    '{"category":"books","sku":"sku-0000","version":1,"name":"CHANGED"}',
  ]);
  const fail = await runCli(["restore", tablesOnly.snapshot, "--collections", "products"], {
    dir: t.dir,
    env,
  });
  assert.equal(fail.code, 1);
  assert.match(fail.stderr, /products already exists/);
  const r = await runCli([
    "restore",
    tablesOnly.snapshot,
    "--collections",
    "products",
    "--if-exists",
    "append",
    "--json",
  ], {
    dir: t.dir,
    env,
  });
  assert.equal(r.code, 0, r.stderr);
  const c = JSON.parse(r.stdout).collections[0];
  assert.deepEqual([c.inserted, c.overwritten, c.count_after], [0, 60, 60]);
  assert.match(c.reason, /tables upsert, so rows whose key exists are overwritten/);
  assert.deepEqual(
    t.target.store.tableRows(KS, "products").sort(),
    t.source.store.tableRows(KS, "products").sort(),
  );
});

Deno.test("tables: a tampered row vector is caught by verify", async () => {
  await using t = await setup();
  const { snapshot } = await backup(t);
  const copy = join(t.dir, "backups", "20261125_000001");
  await copyDir(snapshot, copy);
  const m = JSON.parse(await Deno.readTextFile(join(copy, "manifest.json")));
  m.snapshot = "20261125_000001";
  const p = m.collections.find((c: { name: string }) => c.name === "products");
  const lines = (await readData(join(copy, p.data_file))).trimEnd().split("\n");
  const i = lines.findIndex((l) => l.includes('"emb":['));
  lines[i] = lines[i]!.replace(/"emb":\[([^\]]*?),[^,\]]*\]/, '"emb":[$1]');
  const data = new TextEncoder().encode(lines.join("\n") + "\n");
  const gz = new Uint8Array(gzipSync(data));
  await Deno.writeFile(join(copy, p.data_file), gz);
  p.data_sha256 = createHash("sha256").update(gz).digest("hex");
  p.data_size_bytes = gz.length;
  p.uncompressed_size_bytes = data.length;
  await Deno.writeTextFile(join(copy, "manifest.json"), JSON.stringify(m));
  const r = await runCli(["verify", copy], { dir: t.dir });
  assert.equal(r.code, 2);
  assert.match(r.stdout, /products.*has a emb of dimension 7, but the definition says 8/);
});

Deno.test("tables: a primary key twice, or a row without one, fails verify naming the line; restore writes nothing", async () => {
  await using t = await setup();
  const { snapshot } = await backup(t);
  const rows = await dataLines(snapshot, "products");
  const last = rows.length;
  const cases: Array<[string, string, RegExp]> = [
    [
      "a primary key twice",
      rows[0]!.replace(/"name":("[^"]*"|null)/, '"name":"changed"'),
      new RegExp(`line ${last} repeats the primary key of line 1`),
    ],
    [
      "a row without one of its primary-key columns",
      rows[0]!.replace(/"sku":"[^"]*",/, ""),
      new RegExp(
        `line ${last}: the Data API would refuse this document: the row has no value for primary-key column sku \\(MISSING_PRIMARY_KEY_COLUMNS\\)`,
      ),
    ],
  ];
  for (const [i, [what, line, pattern]] of cases.entries()) {
    const copy = join(t.dir, "backups", `20261125_00001${i}`);
    await copyDir(snapshot, copy);
    await editManifest(copy, (m) => (m.snapshot = `20261125_00001${i}`));
    await replaceLines(copy, "products", [...rows.slice(0, -1), line]);
    const r = await runCli(["verify", copy], { dir: t.dir });
    assert.equal(r.code, 2, `${what}: ${r.stdout}${r.stderr}`);
    assert.match(
      r.stdout,
      /FAILED +default_keyspace\.products \(default_keyspace\.products\.jsonl\.gz\): /,
    );
    assert.match(r.stdout, pattern, what);
    const restored = await runCli(["restore", copy], {
      dir: t.dir,
      env: fakeEnv(t.target, { ASTRA_DB_KEYSPACE: NOT_A_KEYSPACE }),
    });
    assert.equal(restored.code, 2, `${what}: ${restored.stderr}`);
    assert.match(restored.stderr, pattern, what);
    assert.equal(t.target.requests.length, 0, `${what}: restore wrote nothing`);
  }
});

Deno.test("tables: a table the Data API cannot recreate is backed up with a warning and refused by restore", async () => {
  await using t = await setup();
  t.source.store.createTable(
    KS,
    "legacy",
    '{"columns":{"id":"text","seen":"timeuuid"},"primaryKey":"id"}',
    { cqlTypes: true },
  );
  t.source.store.seedRows(KS, "legacy", [
    '{"id":"a","seen":"d2177dd0-eaa2-11de-a572-001b779c76e3"}',
  ]);
  const r = await runCli(["backup", "--out", t.out, "--json"], {
    dir: t.dir,
    env: fakeEnv(t.source),
  });
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  const legacy = report.collections.find((c: { name: string }) => c.name === "legacy");
  assert.equal(legacy.status, "ok");
  assert.match(
    legacy.warnings.join(";"),
    /column seen \(timeuuid\) cannot be created through the Data API/,
  );
  const res = await runCli(["restore", report.snapshot, "--json"], {
    dir: t.dir,
    env: fakeEnv(t.target, { ASTRA_DB_KEYSPACE: NOT_A_KEYSPACE }),
  });
  assert.equal(res.code, 2);
  const out = JSON.parse(res.stdout);
  const refused = out.collections.find((c: { source: string }) => c.source === `${KS}.legacy`);
  assert.equal(refused.status, "failed");
  assert.match(refused.error, /cannot be restored through the Data API/);
  assert.equal(t.target.store.table(KS, "legacy"), undefined, "nothing was created for it");
  assert.equal(
    out.collections.filter((c: { status: string }) => c.status === "ok").length,
    5,
    "the others were restored",
  );
});

Deno.test("tables: a column type listTypes does not describe fails that table, never a complete snapshot", async () => {
  await using t = await setup();
  // listTypes answers without `address` (which products.addr uses); it is back before rows are
  // read (listIndexes follows listTypes), so only the description is missing.
  const types = t.source.store.schema(KS).types;
  const address = types.get("address")!;
  t.source.faults.add({
    command: "listTypes",
    action: { kind: "run", fn: () => types.delete("address") },
  });
  t.source.faults.add({
    command: "listIndexes",
    action: { kind: "run", fn: () => types.set("address", address) },
  });
  const r = await runCli(["backup", "--out", t.out, "--json"], {
    dir: t.dir,
    env: fakeEnv(t.source),
  });
  assert.equal(r.code, 2, r.stderr);
  const report = JSON.parse(r.stdout);
  assert.equal(report.status, "incomplete");
  assert.match(report.snapshot, /\.INCOMPLETE$/);
  const products = report.collections.find((c: { name: string }) => c.name === "products");
  assert.equal(products.status, "failed");
  assert.match(products.error, /user-defined type address .*not described by listTypes/);
  assert.match(r.stderr, /products.*user-defined type address/);
  const m = parseManifest(await Deno.readFile(join(report.snapshot, "manifest.json")), "m");
  assert.equal(m.collections.find((c) => c.name === "products")!.status, "failed");
});

Deno.test("tables: DDL whose answer was lost is not failed by our own retry (drop, create)", async () => {
  await using t = await setup();
  const { snapshot } = await backup(t, "--kind", "tables");
  const env = fakeEnv(t.target, { ASTRA_DB_KEYSPACE: NOT_A_KEYSPACE });
  assert.equal((await runCli(["restore", snapshot], { dir: t.dir, env })).code, 0);
  // Each DDL command is applied, but its answer breaks off mid-body: the client retries it.
  for (
    const command of ["dropTable", "createTable", "createType", "createIndex", "createVectorIndex"]
  ) {
    t.target.faults.add({ command, action: { kind: "drop" } });
  }
  const r = await runCli([
    "restore",
    snapshot,
    "--collections",
    "products",
    "--if-exists",
    "replace",
    "--json",
  ], { dir: t.dir, env });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(t.target.faults.usage(), [1, 1, 1, 1, 1]);
  assert.equal(JSON.parse(r.stdout).collections[0].count_after, 60);
  assert.equal(
    t.target.store.tableDefinition(KS, "products"),
    t.source.store.tableDefinition(KS, "products"),
  );
});

Deno.test("tables: a server with the tables feature off gives a complete collections snapshot that says so", async () => {
  await using t = await setup();
  // v1.0.18–v1.0.34 with stargate.jsonapi.feature.flags.tables: false (KeyspaceResource.java).
  t.source.faults.add({
    command: "listTables",
    times: Infinity,
    action: {
      kind: "error",
      errorCode: "TABLE_FEATURE_NOT_ENABLED",
      message: "API Table feature is not enabled",
    },
  });
  const r = await runCli(["backup", "--out", t.out, "--json"], {
    dir: t.dir,
    env: fakeEnv(t.source),
  });
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  assert.match(
    r.stderr,
    /WARN .*keyspace default_keyspace: tables not backed up: .*TABLE_FEATURE_NOT_ENABLED/,
  );
  const m = parseManifest(await Deno.readFile(join(report.snapshot, "manifest.json")), "m");
  assert.ok(m.collections.every((c) => c.kind === "collection"));
  assert.match(m.warnings?.join("\n") ?? "", /default_keyspace: tables not backed up/);
  assert.equal(m.backup_format_version, 3);
  // --kind tables cannot be served at all: exit 1, nothing written.
  const tables = await runCli(["backup", "--out", join(t.dir, "t2"), "--kind", "tables"], {
    dir: t.dir,
    env: fakeEnv(t.source),
  });
  assert.equal(tables.code, 1, tables.stderr);
  assert.match(
    tables.stderr,
    /tables are not available on this Data API.*TABLE_FEATURE_NOT_ENABLED/,
  );
});

Deno.test("tables: a server without listIndexes/listTypes never turns into 'no tables'", async () => {
  await using t = await setup();
  // v1.0.19–v1.0.29 have no listTypes; products uses a user-defined type.
  t.source.faults.add({
    command: "listTypes",
    times: Infinity,
    action: {
      kind: "error",
      errorCode: "COMMAND_UNKNOWN",
      message: 'Provided command unknown: "listTypes"',
    },
  });
  const r = await runCli(["backup", "--out", t.out], { dir: t.dir, env: fakeEnv(t.source) });
  assert.equal(r.code, 1, r.stderr);
  assert.match(
    r.stderr,
    /products.*use user-defined types, but this Data API has no listTypes \(added in server v1\.0\.30\)/,
  );
  // Without a table that uses a type, listTypes is never asked.
  t.source.store.dropTable(KS, "products");
  const ok = await runCli(["backup", "--out", t.out, "--json"], {
    dir: t.dir,
    env: fakeEnv(t.source),
  });
  assert.equal(ok.code, 0, ok.stderr);
  const names = JSON.parse(ok.stdout).collections.map((c: { name: string }) => c.name);
  assert.ok(names.includes("audit_log") && !names.includes("products"), names.join());
  assert.equal(t.source.requestsOf("listTypes").length, 1, "asked once, for products");
});

Deno.test("tables: restore --rename beside the source gives the copy its own indexes (index names are per keyspace)", async () => {
  await using t = await setup();
  const { snapshot } = await backup(t, "--kind", "tables");
  const r = await runCli([
    "restore",
    snapshot,
    "--collections",
    "products",
    "--rename",
    "products=products_copy",
  ], { dir: t.dir, env: fakeEnv(t.source) });
  assert.equal(r.code, 0, r.stderr);
  const copy = parsed(t.source.store.tableIndexes(KS, "products_copy"));
  const source = parsed(t.source.store.tableIndexes(KS, "products"));
  assert.equal(copy.length, source.length, "every index recreated on the copy");
  assert.deepEqual(
    copy.map((ix: { name: string }) => ix.name).sort(),
    ["products_copy_emb_idx", "products_copy_name_idx", "products_copy_sku_idx"],
  );
  assert.deepEqual(
    copy.map((ix: { definition: unknown }) => JSON.stringify(ix.definition)).sort(),
    source.map((ix: { definition: unknown }) => JSON.stringify(ix.definition)).sort(),
  );
  assert.equal(source.length, 3, "the source's indexes are untouched");
});
