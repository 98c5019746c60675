/**
 * `deno task fake-data-api [--profile NAME] [--port N] [--page-size N] [--table-page-size N]
 * [--gzip-responses] [--empty] [--max-collections N] [--no-lexical] [--no-reranking | --reranking]
 * [--no-vectorize]`: runs the fake Data API with the sample collections and tables until
 * interrupted, and prints how to point astrabak at it. A test fixture, not part of astrabak.
 * Profiles (profiles.ts) play a real server version; the other options override the profile.
 * The last four play a server's configuration (see FakeStoreOptions in store.ts); the sample data
 * needs vectorize (faq), so `--no-vectorize` goes with `--empty`.
 */

import { parseArgs } from "node:util";
import { FAKE_TOKEN, FakeDataApi } from "./server.ts";
import { seedSample, seedTables } from "./sample_data.ts";
import { profile, PROFILE_NAMES } from "./profiles.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    profile: { type: "string", default: "hcd-current" },
    port: { type: "string", default: "8181" },
    "page-size": { type: "string" },
    "table-page-size": { type: "string" },
    "gzip-responses": { type: "boolean" },
    empty: { type: "boolean", default: false },
    "max-collections": { type: "string" },
    "no-lexical": { type: "boolean" },
    "no-reranking": { type: "boolean" },
    reranking: { type: "boolean" },
    "no-vectorize": { type: "boolean" },
  },
});
const out = (s: string) => Deno.stdout.writeSync(new TextEncoder().encode(s + "\n"));
if (!PROFILE_NAMES.includes(values.profile as never)) {
  out(`unknown --profile ${values.profile}; known: ${PROFILE_NAMES.join(", ")}`);
  Deno.exit(2);
}
const p = profile(values.profile);
const number = (v: string | undefined) => (v === undefined ? {} : { n: Number(v) });
const pageSize = number(values["page-size"]);
const tablePageSize = number(values["table-page-size"]);
const api = await FakeDataApi.start({
  ...p.options,
  port: Number(values.port),
  ...("n" in pageSize ? { pageSize: pageSize.n } : {}),
  ...("n" in tablePageSize ? { tablePageSize: tablePageSize.n } : {}),
  ...(values["gzip-responses"] ? { gzipResponses: true } : {}),
  logRequests: false,
  features: {
    ...p.options.features,
    ...(values["max-collections"] === undefined
      ? {}
      : { maxCollections: Number(values["max-collections"]) }),
    ...(values["no-lexical"] ? { lexicalAvailable: false } : {}),
    ...(values["no-reranking"] ? { rerankingEnabled: false } : {}),
    ...(values.reranking ? { rerankingEnabled: true } : {}),
    ...(values["no-vectorize"] ? { vectorizeAvailable: false } : {}),
  },
});
if (!values.empty) {
  seedSample(api.store);
  seedTables(api.store);
}
out(
  `fake Data API listening on ${api.url} (profile ${values.profile}: ${p.description}; keyspace default_keyspace)`,
);
out(
  `  export ASTRA_DB_API_ENDPOINT=${api.url} ASTRA_DB_ENVIRONMENT=${p.environment} ASTRA_DB_KEYSPACE=default_keyspace`,
);
out(`  export ASTRA_DB_APPLICATION_TOKEN='${FAKE_TOKEN}'`);
out("Ctrl-C to stop.");
Deno.addSignalListener("SIGINT", async () => {
  await api.close();
  Deno.exit(0);
});
