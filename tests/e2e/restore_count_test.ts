/**
 * How restore proves what it wrote, end to end (the CLI as a subprocess under the shipped
 * sandbox): a full key scan up to --count-scan-limit (or always with --count exact), above it
 * the server's confirmations, its estimate and a byte-for-byte read-back of a random sample —
 * and a write the server confirmed but lost is caught either way.
 */

import assert from "node:assert/strict";
import { FakeDataApi, type LoggedRequest } from "../fakes/data_api/server.ts";
import { seedTables } from "../fakes/data_api/sample_data.ts";
import { makeSnapshot } from "../support/snapshots.ts";
import { fakeEnv, NOT_A_KEYSPACE, runCli } from "./run_cli.ts";

const KS = "default_keyspace";

async function setup() {
  const target = await FakeDataApi.start();
  const dir = await Deno.makeTempDir({ prefix: "astrabak-restore-count-" });
  return {
    target,
    dir,
    async [Symbol.asyncDispose]() {
      await target.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

type T = Awaited<ReturnType<typeof setup>>;

const cliOptions = (t: T) => ({
  dir: t.dir,
  env: fakeEnv(t.target, { ASTRA_DB_KEYSPACE: NOT_A_KEYSPACE }),
});

/** A find that pages through the whole collection (filter `{}`, see pages.ts): a counting scan. */
const isScan = (r: LoggedRequest) => r.command === "find" && r.body.includes('"filter":{}');

Deno.test("restore count: above --count-scan-limit the proof is a sample read back byte for byte, and nothing is scanned (append included)", async () => {
  await using t = await setup();
  const snap = await makeSnapshot(t.dir, { sample: { articles: 30, dimension: 4 } });
  const args = [snap.snapshot, "--count-scan-limit", "10", "--sample", "200", "--json"];

  const first = await runCli(["restore", ...args], cliOptions(t));
  assert.equal(first.code, 0, first.stderr);
  const report = JSON.parse(first.stdout);
  for (const c of report.collections) {
    assert.equal(c.status, "ok", c.error);
    const name = c.target.split(".")[1];
    if (c.documents_in_snapshot <= 10) {
      // At most the limit: still the exact scan.
      assert.equal(c.count_proof, "scan", c.target);
      assert.ok(t.target.requestsOf("find", name).filter(isScan).length > 0, name);
      continue;
    }
    assert.equal(c.count_proof, "sample", c.target);
    assert.equal(c.count_estimated, true);
    assert.equal(c.inserted, c.documents_in_snapshot);
    assert.equal(c.count_after, c.documents_in_snapshot, "the fake's estimate is exact");
    // --sample above the collection's size: every confirmed document read back, all identical.
    assert.deepEqual(c.sample, {
      compared: "bytes",
      checked: c.documents_in_snapshot,
      matched: c.documents_in_snapshot,
      mismatched: [],
    });
  }
  const sampled = report.collections.filter((c: { count_proof: string }) =>
    c.count_proof === "sample"
  );
  assert.ok(sampled.some((c: { target: string }) => c.target === `${KS}.articles`));
  for (const c of sampled) {
    const name = c.target.split(".")[1];
    assert.equal(t.target.requestsOf("find", name).filter(isScan).length, 0, name);
  }

  // append onto the same (big) targets: no scan before, none after; every _id already present.
  t.target.requests.length = 0;
  const again = await runCli(
    ["restore", ...args, "--collections", "articles", "--if-exists", "append"],
    cliOptions(t),
  );
  assert.equal(again.code, 0, again.stderr);
  const c = JSON.parse(again.stdout).collections[0];
  assert.equal(c.count_proof, "sample");
  assert.equal(c.count_before, 30);
  assert.equal(c.inserted, 0);
  assert.equal(c.already_present, 30);
  assert.equal(c.sample.checked, 0, "nothing confirmed, nothing to sample");
  assert.equal(t.target.requestsOf("find", "articles").filter(isScan).length, 0);

  const text = await runCli(
    ["restore", snap.snapshot, "--collections", "articles", "--if-exists", "append"].concat(
      "--count-scan-limit",
      "10",
    ),
    cliOptions(t),
  );
  assert.equal(text.code, 0, text.stderr);
  assert.match(
    text.stdout,
    /ok {6}default_keyspace\.articles → default_keyspace\.articles: 0 inserted, 30 already present, 0 refused; ~30 documents in the collection \(estimatedDocumentCount; above --count-scan-limit, not counted\); 0 of 0 sampled documents read back identical/,
  );
});

Deno.test("restore count: --count exact scans even above --count-scan-limit", async () => {
  await using t = await setup();
  const snap = await makeSnapshot(t.dir, { sample: { articles: 30, dimension: 4 } });
  const out = await runCli(
    [
      "restore",
      snap.snapshot,
      "--collections",
      "articles",
      "--count-scan-limit",
      "10",
      "--count",
      "exact",
      "--json",
    ],
    cliOptions(t),
  );
  assert.equal(out.code, 0, out.stderr);
  const c = JSON.parse(out.stdout).collections[0];
  assert.equal(c.count_proof, "scan");
  assert.equal(c.count_estimated, false);
  assert.equal(c.count_after, 30);
  assert.equal(c.sample, null);
  assert.ok(t.target.requestsOf("find", "articles").filter(isScan).length > 0);
});

Deno.test("restore count: a table above the limit is proven by reading sampled rows back by primary key", async () => {
  await using t = await setup();
  const snap = await makeSnapshot(t.dir, {
    sample: { articles: 2, dimension: 4 },
    prepare: (api) => seedTables(api.store),
  });
  const out = await runCli(
    [
      "restore",
      snap.snapshot,
      "--collections",
      "products",
      "--count-scan-limit",
      "10",
      "--sample",
      "7",
      "--json",
    ],
    cliOptions(t),
  );
  assert.equal(out.code, 0, out.stderr);
  const c = JSON.parse(out.stdout).collections[0];
  assert.equal(c.status, "ok", c.error);
  assert.equal(c.count_proof, "sample");
  assert.equal(c.count_after, null, "tables have no estimate");
  assert.equal(c.inserted, 60);
  assert.deepEqual(c.sample, { compared: "primary_key", checked: 7, matched: 7, mismatched: [] });
  const finds = t.target.requestsOf("find", "products");
  assert.equal(finds.filter(isScan).length, 0);
  assert.equal(finds.length, 7);
  assert.ok(finds.every((r) => /"filter":\{"category":.*"sku":.*"version":/.test(r.body)));
});

for (const proof of ["sample", "scan"] as const) {
  Deno.test(`restore count: writes the server confirmed but lost are caught by the ${proof}`, async () => {
    await using t = await setup();
    const snap = await makeSnapshot(t.dir, { sample: { articles: 30, dimension: 4 } });
    t.target.faults.add({
      command: "insertMany",
      collection: "articles",
      action: { kind: "lose", count: 3 },
    });
    const out = await runCli(
      [
        "restore",
        snap.snapshot,
        "--collections",
        "articles",
        ...(proof === "sample" ? ["--count-scan-limit", "10", "--sample", "30"] : []),
        "--batch-size",
        "10",
        "--json",
      ],
      cliOptions(t),
    );
    assert.equal(out.code, 2, out.stderr);
    const c = JSON.parse(out.stdout).collections[0];
    assert.equal(c.status, "failed");
    assert.equal(c.count_proof, proof);
    assert.equal(c.confirmed_writes, 30);
    if (proof === "sample") {
      assert.equal(c.sample.checked, 30);
      assert.equal(c.sample.matched, 27);
      assert.match(
        c.error,
        /^3 of 30 sampled documents the server confirmed writing are missing or stored differently \(first: _id "article-00\d\d"\): the collection does not hold what was written$/,
      );
    } else {
      assert.match(
        c.error,
        /holds 27 after restore \(0 before\), but the server confirmed 30 writes/,
      );
    }
  });
}
