import assert from "node:assert/strict";
import { SourceError } from "../errors.ts";
import { DataApiClient, startupFailure } from "./data_api.ts";

/** A tiny Data API stand-in on 127.0.0.1 that answers every command with an empty status. */
function server(): Deno.HttpServer<Deno.NetAddr> {
  return Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => Response.json({ status: { ok: 1 } }),
  );
}

function client(endpoint: string, retries: number, onRetry: () => void): DataApiClient {
  return new DataApiClient({
    endpoint,
    environment: "hcd",
    token: "AstraCS:test-token",
    tokenSource: "--token-file /etc/astrabak/token",
    retry: { maxAttempts: retries + 1, baseDelayMs: 1 },
    onRetry,
  });
}

Deno.test("a refused connection before any answer is final; after one it is retried, and named", async () => {
  const s = server();
  const endpoint = `http://127.0.0.1:${s.addr.port}`;
  let retries = 0;
  const c = client(endpoint, 2, () => retries++);
  await c.simple({ keyspace: "ks" }, { findCollections: {} });
  await s.shutdown();
  // The server answered once: a refusal now may be a restart, so it is retried.
  await assert.rejects(
    c.simple({ keyspace: "ks" }, { findCollections: {} }),
    (e: unknown) =>
      e instanceof SourceError && e.kind === "connection" &&
      /connection error \(Connection refused\)/i.test(e.message),
  );
  assert.equal(retries, 2);
  // A fresh client that never reached the server: no retry, the endpoint named, and a hint.
  retries = 0;
  const fresh = client(endpoint, 2, () => retries++);
  await assert.rejects(
    fresh.simple({ keyspace: "ks" }, { findCollections: {} }),
    (e: unknown) =>
      e instanceof SourceError && !e.retriable &&
      e.message === `Cannot connect to ${endpoint}: connection refused` &&
      /check --endpoint/.test(e.hint ?? ""),
  );
  assert.equal(retries, 0);
});

Deno.test("the 401 hint names the token's source", async () => {
  const s = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => Response.json({ errors: [{ errorCode: "UNAUTHENTICATED_REQUEST" }] }, { status: 401 }),
  );
  try {
    const c = client(`http://127.0.0.1:${s.addr.port}`, 0, () => {});
    await assert.rejects(
      c.simple({}, { findKeyspaces: {} }),
      (e: unknown) =>
        e instanceof SourceError && e.kind === "auth" &&
        e.hint?.startsWith("check --token-file /etc/astrabak/token:") === true,
    );
  } finally {
    await s.shutdown();
  }
});

Deno.test("startupFailure tells a wrong endpoint from a transient failure", () => {
  const fetchFailed = (cause: string) => new TypeError("fetch failed", { cause: new Error(cause) });
  assert.equal(
    startupFailure(fetchFailed(
      "error sending request for url (http://127.0.0.1:1/): client error (Connect): tcp connect error: Connection refused (os error 111)",
    )),
    "connection refused",
  );
  assert.equal(
    startupFailure(fetchFailed(
      "error sending request for url (https://x.apps.astra.datastax.com/): client error (Connect): dns error: failed to lookup address information: Name or service not known",
    )),
    "no such host",
  );
  assert.equal(
    startupFailure(fetchFailed(
      "client error (Connect): dns error: failed to lookup address information: Temporary failure in name resolution",
    )),
    undefined,
  );
  assert.equal(startupFailure(fetchFailed("connection reset by peer")), undefined);
});
