/**
 * What restore reports, end to end (the CLI as a subprocess under the shipped sandbox): how many
 * documents went in when it is interrupted or a count fails, how many existing documents a
 * replace drops (and its dry run would drop), and rows, not documents, for tables.
 */

import { join } from "node:path";
import assert from "node:assert/strict";
import { seedTables } from "../fakes/data_api/sample_data.ts";
import { makeSnapshot } from "../support/snapshots.ts";
import { fakeEnv, NOT_A_KEYSPACE, runCli, spawnCli } from "./run_cli.ts";
import { restoreTarget } from "../support/restore_target.ts";

const KS = "default_keyspace";

const setup = () => restoreTarget({}, "astrabak-restore-report-");

type T = Awaited<ReturnType<typeof setup>>;

const cliOptions = (t: T) => ({
  dir: t.dir,
  env: fakeEnv(t.target, { ASTRA_DB_KEYSPACE: NOT_A_KEYSPACE }),
});

async function waitFor(cond: () => boolean, ms = 30_000): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 10));
  }
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.test(`restore report: ${signal} mid-write says how many documents went in, per collection`, async () => {
    await using t = await setup();
    const snap = await makeSnapshot(t.dir, { sample: { articles: 20, dimension: 4 } });
    // articles (20) goes in whole; faq's second insertMany never answers.
    t.target.faults.add({
      command: "insertMany",
      collection: "faq",
      after: 1,
      action: { kind: "hang" },
    });
    const child = spawnCli([
      "restore",
      snap.snapshot,
      "--collections",
      "articles,faq",
      "--batch-size",
      "10",
      "--concurrency",
      "1",
      "--json",
    ], cliOptions(t));
    await waitFor(() => t.target.faults.usage()[0] === 1);
    child.kill(signal);
    const out = await child.output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 130, stderr);
    const report = JSON.parse(new TextDecoder().decode(out.stdout));
    assert.equal(report.exit_code, 130);
    assert.match(
      report.message,
      /Restore interrupted while writing default_keyspace\.faq: 10 of its 40 documents confirmed written by the server \(requests cut off in flight may have written more\); before it: default_keyspace\.articles finished \(20 inserted, 0 already present, 0 refused; 20 documents in the collection\)/,
    );
    assert.match(stderr, /hint: re-run the same restore with --if-exists append/);
  });
}

Deno.test("restore report: an interruption before the first write says nothing was written", async () => {
  await using t = await setup();
  const snap = await makeSnapshot(t.dir, { sample: { articles: 5, dimension: 4 } });
  // Planning lists the target's collections: that request never answers.
  t.target.faults.add({ command: "findCollections", action: { kind: "hang" } });
  const child = spawnCli(["restore", snap.snapshot], cliOptions(t));
  await waitFor(() => t.target.faults.usage()[0] === 1);
  child.kill("SIGINT");
  const out = await child.output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 130, stderr);
  assert.match(stderr, /Restore interrupted before anything was written \(Interrupted by SIGINT\)/);
  assert.equal(t.target.requestsOf("insertMany").length, 0);
});

Deno.test("restore report: replace and its dry run say how many existing documents are dropped (an estimate)", async () => {
  await using t = await setup();
  const snap = await makeSnapshot(t.dir, { sample: { articles: 30, dimension: 4 } });
  const articles = snap.manifest.collections.find((c) => c.name === "articles")!;
  t.target.store.createCollection(KS, "articles", articles.definition);
  t.target.store.seed(
    KS,
    "articles",
    Array.from({ length: 12 }, (_, i) => `{"_id":"old-${i}","$vector":[0.1,0.2,0.3,0.4]}`),
  );
  const args = [snap.snapshot, "--collections", "articles", "--if-exists", "replace"];

  const dry = await runCli(["restore", ...args, "--dry-run"], cliOptions(t));
  assert.equal(dry.code, 0, dry.stderr);
  assert.match(
    dry.stdout,
    /would replace default_keyspace\.articles → default_keyspace\.articles: 30 documents; exists: dropped and recreated \(--if-exists replace\)\n {10}would drop the existing collection and its ~12 documents \(estimatedDocumentCount: an estimate\)/,
  );
  const dryJson = await runCli(["restore", ...args, "--dry-run", "--json"], cliOptions(t));
  assert.deepEqual(JSON.parse(dryJson.stdout).collections[0].existing_before_replace, {
    count: 12,
    estimated: true,
  });
  assert.equal(t.target.store.keyspace(KS).get("articles")!.docs.size, 12, "dry run wrote nothing");

  const real = await runCli(["restore", ...args], cliOptions(t));
  assert.equal(real.code, 0, real.stderr);
  assert.match(
    real.stdout,
    /ok {6}default_keyspace\.articles → default_keyspace\.articles: 30 inserted.*\n {10}dropped the existing collection and its ~12 documents \(estimatedDocumentCount: an estimate\) first/,
  );
});

Deno.test("restore report: tables are counted in rows, and a table replace counts the rows it drops", async () => {
  await using t = await setup();
  const snap = await makeSnapshot(t.dir, {
    sample: { articles: 2, dimension: 4 },
    prepare: (api) => seedTables(api.store),
  });
  const create = await runCli(
    ["restore", snap.snapshot, "--collections", "products", "--dry-run"],
    cliOptions(t),
  );
  assert.equal(create.code, 0, create.stderr);
  assert.match(
    create.stdout,
    /would create {2}default_keyspace\.products → default_keyspace\.products: 60 rows; does not exist\n/,
  );
  assert.doesNotMatch(create.stdout, /\([^()]*\(/, "no nested parentheses");
  const first = await runCli(
    ["restore", snap.snapshot, "--collections", "products"],
    cliOptions(t),
  );
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stdout, /Restored .*: 1 table, 60 rows written/);

  const replace = await runCli(
    ["restore", snap.snapshot, "--collections", "products", "--if-exists", "replace", "--dry-run"],
    cliOptions(t),
  );
  assert.equal(replace.code, 0, replace.stderr);
  assert.match(replace.stdout, /would drop the existing table and its 60 rows \(counted\)/);
});

Deno.test("restore report: a collection that cannot be counted afterwards says what the server confirmed, never '?'", async () => {
  await using t = await setup();
  const snap = await makeSnapshot(t.dir, { sample: { articles: 40, dimension: 4 } });
  t.target.faults.add({
    command: "insertMany",
    after: 1,
    action: { kind: "run", fn: () => t.target.store.deleteCollection(KS, "articles") },
  });
  const r = await runCli([
    "restore",
    snap.snapshot,
    "--collections",
    "articles",
    "--batch-size",
    "10",
    "--concurrency",
    "1",
  ], cliOptions(t));
  assert.equal(r.code, 2);
  assert.doesNotMatch(r.stdout, /\?/);
  assert.match(
    r.stdout,
    /FAILED {2}default_keyspace\.articles → default_keyspace\.articles: 10 documents confirmed written, 0 refused; the collection could not be counted, so its total is unknown: /,
  );
});

Deno.test("restore report: an interrupted replace says to re-run replace (append would keep the old documents of collections not reached)", async () => {
  await using t = await setup();
  const snap = await makeSnapshot(t.dir, { sample: { articles: 20, dimension: 4 } });
  const manifest = JSON.parse(await Deno.readTextFile(join(snap.snapshot, "manifest.json")));
  for (const name of ["articles", "faq"]) {
    const entry = manifest.collections.find((c: { name: string }) => c.name === name);
    t.target.store.createCollection(KS, name, entry.definition);
    t.target.store.seed(KS, name, ['{"_id":"old","$vector":[0.5,0.5,0.5,0.5]}']);
  }
  // articles is being written when the signal comes; faq is not reached.
  t.target.faults.add({
    command: "insertMany",
    collection: "articles",
    after: 1,
    action: { kind: "hang" },
  });
  const child = spawnCli([
    "restore",
    snap.snapshot,
    "--collections",
    "articles,faq",
    "--if-exists",
    "replace",
    "--batch-size",
    "10",
    "--concurrency",
    "1",
  ], cliOptions(t));
  await waitFor(() => t.target.faults.usage()[0] === 1);
  child.kill("SIGINT");
  const out = await child.output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 130, stderr);
  assert.match(stderr, /hint: re-run the same restore \(--if-exists replace\)/);
  assert.doesNotMatch(stderr, /--if-exists append/);
});

Deno.test("restore report: an interruption before the first write drops the empty collections the plan had created", async () => {
  await using t = await setup();
  const snap = await makeSnapshot(t.dir, { sample: { articles: 5, dimension: 4 } });
  // Every new collection is created before any document: the second create never answers.
  t.target.faults.add({ command: "createCollection", after: 1, action: { kind: "hang" } });
  const child = spawnCli(
    ["restore", snap.snapshot, "--collections", "articles,faq"],
    cliOptions(t),
  );
  await waitFor(() => t.target.requestsOf("createCollection").length === 2);
  child.kill("SIGINT");
  const out = await child.output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 130, stderr);
  assert.match(
    stderr,
    /Restore interrupted before anything was written .*; the 1 empty collection\(s\) it had created were dropped again/,
  );
  assert.equal(t.target.store.keyspace(KS).size, 0, "the target is as it was");
});
