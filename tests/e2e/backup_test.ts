/**
 * `astrabak backup` end to end: the CLI as a subprocess under the shipped permission flags,
 * against the fake Data API over HTTP.
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { gunzipSync as gunzip } from "node:zlib";
import { join } from "node:path";
import * as zip from "@zip.js/zip.js";
import * as age from "age-encryption";
import { parseManifest } from "../../src/manifest/mod.ts";
import type { FakeDataApi } from "../fakes/data_api/server.ts";
import { NASTY_DOCS, seedSample } from "../fakes/data_api/sample_data.ts";
import { fakeEnv, ls, readData, runCli, spawnCli, withFakeDataApi } from "./run_cli.ts";

const setup = withFakeDataApi;

async function onlySnapshot(out: string): Promise<string> {
  const names = (await ls(out)).filter((n) => !n.startsWith(".astrabak"));
  assert.equal(names.length, 1, `expected one snapshot, found ${names.join(", ")}`);
  return names[0]!;
}

async function manifestOf(path: string) {
  return parseManifest(await Deno.readFile(join(path, "manifest.json")), path);
}

/** The documents of a collection exactly as the fake serves them with {"*": true}. */
function servedLines(api: FakeDataApi, collection: string): string[] {
  return [...api.store.keyspace("default_keyspace").get(collection)!.docs.values()].map((d) =>
    d.full
  ).sort();
}

Deno.test("backup: a full snapshot is byte-exact, hashed, counted and private", async () => {
  await using t = await setup();
  seedSample(t.api.store);
  const r = await runCli(["backup", "--out", t.out], { dir: t.dir, env: fakeEnv(t.api) });
  assert.equal(r.code, 0, r.stderr);
  const name = await onlySnapshot(t.out);
  assert.match(name, /^\d{8}_\d{6}$/);
  const snap = join(t.out, name);
  assert.deepEqual(await ls(snap), [
    "default_keyspace.articles.jsonl.gz",
    "default_keyspace.customers.jsonl.gz",
    "default_keyspace.faq.jsonl.gz",
    "manifest.json",
  ]);
  assert.equal((await Deno.stat(snap)).mode! & 0o777, 0o700);
  for (const f of await ls(snap)) {
    assert.equal((await Deno.stat(join(snap, f))).mode! & 0o777, 0o600, f);
  }

  const m = await manifestOf(snap);
  assert.equal(m.status, "complete");
  assert.equal(m.snapshot, name);
  assert.deepEqual(m.totals, {
    collections_ok: 3,
    collections_failed: 0,
    documents: 300 + NASTY_DOCS.length + 87 + 40,
  });
  for (const c of m.collections) {
    const path = join(snap, c.data_file!);
    const bytes = await Deno.readFile(path);
    assert.equal(createHash("sha256").update(bytes).digest("hex"), c.data_sha256, c.name);
    assert.equal(bytes.byteLength, c.data_size_bytes);
    const text = await readData(path);
    assert.equal(new TextEncoder().encode(text).byteLength, c.uncompressed_size_bytes);
    const lines = text.split("\n");
    assert.equal(lines.pop(), "", "every line ends with a newline");
    assert.equal(lines.length, c.document_count);
    assert.deepEqual(
      lines.sort(),
      servedLines(t.api, c.name),
      `${c.name} differs from what the server holds`,
    );
  }
  const articles = m.collections.find((c) => c.name === "articles")!;
  assert.deepEqual(articles.vector, {
    field: "$vector",
    dimension: 384,
    documents_with_vector: 300,
    documents_without_vector: 0,
    representation: { array: 270, binary: 30 },
  });
  assert.deepEqual(articles.definition.vector, {
    dimension: 384,
    metric: "cosine",
    sourceModel: "other",
  });
  assert.equal(m.collections.find((c) => c.name === "customers")!.vector, null);
  assert.equal(m.collections.find((c) => c.name === "faq")!.vector?.documents_with_vector, 40);
  assert.match(r.stdout, /Snapshot complete/);
  const commands = new Set(t.api.requests.map((q) => q.command));
  assert.deepEqual(
    [...commands].sort(),
    ["estimatedDocumentCount", "find", "findCollections", "findKeyspaces", "listTables"],
    "backup only reads",
  );
});

Deno.test("backup: nasty values survive exactly (numbers, EJSON, key order, unicode)", async () => {
  await using t = await setup({ pageSize: 7 });
  t.api.store.createCollection("default_keyspace", "nasty", {});
  t.api.store.seed("default_keyspace", "nasty", [...NASTY_DOCS]);
  const r = await runCli(["backup", "--out", t.out, "--no-compress"], {
    dir: t.dir,
    env: fakeEnv(t.api),
  });
  assert.equal(r.code, 0, r.stderr);
  const snap = join(t.out, await onlySnapshot(t.out));
  const lines = (await Deno.readTextFile(join(snap, "default_keyspace.nasty.jsonl"))).trimEnd()
    .split("\n");
  assert.deepEqual(lines.sort(), servedLines(t.api, "nasty"));
  const big = lines.find((l) => l.startsWith('{"_id":"big-ints"'))!;
  assert.ok(big.includes('"beyond_2_53":9007199254740993'), big);
  assert.ok(big.includes('"beyond_2_64":123456789012345678901234567890'), big);
  const dec = lines.find((l) => l.startsWith('{"_id":"decimals"'))!;
  assert.ok(
    dec.includes(
      '"d25":0.1234567890123456789012345,"tiny":1.5e-300,"huge":1E+400,"trailing_zeros":1.50',
    ),
    dec,
  );
  assert.ok(lines.includes('{"_id":"key-order","z":1,"2":"two","a":2,"1":"one"}'));
  assert.ok(lines.includes('{"_id":12345678901234567890,"kind":"numeric id beyond 2^53"}'));
});

Deno.test("backup: $vector is read with projection {'*': true}; the default projection would lose it", async () => {
  await using t = await setup({ pageSize: 20 });
  seedSample(t.api.store, { articles: 25, dimension: 8 });
  const r = await runCli(["backup", "--out", t.out, "--collections", "articles"], {
    dir: t.dir,
    env: fakeEnv(t.api),
  });
  assert.equal(r.code, 0, r.stderr);
  const finds = t.api.requestsOf("find", "articles");
  assert.equal(finds.length, 2, "25 documents at page size 20 are two pages");
  for (const f of finds) assert.deepEqual(JSON.parse(f.body).find.projection, { "*": true });
  assert.equal(JSON.parse(finds[1]!.body).find.options.pageState !== undefined, true);
  // What a naive read gets from the same server:
  const naive = await fetch(`${t.api.url}/v1/default_keyspace/articles`, {
    method: "POST",
    headers: {
      "Token": fakeEnv(t.api).ASTRA_DB_APPLICATION_TOKEN!,
      "Content-Type": "application/json",
    },
    body: '{"find":{"filter":{}}}',
  }).then((x) => x.text());
  assert.ok(!naive.includes("$vector"));
  const snap = join(t.out, await onlySnapshot(t.out));
  const lines = (await readData(join(snap, "default_keyspace.articles.jsonl.gz"))).trimEnd().split(
    "\n",
  );
  assert.equal(lines.length, 25);
  assert.ok(lines.every((l) => l.includes('"$vector":')));
});

Deno.test("backup: --environment astra, --exclude, --compression-level and ASTRABAK_OUT shape the snapshot", async () => {
  await using t = await setup({ apiPath: "/api/json/v1" });
  seedSample(t.api.store, { articles: 30, dimension: 8 });
  const sizes: number[] = [];
  for (const level of ["1", "9"]) {
    const out = join(t.out, `level${level}`);
    const r = await runCli(
      ["backup", "--environment", "astra", "--exclude", "customers", "--compression-level", level],
      { dir: t.dir, env: fakeEnv(t.api, { ASTRABAK_OUT: out }) },
    );
    assert.equal(r.code, 0, r.stderr);
    const snap = join(out, await onlySnapshot(out));
    assert.deepEqual(await ls(snap), [
      "default_keyspace.articles.jsonl.gz",
      "default_keyspace.faq.jsonl.gz",
      "manifest.json",
    ]);
    const m = await manifestOf(snap);
    assert.equal(m.document_format.compression_level, Number(level));
    sizes.push(m.collections.find((c) => c.name === "articles")!.data_size_bytes!);
    assert.equal((await runCli(["verify", snap], { dir: t.dir })).code, 0);
  }
  assert.ok(
    sizes[0]! > sizes[1]!,
    `level 1 (${sizes[0]} B) compresses less than 9 (${sizes[1]} B)`,
  );
  assert.ok(t.api.requests.length > 0);
  assert.deepEqual(
    t.api.requests.filter((q) => !/^\/api\/json\/v1(\/|$)/.test(q.path)),
    [],
  );
  const bad = await runCli(["backup", "--out", t.out, "--compression-level", "10"], {
    dir: t.dir,
    env: fakeEnv(t.api),
  });
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /--compression-level.*1 to 9/);
});

Deno.test("backup: one failing collection makes the snapshot INCOMPLETE while others finish", async () => {
  await using t = await setup();
  seedSample(t.api.store, { articles: 30, dimension: 4 });
  t.api.faults.add({
    command: "find",
    collection: "customers",
    times: Infinity,
    action: {
      kind: "error",
      errorCode: "UNKNOWN_COLLECTION_OR_TABLE",
      message: "dropped mid-backup",
    },
  });
  const r = await runCli(["backup", "--out", t.out, "--json"], { dir: t.dir, env: fakeEnv(t.api) });
  assert.equal(r.code, 2, r.stderr);
  const name = await onlySnapshot(t.out);
  assert.match(name, /^\d{8}_\d{6}\.INCOMPLETE$/);
  const snap = join(t.out, name);
  assert.deepEqual(await ls(snap), [
    "default_keyspace.articles.jsonl.gz",
    "default_keyspace.faq.jsonl.gz",
    "manifest.json",
  ], "the failed collection leaves no partial file");
  const m = await manifestOf(snap);
  assert.equal(m.status, "incomplete");
  const failed = m.collections.find((c) => c.name === "customers")!;
  assert.equal(failed.status, "failed");
  assert.match(failed.error!, /UNKNOWN_COLLECTION_OR_TABLE/);
  assert.equal(failed.data_file, null);
  const report = JSON.parse(r.stdout);
  assert.equal(report.status, "incomplete");
  assert.match(r.stderr, /default_keyspace\.customers failed/);
});

Deno.test("backup: 429 and 503 bursts are retried (Retry-After honoured) and the snapshot is whole", async () => {
  await using t = await setup({ pageSize: 5 });
  seedSample(t.api.store, { articles: 12, dimension: 4 });
  t.api.faults.add({
    command: "find",
    collection: "articles",
    after: 1,
    times: 2,
    action: { kind: "status", status: 429, retryAfter: 1 },
  });
  t.api.faults.add({
    command: "find",
    collection: "faq",
    times: 2,
    action: { kind: "status", status: 503 },
  });
  t.api.faults.add({
    command: "find",
    collection: "customers",
    after: 2,
    action: { kind: "drop" },
  });
  t.api.faults.add({
    command: "find",
    collection: "customers",
    after: 4,
    action: { kind: "truncate" },
  });
  const started = Date.now();
  const r = await runCli(["backup", "--out", t.out], { dir: t.dir, env: fakeEnv(t.api) });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(t.api.faults.usage(), [2, 2, 1, 1], "every injected fault was hit");
  assert.ok(Date.now() - started >= 2000, "two Retry-After: 1 waits were honoured");
  assert.match(r.stderr, /HTTP 429.*retrying in 1\.0 s/);
  assert.match(r.stderr, /HTTP 503/);
  assert.match(r.stderr, /connection error|malformed response/);
  const m = await manifestOf(join(t.out, await onlySnapshot(t.out)));
  assert.equal(m.status, "complete");
  for (const c of m.collections) {
    assert.equal(c.document_count, servedLines(t.api, c.name).length, c.name);
  }
});

Deno.test("backup: a vector collection whose documents have no $vector fails as vectorless", async () => {
  await using t = await setup();
  t.api.store.createCollection("default_keyspace", "vecs", { vector: { dimension: 3 } });
  t.api.store.seed("default_keyspace", "vecs", ['{"_id":1,"text":"no vector"}', '{"_id":2}']);
  t.api.store.createCollection("default_keyspace", "vz", {
    vector: { dimension: 3, service: { provider: "openai", modelName: "m" } },
  });
  t.api.store.seed("default_keyspace", "vz", ['{"_id":1,"text":"never embedded"}']);
  const r = await runCli(["backup", "--out", t.out], { dir: t.dir, env: fakeEnv(t.api) });
  assert.equal(r.code, 2);
  assert.match(
    r.stderr,
    /default_keyspace\.vecs failed: 2 documents but none has a \$vector.*vectorless/,
  );
  const m = await manifestOf(join(t.out, await onlySnapshot(t.out)));
  assert.equal(m.collections.find((c) => c.name === "vecs")!.status, "failed");
  const vz = m.collections.find((c) => c.name === "vz")!;
  assert.equal(vz.status, "ok", "a vectorize collection without vectors is only a warning");
  assert.match(vz.warnings.join(";"), /re-embed/);
});

Deno.test("backup: configuration and auth errors exit 1 and leave no snapshot", async () => {
  await using t = await setup();
  seedSample(t.api.store, { articles: 3, dimension: 4 });
  const secret = "AstraCS:WRONG-SECRET-TOKEN-e2e-1234567890";
  const cases: Array<[string[], Record<string, string>, RegExp]> = [
    [
      ["backup", "--out", t.out],
      fakeEnv(t.api, { ASTRA_DB_APPLICATION_TOKEN: secret }),
      /authentication failed \(HTTP 401, UNAUTHENTICATED_REQUEST\)/,
    ],
    [
      ["backup", "--out", t.out, "--collections", "nope"],
      fakeEnv(t.api),
      /Cannot back up "nope": no such collection/,
    ],
    [["backup", "--out", t.out], { ASTRA_DB_APPLICATION_TOKEN: "x-token" }, /no Data API endpoint/],
    [["backup", "--out", t.out, "--keyspace", "missing_ks"], fakeEnv(t.api), /UNKNOWN_KEYSPACE/],
    [["backup", "--out", t.out, "--bogus"], fakeEnv(t.api), /unknown option '--bogus'/],
    [
      ["backup", "--out", t.out],
      fakeEnv(t.api, { ASTRA_DB_API_ENDPOINT: "http://127.0.0.1:9" }),
      /could not be sent to http:\/\/127\.0\.0\.1:9: .*port 9 are blocked/,
    ],
  ];
  for (const [args, env, pattern] of cases) {
    const r = await runCli([...args, "--retries", "0"], { dir: t.dir, env });
    assert.equal(r.code, 1, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, pattern);
    assert.ok(
      !r.stderr.includes(secret) && !r.stdout.includes(secret),
      "the token is never printed",
    );
  }
  const left = await Deno.stat(t.out).then(() => ls(t.out), () => []);
  assert.deepEqual(left.filter((n) => !n.startsWith(".astrabak")), [], "nothing was written");
});

Deno.test("backup: the token and the age identity appear nowhere: not in output, logs, manifest, data, zip members or temporary files", async () => {
  await using t = await setup();
  const secret = "AstraCS:SUPERSECRET-e2e-abcdefghijklmnopqrstuvwxyz0123456789";
  t.api.tokens.add(secret);
  seedSample(t.api.store, { articles: 5, dimension: 4 });
  const tokenFile = join(t.dir, "token");
  await Deno.writeTextFile(tokenFile, secret + "\n");
  // The file named by --token-file, then by ASTRABAK_TOKEN_FILE.
  const runs: Array<[string[], Record<string, string>]> = [
    [["--token-file", tokenFile, "--verbose"], {}],
    [["--json", "--log-format", "json"], { ASTRABAK_TOKEN_FILE: tokenFile }],
  ];
  for (const [extra, env] of runs) {
    const r = await runCli(["backup", "--out", t.out, ...extra], {
      dir: t.dir,
      env: fakeEnv(t.api, { ASTRA_DB_APPLICATION_TOKEN: "", ...env }),
    });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!r.stdout.includes(secret) && !r.stderr.includes(secret));
  }
  assert.equal(
    t.api.requests.filter((q) => q.token !== secret).length,
    0,
    "every request carried the token from the file",
  );
  for await (const snap of Deno.readDir(t.out)) {
    if (!snap.isDirectory) continue;
    for await (const f of Deno.readDir(join(t.out, snap.name))) {
      const path = join(t.out, snap.name, f.name);
      const text = f.name.endsWith(".gz") ? await readData(path) : await Deno.readTextFile(path);
      assert.ok(!text.includes(secret) && !text.includes("SUPERSECRET"), path);
    }
  }

  // The age identity (issue 15) is a secret like the token: only its file's path is ever given.
  const identity = await age.generateIdentity();
  const keyFile = join(t.dir, "age-key.txt");
  await Deno.writeTextFile(
    keyFile,
    `# created: now
${identity}
`,
  );
  const badKeyFile = join(t.dir, "bad-age-key.txt");
  await Deno.writeTextFile(badKeyFile, `${identity.slice(0, -4)}QQQQ\n`);
  const recipient = await age.identityToRecipient(identity);
  const env = fakeEnv(t.api, { ASTRA_DB_APPLICATION_TOKEN: secret });
  const enc = await runCli(["backup", "--out", t.out, "--encrypt-to", recipient, "--json"], {
    dir: t.dir,
    env,
  });
  assert.equal(enc.code, 0, enc.stderr);
  const agePath: string = JSON.parse(enc.stdout).encrypted.path;
  const ageRuns: Array<[string[], Record<string, string>, number]> = [
    [["backup", "--out", t.out, "--encrypt-to", recipient, "--no-keep-local", "--verbose"], {}, 0],
    [["verify", agePath, "--identity-file", keyFile, "--verbose"], {}, 0],
    [
      ["verify", agePath, "--json", "--log-format", "json"],
      { ASTRABAK_AGE_IDENTITY_FILE: keyFile },
      0,
    ],
    [
      [
        "restore",
        agePath,
        "--dry-run",
        "--if-exists",
        "append",
        "--identity-file",
        keyFile,
        "--verbose",
      ],
      {},
      0,
    ],
    [["restore", "latest", "--from", t.out, "--dry-run", "--if-exists", "append", "--verbose"], {
      ASTRABAK_AGE_IDENTITY_FILE: keyFile,
    }, 0],
    [["verify", agePath, "--identity-file", badKeyFile, "--verbose"], {}, 1],
    [["verify", agePath, "--json"], { ASTRABAK_AGE_IDENTITY_FILE: badKeyFile }, 1],
  ];
  const leaks = (text: string) =>
    [identity, identity.toLowerCase(), identity.slice(16, 40)]
      .some((s) => text.includes(s));
  for (const [args, extra, code] of ageRuns) {
    const r = await runCli(args, { dir: t.dir, env: { ...env, ...extra } });
    assert.equal(r.code, code, `${args.join(" ")}: ${r.stderr}`);
    assert.ok(!leaks(r.stdout + r.stderr), `${args.join(" ")} printed the identity`);
  }
  // Every file the runs left (the key files aside), every zip member inside each .zip.age, and
  // so the temporary plaintext zip it is decrypted into (none is left behind).
  const files = (await Array.fromAsync(Deno.readDir(t.out))).flatMap((e) =>
    e.isFile ? [join(t.out, e.name)] : []
  );
  for await (const snap of Deno.readDir(t.out)) {
    if (!snap.isDirectory) continue;
    for await (const f of Deno.readDir(join(t.out, snap.name))) {
      files.push(join(t.out, snap.name, f.name));
    }
  }
  assert.deepEqual(files.filter((f) => f.endsWith(".decrypted")), [], "no temporary zip left");
  for (const path of files) {
    const text = path.endsWith(".gz") ? await readData(path) : await Deno.readTextFile(path);
    assert.ok(!leaks(text), path);
    if (!path.endsWith(".zip.age")) continue;
    const d = new age.Decrypter();
    d.addIdentity(identity);
    const reader = new zip.ZipReader(
      new zip.Uint8ArrayReader(await d.decrypt(await Deno.readFile(path))),
    );
    for (const e of await reader.getEntries()) {
      if (e.directory) continue;
      let bytes: Uint8Array = await e.getData!(new zip.Uint8ArrayWriter());
      if (e.filename.endsWith(".gz")) bytes = gunzip(bytes);
      assert.ok(!leaks(new TextDecoder().decode(bytes)), `${path}: ${e.filename}`);
    }
    await reader.close();
  }
});

Deno.test("backup: a killed backup leaves only the hidden .inprogress directory", async () => {
  await using t = await setup({ pageSize: 2 });
  seedSample(t.api.store, { articles: 10, dimension: 4 });
  t.api.faults.add({
    command: "find",
    collection: "customers",
    after: 2,
    action: { kind: "hang" },
  });
  const child = spawnCli(["backup", "--out", t.out], { dir: t.dir, env: fakeEnv(t.api) });
  for (let i = 0; i < 200 && t.api.faults.usage()[0] === 0; i++) {
    await new Promise((r) => setTimeout(r, 25));
  }
  assert.equal(t.api.faults.usage()[0], 1, "the backup reached the hanging request");
  child.kill("SIGKILL");
  const status = await child.status;
  await child.stdout.cancel();
  await child.stderr.cancel();
  assert.equal(status.success, false);
  const names = (await ls(t.out)).filter((n) => n !== ".astrabak.lock");
  assert.equal(names.length, 1);
  assert.match(names[0]!, /^\.\d{8}_\d{6}\.inprogress$/);
});

Deno.test("backup: --help and --version print to stdout and exit 0", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const help = await runCli(["backup", "--help"], { dir });
    assert.equal(help.code, 0);
    assert.match(help.stdout, /--collections <names>/);
    assert.match(help.stdout, /Exit status:/);
    assert.match(help.stdout, /There is no\n--token flag/);
    const top = await runCli(["--help"], { dir });
    assert.equal(top.code, 0);
    assert.match(top.stdout, /backup \[options\]/);
    const version = await runCli(["--version"], { dir });
    assert.equal(version.code, 0);
    assert.match(version.stdout, /^\d+\.\d+\.\d+\n$/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
