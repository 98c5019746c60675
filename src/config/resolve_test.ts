import assert from "node:assert/strict";
import { ConfigError } from "../errors.ts";
import { ENV_PATTERNS } from "../cli/permissions.ts";
import { ENV_VARS } from "./env.ts";
import {
  nameRefMatches,
  parseNameList,
  parseNameRefs,
  resolveConnection,
  resolveEmbeddingApiKey,
} from "./resolve.ts";
import { clearSecrets, redactSecrets } from "./secrets.ts";

const noFile = () => Promise.reject(new Deno.errors.NotFound("nope"));

Deno.test("resolveConnection derives the environment and default keyspace from the endpoint", async () => {
  const astra = await resolveConnection(
    { endpoint: "https://abc-us-east1.apps.astra.datastax.com/" },
    { ASTRA_DB_APPLICATION_TOKEN: "AstraCS:t0ken-value" },
    noFile,
  );
  assert.equal(astra.environment, "astra");
  assert.deepEqual(astra.keyspaces, ["default_keyspace"]);
  assert.equal(astra.endpoint, "https://abc-us-east1.apps.astra.datastax.com");
  const local = resolveConnection({ endpoint: "http://localhost:8181" }, {
    ASTRA_DB_APPLICATION_TOKEN: "tok1",
  }, noFile);
  await assert.rejects(local, /has no default keyspace/);
});

Deno.test("resolveConnection: flags win over the environment; keyspaces may repeat and comma-separate", async () => {
  const c = await resolveConnection(
    { endpoint: "http://h:1", environment: "dse", keyspace: ["a,b", "c", "a"] },
    {
      ASTRA_DB_API_ENDPOINT: "http://other:2",
      ASTRA_DB_ENVIRONMENT: "astra",
      ASTRA_DB_KEYSPACE: "z",
      ASTRA_DB_APPLICATION_TOKEN: "tok1",
    },
    noFile,
  );
  assert.equal(c.endpoint, "http://h:1");
  assert.equal(c.environment, "dse");
  assert.deepEqual(c.keyspaces, ["a", "b", "c"]);
});

Deno.test("resolveConnection builds the username/password token and registers secrets", async () => {
  clearSecrets();
  const c = await resolveConnection(
    { endpoint: "http://h:1", keyspace: ["ks"] },
    { ASTRA_DB_USERNAME: "cassandra", ASTRA_DB_PASSWORD: "s3cret-pw" },
    noFile,
  );
  assert.equal(c.token, "Cassandra:Y2Fzc2FuZHJh:czNjcmV0LXB3");
  assert.equal(
    redactSecrets(`pw s3cret-pw token ${c.token} b64 czNjcmV0LXB3`),
    "pw *** token *** b64 ***",
  );
  await assert.rejects(
    resolveConnection({ endpoint: "https://x.apps.astra.datastax.com" }, {
      ASTRA_DB_USERNAME: "u",
      ASTRA_DB_PASSWORD: "p",
    }, noFile),
    /Astra with a username and password/,
  );
});

Deno.test("resolveConnection prefers a token file and trims it", async () => {
  const c = await resolveConnection(
    { endpoint: "http://h:1", keyspace: ["ks"], tokenFile: "/t" },
    { ASTRA_DB_APPLICATION_TOKEN: "env-token" },
    (p) => Promise.resolve(p === "/t" ? "  file-token\n" : ""),
  );
  assert.equal(c.token, "file-token");
  await assert.rejects(
    resolveConnection(
      { endpoint: "http://h:1", keyspace: ["ks"], tokenFile: "/missing" },
      {},
      noFile,
    ),
    /Cannot read token file "\/missing": no such file/,
  );
});

Deno.test("resolveConnection refuses bad endpoints, environments, names and missing auth", async () => {
  const cases: Array<[Parameters<typeof resolveConnection>[0], Record<string, string>, RegExp]> = [
    [{}, { ASTRA_DB_APPLICATION_TOKEN: "t" }, /no Data API endpoint/],
    [{ endpoint: "not a url" }, {}, /not a URL/],
    [{ endpoint: "ftp://h" }, {}, /only http and https/],
    [{ endpoint: "https://user:pw@h" }, {}, /contains credentials/],
    [{ endpoint: "http://h", environment: "mars" }, {}, /Cannot use environment "mars"/],
    [{ endpoint: "http://h", keyspace: ["bad-name"] }, {}, /Cannot use keyspace "bad-name"/],
    [{ endpoint: "http://h", keyspace: ["ks"] }, {}, /no token given/],
    [
      { endpoint: "http://h", keyspace: ["ks"] },
      { ASTRA_DB_USERNAME: "u" },
      /must be set together/,
    ],
  ];
  for (const [flags, env, pattern] of cases) {
    await assert.rejects(
      resolveConnection(flags, env, noFile),
      (e: unknown) => e instanceof ConfigError && pattern.test(e.message),
    );
  }
});

Deno.test("parseNameList splits, de-duplicates and validates", () => {
  assert.deepEqual(parseNameList(["a, b", "b", "c"], "--collections"), ["a", "b", "c"]);
  assert.deepEqual(parseNameList(undefined, "--exclude"), []);
  assert.throws(
    () => parseNameList(["ok", "no.dots"], "--collections"),
    /Cannot use --collections "no.dots"/,
  );
});

Deno.test("parseNameRefs takes name and keyspace.name, and nothing else", () => {
  const refs = parseNameRefs(["a, ks.b", "a"], "--collections");
  assert.deepEqual(refs, [{ keyspace: null, name: "a" }, { keyspace: "ks", name: "b" }]);
  assert.ok(nameRefMatches(refs[0]!, { keyspace: "any", name: "a" }));
  assert.ok(nameRefMatches(refs[1]!, { keyspace: "ks", name: "b" }));
  assert.ok(!nameRefMatches(refs[1]!, { keyspace: "other", name: "b" }));
  for (const bad of ["a.b.c", ".a", "ks.", "a-b", "ks.a b"]) {
    assert.throws(
      () => parseNameRefs([bad], "--collections"),
      /expected name or keyspace\.name/,
      bad,
    );
  }
});

Deno.test("the sandbox's --allow-env patterns cover every variable astrabak reads", () => {
  const covered = (name: string) =>
    ENV_PATTERNS.some((p) => p.endsWith("*") ? name.startsWith(p.slice(0, -1)) : name === p);
  const names = Object.keys(ENV_VARS);
  assert.ok(names.length >= 15);
  assert.deepEqual(names.filter((n) => !covered(n)), []);
  assert.equal(covered("HOME"), false);
});

Deno.test("resolveConnection: an AstraCS: token or any Astra host means astra unless --environment says otherwise", async () => {
  const env = async (endpoint: string, token: string, environment?: string) =>
    (await resolveConnection(
      { endpoint, keyspace: ["ks"], ...(environment ? { environment } : {}) },
      { ASTRA_DB_APPLICATION_TOKEN: token },
      noFile,
    )).environment;
  // astra-db-ts 2.3.0 src/administration/utils.ts extractAstraEnvironment: prod, dev, test.
  assert.equal(await env("https://x-eu.apps.astra-dev.datastax.com", "tok"), "astra");
  assert.equal(await env("https://x-eu.apps.astra-test.datastax.com", "tok"), "astra");
  assert.equal(await env("https://x-eu.private.apps.astra.datastax.com", "tok"), "astra");
  // A private DNS name or proxy in front of Astra: the application token tells.
  assert.equal(await env("https://astra-proxy.internal.example", "AstraCS:abc:def"), "astra");
  assert.equal(await env("https://astra-proxy.internal.example", "AstraCS:abc", "hcd"), "hcd");
  assert.equal(await env("http://localhost:8181", "Cassandra:dXNlcg==:cGFzcw=="), "hcd");
  assert.equal(await env("https://apps.astra.datastax.com.evil.example", "tok"), "hcd");
});

Deno.test("resolveEmbeddingApiKey: the file wins over the environment; the key is a secret, refused without being quoted", async () => {
  clearSecrets();
  assert.equal(await resolveEmbeddingApiKey(undefined, {}, noFile), null);
  const fromEnv = await resolveEmbeddingApiKey(
    undefined,
    { ASTRABAK_EMBEDDING_API_KEY: "sk-env-key-123" },
    noFile,
  );
  assert.deepEqual(fromEnv, { key: "sk-env-key-123", source: "ASTRABAK_EMBEDDING_API_KEY" });
  assert.equal(redactSecrets("sent sk-env-key-123"), "sent ***");
  const fromFile = await resolveEmbeddingApiKey(
    "/k",
    { ASTRABAK_EMBEDDING_API_KEY: "sk-env-key-123" },
    () => Promise.resolve("sk-file-key-456\n"),
  );
  assert.deepEqual(fromFile, { key: "sk-file-key-456", source: "--embedding-api-key-file /k" });
  assert.equal(redactSecrets("sk-file-key-456"), "***");
  const bad = resolveEmbeddingApiKey(
    undefined,
    { ASTRABAK_EMBEDDING_API_KEY: "sk-bad key-789" },
    noFile,
  );
  await assert.rejects(bad, (e) => {
    assert.ok(e instanceof ConfigError);
    assert.match(
      e.message,
      /Cannot use the embedding API key from ASTRABAK_EMBEDDING_API_KEY: it contains a space at position 7/,
    );
    assert.ok(!e.message.includes("sk-bad"));
    return true;
  });
  await assert.rejects(
    resolveEmbeddingApiKey("/missing", {}, noFile),
    /Cannot read embedding API key file "\/missing"/,
  );
  clearSecrets();
});
