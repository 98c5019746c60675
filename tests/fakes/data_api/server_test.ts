/**
 * Holds the fake Data API to the real client: every request here is made by unmodified
 * astra-db-ts 2.3.0 (or by plain fetch where the wire bytes matter), and the assertions are the
 * behaviours shared/docs/data-api-facts.md documents for the real server.
 */

import assert from "node:assert/strict";
import {
  CollectionInsertManyError,
  DataAPIClient,
  DataAPIDuration,
  DataAPIHttpError,
  DataAPIResponseError,
  DataAPIVector,
  type SomeRow,
  TableInsertManyError,
  TooManyDocumentsToCountError,
  UsernamePasswordTokenProvider,
} from "@datastax/astra-db-ts";
import { get, type JNode, parseTree, stringifyTree } from "./json_tree.ts";
import { seedTables } from "./sample_data.ts";
import { FAKE_TOKEN, FakeDataApi } from "./server.ts";
import { profile } from "./profiles.ts";

async function withFake(
  fn: (api: FakeDataApi) => Promise<void>,
  options: Parameters<typeof FakeDataApi.start>[0] = {},
): Promise<void> {
  const api = await FakeDataApi.start(options);
  try {
    await fn(api);
  } finally {
    await api.close();
  }
}

function hcdDb(api: FakeDataApi, token = FAKE_TOKEN) {
  const client = new DataAPIClient(token, { environment: "hcd" });
  return client.db(api.url, { keyspace: "default_keyspace" });
}

async function raw(api: FakeDataApi, path: string, body: unknown, token = FAKE_TOKEN) {
  const res = await fetch(`${api.url}/v1/${path}`, {
    method: "POST",
    headers: { "Token": token, "Content-Type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: res.status, text: await res.text() };
}

Deno.test("fake: astra-db-ts creates and lists collections with server-normalised options", async () => {
  await withFake(async (api) => {
    const db = hcdDb(api);
    await db.createCollection("vcoll", { vector: { dimension: 3, metric: "cosine" } });
    await db.createCollection("plain");
    const list = await db.listCollections();
    const v = list.find((c) => c.name === "vcoll");
    assert.deepEqual(v?.definition.vector, {
      dimension: 3,
      metric: "cosine",
      sourceModel: "other",
    });
    assert.deepEqual((v?.definition as Record<string, unknown>).lexical, {
      enabled: true,
      analyzer: "standard",
    });
    assert.deepEqual(await db.listCollections({ nameOnly: true }), ["vcoll", "plain"]);
    // Identical options are idempotent; different options are refused.
    await db.createCollection("vcoll", { vector: { dimension: 3, metric: "cosine" } });
    await assert.rejects(
      db.createCollection("vcoll", { vector: { dimension: 4, metric: "cosine" } }),
      (e: unknown) =>
        e instanceof DataAPIResponseError &&
        e.errorDescriptors[0]?.errorCode === "EXISTING_COLLECTION_DIFFERENT_SETTINGS",
    );
    await db.dropCollection("plain");
    assert.deepEqual(await db.listCollections({ nameOnly: true }), ["vcoll"]);
    assert.ok(
      api.requestsOf("deleteCollection").length === 1,
      "dropCollection sends deleteCollection",
    );
  });
});

Deno.test("fake: insertMany is chunked by the client and the default projection hides $vector", async () => {
  await withFake(async (api) => {
    const db = hcdDb(api);
    const coll = await db.createCollection("vcoll", { vector: { dimension: 3 } });
    const docs = Array.from(
      { length: 120 },
      (_, i) => ({ _id: `d${i}`, n: i, $vector: [0.5, 0.25, i] }),
    );
    const res = await coll.insertMany(docs);
    assert.equal(res.insertedCount, 120);
    assert.deepEqual(
      api.requestsOf("insertMany").map((r) => JSON.parse(r.body).insertMany.documents.length),
      [50, 50, 20],
    );

    const plain = await coll.find({}).toArray();
    assert.equal(plain.length, 120);
    assert.ok(plain.every((d) => !("$vector" in d)), "default projection drops $vector");
    const all = await coll.find({}, { projection: { "*": true } }).toArray();
    assert.ok(all.every((d) => d.$vector !== undefined), "{'*': true} returns $vector");
    const first = all.find((d) => d._id === "d7");
    assert.deepEqual([...first!.$vector!.asArray()], [0.5, 0.25, 7]);
    // The default server version (1.0.50) pages by 50, as the server does from v1.0.47.
    assert.equal(api.requestsOf("find").length, 6, "two scans of 120 documents at page size 50");
  });
});

Deno.test("fake: pages follow nextPageState, whatever the page size", async () => {
  for (const pageSize of [1, 7, 50]) {
    await withFake(async (api) => {
      const db = hcdDb(api);
      const coll = await db.createCollection("c");
      await coll.insertMany(Array.from({ length: 21 }, (_, i) => ({ _id: i })));
      api.requests.length = 0;
      const ids = (await coll.find({}).toArray()).map((d) => d._id as number).sort((a, b) => a - b);
      assert.deepEqual(ids, Array.from({ length: 21 }, (_, i) => i));
      assert.equal(api.requestsOf("find").length, Math.ceil(21 / pageSize));
      const bodies = api.requestsOf("find").map((r) => JSON.parse(r.body).find.options ?? {});
      assert.equal(bodies[0].pageState, undefined);
      if (bodies.length > 1) assert.equal(typeof bodies[1].pageState, "string");
    }, { pageSize });
  }
});

Deno.test("fake: insert errors match the real server's codes", async () => {
  await withFake(async (api) => {
    const db = hcdDb(api);
    const coll = await db.createCollection("vcoll", { vector: { dimension: 2 } });
    await coll.insertOne({ _id: "a", $vector: [1, 2] });
    await assert.rejects(
      coll.insertMany([{ _id: "a" }, { _id: "b" }]),
      (e: unknown) =>
        e instanceof CollectionInsertManyError && e.insertedIds().length === 1 &&
        e.errors().some((x) =>
          x instanceof DataAPIResponseError &&
          x.errorDescriptors[0]?.errorCode === "DOCUMENT_ALREADY_EXISTS"
        ),
    );
    const vz = await raw(api, "default_keyspace/vcoll", {
      insertOne: { document: { _id: "z", $vector: [1, 2], $vectorize: "text" } },
    });
    assert.match(vz.text, /INVALID_USAGE_OF_VECTORIZE/);
    const dim = await raw(api, "default_keyspace/vcoll", {
      insertOne: { document: { _id: "y", $vector: [1, 2, 3] } },
    });
    assert.match(dim.text, /INVALID_VECTOR_LENGTH/);
    const tooMany = await raw(api, "default_keyspace/vcoll", {
      insertMany: { documents: Array.from({ length: 101 }, (_, i) => ({ _id: `m${i}` })) },
    });
    assert.equal(tooMany.status, 200, "command errors come back inside HTTP 200");
    assert.match(tooMany.text, /COMMAND_FIELD_VALUE_INVALID.*over the max limit \(101 vs 100\)/);
    assert.equal(await coll.countDocuments({}, 1000), 2, "the over-limit request inserted nothing");
  });
});

Deno.test("fake: numbers, EJSON wrappers and key order come back byte for byte", async () => {
  await withFake(async (api) => {
    await hcdDb(api).createCollection("c");
    const doc =
      '{"_id":12345678901234567890,"dec":0.12345678901234567890123,"neg":-0.0,"exp":1E+400,"when":{"$date":1700000000000},"u":{"$uuid":"0192f1a2-0000-7000-8000-000000000002"},"z":1,"a":2}';
    const ins = await raw(api, "default_keyspace/c", `{"insertOne":{"document":${doc}}}`);
    assert.equal(ins.text, '{"status":{"insertedIds":[12345678901234567890]}}');
    const found = await raw(api, "default_keyspace/c", {
      find: { filter: {}, projection: { "*": true } },
    });
    assert.equal(found.text, `{"data":{"documents":[${doc}],"nextPageState":null}}`);
    // _id is moved to the front, as the real server's shredder does.
    await raw(api, "default_keyspace/c", '{"insertOne":{"document":{"x":1,"_id":"later"}}}');
    const one = await raw(api, "default_keyspace/c", { findOne: { filter: { _id: "later" } } });
    assert.equal(one.text, '{"data":{"document":{"_id":"later","x":1}}}');
  });
});

Deno.test("fake: counting is capped at 1000 like the server", async () => {
  await withFake(async (api) => {
    const db = hcdDb(api);
    const coll = await db.createCollection("c");
    api.store.seed("default_keyspace", "c", Array.from({ length: 1001 }, (_, i) => `{"_id":${i}}`));
    await assert.rejects(coll.countDocuments({}, 5000), TooManyDocumentsToCountError);
    assert.equal(await coll.estimatedDocumentCount(), 1001);
  });
});

Deno.test("fake: auth, unknown names and the Astra path prefix", async () => {
  await withFake(async (api) => {
    await assert.rejects(
      hcdDb(api, "AstraCS:wrong").listCollections(),
      (e: unknown) =>
        e instanceof DataAPIResponseError &&
        e.errorDescriptors[0]?.errorCode === "UNAUTHENTICATED_REQUEST",
    );
    const missing = await raw(api, "default_keyspace/nope", { find: { filter: {} } });
    assert.match(missing.text, /UNKNOWN_COLLECTION_OR_TABLE/);
    const ks = await raw(api, "nokeyspace", { findCollections: {} });
    assert.match(ks.text, /UNKNOWN_KEYSPACE/);
  });
  // The astra environment posts to /api/json/v1/<keyspace>, the one prefix Astra serves.
  await withFake(async (api) => {
    const astra = new DataAPIClient(FAKE_TOKEN, { environment: "astra" }).db(api.url, {
      keyspace: "default_keyspace",
    });
    await astra.createCollection("viaastra");
    assert.equal(api.requests.at(-1)?.path, "/api/json/v1/default_keyspace");
    const wrong = await fetch(`${api.url}/v1/default_keyspace`, { method: "POST", body: "{}" });
    assert.equal(wrong.status, 404);
    await wrong.body?.cancel();
  }, { apiPath: "/api/json/v1" });
});

Deno.test("fake: username/password tokens and the legacy missing-collection code", async () => {
  const token = new UsernamePasswordTokenProvider("cassandra", "cassandra").getToken() as string;
  await withFake(async (api) => {
    const client = new DataAPIClient(new UsernamePasswordTokenProvider("cassandra", "cassandra"), {
      environment: "hcd",
    });
    const db = client.db(api.url, { keyspace: "default_keyspace" });
    await db.createCollection("c");
    assert.equal(api.requests.at(-1)?.token, "Cassandra:Y2Fzc2FuZHJh:Y2Fzc2FuZHJh");
    const res = await raw(api, "default_keyspace/gone", { find: {} }, token);
    assert.match(res.text, /COLLECTION_NOT_EXIST/);
  }, { tokens: ["Cassandra:Y2Fzc2FuZHJh:Y2Fzc2FuZHJh"], serverVersion: "1.0.40" });
});

Deno.test("fake: injected faults reach the client as the real failures would", async () => {
  await withFake(async (api) => {
    const db = hcdDb(api);
    const coll = await db.createCollection("c");
    await coll.insertOne({ _id: 1 });
    api.faults.add({ command: "find", action: { kind: "status", status: 503, retryAfter: 2 } });
    await assert.rejects(
      coll.find({}).toArray(),
      (e: unknown) => e instanceof DataAPIHttpError && e.status === 503,
    );
    assert.equal((await coll.find({}).toArray()).length, 1, "only the next request was affected");

    api.faults.add({ command: "find", action: { kind: "truncate" } });
    await assert.rejects(coll.find({}).toArray(), SyntaxError);

    api.faults.add({ command: "find", action: { kind: "drop" } });
    const dropped = await fetch(`${api.url}/v1/default_keyspace/c`, {
      method: "POST",
      headers: { "Token": FAKE_TOKEN, "Content-Type": "application/json" },
      body: '{"find":{}}',
    });
    await assert.rejects(dropped.text(), "the body breaks off mid-response");

    api.faults.add({
      command: "find",
      action: { kind: "error", errorCode: "COLLECTION_NOT_EXIST" },
    });
    await assert.rejects(
      coll.find({}).toArray(),
      (e: unknown) =>
        e instanceof DataAPIResponseError &&
        e.errorDescriptors[0]?.errorCode === "COLLECTION_NOT_EXIST",
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Tables (tables-facts): DDL, listings, row encodings, projectionSchema, warnings, paging.

/** A raw command whose answer is parsed losslessly (numbers stay text). */
async function rawTree(api: FakeDataApi, path: string, body: unknown): Promise<JNode> {
  return parseTree((await raw(api, path, body)).text);
}

/** The exact JSON text of `path` (dot-separated members) inside a tree. */
function at(n: JNode, path: string): string | undefined {
  let cur: JNode | undefined = n;
  for (const k of path.split(".")) {
    cur = cur?.t === "arr" ? cur.a[Number(k)] : get(cur, k);
  }
  return cur === undefined ? undefined : stringifyTree(cur);
}

/** The first error's message, decoded. */
function errorMessage(n: JNode): string {
  return JSON.parse(at(n, "errors.0.message") ?? '""');
}

function errorCode(n: JNode): string | undefined {
  const e = at(n, "errors.0.errorCode");
  return e === undefined ? undefined : JSON.parse(e);
}

const KS = "default_keyspace";

const WIRE_TABLE = `{"createTable":{"name":"w","definition":{"columns":{"id":"text","n":"int",
  "big":"varint","d":"decimal","f":"float","db":"double",
  "tags":{"type":"set","valueType":"text"},"m":{"type":"map","keyType":"int","valueType":"text"},
  "mt":{"type":"map","keyType":"text","valueType":"int"},"ts":"timestamp","ts2":"timestamp",
  "du":"duration","b":"blob","ip":"inet","u":"uuid","e":{"type":"list","valueType":"int"},
  "note":"text","tm":"time","dt":"date","nan":"double","ti":"tinyint","si":"smallint",
  "bi":"bigint","bo":"boolean","as":"ascii","l":{"type":"list","valueType":"int"}},
  "primaryKey":"id"}}}`;

Deno.test("fake tables: astra-db-ts creates, lists and drops tables, types and indexes", async () => {
  await withFake(async (api) => {
    const db = hcdDb(api);
    await db.createType("address", {
      definition: { fields: { street: "text", zip: { type: "int" } } },
    });
    const table = await db.createTable("people", {
      definition: {
        columns: {
          id: "text",
          age: "int",
          name: { type: "text" },
          tags: { type: "set", valueType: "text" },
          attrs: { type: "map", keyType: "text", valueType: "int" },
          v: { type: "vector", dimension: 3 },
          addr: { type: "userDefined", udtName: "address" },
        },
        primaryKey: { partitionBy: ["id"], partitionSort: { age: -1 } },
      },
    });
    await db.createCollection("coll");

    const [desc, ...more] = await db.listTables();
    assert.equal(more.length, 0, "listTables leaves collections out");
    assert.deepEqual(desc!.definition.primaryKey, {
      partitionBy: ["id"],
      partitionSort: { age: -1 },
    });
    const cols = desc!.definition.columns as Record<string, unknown>;
    assert.deepEqual(cols.tags, { type: "set", valueType: "text" }, "short-form value types");
    assert.deepEqual(cols.v, {
      type: "vector",
      dimension: 3,
      apiSupport: {
        createTable: true,
        insert: true,
        read: true,
        filter: false,
        cqlDefinition: "vector<float, 3>",
      },
    });
    assert.deepEqual(cols.addr, {
      type: "userDefined",
      udtName: "address",
      apiSupport: {
        createTable: true,
        insert: true,
        read: true,
        filter: false,
        cqlDefinition: "default_keyspace.address",
      },
    });
    assert.deepEqual(
      Object.keys(cols),
      ["id", "age", "addr", "attrs", "name", "tags", "v"],
      "CQL metadata order: partition key, clustering columns, then by name",
    );
    assert.deepEqual(await db.listCollections({ nameOnly: true }), ["coll"]);
    assert.deepEqual(await db.listTables({ nameOnly: true }), ["people"]);

    await table.createIndex("name_idx", "name");
    await table.createIndex("age_idx", "age");
    await table.createIndex("tags_idx", "tags");
    await table.createIndex("attrs_keys", { attrs: "$keys" });
    await table.createVectorIndex("v_idx", "v");
    await table.createTextIndex("name_txt", "name", { options: { analyzer: "english" } });
    assert.deepEqual(await table.listIndexes({ nameOnly: true }), [
      "name_idx",
      "age_idx",
      "tags_idx",
      "attrs_keys",
      "v_idx",
      "name_txt",
    ]);
    assert.deepEqual(await table.listIndexes(), [
      {
        name: "name_idx",
        definition: {
          column: "name",
          options: { ascii: false, caseSensitive: true, normalize: false },
        },
        indexType: "regular",
      },
      { name: "age_idx", definition: { column: "age", options: {} }, indexType: "regular" },
      {
        name: "tags_idx",
        definition: { column: { tags: "$values" }, options: {} },
        indexType: "regular",
      },
      {
        name: "attrs_keys",
        definition: { column: { attrs: "$keys" }, options: {} },
        indexType: "regular",
      },
      {
        name: "v_idx",
        definition: { column: "v", options: { metric: "cosine", sourceModel: "other" } },
        indexType: "vector",
      },
      {
        name: "name_txt",
        definition: { column: "name", options: { analyzer: "english" } },
        indexType: "text",
      },
    ] as unknown);
    // ifNotExists makes a re-run harmless; without it the name is taken (per keyspace).
    await table.createIndex("name_idx", "name", { ifNotExists: true });
    await assert.rejects(
      table.createIndex("name_idx", "age"),
      (e: unknown) =>
        e instanceof DataAPIResponseError &&
        e.errorDescriptors[0]?.errorCode === "CANNOT_ADD_EXISTING_INDEX",
    );

    assert.deepEqual(await db.listTypes(), [{
      name: "address",
      definition: { fields: { street: { type: "text" }, zip: { type: "int" } } },
      apiSupport: {
        createTable: true,
        insert: true,
        read: true,
        filter: false,
        cqlDefinition: "default_keyspace.address",
      },
    }] as unknown);
    await assert.rejects(
      db.dropType("address"),
      (e: unknown) =>
        e instanceof DataAPIResponseError &&
        e.errorDescriptors[0]?.errorCode === "CANNOT_DROP_TYPE_USED_BY_TABLE",
    );
    await db.dropTableIndex("age_idx");
    await db.dropTable("people");
    assert.deepEqual(await db.listTables({ nameOnly: true }), []);
    assert.deepEqual(api.store.tableIndexes(KS, "people"), [], "dropTable drops its indexes");
    await db.dropTable("people", { ifExists: true });
    await assert.rejects(
      db.dropTable("people"),
      (e: unknown) =>
        e instanceof DataAPIResponseError &&
        e.errorDescriptors[0]?.errorCode === "CANNOT_DROP_UNKNOWN_TABLE",
    );
    await db.dropType("address");
    assert.deepEqual(await db.listTypes({ nameOnly: true }), []);
  });
});

Deno.test("fake tables: astra-db-ts inserts and reads rows, 50 per page", async () => {
  await withFake(async (api) => {
    const db = hcdDb(api);
    await db.createType("address", { definition: { fields: { street: "text", zip: "int" } } });
    const table = await db.createTable<SomeRow>("t", {
      definition: {
        columns: {
          id: "text",
          n: "int",
          big: "varint",
          tags: { type: "set", valueType: "text" },
          m: { type: "map", keyType: "int", valueType: "text" },
          when: "timestamp",
          v: { type: "vector", dimension: 3 },
          addr: { type: "userDefined", udtName: "address" },
          d: "duration",
        },
        primaryKey: { partitionBy: ["id"], partitionSort: { n: 1 } },
      },
    });
    const rows = Array.from({ length: 120 }, (_, i) => ({
      id: `p${i % 40}`,
      n: i,
      big: 123456789012345678901234567890n + BigInt(i),
      tags: new Set(["b", "a"]),
      m: new Map([[2, "x"], [1, "y"]]),
      when: new Date(1700000000000 + i),
      v: [0.5, 0.25, i],
      addr: { street: `s${i}` },
      d: "1s500ms",
    }));
    const res = await table.insertMany(rows);
    assert.equal(res.insertedCount, 120);
    assert.deepEqual(res.insertedIds[7], { id: "p7", n: 7 }, "insertedIds follow primaryKeySchema");
    assert.deepEqual(
      api.requestsOf("insertMany").map((r) => JSON.parse(r.body).insertMany.documents.length),
      [50, 50, 20],
    );

    const found = await table.find({}).toArray();
    assert.equal(found.length, 120);
    assert.equal(api.requestsOf("find").length, 3, "pages of 50 rows");
    const r7 = found.find((r) => r.n === 7)!;
    assert.equal(r7.big, 123456789012345678901234567897n);
    assert.deepEqual(r7.tags, new Set(["a", "b"]));
    assert.deepEqual(r7.m, new Map([[1, "y"], [2, "x"]]));
    assert.equal((r7.when as Date).toISOString(), "2023-11-14T22:13:20.007Z");
    assert.ok(r7.v instanceof DataAPIVector);
    assert.deepEqual([...(r7.v as DataAPIVector).asArray()], [0.5, 0.25, 7]);
    assert.deepEqual(r7.addr, { street: "s7", zip: null }, "client fills sparse UDT fields");
    assert.ok(r7.d instanceof DataAPIDuration);
    // Rows of one partition come back in clustering order; partitions in token order.
    const ns = found.filter((r) => r.id === "p3").map((r) => r.n);
    assert.deepEqual(ns, [3, 43, 83]);

    // Upsert by primary key: the client reports the row as inserted again.
    await table.insertOne({ id: "p3", n: 3, big: 1n });
    assert.equal((await table.findOne({ id: "p3", n: 3 }))?.big, 1n);
    assert.equal((await table.find({}).toArray()).length, 120);

    await assert.rejects(
      table.insertMany([{ id: "x", n: 1 }, { id: "y", n: "two" as unknown as number }], {
        ordered: true,
      }),
      (e: unknown) => e instanceof TableInsertManyError && e.insertedIds().length === 1,
    );
  });
});

Deno.test("fake tables: find returns the server's value encodings byte for byte", async () => {
  await withFake(async (api) => {
    assert.equal((await raw(api, KS, WIRE_TABLE)).text, '{"status":{"ok":1}}');
    const row =
      '{"id":"r1","n":5.00,"big":123456789012345678901234567890,"d":1.50,"f":0.1,"db":1E+21,"tags":["b","a","b"],"m":[[10,"ten"],[2,"two"]],"mt":{"z":1,"a":2},"ts":"2024-09-24T14:06:59.000Z","ts2":{"$date":1727186819123},"du":"1s500ms","b":{"$binary":"AAECAw=="},"ip":"2001:DB8::1","u":"0192F1A2-0000-7000-8000-000000000002","e":[],"note":null,"tm":"12:45:00","dt":"2024-02-29","nan":"NaN","ti":-128,"si":32767,"bi":9223372036854775807,"bo":false,"as":"plain","l":[3,1,3]}';
    const ins = await raw(api, `${KS}/w`, `{"insertOne":{"document":${row}}}`);
    assert.equal(
      ins.text,
      '{"status":{"primaryKeySchema":{"id":{"type":"text"}},"insertedIds":[["r1"]]}}',
    );
    const found = await rawTree(api, `${KS}/w`, { find: { filter: {} } });
    const doc = parseTree(at(found, "data.documents.0")!);
    const expected: Record<string, string> = {
      id: '"r1"',
      n: "5",
      big: "123456789012345678901234567890",
      d: "1.50",
      f: "0.1",
      db: "1.0E21",
      tags: '["a","b"]',
      m: '[[2,"two"],[10,"ten"]]',
      mt: '{"a":2,"z":1}',
      ts: '"2024-09-24T14:06:59Z"',
      ts2: '"2024-09-24T14:06:59.123Z"',
      du: '"PT1.5S"',
      b: '{"$binary":"AAECAw=="}',
      ip: '"2001:db8:0:0:0:0:0:1"',
      u: '"0192f1a2-0000-7000-8000-000000000002"',
      tm: '"12:45"',
      dt: '"2024-02-29"',
      nan: '"NaN"',
      ti: "-128",
      si: "32767",
      bi: "9223372036854775807",
      bo: "false",
      as: '"plain"',
      l: "[3,1,3]",
    };
    assert.deepEqual(
      Object.fromEntries((doc as { m: Array<[string, JNode]> }).m.map(([k, v]) => [
        k,
        stringifyTree(v),
      ])),
      expected,
      "null and empty columns are left out; numbers exact; maps with int keys as tuples",
    );
    const order = (doc as { m: Array<[string, JNode]> }).m.map(([k]) => k);
    assert.notDeepEqual(order, Object.keys(expected), "columns are not in definition order");
    assert.equal(at(found, "data.nextPageState"), "null", "nextPageState null on the last page");
    assert.equal(
      at(found, "status.projectionSchema.m"),
      '{"type":"map","keyType":"int","valueType":"text"}',
    );
    assert.equal(at(found, "status.projectionSchema.ts"), '{"type":"timestamp"}');
    assert.equal(at(found, "status.warnings.0.errorCode"), '"ZERO_FILTER_OPERATIONS"');
    assert.equal(at(found, "status.warnings.0.scope"), '"WARNING"');
    assert.equal(at(found, "status.warnings.0.family"), '"REQUEST"');

    // What find printed goes back in unchanged (durations in compact form) and reads the same.
    await raw(api, KS, WIRE_TABLE.replace('"name":"w"', '"name":"w_copy"'));
    const again = stringifyTree(doc).replace(
      '"du":"PT1.5S"',
      `"du":"${compactDuration("PT1.5S")}"`,
    );
    const copied = await raw(api, `${KS}/w_copy`, `{"insertOne":{"document":${again}}}`);
    assert.equal(errorCode(parseTree(copied.text)), undefined, copied.text);
    assert.deepEqual(api.store.tableRows(KS, "w_copy"), api.store.tableRows(KS, "w"));

    // The duration asymmetry: "PT1.5S" is what find prints, but insert refuses it.
    const back = await rawTree(api, `${KS}/w`, {
      insertOne: { document: { id: "r2", du: "PT1.5S" } },
    });
    assert.equal(errorCode(back), "INVALID_COLUMN_VALUES");
    assert.match(
      errorMessage(back),
      /du\(duration\) - Cause: Invalid String value for type `DURATION`; problem: Unable to convert 'PT1\.5S' to a duration/,
    );
    for (const [given, read] of [["PT1H30M", "PT1H30M"], ["-8h10m", "-PT8H10M"], ["P2W", "P14D"]]) {
      await raw(api, `${KS}/w`, { insertOne: { document: { id: "r3", du: given } } });
      const one = await rawTree(api, `${KS}/w`, {
        findOne: { filter: { id: "r3" }, projection: { du: 1 } },
      });
      assert.equal(at(one, "data.document"), `{"du":"${read}"}`);
      assert.equal(at(one, "status.warnings"), undefined, "a full primary key is a real filter");
    }
  });
});

Deno.test("fake tables: insert validation matches the server's codes", async () => {
  await withFake(async (api) => {
    await raw(api, KS, WIRE_TABLE);
    const insertOne = async (doc: string) =>
      await rawTree(api, `${KS}/w`, `{"insertOne":{"document":${doc}}}`);
    const cases: Array<[string, string, RegExp?]> = [
      ['{"id":"a","m":[]}', "INVALID_COLUMN_VALUES", /m\(map\) - Cause: no codec matching/],
      ['{"id":"a","m":{"1":"x"}}', "INVALID_COLUMN_VALUES", /map declared key type `INT`/],
      ['{"id":"a","n":"5"}', "INVALID_COLUMN_VALUES", /n\(int\) - Cause: no codec matching/],
      ['{"id":"a","d":"1.5"}', "INVALID_COLUMN_VALUES", /d\(decimal\)/],
      ['{"id":"a","n":5.5}', "INVALID_COLUMN_VALUES", /Rounding necessary/],
      ['{"id":"a","n":2147483648}', "INVALID_COLUMN_VALUES", /Overflow/],
      ['{"id":"a","b":"AAEC"}', "INVALID_COLUMN_VALUES", /b\(blob\)/],
      ['{"id":"a","ts":1700000000000}', "INVALID_COLUMN_VALUES", /ts\(timestamp\)/],
      ['{"id":"a","f":"1.5"}', "INVALID_COLUMN_VALUES", /only "NaN", "Infinity"/],
      ['{"id":"a","tags":["x",null]}', "INVALID_COLUMN_VALUES", /null values are not allowed/],
      ['{"id":"a","u":"not-a-uuid"}', "INVALID_COLUMN_VALUES", /u\(uuid\)/],
      ['{"id":"a","bogus":1}', "UNKNOWN_TABLE_COLUMNS", /unknown columns: bogus/],
      ['{"n":1}', "MISSING_PRIMARY_KEY_COLUMNS", /did not include values for .*id\(text\)/],
      ['{"id":null,"n":1}', "MISSING_PRIMARY_KEY_COLUMNS"],
    ];
    for (const [doc, code, message] of cases) {
      const res = await insertOne(doc);
      assert.equal(errorCode(res), code, doc);
      if (message) assert.match(errorMessage(res), message, doc);
      assert.equal(at(res, "errors.0.scope"), '"DOCUMENT"', doc);
    }
    assert.deepEqual(api.store.tableRows(KS, "w"), [], "nothing was written");

    // Upsert merges given columns into the existing row; null deletes one; collections replace.
    await insertOne('{"id":"a","n":1,"note":"first","tags":["x","y"]}');
    const second = await insertOne('{"id":"a","big":7,"note":null,"tags":["z"]}');
    assert.equal(at(second, "status.insertedIds"), '[["a"]]', "no 'already exists' for tables");
    const merged = at(
      await rawTree(api, `${KS}/w`, { findOne: { filter: { id: "a" } } }),
      "data.document",
    )!;
    assert.equal(merged, reorder('{"id":"a","n":1,"big":7,"tags":["z"]}', merged));

    // insertMany: ordered stops writing at the first bad row but reports every bad row.
    const many = await rawTree(api, `${KS}/w`, {
      insertMany: {
        documents: [
          { id: "o1" },
          { id: "o2", n: "bad" },
          { id: "o3" },
          { id: "o4", n: "bad" },
          { id: "o5" },
        ],
        options: { ordered: true, returnDocumentResponses: true },
      },
    });
    assert.equal(
      at(many, "status.documentResponses"),
      '[{"_id":["o1"],"status":"OK"},{"status":"ERROR","errorsIdx":0},{"_id":["o3"],"status":"SKIPPED"},{"status":"ERROR","errorsIdx":1},{"_id":["o5"],"status":"SKIPPED"}]',
    );
    assert.equal(at(many, "status.primaryKeySchema"), '{"id":{"type":"text"}}');
    assert.equal(at(many, "errors.1.errorCode"), '"INVALID_COLUMN_VALUES"');
    const unordered = await rawTree(api, `${KS}/w`, {
      insertMany: { documents: [{ id: "u1" }, { id: "u2", n: "bad" }, { id: "u3" }] },
    });
    assert.equal(at(unordered, "status.insertedIds"), '[["u1"],["u3"]]', "ordered defaults false");
    assert.equal(at(unordered, "errors.0.errorCode"), '"INVALID_COLUMN_VALUES"');
    const tooMany = await rawTree(api, `${KS}/w`, {
      insertMany: { documents: Array.from({ length: 101 }, (_, i) => ({ id: `m${i}` })) },
    });
    assert.equal(errorCode(tooMany), "COMMAND_FIELD_VALUE_INVALID");
    assert.match(errorMessage(tooMany), /over the max limit \(101 vs 100\)/);
  });
});

/** `expected` with its members in the order `actual` has them (for order-free comparisons). */
function reorder(expected: string, actual: string): string {
  const e = parseTree(expected) as { m: Array<[string, JNode]> };
  const order = (parseTree(actual) as { m: Array<[string, JNode]> }).m.map(([k]) => k);
  return stringifyTree({
    t: "obj",
    m: [...e.m].sort(([a], [b]) => order.indexOf(a) - order.indexOf(b)),
  });
}

Deno.test("fake tables: DDL is refused where the server refuses it", async () => {
  await withFake(async (api) => {
    const create = async (definition: string, name = "t", options = "{}") =>
      errorCode(
        await rawTree(
          api,
          KS,
          `{"createTable":{"name":"${name}","definition":${definition},"options":${options}}}`,
        ),
      );
    const ok = '{"columns":{"id":"text"},"primaryKey":"id"}';
    assert.equal(
      await create(
        '{"columns":{"id":{"type":"int","apiSupport":{"filter":false}}},"primaryKey":"id"}',
      ),
      "COMMAND_FIELD_UNKNOWN",
      "listing annotations are not accepted back",
    );
    assert.equal(
      await create('{"columns":{"id":"text","t":"timeuuid"},"primaryKey":"id"}'),
      "UNSUPPORTED_DATA_TYPE_TABLE_CREATION",
    );
    assert.equal(
      await create('{"columns":{"id":"text","c":"counter"},"primaryKey":"id"}'),
      "UNSUPPORTED_DATA_TYPE_TABLE_CREATION",
    );
    assert.equal(
      await create('{"columns":{"id":"texty"},"primaryKey":"id"}'),
      "UNKNOWN_PRIMITIVE_DATA_TYPE",
    );
    assert.equal(
      await create('{"columns":{"id":{"type":"texty"}},"primaryKey":"id"}'),
      "UNKNOWN_DATA_TYPE",
    );
    assert.equal(
      await create('{"columns":{"id":"text","a":"address"},"primaryKey":"id"}'),
      "UNKNOWN_PRIMITIVE_DATA_TYPE",
    );
    assert.equal(
      await create(
        '{"columns":{"id":"text","a":{"type":"userDefined","udtName":"nope"}},"primaryKey":"id"}',
      ),
      "UNKNOWN_USER_DEFINED_TYPE",
    );
    assert.equal(
      await create('{"columns":{"id":"text"},"primaryKey":"nope"}'),
      "UNKNOWN_PARTITION_COLUMNS",
    );
    assert.equal(await create(ok, "bad-name"), "UNSUPPORTED_SCHEMA_NAME");
    assert.equal(await create(ok, "x".repeat(49)), "UNSUPPORTED_SCHEMA_NAME");
    assert.equal(await create(ok), undefined);
    assert.equal(await create(ok), "CANNOT_ADD_EXISTING_TABLE");
    assert.equal(await create(ok, "t", '{"ifNotExists":true}'), undefined);
    await raw(api, KS, { createCollection: { name: "c" } });
    assert.equal(
      await create(ok, "c"),
      "CANNOT_ADD_EXISTING_TABLE",
      "a name is a table or a collection",
    );
    assert.equal(
      errorCode(await rawTree(api, KS, { createCollection: { name: "t" } })),
      "EXISTING_TABLE_NOT_DATA_API_COLLECTION",
    );

    const type = async (fields: unknown) =>
      errorCode(await rawTree(api, KS, { createType: { name: "u", definition: { fields } } }));
    assert.equal(await type({ l: { type: "list", valueType: "text" } }), "UNSUPPORTED_TYPE_FIELDS");
    assert.equal(await type({ a: "text" }), undefined);
    assert.equal(await type({ a: "text" }), "CANNOT_ADD_EXISTING_TYPE");

    const index = async (command: string, definition: unknown, name = "i") =>
      errorCode(await rawTree(api, `${KS}/t`, { [command]: { name, definition } }));
    await raw(api, KS, {
      createTable: {
        name: "t2",
        definition: {
          columns: { id: "text", n: "int", v: { type: "vector", dimension: 2 } },
          primaryKey: "id",
        },
      },
    });
    const index2 = async (command: string, definition: unknown) =>
      errorCode(await rawTree(api, `${KS}/t2`, { [command]: { name: "i2", definition } }));
    assert.equal(
      await index2("createIndex", { column: "n", options: { caseSensitive: false } }),
      "UNSUPPORTED_TEXT_ANALYSIS_FOR_DATA_TYPES",
    );
    assert.equal(
      await index2("createIndex", { column: "v" }),
      "UNSUPPORTED_INDEXING_FOR_DATA_TYPES",
    );
    assert.equal(
      await index2("createIndex", { column: { n: "$keys" } }),
      "INVALID_FORMAT_FOR_INDEX_CREATION_COLUMN",
    );
    assert.equal(
      await index2("createVectorIndex", { column: "n" }),
      "UNSUPPORTED_VECTOR_INDEX_FOR_DATA_TYPES",
    );
    assert.equal(
      await index2("createVectorIndex", { column: "v", options: { metric: "manhattan" } }),
      "UNKNOWN_VECTOR_METRIC",
    );
    assert.equal(
      await index2("createTextIndex", { column: "n" }),
      "UNSUPPORTED_TEXT_INDEX_FOR_DATA_TYPES",
    );
    assert.equal(await index2("createIndex", { column: "nope" }), "UNKNOWN_INDEX_COLUMN");
    assert.equal(await index("createIndex", { column: "id" }), undefined);
    assert.equal(
      errorCode(
        await rawTree(api, `${KS}/t2`, { createIndex: { name: "i", definition: { column: "n" } } }),
      ),
      "CANNOT_ADD_EXISTING_INDEX",
      "index names are unique per keyspace",
    );
    assert.equal(
      errorCode(await rawTree(api, KS, { dropIndex: { name: "nope" } })),
      "CANNOT_DROP_UNKNOWN_INDEX",
    );
    assert.equal(
      errorCode(
        await rawTree(api, KS, { dropIndex: { name: "nope", options: { ifExists: true } } }),
      ),
      undefined,
    );

    for (const command of ["countDocuments", "estimatedDocumentCount", "findOneAndUpdate"]) {
      assert.equal(
        errorCode(await rawTree(api, `${KS}/t`, { [command]: {} })),
        "UNSUPPORTED_TABLE_COMMAND",
        command,
      );
    }
    assert.equal(
      errorCode(
        await rawTree(api, `${KS}/c`, { createIndex: { name: "x", definition: { column: "a" } } }),
      ),
      "UNSUPPORTED_COLLECTION_COMMAND",
    );
    // deleteCollection and dropTable both drop either kind.
    await raw(api, KS, { deleteCollection: { name: "t" } });
    await raw(api, KS, { dropTable: { name: "c" } });
    assert.equal(at(await rawTree(api, KS, { listTables: {} }), "status.tables"), '["t2"]');
    assert.equal(at(await rawTree(api, KS, { findCollections: {} }), "status.collections"), "[]");
  });
});

Deno.test("fake tables: projections follow the table rules", async () => {
  await withFake(async (api) => {
    await raw(api, KS, {
      createTable: {
        name: "p",
        definition: {
          columns: { k: "text", a: "int", b: "text", c: "boolean" },
          primaryKey: "k",
        },
      },
    });
    await raw(api, `${KS}/p`, { insertOne: { document: { k: "x", a: 1, b: "two", c: true } } });
    const doc = async (projection: unknown) => {
      const res = await rawTree(api, `${KS}/p`, { find: { filter: {}, projection } });
      return errorCode(res) ?? at(res, "data.documents.0");
    };
    const all = await doc(undefined);
    for (const p of [{}, { "*": true }, { "*": 1 }]) assert.equal(await doc(p), all);
    assert.equal(
      await doc({ c: 1, a: true, zz: 1 }),
      '{"c":true,"a":1}',
      "projection order; no PK",
    );
    assert.equal(await doc({ a: 0, b: false }), reorder('{"k":"x","c":true}', all!));
    assert.equal(await doc({ zz: 1, yy: 1 }), "UNKNOWN_TABLE_COLUMNS");
    assert.equal(await doc({ "*": 0 }), "UNKNOWN_TABLE_COLUMNS");
    assert.equal(await doc({ a: 1, b: 0 }), "UNSUPPORTED_PROJECTION_PARAM");
    assert.equal(await doc({ "*": 1, a: 1 }), "UNSUPPORTED_PROJECTION_PARAM");
    const schema = await rawTree(api, `${KS}/p`, { find: { projection: { c: 1, a: 1 } } });
    assert.equal(
      at(schema, "status.projectionSchema"),
      '{"a":{"type":"int"},"c":{"type":"boolean"}}',
      "projectionSchema covers the selected columns",
    );
    const sorted = await rawTree(api, `${KS}/p`, { find: { sort: { a: 1 } } });
    assert.equal(errorCode(sorted), "SORT_CLAUSE_INVALID", "the fake refuses sorts");
  });
});

/** ISO-8601 durations with fractional seconds in CQL compact form (the server refuses them). */
function compactDuration(iso: string): string {
  const m =
    /^(-)?P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)(?:\.(\d+))?S)?)?$/
      .exec(iso);
  if (!m || m[8] === undefined) return iso;
  const frac = m[8].padEnd(9, "0");
  const parts: Array<[string | undefined, string]> = [
    [m[2], "y"],
    [m[3], "mo"],
    [m[4], "d"],
    [m[5], "h"],
    [m[6], "m"],
    [m[7], "s"],
    [frac.slice(0, 3), "ms"],
    [frac.slice(3, 6), "us"],
    [frac.slice(6), "ns"],
  ];
  const body = parts.filter(([v]) => v !== undefined && Number(v) > 0).map(([v, u]) =>
    `${Number(v)}${u}`
  ).join("");
  return `${m[1] ?? ""}${body || "0s"}`;
}

Deno.test("fake tables: the sample tables survive a read and re-insert exactly", async () => {
  await withFake(async (api) => {
    seedTables(api.store);
    assert.equal(api.store.tableRows(KS, "products").length, 60);
    assert.deepEqual(api.store.tableRows(KS, "audit_log"), []);

    // Scan like a backup: {"*": true}, following nextPageState; 50 rows a page.
    const rows: JNode[] = [];
    let pageState: string | undefined;
    let pages = 0;
    do {
      const res = await rawTree(api, `${KS}/products`, {
        find: {
          filter: {},
          projection: { "*": true },
          ...(pageState ? { options: { pageState } } : {}),
        },
      });
      pages++;
      assert.ok(at(res, "status.projectionSchema.addr.definition.fields.zip"));
      assert.equal(at(res, "status.warnings.0.errorCode"), '"ZERO_FILTER_OPERATIONS"');
      rows.push(...(get(get(res, "data"), "documents") as { a: JNode[] }).a);
      const next = at(res, "data.nextPageState");
      pageState = next === undefined ? undefined : JSON.parse(next);
    } while (pageState);
    assert.equal(pages, 2);
    assert.equal(rows.length, 60);
    const text = rows.map(stringifyTree);
    assert.deepEqual(text, api.store.tableRows(KS, "products"), "tableRows is what find returns");
    assert.ok(text.some((r) => r.includes('"ttl":"PT1.5S"')), "fractional durations are printed");
    assert.ok(
      text.some((r) => r.includes('"price":1E+3')) && text.some((r) => r.includes("1.23E-7")),
    );
    assert.ok(text.some((r) => !r.includes('"emb"')), "some rows have no vector");

    // Re-create schema from the listings in another keyspace, then write the rows back.
    await raw(api, "", { createKeyspace: { name: "copy" } });
    const strip = (n: JNode): JNode =>
      n.t === "obj"
        ? { t: "obj", m: n.m.filter(([k]) => k !== "apiSupport").map(([k, v]) => [k, strip(v)]) }
        : n.t === "arr"
        ? { t: "arr", a: n.a.map(strip) }
        : n;
    const types = await rawTree(api, KS, { listTypes: { options: { explain: true } } });
    for (const t of (get(get(types, "status"), "types") as { a: JNode[] }).a) {
      const body = `{"createType":{"name":${at(t, "udtName")},"definition":${
        stringifyTree(strip(get(t, "definition")!))
      }}}`;
      assert.equal((await raw(api, "copy", body)).text, '{"status":{"ok":1}}');
    }
    const tables = await rawTree(api, KS, { listTables: { options: { explain: true } } });
    for (const t of (get(get(tables, "status"), "tables") as { a: JNode[] }).a) {
      const body = `{"createTable":{"name":${at(t, "name")},"definition":${
        stringifyTree(strip(get(t, "definition")!))
      }}}`;
      assert.equal((await raw(api, "copy", body)).text, '{"status":{"ok":1}}');
    }
    const indexes = await rawTree(api, `${KS}/products`, {
      listIndexes: { options: { explain: true } },
    });
    for (const ix of (get(get(indexes, "status"), "indexes") as { a: JNode[] }).a) {
      const command =
        { regular: "createIndex", vector: "createVectorIndex", text: "createTextIndex" }[
          JSON.parse(at(ix, "indexType")!) as "regular" | "vector" | "text"
        ];
      const res = await raw(api, "copy/products", `{"${command}":${stringifyTree(ix)}}`);
      assert.equal(res.text, '{"status":{"ok":1}}');
    }
    const rewritten = rows.map((r) => {
      const ttl = get(r, "ttl");
      return ttl?.t === "str"
        ? stringifyTree({
          t: "obj",
          m: (r as { m: Array<[string, JNode]> }).m.map(([k, v]) =>
            [k, k === "ttl" ? { t: "str", v: compactDuration(ttl.v) } : v] as [string, JNode]
          ),
        })
        : stringifyTree(r);
    });
    const ins = await rawTree(
      api,
      "copy/products",
      `{"insertMany":{"documents":[${rewritten.join(",")}]}}`,
    );
    assert.equal(errorCode(ins), undefined, errorMessage(ins));
    assert.deepEqual(api.store.tableRows("copy", "products"), text);
    assert.deepEqual(
      api.store.tableIndexes("copy", "products"),
      api.store.tableIndexes(KS, "products"),
    );
    assert.equal(
      api.store.tableDefinition("copy", "products"),
      api.store.tableDefinition(KS, "products").replaceAll("default_keyspace.", "copy."),
    );
  }, { tablePageSize: 50 });
});

Deno.test("fake tables: page states are opaque, per table, and the page size is configurable", async () => {
  await withFake(async (api) => {
    seedTables(api.store, { rows: 23 });
    const first = await rawTree(api, `${KS}/products`, { find: { projection: { sku: 1 } } });
    assert.equal((get(get(first, "data"), "documents") as { a: JNode[] }).a.length, 10);
    const state = JSON.parse(at(first, "data.nextPageState")!);
    const elsewhere = await rawTree(api, `${KS}/audit_log`, {
      find: { options: { pageState: state } },
    });
    assert.equal(errorCode(elsewhere), "UNEXPECTED_DRIVER_ERROR");
    const skus: string[] = [];
    let pageState: string | undefined;
    do {
      const res = await rawTree(api, `${KS}/products`, {
        find: { projection: { sku: 1 }, options: pageState ? { pageState } : {} },
      });
      for (const d of (get(get(res, "data"), "documents") as { a: JNode[] }).a) {
        skus.push(JSON.parse(at(d, "sku")!));
      }
      const next = at(res, "data.nextPageState");
      pageState = next === undefined ? undefined : JSON.parse(next);
    } while (pageState);
    assert.equal(skus.length, 23);
    assert.equal(new Set(skus).size, 23);
    // A row deleted between pages does not derail the scan (resume after its key position).
    const t = api.store.table(KS, "products")!;
    const page1 = await rawTree(api, `${KS}/products`, { find: { projection: { sku: 1 } } });
    const lastKey = t.sorted()[9]!.pkKey;
    assert.ok(t.deleteRow(lastKey));
    const page2 = await rawTree(api, `${KS}/products`, {
      find: {
        projection: { sku: 1 },
        options: { pageState: JSON.parse(at(page1, "data.nextPageState")!) },
      },
    });
    assert.equal(
      at(page2, "data.documents.0"),
      stringifyTree(parseTree(
        t.rowText(t.sorted()[9]!, ["sku"]),
      )),
    );
    const limited = await rawTree(api, `${KS}/products`, { find: { options: { limit: 12 } } });
    assert.equal((get(get(limited, "data"), "documents") as { a: JNode[] }).a.length, 10);
  }, { tablePageSize: 10 });
});

Deno.test("fake: a request body over 20 MiB is refused at the HTTP layer (413)", async () => {
  await withFake(async (api) => {
    const big = `{"insertMany":{"documents":[{"_id":1,"t":"${"x".repeat(21 * 1024 * 1024)}"}]}}`;
    const r = await raw(api, "default_keyspace", big);
    assert.equal(r.status, 413);
    const small = await raw(api, "default_keyspace", { findCollections: {} });
    assert.equal(small.status, 200);
  });
});

Deno.test("fake: --max-collections counts every keyspace and answers TOO_MANY_COLLECTIONS as the server version does", async () => {
  for (
    const [version, message] of [
      [
        "1.0.50",
        "Cannot create collection 'c3': the maximum number of collections per database is 2, database already has 2.",
      ],
      [
        "1.0.33",
        "Too many collections: number of collections in database cannot exceed 2, already have 2",
      ],
    ]
  ) {
    await withFake(async (api) => {
      api.store.keyspaces.set("other", new Map());
      api.store.createCollection("other", "c1", {});
      const db = hcdDb(api);
      await db.createCollection("c2");
      await assert.rejects(db.createCollection("c3"), (e: unknown) => {
        assert.ok(e instanceof DataAPIResponseError);
        assert.equal(e.errorDescriptors[0]?.errorCode, "TOO_MANY_COLLECTIONS");
        assert.equal(e.message, message);
        return true;
      });
      // An existing name is no new collection: validated, then refused as existing.
      await assert.rejects(
        db.createCollection("c2", { vector: { dimension: 2 } }),
        /already exists but with settings different/,
      );
    }, { serverVersion: version!, features: { maxCollections: 2 } });
  }
});

Deno.test("fake: lexical, reranking and vectorize off refuse a create before looking at what exists", async () => {
  const codes = async (features: Record<string, unknown>, version = "1.0.50") => {
    const out: string[] = [];
    await withFake(async (api) => {
      api.store.features.lexicalAvailable = true;
      api.store.features.rerankingEnabled = true;
      api.store.features.vectorizeAvailable = true;
      api.store.createCollection("default_keyspace", "existing", { defaultId: { type: "uuid" } });
      Object.assign(api.store.features, features);
      for (
        const options of [
          { lexical: { enabled: true } },
          { lexical: { enabled: false }, rerank: { enabled: false } },
          { rerank: { enabled: true } },
          { vector: { dimension: 3, service: { provider: "openai", modelName: "m" } } },
        ]
      ) {
        const r = await raw(api, "default_keyspace", {
          createCollection: { name: "existing", options },
        });
        out.push(JSON.parse(r.text).errors?.[0]?.errorCode ?? "ok");
      }
    }, { serverVersion: version });
    return out;
  };
  const different = "EXISTING_COLLECTION_DIFFERENT_SETTINGS";
  assert.deepEqual(await codes({}), [different, different, different, different]);
  assert.deepEqual(await codes({ lexicalAvailable: false }), [
    "LEXICAL_FEATURE_NOT_ENABLED",
    different,
    different,
    different,
  ]);
  assert.deepEqual(await codes({ lexicalAvailable: false }, "1.0.40"), [
    "LEXICAL_NOT_AVAILABLE_FOR_DATABASE",
    different,
    different,
    different,
  ]);
  assert.deepEqual(await codes({ rerankingEnabled: false }), [
    different,
    different,
    "RERANKING_FEATURE_NOT_ENABLED",
    different,
  ]);
  assert.deepEqual(await codes({ rerankingEnabled: false }, "1.0.40"), [
    different,
    "RERANKING_FEATURE_NOT_ENABLED",
    "RERANKING_FEATURE_NOT_ENABLED",
    different,
  ]);
  assert.deepEqual(await codes({ vectorizeAvailable: false, modelStatus: {} }), [
    different,
    different,
    different,
    "VECTORIZE_FEATURE_NOT_AVAILABLE",
  ]);
  assert.deepEqual(await codes({ modelStatus: { m: "DEPRECATED" } }), [
    different,
    different,
    different,
    "DEPRECATED_AI_MODEL",
  ]);
});

Deno.test("fake: findEmbeddingProviders and findRerankingProviders list supported models, or say the feature is off", async () => {
  await withFake(async (api) => {
    const db = hcdDb(api);
    const admin = db.admin({ environment: "hcd" });
    const emb = await admin.findEmbeddingProviders();
    assert.deepEqual(
      emb.embeddingProviders.openai?.models.map((m) => m.name),
      ["text-embedding-3-large", "text-embedding-ada-002"],
      "an end-of-life model is not offered",
    );
    const all = await raw(api, "", {
      findEmbeddingProviders: { options: { filterModelStatus: "" } },
    });
    assert.match(
      all.text,
      /"name":"text-embedding-3-small"[^}]*"apiModelSupport":\{"status":"END_OF_LIFE"\}/,
    );
    const rr = await raw(api, "", { findRerankingProviders: {} });
    assert.match(rr.text, /"rerankingProviders":\{"nvidia":\{/);
    api.store.features.rerankingEnabled = false;
    api.store.features.vectorizeAvailable = false;
    assert.match(
      (await raw(api, "", { findRerankingProviders: {} })).text,
      /RERANKING_FEATURE_NOT_ENABLED/,
    );
    assert.match(
      (await raw(api, "", { findEmbeddingProviders: {} })).text,
      /VECTORIZE_FEATURE_NOT_AVAILABLE/,
    );
  }, { features: { modelStatus: { "text-embedding-3-small": "END_OF_LIFE" } } });
  await withFake(async (api) => {
    assert.match((await raw(api, "", { findRerankingProviders: {} })).text, /COMMAND_UNKNOWN/);
  }, { serverVersion: "1.0.22" });
});

// ---------------------------------------------------------------------------------------------
// Fidelity to the server source where the official client's own tests found the fake lenient
// (issue 12; each path is in stargate/data-api).

Deno.test("fake: document limits apply to indexed values (DocumentShredder.java)", async () => {
  await withFake(async (api) => {
    await raw(api, KS, { createCollection: { name: "c", options: {} } });
    await raw(api, KS, {
      createCollection: { name: "d", options: { indexing: { deny: ["long"] } } },
    });
    const insert = async (coll: string, document: Record<string, unknown>) =>
      await rawTree(api, `${KS}/${coll}`, { insertOne: { document } });
    const props: Record<string, string> = {};
    for (let i = 1; i <= 1000; i++) props[`p${i}`] = "v";
    const refused: Array<[Record<string, unknown>, RegExp]> = [
      [{ long: "a".repeat(8001) }, /indexed String value \(field 'long'\) length \(8001 bytes\)/],
      [{ ["a".repeat(1001)]: 1 }, /field path length \(1001\) exceeds maximum allowed \(1000\)/],
      [{ tags: new Array(1001).fill("t") }, /indexable Array \(field 'tags'\) has \(1001\)/],
      [props, /indexable Object \(field 'null'\) has \(1001\)/], // _id counts
      [{ name: "a".repeat(1024 * 1024) }, /indexed String value/],
    ];
    for (const [doc, message] of refused) {
      const res = await insert("c", doc);
      assert.equal(errorCode(res), "SHRED_DOC_LIMIT_VIOLATION");
      assert.match(errorMessage(res), message);
    }
    // Not indexed: not limited (only the 4 MB document size is).
    assert.equal(errorCode(await insert("d", { long: "a".repeat(100_000) })), undefined);
    assert.equal(errorCode(await insert("c", { "a": { "b": "x".repeat(2666) } })), undefined);
  });
});

Deno.test("fake: what the server accepts and refuses around keys, names and headers", async () => {
  await withFake(async (api) => {
    // SchemaObjectNamingRule.java: \w+, at most 48 characters.
    const bad = await rawTree(api, "", { createKeyspace: { name: "!@*&($!(@" } });
    assert.equal(errorCode(bad), "UNSUPPORTED_SCHEMA_NAME");
    assert.equal(
      errorCode(await rawTree(api, "", { createKeyspace: { name: "ok_ks" } })),
      undefined,
    );
    // Cassandra refuses an empty or over-long partition key (INVALID_DATABASE_QUERY).
    await raw(api, KS, {
      createTable: {
        name: "t",
        definition: { columns: { k: "text", b: "blob", ip: "inet" }, primaryKey: "k" },
      },
    });
    for (const k of ["", "a".repeat(65536)]) {
      const r = await rawTree(api, `${KS}/t`, { insertOne: { document: { k } } });
      assert.equal(errorCode(r), "INVALID_DATABASE_QUERY", `key of ${k.length}`);
    }
    assert.equal(
      errorCode(
        await rawTree(api, `${KS}/t`, { insertOne: { document: { k: "a".repeat(65535) } } }),
      ),
      undefined,
    );
    // inet through java.net.InetAddress.getByName (JSONCodec.java).
    const inets: Array<[string, string]> = [
      ["127.1", "127.0.0.1"],
      ["127.0.1", "127.0.0.1"],
      ["localhost", "127.0.0.1"],
      ["192.168.36095", "192.168.140.255"],
      ["192.11046143", "192.168.140.255"],
    ];
    for (const [given, stored] of inets) {
      const r = await rawTree(api, `${KS}/t`, { insertOne: { document: { k: given, ip: given } } });
      assert.equal(errorCode(r), undefined, given);
      const found = await rawTree(api, `${KS}/t`, { findOne: { filter: { k: given } } });
      assert.equal(at(found, "data.document.ip"), JSON.stringify(stored), given);
    }
    assert.equal(
      errorCode(
        await rawTree(api, `${KS}/t`, { insertOne: { document: { k: "x", ip: "10.10.10.1000" } } }),
      ),
      "INVALID_COLUMN_VALUES",
    );
    // A blob primary key comes back in insertedIds as Jackson writes a byte[]: bare base64.
    await raw(api, KS, {
      createTable: { name: "bt", definition: { columns: { b: "blob" }, primaryKey: "b" } },
    });
    const ins = await rawTree(api, `${KS}/bt`, {
      insertOne: { document: { b: { $binary: "c21va2Vfb25fdGhlX3dhdGVy" } } },
    });
    assert.equal(at(ins, "status.insertedIds.0"), '["c21va2Vfb25fdGhlX3dhdGVy"]');
    // No Content-Type is taken as JSON; another type is refused.
    const post = (headers: Record<string, string>) =>
      fetch(`${api.url}/v1/${KS}`, {
        method: "POST",
        headers: { Token: FAKE_TOKEN, ...headers },
        body: new TextEncoder().encode('{"findCollections":{}}'),
      }).then(async (r) => [r.status, await r.text()] as const);
    assert.equal((await post({}))[0], 200);
    assert.equal((await post({ "Content-Type": "text/plain" }))[0], 415);
  });
});

Deno.test("fake: page states are deterministic, and the default page size follows the version", async () => {
  for (const [version, size] of [["1.0.46", 20], ["1.0.47", 50]] as const) {
    await withFake(async (api) => {
      await raw(api, KS, { createCollection: { name: "c", options: {} } });
      api.store.seedSynthetic(KS, "c", { count: 60, dimension: 0 });
      const a = await rawTree(api, `${KS}/c`, { find: {} });
      const b = await rawTree(api, `${KS}/c`, { find: {} });
      assert.equal((get(get(a, "data"), "documents") as { a: unknown[] }).a.length, size);
      assert.equal(
        at(a, "data.nextPageState"),
        at(b, "data.nextPageState"),
        "same query, same state",
      );
      seedTables(api.store);
      const rows = await rawTree(api, `${KS}/products`, { find: {} });
      assert.equal((get(get(rows, "data"), "documents") as { a: unknown[] }).a.length, size);
    }, { serverVersion: version });
  }
});

Deno.test("fake: an old server's profile: unknown commands and the tables flag", async () => {
  await withFake(async (api) => {
    seedTables(api.store);
    const listTables = await rawTree(api, KS, { listTables: {} });
    assert.equal(errorCode(listTables), "TABLE_FEATURE_NOT_ENABLED");
    assert.equal(
      errorCode(await rawTree(api, `${KS}/products`, { find: {} })),
      "TABLE_FEATURE_NOT_ENABLED",
    );
    assert.equal(errorCode(await rawTree(api, KS, { findCollections: {} })), undefined);
    assert.equal(errorCode(await rawTree(api, KS, { listTypes: {} })), "COMMAND_UNKNOWN");
    const missing = await rawTree(api, `${KS}/nope`, { find: {} });
    assert.equal(errorCode(missing), "COLLECTION_NOT_EXIST");
  }, profile("hcd-1.0.25").options);
});

Deno.test("fake: vector search sorts by the collection's metric, answers one page and follows the server's rules", async () => {
  await withFake(async (api) => {
    const path = "default_keyspace/v";
    for (const [name, metric] of [["v", "euclidean"], ["plain", undefined]] as const) {
      await raw(api, "default_keyspace", {
        createCollection: {
          name,
          ...(metric ? { options: { vector: { dimension: 2, metric } } } : {}),
        },
      });
    }
    const docs = [
      { _id: "far", $vector: [10, 10] },
      { _id: "near", $vector: [1, 1.5] },
      // [1, 2] as big-endian float32 $binary
      { _id: "exact", $vector: { $binary: "P4AAAEAAAAA=" } },
      { _id: "none" },
    ];
    await raw(api, path, { insertMany: { documents: docs } });
    const find = async (sort: unknown, options: Record<string, unknown> = {}) =>
      JSON.parse((await raw(api, path, { find: { sort: { $vector: sort }, options } })).text);
    const res = await find([1, 2], { includeSimilarity: true, limit: 3 });
    assert.deepEqual(res.data.documents.map((d: { _id: string }) => d._id), [
      "exact",
      "near",
      "far",
    ]);
    // similarity_euclidean: 1 / (1 + squared distance)
    assert.deepEqual(res.data.documents.map((d: { $similarity: number }) => d.$similarity), [
      1,
      1 / (1 + 0.25),
      1 / (1 + 81 + 64),
    ]);
    assert.equal(res.data.nextPageState, null);
    assert.deepEqual(
      (await find({ $binary: "P4AAAEAAAAA=" }, { limit: 1 })).data.documents.map((
        d: { _id: string },
      ) => d._id),
      ["exact"],
    );
    assert.equal(
      (await find([1, 2], { limit: 1001 })).errors[0].errorCode,
      "COMMAND_FIELD_VALUE_INVALID",
    );
    assert.equal(
      (await find([1, 2], { pageState: "x" })).errors[0].errorCode,
      "SORT_CLAUSE_INVALID",
    );
    const plain = JSON.parse(
      (await raw(api, "default_keyspace/plain", { find: { sort: { $vector: [1, 2] } } })).text,
    );
    assert.equal(plain.errors[0].errorCode, "VECTOR_SEARCH_NOT_SUPPORTED");
  });
});

Deno.test("fake: cosine and dot_product similarities are scaled into [0, 1] as the server reports them", async () => {
  const { similarity } = await import("./vector_search.ts");
  const a = Float32Array.of(1, 0), b = Float32Array.of(0, 1), c = Float32Array.of(-1, 0);
  assert.equal(similarity("cosine", a, a), 1);
  assert.equal(similarity("cosine", a, b), 0.5);
  assert.equal(similarity("cosine", a, c), 0);
  assert.equal(similarity("dot_product", a, b), 0.5);
  assert.equal(similarity("dot_product", a, a), 1);
});

Deno.test("fake tables: a vector sort ranks rows by the column's index metric and follows the server's rules", async () => {
  await withFake(async (api) => {
    const ks = "default_keyspace";
    await raw(api, ks, {
      createTable: {
        name: "t",
        definition: {
          columns: {
            id: "text",
            n: "int",
            v: { type: "vector", dimension: 2 },
            w: {
              type: "vector",
              dimension: 2,
            },
          },
          primaryKey: "id",
        },
      },
    });
    const path = `${ks}/t`;
    const find = async (sort: unknown, options: Record<string, unknown> = {}) =>
      JSON.parse((await raw(api, path, { find: { sort, options } })).text);
    await raw(api, path, {
      insertMany: {
        documents: [
          { id: "far", v: [10, 10] },
          { id: "near", v: [1, 1.5] },
          { id: "exact", v: { $binary: "P4AAAEAAAAA=" } },
          { id: "none", n: 1 },
        ],
      },
    });
    // No vector index yet: refused, naming the column.
    const unindexed = await find({ v: [1, 2] });
    assert.equal(unindexed.errors[0].errorCode, "CANNOT_VECTOR_SORT_NON_INDEXED_VECTOR_COLUMNS");
    assert.equal(unindexed.errors[0].scope, "SORT");
    await raw(api, path, {
      createVectorIndex: {
        name: "t_v",
        definition: { column: "v", options: { metric: "euclidean" } },
      },
    });
    const res = await find({ v: [1, 2] }, { includeSimilarity: true, limit: 3 });
    assert.deepEqual(res.data.documents.map((d: { id: string }) => d.id), ["exact", "near", "far"]);
    // similarity_euclidean: 1 / (1 + squared distance), a float, last in the row
    const sims = res.data.documents.map((d: { $similarity: number }) => d.$similarity);
    assert.deepEqual(sims.slice(0, 2), [1, 0.8]);
    assert.ok(Math.abs(sims[2] - 1 / (1 + 81 + 64)) < 1e-8);
    assert.deepEqual(Object.keys(res.data.documents[0]).at(-1), "$similarity");
    assert.equal(res.data.nextPageState, null);
    // The row without a vector is not in the index; without a limit, all indexed rows.
    assert.equal((await find({ v: { $binary: "P4AAAEAAAAA=" } })).data.documents.length, 3);
    const code = async (sort: unknown, options: Record<string, unknown> = {}) =>
      (await find(sort, options)).errors?.[0]?.errorCode;
    assert.equal(
      await code({ v: [1, 2] }, { limit: 1001 }),
      "CANNOT_VECTOR_SORT_WITH_LIMIT_EXCEEDS_MAX",
    );
    assert.equal(await code({ v: [1, 2] }, { skip: 1 }), "CANNOT_VECTOR_SORT_WITH_SKIP_OPTION");
    assert.equal(
      await code({ v: [1, 2, 3] }),
      "CANNOT_VECTOR_SORT_ON_MISMATCHED_VECTOR_DIMENSIONS",
    );
    assert.equal(await code({ nope: [1, 2] }), "CANNOT_SORT_UNKNOWN_COLUMNS");
    assert.equal(await code({ v: [1, 2], n: 1 }), "CANNOT_SORT_ON_SPECIAL_WITH_OTHERS");
    assert.equal(await code({ v: true }), "INVALID_VECTOR_SORT_EXPRESSION");
    assert.equal(await code({ w: [1, 2] }), "CANNOT_VECTOR_SORT_NON_INDEXED_VECTOR_COLUMNS");
  });
});

Deno.test("fake tables: a vector sort pages like any table read", async () => {
  await withFake(async (api) => {
    const ks = "default_keyspace";
    seedTables(api.store);
    const ids: string[] = [];
    let pageState: string | null = null;
    do {
      const res: { data: { documents: Array<{ sku: string }>; nextPageState: string | null } } =
        JSON.parse(
          (await raw(api, `${ks}/products`, {
            find: {
              sort: { emb: [1, 0, 0, 0, 0, 0, 0, 0] },
              projection: { sku: 1 },
              options: pageState ? { pageState } : {},
            },
          })).text,
        );
      ids.push(...res.data.documents.map((d) => d.sku));
      pageState = res.data.nextPageState;
    } while (pageState);
    // 60 rows, every sixth without a vector.
    assert.equal(ids.length, 50);
    assert.equal(new Set(ids).size, 50);
  }, { tablePageSize: 20 });
});
