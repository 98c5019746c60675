import assert from "node:assert/strict";
import { FAKE_TOKEN, FakeDataApi } from "../../tests/fakes/data_api/server.ts";
import { DataApiClient } from "./data_api.ts";
import { readPages } from "./pages.ts";
import { connect } from "./connect.ts";
import { silentReporter } from "../reporter.ts";

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

Deno.test("data api: status.warnings are logged once per distinct warning; table-scan ones at debug", async () => {
  const api = await FakeDataApi.start({});
  try {
    api.store.createCollection(KS, "c", {});
    const logged: string[] = [];
    const reporter = {
      ...silentReporter,
      warn: (m: string) => logged.push(`warn ${m}`),
      debug: (m: string) => logged.push(`debug ${m}`),
    };
    const client = connect(
      {
        endpoint: api.url,
        environment: "hcd",
        keyspaces: [KS],
        token: FAKE_TOKEN,
        tokenSource: "test",
      },
      {},
      reporter,
    );
    const warn = (errorCode: string, message: string) =>
      api.faults.add({ times: 2, action: { kind: "warning", errorCode, message } });
    warn("DEPRECATED_COMMAND", "The command findCollections is deprecated.");
    warn("ZERO_FILTER_OPERATIONS", "Zero filters were provided in the filter for this query.");
    for (let i = 0; i < 4; i++) {
      await client.simple({ keyspace: KS }, { findCollections: {} });
    }
    assert.deepEqual(logged, [
      `warn Data API warning on keyspace ${KS} (findCollections): DEPRECATED_COMMAND: The command findCollections is deprecated.`,
      `debug Data API warning on keyspace ${KS} (findCollections): ZERO_FILTER_OPERATIONS: Zero filters were provided in the filter for this query.`,
    ]);
  } finally {
    await api.close();
  }
});
