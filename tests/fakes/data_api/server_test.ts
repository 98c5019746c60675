/**
 * Holds the fake Data API to the real client: every request here is made by unmodified
 * astra-db-ts 2.3.0 (or by plain fetch where the wire bytes matter), and the assertions are the
 * behaviours shared/docs/data-api-facts.md documents for the real server.
 */

import assert from "node:assert/strict";
import {
  CollectionInsertManyError,
  DataAPIClient,
  DataAPIHttpError,
  DataAPIResponseError,
  TooManyDocumentsToCountError,
  UsernamePasswordTokenProvider,
} from "@datastax/astra-db-ts";
import { FAKE_TOKEN, FakeDataApi } from "./server.ts";

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
    assert.equal(api.requestsOf("find").length, 12, "two scans of 120 documents at page size 20");
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
    // The astra environment posts to /api/json/v1/<keyspace>.
    const astra = new DataAPIClient(FAKE_TOKEN, { environment: "astra" }).db(api.url, {
      keyspace: "default_keyspace",
    });
    await astra.createCollection("viaastra");
    assert.equal(api.requests.at(-1)?.path, "/api/json/v1/default_keyspace");
  });
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
