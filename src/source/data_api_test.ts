import assert from "node:assert/strict";
import { FAKE_TOKEN, FakeDataApi } from "../../tests/fakes/data_api/server.ts";
import { DataApiClient } from "./data_api.ts";
import { readPages } from "./pages.ts";

const KS = "default_keyspace";

async function withClient(
  options: Parameters<typeof FakeDataApi.start>[0],
  fn: (api: FakeDataApi, client: DataApiClient) => Promise<void>,
) {
  const api = await FakeDataApi.start(options);
  try {
    await fn(
      api,
      new DataApiClient({
        endpoint: api.url,
        environment: "hcd",
        token: FAKE_TOKEN,
        retry: { maxAttempts: 1 },
      }),
    );
  } finally {
    await api.close();
  }
}

Deno.test("data api: gzip responses with the compressed Content-Length are read whole", async () => {
  await withClient({ gzipResponses: true, pageSize: 20 }, async (api, client) => {
    api.store.createCollection(KS, "c", {});
    api.store.seedSynthetic(KS, "c", { count: 45, dimension: 0, textBytes: 2000 });
    let n = 0;
    for await (const page of readPages(client, KS, "c")) n += page.length;
    assert.equal(n, 45);
    // The fake really compressed: the client saw Content-Encoding gzip on every find.
    assert.ok(api.requestsOf("find").length >= 3);
    const res = await fetch(`${api.url}/v1/${KS}/c`, {
      method: "POST",
      headers: { Token: FAKE_TOKEN, "Content-Type": "application/json" },
      body: '{"find":{}}',
    });
    assert.equal(res.headers.get("content-encoding"), "gzip");
    const text = await res.text();
    assert.ok(text.length > Number(res.headers.get("content-length")), "decoded > compressed");
  });
});
