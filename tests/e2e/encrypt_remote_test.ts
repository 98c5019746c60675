/**
 * Encrypted snapshots off-host (issues 15 and 16 together), end to end through the CLI under the
 * shipped sandbox: `backup --encrypt-to … --to REMOTE` sends `<ts>.zip.age` and its sidecar
 * `<ts>.zip.age.sha256` to the fake Box (tests/fakes/box) and to s3rver (a real S3
 * implementation, behind the recording proxy of tests/fakes/s3_proxy.ts), each proven by the
 * store's checksum; `restore REMOTE:latest --identity-file` brings identical documents back; the
 * downloaded sidecar is checked; verify without an identity reads only what needs no key; prune
 * removes a sidecar with its archive; the identity appears in no output or file.
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import * as age from "age-encryption";
import { FakeBox } from "../fakes/box/server.ts";
import { FakeDataApi } from "../fakes/data_api/server.ts";
import { seedSample } from "../fakes/data_api/sample_data.ts";
import { findS3rver, S3Store } from "../fakes/s3_proxy.ts";
import { docsOf, restoreInto } from "../support/restore_target.ts";
import { fakeEnv, ls, runCli } from "./run_cli.ts";

const BOX_SECRET = "box-SECRET-enc-remote-5e6f7a";
const AWS_SECRET = "aws-SECRET-enc-remote-9a8b7c";
const S3 = ["--s3-path-style"];

const s3rver = await findS3rver();
const ignoreS3 = "reason" in s3rver;
const s3Name = (n: string) => (ignoreS3 ? `${n} (ignored: ${s3rver.reason})` : n);

/** A source fake with data, an empty target fake, a key pair, and a scratch directory. */
async function setup(sample: { articles: number; dimension: number } | null = {
  articles: 12,
  dimension: 4,
}) {
  const source = await FakeDataApi.start({ logRequests: false });
  if (sample) seedSample(source.store, sample);
  const target = await FakeDataApi.start({ logRequests: false });
  const dir = await Deno.makeTempDir({ prefix: "astrabak-enc-remote-" });
  const identity = await age.generateIdentity();
  const recipient = await age.identityToRecipient(identity);
  // The identity file is the one file under `dir` that may hold it (the sandbox reads `dir`).
  const keyFile = join(dir, "key.txt");
  await Deno.writeTextFile(keyFile, `${identity}\n`);
  const outputs: string[] = [];
  return {
    source,
    target,
    dir,
    out: join(dir, "backups"),
    dl: join(dir, "downloads"),
    identity,
    recipient,
    keyFile,
    outputs,
    /** Runs the CLI with `env` on top of the source's; keeps every output for the leak check. */
    async run(args: string[], env: Record<string, string>) {
      const r = await runCli(args, { dir, env: fakeEnv(source, env) });
      outputs.push(r.stdout, r.stderr);
      return r;
    },
    async restore(args: string[], env: Record<string, string>) {
      const r = await restoreInto({ target, dir }, args, env);
      outputs.push(r.stdout, r.stderr);
      return r;
    },
    async [Symbol.asyncDispose]() {
      await source.close();
      await target.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

type Setup = Awaited<ReturnType<typeof setup>>;

const sha1 = (b: Uint8Array) => createHash("sha1").update(b).digest("hex");

/** The identity (its secret key, in either case) is in no output and no file under `dir`. */
async function assertIdentityNowhere(t: Setup, stores: Uint8Array[] = []) {
  const secrets = [t.identity, t.identity.toLowerCase()];
  for (const o of t.outputs) {
    for (const s of secrets) assert.ok(!o.includes(s), `identity leaked in:\n${o}`);
  }
  const texts = [...stores];
  const walk = async (d: string) => {
    for await (const e of Deno.readDir(d)) {
      const p = join(d, e.name);
      if (e.isDirectory) await walk(p);
      else if (e.isFile && p !== t.keyFile) texts.push(await Deno.readFile(p));
    }
  };
  await walk(t.dir);
  for (const bytes of texts) {
    const text = new TextDecoder().decode(bytes);
    for (const s of secrets) assert.ok(!text.includes(s), "identity written to a file");
  }
}

Deno.test("encrypt+box: backup --encrypt-to --to box uploads <ts>.zip.age and its sidecar, both proven; restore box:FOLDER:latest and box:latest --identity-file give identical documents; the downloaded sidecar is checked; prune removes it with its archive", async () => {
  await using t = await setup();
  const box = await FakeBox.start({ clientSecret: BOX_SECRET });
  try {
    const folder = box.createFolder("astra-backups").id;
    const env = {
      BOX_CLIENT_ID: box.clientId,
      BOX_CLIENT_SECRET: BOX_SECRET,
      BOX_ENTERPRISE_ID: box.enterpriseId!,
      BOX_API_BASE_URL: box.apiBaseUrl,
      BOX_UPLOAD_BASE_URL: box.uploadBaseUrl,
    };
    const b = await t.run(
      ["backup", "--out", t.out, "--encrypt-to", t.recipient, "--to", `box:${folder}`, "--json"],
      env,
    );
    assert.equal(b.code, 0, b.stderr);
    const ts: string = JSON.parse(b.stdout).manifest.snapshot;
    const ageName = `${ts}.zip.age`;
    // Both files are in Box, byte for byte, each proven by the SHA-1 Box reports.
    const results = JSON.parse(b.stdout).uploads[0].results;
    assert.deepEqual(results.map((r: { name: string }) => r.name), [ageName, `${ageName}.sha256`]);
    for (const name of [ageName, `${ageName}.sha256`]) {
      const local = await Deno.readFile(join(t.out, name));
      const stored = box.fileByName(folder, name);
      assert.ok(stored, `${name} is in Box`);
      assert.equal(stored.sha1, sha1(local), name);
    }
    assert.match(results[1].proof, /^SHA-1 [0-9a-f]{40} reported by Box matches$/);

    // Listed once: the sidecar is not a snapshot of its own.
    const l = await t.run(
      ["list", "--from-remote", `box:${folder}`, "--from", t.dl, "--json"],
      env,
    );
    assert.equal(l.code, 0, l.stderr);
    const listed = JSON.parse(l.stdout).remotes[0].snapshots;
    assert.deepEqual(listed.map((s: { name: string }) => s.name), [ageName]);
    assert.equal(listed[0].sidecar.name, `${ageName}.sha256`);

    const restore = (args: string[]) =>
      t.restore([...args, "--from", t.dl, "--identity-file", t.keyFile, "--json"], env);
    const r1 = await restore([`box:${folder}:latest`]);
    assert.equal(r1.code, 0, r1.stderr);
    assert.equal(JSON.parse(r1.stdout).snapshot, `box:${ageName}`);
    assert.deepEqual(docsOf(t.target, "articles"), docsOf(t.source, "articles"));
    assert.doesNotMatch(r1.stderr, /no sidecar/);
    await using second = await setup(null);
    const r2 = await restoreInto(
      { target: second.target, dir: t.dir },
      ["box:latest", "--box-folder", folder, "--from", t.dl, "--identity-file", t.keyFile],
      env,
    );
    t.outputs.push(r2.stdout, r2.stderr);
    assert.equal(r2.code, 0, r2.stderr);
    assert.deepEqual(docsOf(second.target, "articles"), docsOf(t.source, "articles"));

    // Without an identity: only what needs no key, and it says so.
    const deep = await t.run(
      ["verify", "latest", "--from-remote", `box:${folder}`, "--from", t.dl],
      env,
    );
    assert.equal(deep.code, 2, deep.stdout + deep.stderr);
    assert.match(deep.stdout, /FAILED {2}cannot verify contents without an identity/);
    assert.match(deep.stdout, new RegExp(`zip\\.age box:${ageName} \\(deep\\)`));
    const quick = await t.run(
      ["verify", "latest", "--from-remote", `box:${folder}`, "--from", t.dl, "--quick", "--json"],
      env,
    );
    assert.equal(quick.code, 0, quick.stdout + quick.stderr);
    assert.equal(JSON.parse(quick.stdout).snapshot, ts);
    assert.equal(JSON.parse(quick.stdout).contents_verified, false);
    assert.deepEqual(await ls(t.dl), [".astrabak.lock"], "downloads removed");

    // The downloaded sidecar is read: one that disagrees with the archive stops the restore.
    box.store.addVersion(
      box.fileByName(folder, `${ageName}.sha256`)!,
      new TextEncoder().encode(`${"0".repeat(64)}  ${ageName}\n`),
    );
    const damaged = await t.run(
      ["verify", `box:${folder}:latest`, "--from", t.dl, "--identity-file", t.keyFile],
      env,
    );
    assert.equal(damaged.code, 2, damaged.stderr);
    assert.match(damaged.stderr, new RegExp(`box:${ageName} does not match its sidecar`));

    // A second backup, then prune keeps one: the older .zip.age goes with its sidecar.
    await new Promise((r) => setTimeout(r, 1100));
    const b2 = await t.run(
      ["backup", "--out", t.out, "--encrypt-to", t.recipient, "--to", `box:${folder}`, "--json"],
      env,
    );
    assert.equal(b2.code, 0, b2.stderr);
    const ts2: string = JSON.parse(b2.stdout).manifest.snapshot;
    const p = await t.run(
      ["prune", "--from-remote", `box:${folder}`, "--keep-last", "1", "--json"],
      env,
    );
    assert.equal(p.code, 0, p.stderr);
    assert.deepEqual(
      box.trashed().map((f) => f.name).sort(),
      [ageName, `${ageName}.sha256`],
    );
    assert.ok(box.fileByName(folder, `${ts2}.zip.age.sha256`), "the kept one keeps its sidecar");

    // The naming rule holds after decryption: a .zip.age under a newer name than its manifest's
    // is never taken as latest.
    box.putFile(
      folder,
      "20991231_235959.zip.age",
      await Deno.readFile(join(t.out, `${ts2}.zip.age`)),
    );
    const lying = await t.run(
      ["verify", `box:${folder}:latest`, "--from", t.dl, "--identity-file", t.keyFile],
      env,
    );
    assert.equal(lying.code, 2, lying.stderr);
    assert.match(lying.stderr, /Cannot use latest box:20991231_235959\.zip\.age: /);
    assert.deepEqual(await ls(t.dl), [".astrabak.lock"], "no download or plaintext left");
    await assertIdentityNowhere(t, box.files().map((f) => f.content));
  } finally {
    await box.close();
  }
});

Deno.test({
  name: s3Name(
    "encrypt+s3: backup --encrypt-to --to s3 stores <ts>.zip.age (octet-stream) and its sidecar (text/plain), both proven; restore s3://…:latest --identity-file gives identical documents; verify without identity exits 2 (0 with --quick); upload <ts>.zip.age sends its sidecar; an empty latest names the remote to list",
  ),
  ignore: ignoreS3,
  async fn() {
    await using t = await setup();
    const s3 = await S3Store.start((s3rver as { script: string }).script, ["bkt"]);
    try {
      const env = {
        AWS_ACCESS_KEY_ID: "S3RVER",
        AWS_SECRET_ACCESS_KEY: AWS_SECRET,
        ASTRABAK_S3_ENDPOINT: s3.url,
      };
      const b = await t.run(
        ["backup", "--out", t.out, "--encrypt-to", t.recipient, "--to", "s3://bkt/nightly", ...S3],
        env,
      );
      assert.equal(b.code, 0, b.stderr);
      const [ageName] = (await ls(t.out)).filter((n) => n.endsWith(".zip.age"));
      assert.ok(ageName);
      for (const name of [ageName, `${ageName}.sha256`]) {
        assert.deepEqual(
          await s3.getRaw("bkt", `nightly/${name}`),
          await Deno.readFile(join(t.out, name)),
          name,
        );
        assert.match(
          b.stdout,
          new RegExp(
            `s3://bkt/nightly: ${name.replaceAll(".", "\\.")} is s3://bkt/nightly/${
              name.replaceAll(".", "\\.")
            } \\(single; no checksum returned; ETag \\(MD5\\) matches\\)`,
          ),
        );
      }
      const types = s3.requestsOf("put_object").map((q) => q.headers["content-type"]);
      assert.deepEqual(types, ["application/octet-stream", "text/plain; charset=utf-8"]);

      const r = await t.restore(
        ["s3://bkt/nightly:latest", "--from", t.dl, "--identity-file", t.keyFile, ...S3],
        env,
      );
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(docsOf(t.target, "articles"), docsOf(t.source, "articles"));
      assert.doesNotMatch(r.stderr, /no sidecar/);

      const deep = await t.run(
        ["verify", "latest", "--from-remote", "s3://bkt/nightly", ...S3, "--from", t.dl],
        env,
      );
      assert.equal(deep.code, 2, deep.stdout + deep.stderr);
      assert.match(deep.stdout, /FAILED {2}cannot verify contents without an identity/);
      const quick = await t.run(
        ["verify", "s3://bkt/nightly:latest", ...S3, "--from", t.dl, "--quick"],
        env,
      );
      assert.equal(quick.code, 0, quick.stdout + quick.stderr);
      assert.match(quick.stdout, /age header and SHA-256 against its sidecar ok; contents NOT/);

      // upload of a .zip.age: the sidecar goes too; without a sidecar it is refused.
      const up = await t.run(
        ["upload", join(t.out, ageName), "--to", "s3://bkt/manual", ...S3, "--json"],
        env,
      );
      assert.equal(up.code, 0, up.stderr);
      assert.deepEqual(
        JSON.parse(up.stdout).uploads[0].results.map((x: { name: string }) => x.name),
        [ageName, `${ageName}.sha256`],
      );
      assert.ok(await s3.getRaw("bkt", `manual/${ageName}.sha256`));
      const lone = join(t.dir, "lone");
      await Deno.mkdir(lone);
      await Deno.copyFile(join(t.out, ageName), join(lone, ageName));
      const refused = await t.run(
        ["upload", join(lone, ageName), "--to", "s3://bkt/lone", ...S3],
        env,
      );
      assert.equal(refused.code, 2, refused.stderr);
      assert.match(refused.stderr, /Refusing to upload .*\.zip\.age: no sidecar/);
      assert.equal(await s3.getRaw("bkt", `lone/${ageName}`), null);

      // An empty newest snapshot is not taken as latest; the hint names the remote read.
      await using empty = await setup(null);
      const e = await runCli(
        [
          "backup",
          "--out",
          empty.out,
          "--encrypt-to",
          t.recipient,
          "--to",
          "s3://bkt/empty",
          ...S3,
        ],
        { dir: empty.dir, env: fakeEnv(empty.source, env) },
      );
      assert.equal(e.code, 0, e.stderr);
      const el = await t.restore(
        ["s3://bkt/empty:latest", "--from", t.dl, "--identity-file", t.keyFile, ...S3],
        env,
      );
      assert.equal(el.code, 1, el.stderr);
      assert.match(
        el.stderr,
        /Cannot use latest: the latest snapshot s3:\/\/bkt\/empty\/\S+ is empty/,
      );
      assert.match(
        el.stderr,
        /hint: see the others with astrabak list --from-remote s3:\/\/bkt\/empty and pass the one you want as s3:\/\/bkt\/empty:<name>/,
      );
      const stored = await Promise.all(
        [ageName, `${ageName}.sha256`].map((n) => s3.getRaw("bkt", `nightly/${n}`)),
      );
      await assertIdentityNowhere(t, stored.filter((x) => x !== null));
    } finally {
      await s3.close();
    }
  },
});
