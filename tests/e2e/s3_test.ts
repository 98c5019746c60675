/**
 * Off-host copies in S3-compatible storage end to end: the CLI (subprocess, shipped sandbox, the
 * real @aws-sdk/client-s3 and lib-storage) against a real S3 implementation someone else wrote
 * (npm:s3rver, pinned in tools/package.json), behind the recording and fault proxy of
 * tests/fakes/s3_proxy.ts for what s3rver cannot show (checksums returned by the store, abort
 * and ListMultipartUploads, 503 SlowDown, a dropped part). Each test says which it relies on.
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { FakeBox } from "../fakes/box/server.ts";
import { FakeDataApi } from "../fakes/data_api/server.ts";
import { seedSample } from "../fakes/data_api/sample_data.ts";
import { findS3rver, S3Store } from "../fakes/s3_proxy.ts";
import { fakeEnv, ls, readData, runCli, spawnCli } from "./run_cli.ts";

const AWS_SECRET = "aws-SECRET-e2e-0f9e8d7c6b5a4321";
const AWS_SESSION = "aws-SESSION-e2e-1234567890abcdef";
const BOX_SECRET = "box-SECRET-s3-e2e-2b4d6f";
const S3 = ["--s3-path-style"];

const s3rver = await findS3rver();
const ignore = "reason" in s3rver;
const name = (n: string) => (ignore ? `${n} (ignored: ${s3rver.reason})` : n);

async function setup() {
  const api = await FakeDataApi.start({ logRequests: false });
  const s3 = await S3Store.start((s3rver as { script: string }).script, ["bkt"]);
  const dir = await Deno.makeTempDir({ prefix: "astrabak-s3-" });
  const env = (extra: Record<string, string> = {}) =>
    fakeEnv(api, {
      // s3rver accepts its own key id; it does not check SigV4 signatures (known gap).
      AWS_ACCESS_KEY_ID: "S3RVER",
      AWS_SECRET_ACCESS_KEY: AWS_SECRET,
      AWS_SESSION_TOKEN: AWS_SESSION,
      ASTRABAK_S3_ENDPOINT: s3.url,
      ...extra,
    });
  return {
    api,
    s3,
    dir,
    out: join(dir, "backups"),
    env,
    run: (args: string[], extra: Record<string, string> = {}) =>
      runCli(args, { dir, env: env(extra) }),
    async [Symbol.asyncDispose]() {
      await api.close();
      await s3.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

const zipsIn = async (out: string) => (await ls(out)).filter((n) => n.endsWith(".zip"));

Deno.test({
  name: name(
    "s3: backup --to uploads the zip in one PUT, proven by the store's SHA-256, else by its MD5 ETag; the same bytes again are not sent",
  ),
  ignore,
  async fn() {
    await using t = await setup();
    seedSample(t.api.store, { articles: 20, dimension: 8 });
    // s3rver as it is: no x-amz-checksum-* in its answers, so the MD5 ETag is the proof.
    const r = await t.run(["backup", "--out", t.out, "--to", "s3://bkt/nightly", ...S3, "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout);
    const [zip] = await zipsIn(t.out);
    const u = report.uploads[0].results[0];
    assert.equal(u.method, "single");
    assert.equal(u.proof, "no checksum returned; ETag (MD5) matches");
    assert.equal(u.location, `s3://bkt/nightly/${zip}`);
    assert.deepEqual(
      await t.s3.getRaw("bkt", `nightly/${zip}`),
      await Deno.readFile(join(t.out, zip!)),
    );
    const put = t.s3.requestsOf("put_object");
    assert.equal(put.length, 1);
    // Our SHA-256 and MD5 as headers, a plain body: no aws-chunked framing, no trailer (the SDK's
    // flexible checksums are WHEN_REQUIRED), and the SHA-256 recorded for later downloads.
    const h = put[0]!.headers;
    assert.ok(h["x-amz-checksum-sha256"] && h["content-md5"], JSON.stringify(h));
    assert.equal(h["content-encoding"], undefined);
    assert.equal(h["x-amz-trailer"], undefined);
    assert.match(h["x-amz-meta-astrabak-sha256"] ?? "", /^[0-9a-f]{64}$/);
    for (const q of t.s3.requests) {
      assert.ok(!q.headers["x-amz-checksum-crc32"] && !q.headers["x-amz-trailer"], q.op);
    }

    const again = await t.run(["upload", join(t.out, zip!), "--to", "s3://bkt/nightly", ...S3]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(
      again.stdout,
      /s3:\/\/bkt\/nightly: \d{8}_\d{6}\.zip is s3:\/\/bkt\/nightly\/\S+ \(already-present; ETag \(MD5\) matches\)/,
    );
    assert.equal(t.s3.requestsOf("put_object").length, 1, "nothing sent");

    // The proxy answering as AWS does: the returned x-amz-checksum-sha256 is the proof.
    t.s3.checksums = true;
    const aws = await t.run(["upload", join(t.out, zip!), "--to", "s3://bkt/aws", ...S3, "--json"]);
    assert.equal(aws.code, 0, aws.stderr);
    assert.equal(JSON.parse(aws.stdout).upload.proof, "x-amz-checksum-sha256 matches");
    // Storage class and server-side encryption are asked for on the object (s3rver checks the
    // class against S3's list).
    const opts = await t.run([
      "upload",
      join(t.out, zip!),
      "--to",
      "s3://bkt/opts",
      ...S3,
      "--s3-storage-class",
      "STANDARD_IA",
      "--s3-sse",
      "AES256",
    ]);
    assert.equal(opts.code, 0, opts.stderr);
    const asked = t.s3.requestsOf("put_object").at(-1)!.headers;
    assert.equal(asked["x-amz-storage-class"], "STANDARD_IA");
    assert.equal(asked["x-amz-server-side-encryption"], "AES256");
    // A store that reports another checksum than ours: not proven, exit 3.
    t.s3.faults.add({ op: "put_object", action: { kind: "wrong_checksum" } });
    const bad = await t.run(["upload", join(t.out, zip!), "--to", "s3://bkt/bad", ...S3]);
    assert.equal(bad.code, 3, bad.stderr);
    assert.match(
      bad.stderr,
      /The store reports SHA-256 \S+ for bad\/.*\.zip, but the local file has/,
    );
  },
});

Deno.test({
  name: name(
    "s3: a snapshot over 16 MiB goes by multipart upload, proven by the composite SHA-256 or a re-read, and restores from s3://…:latest",
  ),
  ignore,
  async fn() {
    await using t = await setup();
    seedSample(t.api.store, { articles: 3000, dimension: 768 });
    t.s3.checksums = true;
    const r = await t.run([
      "backup",
      "--out",
      t.out,
      "--no-compress",
      "--to",
      "s3://bkt/nightly",
      ...S3,
      "--json",
    ]);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout);
    assert.ok(report.zip.size_bytes > 16 * 1024 * 1024, `zip is ${report.zip.size_bytes} bytes`);
    assert.equal(report.upload.method, "multipart");
    assert.equal(report.upload.proof, "composite x-amz-checksum-sha256 of the parts matches");
    const parts = t.s3.requestsOf("upload_part");
    assert.equal(parts.length, Math.ceil(report.zip.size_bytes / (16 * 1024 * 1024)));
    // Each part carries its SHA-256 as a header; the upload asked for SHA-256, never CRC32.
    assert.ok(
      parts.every((p) => /^[A-Za-z0-9+/]{43}=$/.test(p.headers["x-amz-checksum-sha256"] ?? "")),
    );
    assert.ok(parts.every((p) => p.headers["content-encoding"] === undefined));
    assert.equal(
      t.s3.requestsOf("create_multipart")[0]!.headers["x-amz-checksum-algorithm"],
      "SHA256",
    );
    assert.deepEqual(t.s3.openUploads(), []);
    // Without checksums from the store (s3rver as it is), the object is read back and hashed.
    t.s3.checksums = false;
    const plain = await t.run([
      "upload",
      report.zip.path,
      "--to",
      "s3://bkt/plain",
      ...S3,
      "--json",
    ]);
    assert.equal(plain.code, 0, plain.stderr);
    assert.equal(
      JSON.parse(plain.stdout).upload.proof,
      "no checksum returned; re-read: SHA-256 matches",
    );

    // restore s3://bkt/nightly:latest into a second Data API: the same documents.
    const target = await FakeDataApi.start({ logRequests: false });
    try {
      const res = await runCli(
        ["restore", "s3://bkt/nightly:latest", ...S3, "--from", t.out, "--json"],
        { dir: t.dir, env: t.env(fakeEnv(target)) },
      );
      assert.equal(res.code, 0, res.stderr);
      const zip = report.zip.path.split("/").at(-1);
      assert.equal(JSON.parse(res.stdout).snapshot, `s3://bkt/nightly/${zip}`);
      // faq holds $vectorize texts, which restore's default keep-vector does not restore.
      for (const c of ["articles", "customers"]) {
        const docs = (api: FakeDataApi) => {
          const all = [...api.store.keyspace("default_keyspace").get(c)!.docs.values()];
          const text = all.map((d) => d.full).sort().join("\n");
          return { n: all.length, sha256: createHash("sha256").update(text).digest("hex") };
        };
        assert.deepEqual(docs(target), docs(t.api), c);
      }
      assert.deepEqual((await ls(t.out)).filter((n) => n.endsWith(".download")), [], "removed");
    } finally {
      await target.close();
    }
  },
});

Deno.test({
  name: name(
    "s3: 503 SlowDown is retried after its Retry-After (and with back-off without one); a dropped part aborts the multipart upload and leaves no parts",
  ),
  ignore,
  async fn() {
    await using t = await setup();
    seedSample(t.api.store, { articles: 5, dimension: 4 });
    t.s3.faults.add({
      op: "put_object",
      action: { kind: "status", status: 503, code: "SlowDown", retryAfter: 2 },
    });
    t.s3.faults.add({
      op: "head_object",
      action: { kind: "status", status: 503, code: "SlowDown" },
    });
    const r = await t.run(["backup", "--out", t.out, "--to", "s3://bkt/nightly", ...S3]);
    assert.equal(r.code, 0, r.stderr);
    const puts = t.s3.requestsOf("put_object");
    assert.deepEqual(puts.map((q) => q.status), [503, 200]);
    assert.ok(puts[1]!.at - puts[0]!.at >= 1990, `waited ${puts[1]!.at - puts[0]!.at} ms`);
    assert.match(r.stderr, /S3 HTTP 503 SlowDown.* on s3:\/\/bkt\/nightly; retrying in 2\.0 s/);
    assert.deepEqual(t.s3.requestsOf("head_object").map((q) => q.status).slice(0, 2), [503, 404]);

    // A part the store acknowledged but lost: CompleteMultipartUpload answers InvalidPart (the
    // proxy, for s3rver), the upload is aborted (emulated by the proxy: s3rver answers 405) and
    // confirmed gone (ListParts: NoSuchUpload; ListMultipartUploads: empty).
    await using u = await setup();
    seedSample(u.api.store, { articles: 3000, dimension: 768 });
    u.s3.faults.add({ op: "upload_part", part: 2, action: { kind: "drop_part" } });
    const big = await u.run([
      "backup",
      "--out",
      u.out,
      "--no-compress",
      "--to",
      "s3://bkt/nightly",
      ...S3,
      "--json",
    ]);
    assert.equal(big.code, 3, big.stderr);
    const report = JSON.parse(big.stdout);
    assert.equal(report.status, "complete");
    assert.match(
      report.upload_error,
      /s3:\/\/bkt\/nightly: Upload of .*\.zip to s3:\/\/bkt\/nightly failed/,
    );
    assert.equal(u.s3.requestsOf("create_multipart").length, 1);
    assert.ok(u.s3.requestsOf("abort_multipart").some((q) => q.status === 204), "aborted");
    assert.deepEqual(u.s3.openUploads(), [], "no multipart upload left");
    const listed = await fetch(`${u.s3.url}/bkt?uploads`).then((x) => x.text());
    assert.doesNotMatch(listed, /<Upload>/, "ListMultipartUploads is empty");
    assert.equal(await u.s3.getRaw("bkt", `nightly/${report.zip.path.split("/").at(-1)}`), null);
    assert.equal((await u.run(["verify", report.zip.path, "--quick"])).code, 0, "kept zip whole");
  },
});

Deno.test({
  name: name(
    "s3: an outage exits 3 and keeps the local copy; an object of the same name with other bytes is refused, never overwritten",
  ),
  ignore,
  async fn() {
    await using t = await setup();
    seedSample(t.api.store, { articles: 5, dimension: 4 });
    t.s3.faults.add({
      op: "head_object",
      times: Infinity,
      action: { kind: "status", status: 503, code: "ServiceUnavailable" },
    });
    const r = await t.run([
      "backup",
      "--out",
      t.out,
      "--to",
      "s3://bkt/nightly",
      ...S3,
      "--s3-retries",
      "1",
      "--json",
    ]);
    assert.equal(r.code, 3, r.stderr);
    const report = JSON.parse(r.stdout);
    assert.equal(report.status, "complete");
    assert.match(report.upload_error, /HTTP 503/);
    assert.match(r.stderr, /Upload to s3:\/\/bkt\/nightly failed: .*complete and kept/);
    assert.equal(t.s3.requestsOf("head_object").length, 2, "1 retry");
    assert.equal((await t.run(["verify", report.zip.path])).code, 0, "the kept zip is whole");
    t.s3.faults.clear();

    const zip = report.zip.path.split("/").at(-1);
    await t.s3.putRaw("bkt", `nightly/${zip}`, new Uint8Array([1, 2, 3]));
    const clash = await t.run(["upload", report.zip.path, "--to", "s3://bkt/nightly", ...S3]);
    assert.equal(clash.code, 3, clash.stderr);
    assert.match(
      clash.stderr,
      /s3:\/\/bkt\/nightly\/\d{8}_\d{6}\.zip already exists with other bytes \(3 bytes stored, \d+ here\): refusing to overwrite it/,
    );
    assert.deepEqual(await t.s3.getRaw("bkt", `nightly/${zip}`), new Uint8Array([1, 2, 3]));
    assert.equal(t.s3.requestsOf("put_object").length, 0);

    // An endpoint outside the sandbox's --allow-net: exit 1 at once, naming the host to add.
    const denied = await t.run([
      "list",
      "--from",
      t.out,
      "--from-remote",
      "s3://bkt/nightly",
      ...S3,
    ], {
      ASTRABAK_S3_ENDPOINT: "http://localhost:9",
    });
    assert.equal(denied.code, 1, denied.stderr);
    assert.match(
      denied.stderr,
      /the permission sandbox \(--allow-net\) does not include localhost:9/,
    );
    assert.match(
      denied.stderr,
      /hint: rebuild with ASTRABAK_ALLOW_NET=localhost:9 deno task compile/,
    );
  },
});

Deno.test({
  name: name(
    "s3: list and latest go by the name's timestamp and list only snapshot archives; backup --to s3 --to box proves both",
  ),
  ignore,
  async fn() {
    await using t = await setup();
    const box = await FakeBox.start({ clientSecret: BOX_SECRET });
    try {
      const folder = box.createFolder("astra-backups");
      const boxEnv = {
        BOX_CLIENT_ID: box.clientId,
        BOX_CLIENT_SECRET: BOX_SECRET,
        BOX_ENTERPRISE_ID: box.enterpriseId!,
        BOX_API_BASE_URL: box.apiBaseUrl,
        BOX_UPLOAD_BASE_URL: box.uploadBaseUrl,
      };
      seedSample(t.api.store, { articles: 5, dimension: 4 });
      const r = await t.run(
        [
          "backup",
          "--out",
          t.out,
          "--to",
          "s3://bkt/nightly",
          "--to",
          `box:${folder.id}`,
          ...S3,
          "--json",
        ],
        boxEnv,
      );
      assert.equal(r.code, 0, r.stderr);
      const report = JSON.parse(r.stdout);
      const [zip] = await zipsIn(t.out);
      const local = await Deno.readFile(join(t.out, zip!));
      assert.deepEqual(
        report.uploads.map((u: { remote: string; ok: boolean }) => [u.remote, u.ok]),
        [
          ["s3://bkt/nightly", true],
          [`box:${folder.id}`, true],
        ],
      );
      assert.match(
        report.uploads[1].results[0].proof,
        /SHA-1 [0-9a-f]{40} reported by Box matches/,
      );
      assert.deepEqual(await t.s3.getRaw("bkt", `nightly/${zip}`), local);
      assert.ok(box.fileByName(folder.id, zip!), "in Box");

      // Other keys under the prefix, and a deeper one: only direct snapshot archives are listed.
      await t.s3.putRaw("bkt", "nightly/notes.txt", new Uint8Array([1]));
      await t.s3.putRaw("bkt", "nightly/20200101_000000.zip", new Uint8Array([0]));
      await t.s3.putRaw("bkt", "nightly/old/20991231_235959.zip", new Uint8Array([0]));
      const list = await t.run([
        "list",
        "--from",
        t.out,
        "--from-remote",
        "s3://bkt/nightly",
        ...S3,
        "--json",
      ]);
      assert.equal(list.code, 0, list.stderr);
      const l = JSON.parse(list.stdout);
      assert.deepEqual(l.remotes[0].snapshots.map((s: { name: string }) => s.name), [
        "20200101_000000.zip",
        zip,
      ]);
      const v = await t.run([
        "verify",
        "latest",
        "--from-remote",
        "s3://bkt/nightly",
        ...S3,
        "--from",
        t.out,
        "--json",
      ]);
      assert.equal(v.code, 0, v.stderr);
      assert.equal(JSON.parse(v.stdout).path, `s3://bkt/nightly/${zip}`);
    } finally {
      await box.close();
    }
  },
});

Deno.test({
  name: name(
    "s3: no AWS secret (secret key, session token) appears in any output, log, manifest or zip",
  ),
  ignore,
  async fn() {
    await using t = await setup();
    seedSample(t.api.store, { articles: 5, dimension: 4 });
    const outputs: string[] = [];
    const runs = [
      ["backup", "--out", t.out, "--to", "s3://bkt/nightly", ...S3, "--verbose"],
      [
        "backup",
        "--out",
        t.out,
        "--to",
        "s3://bkt/nightly",
        ...S3,
        "--json",
        "--log-format",
        "json",
      ],
      ["list", "--from", t.out, "--from-remote", "s3://bkt/nightly", ...S3, "--json"],
      ["verify", "s3://bkt/nightly:latest", ...S3, "--from", t.out, "--verbose"],
      ["prune", "--from-remote", "s3://bkt/nightly", ...S3, "--keep-last", "1", "--verbose"],
    ];
    for (const args of runs) {
      const r = await t.run(args);
      assert.equal(r.code, 0, `${args.join(" ")}: ${r.stderr}`);
      outputs.push(r.stdout, r.stderr);
    }
    // Failures too: the store refuses the credentials, and an outage.
    t.s3.faults.add({
      op: "head_object",
      times: Infinity,
      action: { kind: "status", status: 403, code: "SignatureDoesNotMatch" },
    });
    const [zip] = await zipsIn(t.out);
    const denied = await t.run([
      "upload",
      join(t.out, zip!),
      "--to",
      "s3://bkt/x",
      ...S3,
      "--verbose",
    ]);
    assert.equal(denied.code, 3, denied.stderr);
    outputs.push(denied.stdout, denied.stderr);
    const token = t.env().ASTRA_DB_APPLICATION_TOKEN!;
    for (const o of outputs) {
      for (const s of [AWS_SECRET, AWS_SESSION, token]) {
        assert.ok(!o.includes(s), `secret leaked in:\n${o}`);
      }
    }
    for await (const e of Deno.readDir(t.out)) {
      const p = join(t.out, e.name);
      const texts = e.isFile
        ? [new TextDecoder().decode(await Deno.readFile(p))]
        : await Array.fromAsync(Deno.readDir(p), (f) => readData(join(p, f.name)));
      for (const text of texts) {
        assert.ok(!text.includes(AWS_SECRET) && !text.includes(AWS_SESSION), p);
      }
    }
  },
});

Deno.test({
  name: name(
    "s3: SIGINT during a multipart upload exits 130, aborts the upload (no parts left) and keeps the local snapshot and zip",
  ),
  ignore,
  async fn() {
    await using t = await setup();
    seedSample(t.api.store, { articles: 3000, dimension: 768 });
    // Slow parts: the signal arrives while they are in flight.
    t.s3.faults.add({ op: "upload_part", times: Infinity, action: { kind: "delay", ms: 1500 } });
    const child = spawnCli(
      ["backup", "--out", t.out, "--no-compress", "--to", "s3://bkt/nightly", ...S3],
      { dir: t.dir, env: t.env() },
    );
    for (let i = 0; t.s3.requestsOf("create_multipart").length === 0; i++) {
      assert.ok(i < 1200, "the multipart upload started");
      await new Promise((r) => setTimeout(r, 100));
    }
    await new Promise((r) => setTimeout(r, 300));
    child.kill("SIGINT");
    const out = await child.output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 130, stderr);
    assert.match(
      stderr,
      /Interrupted during the upload to s3:\/\/bkt\/nightly, which is not proven/,
    );
    assert.ok(t.s3.requestsOf("abort_multipart").some((q) => q.status === 204), "aborted");
    assert.deepEqual(t.s3.openUploads(), [], "no multipart upload left");
    const [zip] = await zipsIn(t.out);
    assert.ok(zip, "the zip is kept");
    assert.equal((await t.run(["verify", join(t.out, zip!), "--quick"])).code, 0);
  },
});
