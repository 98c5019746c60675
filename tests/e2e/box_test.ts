/**
 * Off-host copies end to end: the CLI (subprocess, shipped sandbox) against the fake Data API and
 * the fake Box (tests/fakes/box), which the real box-node-sdk is held to.
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { FakeBox } from "../fakes/box/server.ts";
import { FakeDataApi } from "../fakes/data_api/server.ts";
import { seedSample } from "../fakes/data_api/sample_data.ts";
import { lockOutDir } from "../../src/snapshot/lock.ts";
import { copyDir } from "../support/snapshots.ts";
import { fakeEnv, ls, readData, runCli } from "./run_cli.ts";

const SECRET = "box-SECRET-e2e-7f3a9c1d5b";

async function setup(boxOptions: Parameters<typeof FakeBox.start>[0] = {}) {
  const api = await FakeDataApi.start({ logRequests: false });
  const box = await FakeBox.start({ clientSecret: SECRET, ...boxOptions });
  const folder = box.createFolder("astra-backups");
  const dir = await Deno.makeTempDir({ prefix: "astrabak-box-" });
  const env = (extra: Record<string, string> = {}) =>
    fakeEnv(api, {
      BOX_CLIENT_ID: box.clientId,
      BOX_CLIENT_SECRET: SECRET,
      BOX_ENTERPRISE_ID: box.enterpriseId!,
      BOX_FOLDER_ID: folder.id,
      BOX_API_BASE_URL: box.apiBaseUrl,
      BOX_UPLOAD_BASE_URL: box.uploadBaseUrl,
      ...extra,
    });
  return {
    api,
    box,
    folder,
    dir,
    out: join(dir, "backups"),
    env,
    run: (args: string[], extra: Record<string, string> = {}) =>
      runCli(args, { dir, env: env(extra) }),
    async [Symbol.asyncDispose]() {
      await api.close();
      await box.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

const sha1 = (bytes: Uint8Array) => createHash("sha1").update(bytes).digest("hex");
const zipsIn = async (out: string) => (await ls(out)).filter((n) => n.endsWith(".zip"));

Deno.test("box: backup --box-folder uploads the zip (simple upload) and proves it by SHA-1", async () => {
  await using t = await setup();
  seedSample(t.api.store, { articles: 20, dimension: 8 });
  const r = await t.run(["backup", "--out", t.out, "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  assert.equal(report.upload.method, "simple");
  const [zip] = await zipsIn(t.out);
  const local = await Deno.readFile(join(t.out, zip!));
  const stored = t.box.fileByName(t.folder.id, zip!)!;
  assert.equal(stored.sha1, sha1(local));
  assert.equal(report.upload.sha1, sha1(local));
  assert.match(r.stderr, /Uploaded .*\.zip to Box \(file \d+, SHA-1 [0-9a-f]{40} matches\)/);
});

Deno.test("box: a snapshot over 20 MB goes by chunked upload (SHA-1 digest per part) and verifies from Box", async () => {
  await using t = await setup();
  seedSample(t.api.store, { articles: 3000, dimension: 768 });
  const r = await t.run(["backup", "--out", t.out, "--no-compress", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  assert.ok(report.zip.size_bytes > 20_000_000, `zip is ${report.zip.size_bytes} bytes`);
  assert.equal(report.upload.method, "chunked");
  const parts = t.box.requestsOf("upload_part");
  assert.equal(parts.length, Math.ceil(report.zip.size_bytes / 8388608));
  assert.ok(parts.every((p) => p.status === 200 && /^sha=/.test(p.headers.digest ?? "")));
  const v = await t.run(["verify", `box:${report.upload.name}`, "--from", t.out]);
  assert.equal(v.code, 0, v.stderr + v.stdout);
  assert.match(v.stdout, /Verified zip box:\d{8}_\d{6}\.zip/);
  assert.deepEqual(
    (await ls(t.out)).filter((n) => n.endsWith(".download")),
    [],
    "the download was removed",
  );
});

Deno.test("box: an existing name gets a new version, unless Box already holds the same bytes", async () => {
  await using t = await setup({ conflictShape: "array" });
  seedSample(t.api.store, { articles: 5, dimension: 4 });
  const first = await t.run(["backup", "--out", t.out]);
  assert.equal(first.code, 0, first.stderr);
  const [zip] = await zipsIn(t.out);
  const again = await t.run(["upload", join(t.out, zip!), "--json"]);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(JSON.parse(again.stdout).upload.method, "already-present");
  // Someone replaced the Box copy with other bytes: the upload becomes a new version.
  t.box.store.addVersion(t.box.fileByName(t.folder.id, zip!)!, new Uint8Array([1, 2, 3]));
  const fix = await t.run(["upload", join(t.out, zip!), "--json"]);
  assert.equal(fix.code, 0, fix.stderr);
  const u = JSON.parse(fix.stdout).upload;
  assert.equal(u.newVersion, true);
  assert.equal(
    t.box.fileByName(t.folder.id, zip!)!.sha1,
    sha1(await Deno.readFile(join(t.out, zip!))),
  );
});

Deno.test("box: 429 Retry-After is honoured, a failed part and a 202 commit are retried", async () => {
  await using t = await setup();
  seedSample(t.api.store, { articles: 5, dimension: 4 });
  t.box.faults.add({ op: "preflight", action: { kind: "status", status: 429, retryAfter: 2 } });
  const r = await t.run(["backup", "--out", t.out]);
  assert.equal(r.code, 0, r.stderr);
  const pre = t.box.requestsOf("preflight");
  assert.deepEqual(pre.map((q) => q.status), [429, 200]);
  assert.ok(
    pre[1]!.at - pre[0]!.at >= 1990,
    `waited ${pre[1]!.at - pre[0]!.at} ms for Retry-After: 2`,
  );
  assert.match(r.stderr, /Box HTTP 429 on .*retrying in 2\.0 s/);

  await using u = await setup();
  seedSample(u.api.store, { articles: 3000, dimension: 768 });
  u.box.faults.add({ op: "upload_part", part: 1, action: { kind: "status", status: 500 } });
  u.box.faults.add({ op: "commit", action: { kind: "processing", retryAfter: 1 } });
  const big = await u.run(["backup", "--out", u.out, "--no-compress"]);
  assert.equal(big.code, 0, big.stderr);
  assert.deepEqual(u.box.faults.usage(), [1, 1]);
  assert.deepEqual(u.box.requestsOf("commit").map((q) => q.status), [202, 201]);
  const [zip] = await zipsIn(u.out);
  assert.equal(
    u.box.fileByName(u.folder.id, zip!)!.sha1,
    sha1(await Deno.readFile(join(u.out, zip!))),
  );
});

Deno.test("box: Box down after a good snapshot exits 3 and keeps the local copy", async () => {
  await using t = await setup();
  seedSample(t.api.store, { articles: 5, dimension: 4 });
  t.box.faults.add({ op: "token", times: Infinity, action: { kind: "status", status: 503 } });
  const r = await t.run(["backup", "--out", t.out, "--json", "--box-retries", "1"]);
  assert.equal(r.code, 3, r.stderr);
  const report = JSON.parse(r.stdout);
  assert.equal(report.status, "complete");
  assert.match(report.upload_error, /HTTP 503/);
  assert.match(
    r.stderr,
    /Upload to box:\d+ failed: .*the local snapshot .* and .*\.zip are complete and kept/,
  );
  assert.equal((await t.run(["verify", report.zip.path])).code, 0, "the kept zip is whole");
  assert.equal(t.box.files().length, 0);
});

Deno.test("box: an INCOMPLETE snapshot is never uploaded", async () => {
  await using t = await setup();
  seedSample(t.api.store, { articles: 5, dimension: 4 });
  t.api.faults.add({
    command: "find",
    collection: "faq",
    times: Infinity,
    action: { kind: "status", status: 500 },
  });
  const r = await t.run(["backup", "--out", t.out, "--retries", "0"]);
  assert.equal(r.code, 2);
  assert.equal(t.box.requests.length, 0, "Box was not even contacted");
  const snap = (await ls(t.out)).find((n) => n.endsWith(".INCOMPLETE"))!;
  const up = await t.run(["upload", join(t.out, snap)]);
  assert.equal(up.code, 2);
  assert.match(up.stderr, /Refusing to zip .*INCOMPLETE/);
});

Deno.test("box: list and restore latest pick by the name's timestamp, not Box's modified time", async () => {
  await using t = await setup();
  seedSample(t.api.store, { articles: 5, dimension: 4 });
  const r = await t.run(["backup", "--out", t.out]);
  assert.equal(r.code, 0, r.stderr);
  const [zip] = await zipsIn(t.out);
  const bytes = await Deno.readFile(join(t.out, zip!));
  // An older snapshot uploaded later (newer modified time), and a non-snapshot file.
  const older = "20200101_000000.zip";
  t.box.putFile(t.folder.id, older, new Uint8Array([0]), new Date("2030-01-01"));
  t.box.putFile(t.folder.id, "notes.txt", new Uint8Array([1]));
  const list = await t.run(["list", "--from", t.out, "--json"]);
  assert.equal(list.code, 0, list.stderr);
  const l = JSON.parse(list.stdout);
  assert.deepEqual(l.box.snapshots.map((s: { name: string }) => s.name), [older, zip]);
  assert.equal(l.local.length, 2, "the snapshot directory and its zip");
  assert.ok(
    l.local.every((s: { status: string; documents: number }) =>
      s.status === "complete" && s.documents === 145
    ),
  );

  const target = await FakeDataApi.start({ logRequests: false });
  try {
    // BOX_FOLDER_ID in the environment alone leaves `latest` local ...
    const dry = await runCli(["restore", "latest", "--from", t.out, "--dry-run", "--json"], {
      dir: t.dir,
      env: t.env(fakeEnv(target)),
    });
    assert.equal(dry.code, 0, dry.stderr);
    assert.equal(JSON.parse(dry.stdout).snapshot, join(t.out, zip!.replace(/\.zip$/, "")));
    // ... --box-folder (or box:latest) takes the newest in Box.
    const res = await runCli(
      ["restore", "latest", "--from", t.out, "--box-folder", t.folder.id, "--json"],
      { dir: t.dir, env: t.env(fakeEnv(target)) },
    );
    assert.equal(res.code, 0, res.stderr);
    assert.equal(JSON.parse(res.stdout).snapshot, `box:${zip}`);
    assert.equal(target.store.keyspace("default_keyspace").get("articles")!.docs.size, 5);
    const verify = await t.run(["verify", "box:latest", "--from", t.out, "--json"]);
    assert.equal(verify.code, 0, verify.stderr);
    assert.equal(JSON.parse(verify.stdout).path, `box:${zip}`);
  } finally {
    await target.close();
  }
  assert.equal(sha1(bytes), t.box.fileByName(t.folder.id, zip!)!.sha1);
});

Deno.test("box: a download whose SHA-1 does not match is refused and removed", async () => {
  await using t = await setup();
  seedSample(t.api.store, { articles: 5, dimension: 4 });
  assert.equal((await t.run(["backup", "--out", t.out])).code, 0);
  const [zip] = await zipsIn(t.out);
  t.box.faults.add({ op: "download_content", action: { kind: "corrupt" } });
  const r = await t.run(["verify", `box:${zip}`, "--from", t.out]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(
    r.stderr,
    /The download of .*\.zip has SHA-1 [0-9a-f]{40}, but Box reports [0-9a-f]{40}: refusing it/,
  );
  t.box.faults.add({ op: "download_content", action: { kind: "drop" } });
  const dropped = await t.run(["verify", `box:${zip}`, "--from", t.out]);
  assert.equal(dropped.code, 1, dropped.stderr);
  assert.match(dropped.stderr, /Cannot download .*\.zip/);
  assert.deepEqual(
    (await ls(t.out)).filter((n) => n.endsWith(".download")),
    [],
    "partial downloads removed",
  );
});

Deno.test("box: no secret (Box client secret, Data API token, embedding key) appears in any output, log, manifest or zip", async () => {
  await using t = await setup();
  seedSample(t.api.store, { articles: 5, dimension: 4 });
  const outputs: string[] = [];
  // Every run has the embedding provider key in its environment; reembed runs send it.
  const EMBEDDING_KEY = "sk-EMBEDDING-SECRET-box-e2e-0123456789";
  const run = (args: string[]) => t.run(args, { ASTRABAK_EMBEDDING_API_KEY: EMBEDDING_KEY });
  const runs: string[][] = [
    ["backup", "--out", t.out, "--verbose"],
    ["backup", "--out", t.out, "--json", "--log-format", "json"],
    ["list", "--from", t.out, "--json"],
  ];
  for (const args of runs) {
    const r = await run(args);
    outputs.push(r.stdout, r.stderr);
  }
  const [zip] = await zipsIn(t.out);
  const snapshot = join(t.out, zip!.replace(/\.zip$/, ""));
  // Every command through its successful path (the write paths log the most).
  const more = [
    ["verify", `box:${zip}`, "--from", t.out],
    ["verify", snapshot, "--json"],
    ["upload", join(t.out, zip!)],
    ["zip", snapshot],
    ["restore", "box:latest", "--from", t.out, "--dry-run", "--if-exists", "append", "--verbose"],
    ["restore", snapshot, "--if-exists", "replace", "--verbose"],
    ["restore", snapshot, "--if-exists", "append", "--json", "--log-format", "json"],
    ["restore", snapshot, "--if-exists", "replace", "--vectorize", "reembed", "--verbose"],
    [
      "restore",
      snapshot,
      "--if-exists",
      "replace",
      "--vectorize",
      "reembed",
      "--json",
      "--log-format",
      "json",
      "--verbose",
    ],
  ];
  for (const args of more) {
    if (args[0] === "zip") await Deno.remove(join(t.out, zip!));
    const r = await run(args);
    assert.equal(r.code, 0, `${args.join(" ")}: ${r.stderr}`);
    outputs.push(r.stdout, r.stderr);
  }
  // Failures too: a token endpoint that answers with an error.
  t.box.faults.add({
    op: "token",
    times: Infinity,
    action: { kind: "status", status: 400, body: "bad" },
  });
  const failed = await run(["upload", join(t.out, zip!), "--box-retries", "0"]);
  assert.equal(failed.code, 3);
  outputs.push(failed.stdout, failed.stderr);
  const token = t.env().ASTRA_DB_APPLICATION_TOKEN!;
  for (const o of outputs) {
    assert.ok(
      !o.includes(SECRET) && !o.includes(token) && !o.includes(EMBEDDING_KEY),
      `secret leaked in:\n${o}`,
    );
  }
  for await (const e of Deno.readDir(t.out)) {
    const p = join(t.out, e.name);
    const texts = e.isFile
      ? [new TextDecoder().decode(await Deno.readFile(p))]
      : await Array.fromAsync(Deno.readDir(p), (f) => readData(join(p, f.name)));
    for (const text of texts) {
      assert.ok(
        !text.includes(SECRET) && !text.includes(token) && !text.includes(EMBEDDING_KEY),
        p,
      );
    }
  }
});

Deno.test("box: a download takes the --from lock, never lands in a snapshot, and must carry its own name", async () => {
  await using t = await setup();
  seedSample(t.api.store, { articles: 3, dimension: 4 });
  const r = await t.run(["backup", "--out", t.out, "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const snapshot: string = JSON.parse(r.stdout).snapshot;
  const [zip] = await zipsIn(t.out);

  const into = await t.run(["verify", "box:latest", "--from", snapshot]);
  assert.equal(into.code, 1, into.stderr);
  assert.match(into.stderr, /Refusing to write into .*: it is the snapshot /);
  assert.match(into.stderr, /hint: pass the directory that holds the snapshots, e\.g\. --from /);
  assert.deepEqual((await ls(snapshot)).filter((n) => !n.startsWith("default_keyspace.")), [
    "manifest.json",
  ]);

  const held = await lockOutDir(t.out, { holder: "backup" });
  try {
    const busy = await t.run(["verify", `box:${zip}`, "--from", t.out]);
    assert.equal(busy.code, 1, busy.stderr);
    assert.match(busy.stderr, /another astrabak run is writing into .*: pid \d+, backup since /);
    assert.match(busy.stderr, /or pass another directory with --from/);
  } finally {
    held.release();
  }

  // upload packs under the same rules as zip: a renamed copy is refused before anything is sent.
  const renamed = join(t.dir, "mybackup");
  await copyDir(snapshot, renamed);
  const up = await t.run(["upload", renamed]);
  assert.equal(up.code, 2, up.stderr);
  assert.match(
    up.stderr,
    /the snapshot is named mybackup but its manifest says .*rename the directory/,
  );
  assert.equal(t.box.fileByName(t.folder.id, "mybackup.zip"), undefined);

  // An empty snapshot (the database held nothing) is never taken as latest, in Box either.
  for (const c of ["articles", "customers", "faq"]) {
    t.api.store.deleteCollection("default_keyspace", c);
  }
  const empty = await t.run(["backup", "--out", t.out]);
  assert.equal(empty.code, 0, empty.stderr);
  assert.match(empty.stdout, /WARNING: EMPTY BACKUP/);
  const emptyLatest = await t.run(["verify", "box:latest", "--from", t.out]);
  assert.equal(emptyLatest.code, 1, emptyLatest.stderr);
  assert.match(
    emptyLatest.stderr,
    /Cannot use latest: the latest snapshot box:\d{8}_\d{6}\.zip is empty/,
  );
  // The hint names the remote actually read, as a command that runs as given.
  assert.match(
    emptyLatest.stderr,
    new RegExp(
      `hint: see the others with astrabak list --from-remote box:${t.folder.id} and pass the one you want as box:${t.folder.id}:<name>`,
    ),
  );

  // A zip whose Box name claims a newer timestamp than its manifest is never taken as latest.
  const bytes = await Deno.readFile(join(t.out, zip!));
  t.box.putFile(t.folder.id, "20991231_235959.zip", bytes);
  const lying = await t.run(["verify", "box:latest", "--from", t.out]);
  assert.equal(lying.code, 2, lying.stderr);
  assert.match(
    lying.stderr,
    /Cannot use latest box:20991231_235959\.zip: the zip is named 20991231_235959\.zip but its manifest says /,
  );
  assert.deepEqual((await ls(t.out)).filter((n) => n.endsWith(".download")), [], "removed");
});
