/**
 * The synthetic collections of the scale benchmark answer like stored ones: unmodified astra-db-ts
 * 2.3.0 pages through a synthetic source (every document once, `nextPageState` until null), and a
 * synthetic sink takes insertMany with per-document responses, refuses repeated and altered
 * documents, and reads back what it holds.
 */

import assert from "node:assert/strict";
import { DataAPIClient } from "@datastax/astra-db-ts";
import { FAKE_TOKEN, FakeDataApi } from "./server.ts";
import { addSyntheticCollection, expectSyntheticRestore, SyntheticGenerator } from "./synthetic.ts";

const KS = "default_keyspace";

async function withFake(fn: (api: FakeDataApi) => Promise<void>, pageSize = 20): Promise<void> {
  const api = await FakeDataApi.start({ pageSize, logRequests: true });
  try {
    await fn(api);
  } finally {
    await api.close();
  }
}

const db = (api: FakeDataApi) =>
  new DataAPIClient(FAKE_TOKEN, { environment: "hcd" }).db(api.url, { keyspace: KS });

Deno.test("synthetic source: astra-db-ts reads every generated document once, in pages", async () => {
  await withFake(async (api) => {
    addSyntheticCollection(api.store, KS, "syn", { count: 105, dimension: 3 });
    const coll = db(api).collection("syn");
    const seen = new Map<string, unknown>();
    for await (const d of coll.find({}, { projection: { "*": true } })) {
      seen.set(String(d._id), d);
    }
    assert.equal(seen.size, 105);
    assert.equal(api.requestsOf("find", "syn").length, 6); // 5 pages of 20, one of 5
    const gen = new SyntheticGenerator({ count: 105, dimension: 3 });
    // astra-db-ts reads $vector into its own vector type: compare the rest.
    const doc7 = { ...(seen.get("doc-7") as Record<string, unknown>) };
    assert.ok(doc7.$vector);
    delete doc7.$vector;
    assert.deepEqual(doc7, JSON.parse(gen.plain(7)));
    // Not insertion order (the server reads in token order).
    const first = [...seen.keys()].slice(0, 3);
    assert.notDeepEqual(first, ["doc-0", "doc-1", "doc-2"]);
    assert.equal(await coll.estimatedDocumentCount(), 105);
    // The default projection leaves $vector out.
    const plain = await coll.find({ _id: "doc-3" }).toArray();
    assert.deepEqual(plain, [JSON.parse(gen.plain(3))]);
  });
});

Deno.test("synthetic source: the same bytes as a stored collection of the same spec", async () => {
  await withFake(async (api) => {
    const spec = { count: 30, dimension: 4, seed: 5 };
    addSyntheticCollection(api.store, KS, "syn", spec);
    api.store.createCollection(KS, "stored", { vector: { dimension: 4 } });
    api.store.seedSynthetic(KS, "stored", spec);
    const texts = async (name: string) => {
      const out: string[] = [];
      let pageState: string | null = null;
      do {
        const res: Response = await fetch(`${api.url}/v1/${KS}/${name}`, {
          method: "POST",
          headers: { Token: FAKE_TOKEN, "Content-Type": "application/json" },
          body: JSON.stringify({
            find: {
              filter: {},
              projection: { "*": true },
              options: pageState ? { pageState } : {},
            },
          }),
        });
        const body = await res.json() as {
          data: { documents: unknown[]; nextPageState: string | null };
        };
        for (const d of body.data.documents) out.push(JSON.stringify(d));
        pageState = body.data.nextPageState;
      } while (pageState);
      return out.sort();
    };
    assert.deepEqual(await texts("syn"), await texts("stored"));
  });
});

Deno.test("synthetic sink: takes the generated documents once, refuses repeats and changes", async () => {
  await withFake(async (api) => {
    const spec = { count: 50, dimension: 3 };
    const sink = expectSyntheticRestore(api.store, KS, "bench", spec);
    await db(api).createCollection("bench", { vector: { dimension: 3 } });
    const gen = new SyntheticGenerator(spec);
    // What astrabak restore sends: the documents' exact bytes, unordered, per-document answers.
    const insert = async (docs: string[]) => {
      const res = await fetch(`${api.url}/v1/${KS}/bench`, {
        method: "POST",
        headers: { Token: FAKE_TOKEN, "Content-Type": "application/json" },
        body: `{"insertMany":{"documents":[${
          docs.join(",")
        }],"options":{"ordered":false,"returnDocumentResponses":true}}}`,
      });
      return await res.json() as {
        status: { documentResponses: Array<{ _id: string; status: string; errorsIdx?: number }> };
        errors?: Array<{ errorCode: string }>;
      };
    };
    const first = await insert(Array.from({ length: 10 }, (_, i) => gen.full(i)));
    assert.deepEqual(first.status.documentResponses.map((r) => r.status), Array(10).fill("OK"));
    assert.equal(first.errors, undefined);
    assert.equal(sink()?.size, 10);
    // A repeat and an altered document are refused, each for its own reason.
    const altered = gen.full(20).replace('"n":20', '"n":-1');
    const second = await insert([gen.full(0), altered, gen.full(21)]);
    assert.deepEqual(
      second.status.documentResponses.map((r) =>
        r.errorsIdx === undefined ? r.status : second.errors![r.errorsIdx]!.errorCode
      ),
      ["DOCUMENT_ALREADY_EXISTS", "FAKE_SYNTHETIC_MISMATCH", "OK"],
    );
    assert.equal(sink()?.size, 11);
    const coll = db(api).collection("bench");
    assert.equal(await coll.estimatedDocumentCount(), 11);
    // Read back by _id: only what it holds.
    const found = await coll.find({ _id: { $in: ["doc-1", "doc-20", "doc-21"] } }, {
      projection: { "*": true },
    }).toArray();
    assert.deepEqual(found.map((d) => d._id).sort(), ["doc-1", "doc-21"]);
    // A key scan pages through the documents present.
    const ids = await coll.find({}, { projection: { _id: 1 } }).toArray();
    assert.equal(ids.length, 11);
  });
});
