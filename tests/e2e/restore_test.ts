/**
 * `astrabak restore` end to end: snapshots taken from one fake Data API are restored through the
 * CLI (a subprocess under the shipped sandbox) into a second fake, and compared document by
 * document, byte for byte.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import type { FakeDataApi } from "../fakes/data_api/server.ts";
import { parseTree } from "../fakes/data_api/json_tree.ts";
import { fakeEmbedding } from "../fakes/data_api/store.ts";
import { NASTY_DOCS } from "../fakes/data_api/sample_data.ts";
import { copyDir, editManifest, flipByte, makeSnapshot } from "../support/snapshots.ts";
import { docsOf, restoreInto, restoreTarget } from "../support/restore_target.ts";

const KS = "default_keyspace";

const setup = (options: Parameters<typeof FakeDataApi.start>[0] = {}) =>
  restoreTarget(options, "astrabak-restore-");

/** The source documents as captured in the snapshot (each data line). */
async function snapshotLines(snapshot: string, collection: string): Promise<string[]> {
  const file = await Deno.open(join(snapshot, `${KS}.${collection}.jsonl.gz`));
  const text = await new Response(
    file.readable.pipeThrough(
      new DecompressionStream("gzip") as TransformStream<Uint8Array, Uint8Array>,
    ),
  ).text();
  return text.trimEnd().split("\n").sort();
}

const restore = restoreInto;

/** A recognisable embedding provider key (the fake's openai authenticates by header). */
const EMBEDDING_KEY = "sk-EMBEDDING-KEY-e2e-0123456789abcdef";

const withoutVectorize = (line: string) => line.replace(/,"\$vectorize":"[^"]*"/, "");

Deno.test("restore: a full round trip is exact: documents, _id types, numbers, vectors, key order, definitions", async () => {
  await using t = await setup();
  const snap = await makeSnapshot(t.dir, {
    sample: { articles: 60, dimension: 8 },
    prepare: (api) => {
      api.store.createCollection(KS, "nasty", {});
      api.store.seed(KS, "nasty", [...NASTY_DOCS]);
    },
  });
  const r = await restore(t, [snap.snapshot, "--batch-size", "7", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  assert.equal(report.status, "ok");
  for (const name of ["articles", "customers", "nasty"]) {
    assert.deepEqual(
      docsOf(t.target, name),
      await snapshotLines(snap.snapshot, name),
      `${name} differs`,
    );
  }
  // faq is a vectorize collection: by default the exact $vector is kept and the text is left out.
  assert.deepEqual(
    docsOf(t.target, "faq"),
    (await snapshotLines(snap.snapshot, "faq")).map(withoutVectorize).sort(),
  );
  const faq = report.collections.find((c: { source: string }) => c.source === `${KS}.faq`);
  assert.equal(faq.vectorize_texts_not_restored, 40);
  for (const c of snap.manifest.collections) {
    assert.deepEqual(
      t.target.store.keyspace(KS).get(c.name)!.options,
      c.definition,
      `${c.name} definition`,
    );
  }
  const inserts = t.target.requestsOf("insertMany", "articles");
  assert.equal(inserts.length, Math.ceil(60 / 7), "batches of --batch-size");
  assert.ok(inserts.every((q) => JSON.parse(q.body).insertMany.options.ordered === false));
  assert.ok(
    inserts.some((q) => q.body.includes('"$vector":[') && q.body.includes('"$vector":{"$binary":')),
    "both vector representations went back as they were",
  );
  assert.match(r.stderr, /Verifying .* before restoring/);
});

Deno.test("restore: --rename, --keyspace and --collections choose the targets", async () => {
  await using t = await setup();
  t.target.store.keyspaces.set("other", new Map());
  const snap = await makeSnapshot(t.dir, { sample: { articles: 5, dimension: 4 } });
  const r = await restore(t, [
    snap.snapshot,
    "--keyspace",
    "other",
    "--collections",
    "articles,customers",
    "--rename",
    "articles=articles_copy",
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual([...t.target.store.keyspace("other").keys()].sort(), [
    "articles_copy",
    "customers",
  ]);
  assert.deepEqual(
    docsOf(t.target, "articles_copy", "other"),
    await snapshotLines(snap.snapshot, "articles"),
  );
  assert.equal(t.target.store.keyspace(KS).size, 0);
  assert.match(r.stdout, /default_keyspace\.articles → other\.articles_copy: 5 inserted/);
  const bad = await restore(t, [snap.snapshot, "--rename", "nope=x"]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /"nope" is not in the snapshot/);
});

Deno.test("restore: --if-exists fail, skip, append and replace", async () => {
  await using t = await setup();
  const snap = await makeSnapshot(t.dir, { sample: { articles: 30, dimension: 4 } });
  const articles = await snapshotLines(snap.snapshot, "articles");
  // The target already holds 10 of the articles, one of them changed.
  t.target.store.createCollection(KS, "articles", snap.manifest.collections[0]!.definition);
  const changed = articles[0]!.replace('"title":"', '"title":"CHANGED ');
  t.target.store.seed(KS, "articles", [changed, ...articles.slice(1, 10)]);
  const before = docsOf(t.target, "articles");

  const fail = await restore(t, [snap.snapshot, "--collections", "articles"]);
  assert.equal(fail.code, 1);
  assert.match(
    fail.stderr,
    /default_keyspace\.articles already exists \(choose --if-exists skip, append or replace\)/,
  );
  assert.deepEqual(docsOf(t.target, "articles"), before, "fail writes nothing");
  assert.equal(t.target.requestsOf("insertMany").length, 0);

  const skip = await restore(t, [
    snap.snapshot,
    "--collections",
    "articles",
    "--if-exists",
    "skip",
  ]);
  assert.equal(skip.code, 0, skip.stderr);
  assert.match(skip.stdout, /skipped default_keyspace\.articles/);
  assert.deepEqual(docsOf(t.target, "articles"), before);

  const append = await restore(t, [
    snap.snapshot,
    "--collections",
    "articles",
    "--if-exists",
    "append",
    "--json",
  ]);
  assert.equal(append.code, 0, append.stderr);
  const a = JSON.parse(append.stdout).collections[0];
  assert.deepEqual(
    [a.inserted, a.already_present, a.refused, a.count_before, a.count_after],
    [20, 10, 0, 10, 30],
    "existing _ids are counted, not overwritten",
  );
  assert.ok(
    docsOf(t.target, "articles").includes(changed),
    "the existing document kept its content",
  );

  const again = await restore(t, [
    snap.snapshot,
    "--collections",
    "articles",
    "--if-exists",
    "append",
    "--json",
  ]);
  assert.equal(
    JSON.parse(again.stdout).collections[0].already_present,
    30,
    "a second append adds nothing",
  );

  const replace = await restore(t, [
    snap.snapshot,
    "--collections",
    "articles",
    "--if-exists",
    "replace",
  ]);
  assert.equal(replace.code, 0, replace.stderr);
  assert.deepEqual(docsOf(t.target, "articles"), articles, "replace drops and recreates");
});

Deno.test("restore: an existing collection with a different definition is only replaced on request", async () => {
  await using t = await setup();
  const snap = await makeSnapshot(t.dir, { sample: { articles: 5, dimension: 4 } });
  t.target.store.createCollection(KS, "articles", {
    vector: { dimension: 4, metric: "euclidean" },
  });
  const append = await restore(t, [
    snap.snapshot,
    "--collections",
    "articles",
    "--if-exists",
    "append",
  ]);
  assert.equal(append.code, 1);
  assert.match(
    append.stderr,
    /exists with a different definition \(vector: snapshot .*cosine.*, target .*euclidean/,
  );
  const replace = await restore(t, [
    snap.snapshot,
    "--collections",
    "articles",
    "--if-exists",
    "replace",
  ]);
  assert.equal(replace.code, 0, replace.stderr);
  assert.equal(
    (t.target.store.keyspace(KS).get("articles")!.options.vector as { metric: string }).metric,
    "cosine",
  );
});

Deno.test("restore: --dry-run verifies and plans, and writes nothing", async () => {
  await using t = await setup();
  const snap = await makeSnapshot(t.dir, { sample: { articles: 5, dimension: 4 } });
  t.target.store.createCollection(KS, "customers", { defaultId: { type: "uuid" } });
  const r = await restore(t, [snap.snapshot, "--dry-run", "--if-exists", "skip"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stdout,
    /would create {2}default_keyspace\.articles → default_keyspace\.articles: 5 documents/,
  );
  assert.match(r.stdout, /would skip {5}default_keyspace\.customers/);
  assert.match(r.stdout, /nothing was written/);
  // Definitions are tested by a createCollection under the name of an existing collection whose
  // definition differs: the server validates it and refuses it as existing, creating nothing.
  assert.deepEqual(
    [...new Set(t.target.requests.map((q) => q.command))].sort(),
    ["createCollection", "findCollections", "findKeyspaces"],
  );
  assert.ok(
    t.target.requestsOf("createCollection").every((q) =>
      JSON.parse(q.body).createCollection.name === "customers"
    ),
    "only under the existing name",
  );
  assert.deepEqual([...t.target.store.keyspace(KS).keys()], ["customers"]);
});

Deno.test("restore: INCOMPLETE snapshots need --force; tampered ones are refused with nothing written", async () => {
  await using t = await setup();
  const incomplete = await makeSnapshot(join(t.dir, "a"), {
    sample: { articles: 5, dimension: 4 },
    prepare: (api) =>
      api.faults.add({
        command: "find",
        collection: "faq",
        times: Infinity,
        action: { kind: "status", status: 500 },
      }),
  });
  const refused = await restore(t, [incomplete.snapshot]);
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /Refusing to restore an INCOMPLETE snapshot/);
  assert.match(refused.stderr, /hint: add --force/);
  assert.equal(t.target.requests.length, 0, "refused before connecting");
  const forced = await restore(t, [incomplete.snapshot, "--force"]);
  assert.equal(forced.code, 0, forced.stderr);
  assert.deepEqual([...t.target.store.keyspace(KS).keys()].sort(), ["articles", "customers"]);

  await using u = await setup();
  const good = await makeSnapshot(join(u.dir, "b"), { sample: { articles: 5, dimension: 4 } });
  const tampered = join(u.dir, "b", "backups", "20261125_000001");
  await copyDir(good.snapshot, tampered);
  await editManifest(tampered, (m) => (m.snapshot = "20261125_000001"));
  await flipByte(join(tampered, `${KS}.customers.jsonl.gz`), 40);
  const r = await restore(u, [tampered]);
  assert.equal(r.code, 2);
  assert.match(
    r.stderr,
    /Refusing to restore: the snapshot failed verification: default_keyspace\.customers: .*SHA-256/,
  );
  assert.equal(u.target.requests.length, 0, "nothing written");
});

Deno.test("restore: latest is chosen by the timestamp in the name, not by file times", async () => {
  await using t = await setup();
  const snap = await makeSnapshot(t.dir, { sample: { articles: 3, dimension: 4 } });
  const out = join(t.dir, "backups");
  const older = join(out, "20200101_000000");
  const newer = join(out, "20991231_235959");
  await copyDir(snap.snapshot, older);
  await copyDir(snap.snapshot, newer);
  await editManifest(older, (m) => (m.snapshot = "20200101_000000"));
  await editManifest(newer, (m) => (m.snapshot = "20991231_235959"));
  await Deno.mkdir(join(out, "21000101_000000.INCOMPLETE"));
  await Deno.mkdir(join(out, ".21000101_000000.inprogress"));
  await Deno.utime(newer, new Date("2001-01-01"), new Date("2001-01-01"));
  const r = await restore(t, ["latest", "--from", out, "--dry-run", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).snapshot, newer);
});

Deno.test("restore: --vectorize reembed sends the text for the server to embed, with the provider key on the inserts only", async () => {
  await using t = await setup();
  const snap = await makeSnapshot(t.dir, { sample: { articles: 2, dimension: 8 } });
  const r = await restore(t, [
    snap.snapshot,
    "--collections",
    "faq",
    "--vectorize",
    "reembed",
    "--json",
    "--verbose",
  ], { ASTRABAK_EMBEDDING_API_KEY: EMBEDDING_KEY });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).collections[0].documents_reembedded, 40);
  const inserts = t.target.requestsOf("insertMany", "faq");
  const sent = inserts.map((q) => q.body).join("");
  assert.ok(
    sent.includes('"$vectorize"') && !sent.includes('"$vector"'),
    "only $vectorize went out",
  );
  assert.ok(inserts.length > 0 && inserts.every((q) => q.embeddingApiKey === EMBEDDING_KEY));
  // The key goes with the commands that embed, nowhere else.
  assert.deepEqual(
    t.target.requests.filter((q) => q.embeddingApiKey !== null && q.command !== "insertMany"),
    [],
  );
  assert.ok(!(r.stdout + r.stderr).includes(EMBEDDING_KEY), "the key is never printed");
  // The fake embeds deterministically, so re-embedding reproduces the source exactly.
  assert.deepEqual(docsOf(t.target, "faq"), await snapshotLines(snap.snapshot, "faq"));
});

Deno.test("restore: --vectorize reembed through a header-authenticated provider without a key is refused in the plan, nothing written", async () => {
  await using t = await setup();
  const snap = await makeSnapshot(t.dir, { sample: { articles: 2, dimension: 8 } });
  for (const extra of [["--dry-run"], [], ["--json"]]) {
    const r = await restore(t, [snap.snapshot, "--vectorize", "reembed", ...extra]);
    const what = extra.join(" ") || "real run";
    assert.equal(r.code, 1, `${what}: ${r.stderr}`);
    const error = extra.includes("--json")
      ? `${JSON.parse(r.stdout).message}\n${JSON.parse(r.stdout).hint}`
      : r.stderr;
    assert.match(
      error,
      /Cannot restore with --vectorize reembed: default_keyspace\.faq \(provider openai\) embed through a provider that authenticates by header, and no embedding API key was given/,
      what,
    );
    assert.match(error, /ASTRABAK_EMBEDDING_API_KEY or pass --embedding-api-key-file PATH/, what);
    assert.deepEqual([...t.target.store.keyspace(KS).keys()], [], `${what}: nothing created`);
    assert.equal(t.target.requestsOf("insertMany").length, 0, what);
  }
});

Deno.test("restore: --embedding-api-key-file gives the key; a refused key file is named, never quoted", async () => {
  await using t = await setup();
  const snap = await makeSnapshot(t.dir, { sample: { articles: 2, dimension: 8 } });
  const file = join(t.dir, "embedding.key");
  await Deno.writeTextFile(file, EMBEDDING_KEY + "\n");
  const r = await restore(t, [
    snap.snapshot,
    "--collections",
    "faq",
    "--vectorize",
    "reembed",
    "--embedding-api-key-file",
    file,
  ]);
  assert.equal(r.code, 0, r.stderr);
  const inserts = t.target.requestsOf("insertMany", "faq");
  assert.ok(inserts.length > 0 && inserts.every((q) => q.embeddingApiKey === EMBEDDING_KEY));
  assert.equal(t.target.store.keyspace(KS).get("faq")?.docs.size, 40);

  await Deno.writeTextFile(file, EMBEDDING_KEY + "\nsecond line\n");
  const bad = await restore(t, [snap.snapshot, "--embedding-api-key-file", file, "--dry-run"]);
  assert.equal(bad.code, 1, bad.stderr);
  assert.match(bad.stderr, /Cannot use embedding API key file ".*embedding\.key": it has 2 lines/);
  assert.ok(!(bad.stdout + bad.stderr).includes(EMBEDDING_KEY));
  const missing = await restore(t, [
    snap.snapshot,
    "--embedding-api-key-file",
    join(t.dir, "nope.key"),
    "--dry-run",
  ]);
  assert.equal(missing.code, 1, missing.stderr);
  assert.match(missing.stderr, /Cannot read embedding API key file ".*nope\.key"/);
});

Deno.test("restore: when the provider listing cannot tell, the server's refusal of a keyless insert names the fix", async () => {
  await using t = await setup({ serverVersion: "1.0.25" });
  const snap = await makeSnapshot(t.dir, { sample: { articles: 2, dimension: 8 } });
  t.target.faults.add({
    command: "findEmbeddingProviders",
    times: Infinity,
    action: { kind: "status", status: 404 },
  });
  const r = await restore(t, [snap.snapshot, "--collections", "faq", "--vectorize", "reembed"]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(
    r.stdout + r.stderr,
    /EMBEDDING_PROVIDER_API_KEY_MISSING: .*; set ASTRABAK_EMBEDDING_API_KEY or pass --embedding-api-key-file PATH/,
  );
  assert.doesNotMatch(r.stderr, /retrying/);
  assert.equal(t.target.store.keyspace(KS).get("faq")?.docs.size ?? 0, 0);
});

Deno.test("restore: a 503 burst mid-restore is retried; the result is exact", async () => {
  await using t = await setup();
  const snap = await makeSnapshot(t.dir, { sample: { articles: 40, dimension: 4 } });
  t.target.faults.add({
    command: "insertMany",
    after: 2,
    times: 3,
    action: { kind: "status", status: 503 },
  });
  const r = await restore(t, [
    snap.snapshot,
    "--collections",
    "articles",
    "--batch-size",
    "10",
    "--concurrency",
    "2",
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(t.target.faults.usage(), [3]);
  assert.match(r.stderr, /insertMany on default_keyspace\.articles: .*HTTP 503.*retrying/);
  assert.deepEqual(docsOf(t.target, "articles"), await snapshotLines(snap.snapshot, "articles"));
});

Deno.test("restore: transient Data API errors in HTTP 200 are retried, per request and per document", async () => {
  await using t = await setup();
  const snap = await makeSnapshot(t.dir, { sample: { articles: 40, dimension: 4 } });
  // A whole insertMany refused as overloaded, then one where 3 documents timed out.
  t.target.faults.add({
    command: "insertMany",
    action: { kind: "error", errorCode: "UNAVAILABLE_DATABASE" },
  });
  t.target.faults.add({
    command: "insertMany",
    action: { kind: "documentError", errorCode: "TIMEOUT_WRITING_DATA", count: 3 },
  });
  const r = await restore(t, [
    snap.snapshot,
    "--collections",
    "articles",
    "--batch-size",
    "10",
    "--concurrency",
    "1",
    "--json",
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(t.target.faults.usage(), [1, 1]);
  assert.match(
    r.stderr,
    /insertMany on default_keyspace\.articles: .*UNAVAILABLE_DATABASE.*retrying/,
  );
  const c = JSON.parse(r.stdout).collections[0];
  assert.deepEqual([c.inserted, c.already_present, c.refused, c.count_after], [40, 0, 0, 40]);
  assert.deepEqual(docsOf(t.target, "articles"), await snapshotLines(snap.snapshot, "articles"));
});

Deno.test("restore: writes of unknown outcome are retried and read back (FAILED_COMPARE_AND_SET, old servers' codes)", async () => {
  await using t = await setup();
  const snap = await makeSnapshot(t.dir, { sample: { articles: 40, dimension: 4 } });
  // 3 documents written although the answer says the outcome is unknown; then 2 that a server
  // before v1.0.35 reports with its driver-timeout code (not written).
  t.target.faults.add({
    command: "insertMany",
    action: { kind: "documentError", errorCode: "FAILED_COMPARE_AND_SET", count: 3, applied: true },
  });
  t.target.faults.add({
    command: "insertMany",
    action: { kind: "documentError", errorCode: "SERVER_DRIVER_TIMEOUT", count: 2 },
  });
  const r = await restore(t, [
    snap.snapshot,
    "--collections",
    "articles",
    "--batch-size",
    "10",
    "--concurrency",
    "1",
    "--json",
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(t.target.faults.usage(), [1, 1]);
  const c = JSON.parse(r.stdout).collections[0];
  assert.deepEqual([c.inserted, c.already_present, c.refused, c.count_after], [40, 0, 0, 40]);
  // The 3 answered DOCUMENT_ALREADY_EXISTS on the retry and were read back by _id.
  assert.ok(t.target.requestsOf("find", "articles").some((q) => q.body.includes('"$in"')));
  assert.deepEqual(docsOf(t.target, "articles"), await snapshotLines(snap.snapshot, "articles"));
});

Deno.test("restore: an _id that exists with other bytes after an uncertain write is a conflict, not ours", async () => {
  await using t = await setup();
  const snap = await makeSnapshot(t.dir, { sample: { articles: 10, dimension: 4 } });
  // The first document's write times out (outcome unknown: a timeout was always retried); before the retry someone else
  // writes another document under the same _id.
  t.target.faults.add({
    command: "insertMany",
    action: { kind: "documentError", errorCode: "TIMEOUT_WRITING_DATA", count: 1 },
  });
  t.target.faults.add({
    command: "insertMany",
    action: {
      kind: "run",
      fn: () => {
        const sent = JSON.parse(t.target.requestsOf("insertMany", "articles")[0]!.body) as {
          insertMany: { documents: Array<{ _id: unknown }> };
        };
        const id = JSON.stringify(sent.insertMany.documents[0]!._id);
        t.target.store.keyspace(KS).get("articles")!.insert(
          parseTree(`{"_id":${id},"other":true}`),
          fakeEmbedding,
        );
      },
    },
  });
  const r = await restore(t, [snap.snapshot, "--collections", "articles", "--json"]);
  assert.equal(r.code, 2, r.stderr);
  const c = JSON.parse(r.stdout).collections[0];
  assert.equal(c.refused, 0);
  assert.equal(c.status, "failed");
  assert.match(c.error, /reported 1 _ids as existing \(was something else writing to it\?\)/);
});

Deno.test("restore: collection DDL whose answer was lost is not failed by our own retry", async () => {
  await using t = await setup();
  const snap = await makeSnapshot(t.dir, { sample: { articles: 10, dimension: 4 } });
  assert.equal((await restore(t, [snap.snapshot, "--collections", "articles"])).code, 0);
  // deleteCollection is DROP TABLE IF EXISTS and createCollection is idempotent for equal
  // options (DeleteCollectionCollectionOperation.java, CreateCollectionOperation.java).
  for (const command of ["deleteCollection", "createCollection"]) {
    t.target.faults.add({ command, action: { kind: "drop" } });
  }
  const r = await restore(t, [
    snap.snapshot,
    "--collections",
    "articles",
    "--if-exists",
    "replace",
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(t.target.faults.usage(), [1, 1]);
  assert.deepEqual(docsOf(t.target, "articles"), await snapshotLines(snap.snapshot, "articles"));
});

Deno.test("restore: only the keyspaces being written to must exist on the target", async () => {
  await using t = await setup();
  const snap = await makeSnapshot(t.dir, { sample: { articles: 5, dimension: 4 } });
  // Move customers to a keyspace the target does not have.
  await editManifest(snap.snapshot, (m) => {
    const c = m.collections.find((e) => e.name === "customers")!;
    const file = `archive_ks.customers.jsonl.gz`;
    Deno.renameSync(join(snap.snapshot, c.data_file!), join(snap.snapshot, file));
    c.keyspace = "archive_ks";
    c.data_file = file;
  });
  const r = await restore(t, [snap.snapshot, "--collections", "articles", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(docsOf(t.target, "articles"), await snapshotLines(snap.snapshot, "articles"));
  const all = await restore(t, [snap.snapshot, "--dry-run"]);
  assert.equal(all.code, 1, "the whole snapshot needs archive_ks");
  assert.match(all.stderr, /archive_ks/);
});

Deno.test("restore: insertMany batches stay under 4 MB whatever --batch-size says", async () => {
  await using t = await setup();
  const snap = await makeSnapshot(t.dir, {
    sample: { articles: 1, dimension: 4 },
    prepare: (api) => {
      // The 100 KB text is left unindexed: the Data API refuses indexed strings over 8000 bytes.
      api.store.createCollection(KS, "big", {
        vector: { dimension: 4 },
        indexing: { deny: ["text"] },
      });
      api.store.seedSynthetic(KS, "big", { count: 120, dimension: 4, textBytes: 100_000 });
    },
  });
  const r = await restore(t, [snap.snapshot, "--collections", "big", "--batch-size", "100"]);
  assert.equal(r.code, 0, r.stderr);
  const inserts = t.target.requestsOf("insertMany", "big");
  // 120 documents of 100 KB: two requests by count, but 12 MB need at least four by size.
  assert.ok(inserts.length >= 4, `${inserts.length} insertMany requests`);
  for (const q of inserts) assert.ok(q.size <= 4_001_000, `an insertMany of ${q.size} bytes`);
  assert.deepEqual(docsOf(t.target, "big"), await snapshotLines(snap.snapshot, "big"));
});

Deno.test("restore: a failure part-way is reported exactly, and append finishes the job", async () => {
  await using t = await setup();
  const snap = await makeSnapshot(t.dir, { sample: { articles: 40, dimension: 4 } });
  t.target.faults.add({
    command: "insertMany",
    after: 2,
    times: Infinity,
    action: { kind: "status", status: 503 },
  });
  const r = await restore(t, [
    snap.snapshot,
    "--collections",
    "articles",
    "--batch-size",
    "10",
    "--concurrency",
    "1",
    "--retries",
    "1",
    "--json",
  ]);
  assert.equal(r.code, 2);
  const c = JSON.parse(r.stdout).collections[0];
  assert.equal(c.status, "failed");
  assert.equal(c.inserted, 20, "two batches went in before the outage");
  assert.equal(c.count_after, 20);
  assert.match(c.error, /HTTP 503/);
  assert.match(JSON.parse(r.stdout).hint, /re-run the same restore with --if-exists append/);

  t.target.faults.clear();
  const again = await restore(t, [
    snap.snapshot,
    "--collections",
    "articles",
    "--if-exists",
    "append",
    "--json",
  ]);
  assert.equal(again.code, 0, again.stderr);
  const c2 = JSON.parse(again.stdout).collections[0];
  assert.deepEqual([c2.inserted, c2.already_present, c2.count_after], [20, 20, 40]);
  assert.deepEqual(
    docsOf(t.target, "articles"),
    await snapshotLines(snap.snapshot, "articles"),
    "no duplicates, nothing missing",
  );
});

Deno.test("restore: a collection deleted under the restore is reported as failed", async () => {
  await using t = await setup();
  const snap = await makeSnapshot(t.dir, { sample: { articles: 40, dimension: 4 } });
  t.target.faults.add({
    command: "insertMany",
    after: 1,
    action: { kind: "run", fn: () => t.target.store.deleteCollection(KS, "articles") },
  });
  const r = await restore(t, [
    snap.snapshot,
    "--collections",
    "articles",
    "--batch-size",
    "10",
    "--concurrency",
    "1",
    "--json",
  ]);
  assert.equal(r.code, 2);
  const c = JSON.parse(r.stdout).collections[0];
  assert.equal(c.status, "failed");
  assert.match(c.error, /UNKNOWN_COLLECTION_OR_TABLE/);
  assert.equal(c.count_after, null);
  assert.match(c.error, /could not count the documents afterwards/);
});
