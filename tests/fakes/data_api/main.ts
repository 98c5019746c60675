/**
 * `deno task fake-data-api [--port N] [--page-size N] [--table-page-size N] [--empty]
 * [--max-collections N] [--no-lexical] [--no-reranking] [--no-vectorize]`: runs the fake Data API
 * with the sample collections and tables until interrupted, and prints how to point astrabak at
 * it. The last four play a server's configuration (see FakeStoreOptions in store.ts); the
 * sample data needs vectorize (faq), so `--no-vectorize` goes with `--empty`. A test fixture, not
 * part of astrabak.
 */

import { parseArgs } from "node:util";
import { FAKE_TOKEN, FakeDataApi } from "./server.ts";
import { seedSample, seedTables } from "./sample_data.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    port: { type: "string", default: "8181" },
    "page-size": { type: "string", default: "20" },
    "table-page-size": { type: "string", default: "50" },
    empty: { type: "boolean", default: false },
    "max-collections": { type: "string", default: "10" },
    "no-lexical": { type: "boolean", default: false },
    "no-reranking": { type: "boolean", default: false },
    "no-vectorize": { type: "boolean", default: false },
  },
});
const api = await FakeDataApi.start({
  port: Number(values.port),
  pageSize: Number(values["page-size"]),
  tablePageSize: Number(values["table-page-size"]),
  logRequests: false,
  features: {
    maxCollections: Number(values["max-collections"]),
    lexicalAvailable: !values["no-lexical"],
    rerankingEnabled: !values["no-reranking"],
    vectorizeAvailable: !values["no-vectorize"],
  },
});
if (!values.empty) {
  seedSample(api.store);
  seedTables(api.store);
}
const out = (s: string) => Deno.stdout.writeSync(new TextEncoder().encode(s + "\n"));
out(`fake Data API listening on ${api.url} (environment hcd, keyspace default_keyspace)`);
out(
  `  export ASTRA_DB_API_ENDPOINT=${api.url} ASTRA_DB_ENVIRONMENT=hcd ASTRA_DB_KEYSPACE=default_keyspace`,
);
out(`  export ASTRA_DB_APPLICATION_TOKEN='${FAKE_TOKEN}'`);
out("Ctrl-C to stop.");
Deno.addSignalListener("SIGINT", async () => {
  await api.close();
  Deno.exit(0);
});
