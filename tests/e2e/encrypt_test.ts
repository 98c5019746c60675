/**
 * Encrypted off-host copies end to end (issue 15): `backup --encrypt-to` and `astrabak encrypt`
 * write `<ts>.zip.age` + sidecar; verify, restore and `latest` read them with an identity; every
 * bad input is one line and a documented exit code with nothing restored; and the reference
 * `age` CLI reads what astrabak writes and writes what astrabak reads (installed in setup when
 * possible, otherwise those tests are ignored with the reason in their name).
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import * as zip from "@zip.js/zip.js";
import * as age from "age-encryption";
import { FakeDataApi } from "../fakes/data_api/server.ts";
import { seedSample } from "../fakes/data_api/sample_data.ts";
import { docsOf, restoreInto } from "../support/restore_target.ts";
import { ensureTool } from "../support/tools.ts";
import { fakeEnv, ls, runCli, spawnCli } from "./run_cli.ts";

const KS = "default_keyspace";

/** A source fake with sample data, an empty target fake, a scratch dir and two key pairs. */
async function setup(sample = { articles: 30, dimension: 8 }) {
  const source = await FakeDataApi.start({ logRequests: false });
  seedSample(source.store, sample);
  const target = await FakeDataApi.start({ logRequests: false });
  const dir = await Deno.makeTempDir({ prefix: "astrabak-encrypt-" });
  const identity = await age.generateIdentity();
  const recipient = await age.identityToRecipient(identity);
  const pqIdentity = await age.generateHybridIdentity();
  const pqRecipient = await age.identityToRecipient(pqIdentity);
  const keyFile = join(dir, "key.txt");
  await Deno.writeTextFile(
    keyFile,
    `# created by the test\n# public key: ${recipient}\n${identity}\n`,
  );
  const pqKeyFile = join(dir, "pq-key.txt");
  await Deno.writeTextFile(pqKeyFile, `${pqIdentity}\n`);
  const out = join(dir, "backups");
  return {
    source,
    target,
    dir,
    out,
    identity,
    recipient,
    pqRecipient,
    keyFile,
    pqKeyFile,
    backup: (args: string[], env: Record<string, string> = {}) =>
      runCli(["backup", "--out", out, ...args], { dir, env: fakeEnv(source, env) }),
    run: (args: string[], env: Record<string, string> = {}) =>
      runCli(args, { dir, env: fakeEnv(source, env) }),
    async [Symbol.asyncDispose]() {
      await source.close();
      await target.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

/** The collections the target holds, by name. */
const restored = (api: FakeDataApi) => [...api.store.keyspace(KS).keys()].sort();

/** Decrypts a file with the library (the tests' own reader, independent of astrabak's). */
async function decryptFile(path: string, identity: string): Promise<Uint8Array> {
  const d = new age.Decrypter();
  d.addIdentity(identity);
  return await d.decrypt(await Deno.readFile(path));
}

/** The entries (name → bytes) of a zip held in memory. */
async function zipEntries(bytes: Uint8Array): Promise<Map<string, Uint8Array>> {
  const reader = new zip.ZipReader(new zip.Uint8ArrayReader(bytes));
  const out = new Map<string, Uint8Array>();
  for (const e of await reader.getEntries()) {
    if (!e.directory) out.set(e.filename, await e.getData!(new zip.Uint8ArrayWriter()));
  }
  await reader.close();
  return out;
}

/** A copy of `from` named `name` in a fresh directory `sub` of `dir`, with or without sidecar. */
async function copyAge(dir: string, from: string, sub: string, sidecar: boolean) {
  const to = join(dir, sub);
  await Deno.mkdir(to, { recursive: true });
  const name = from.split("/").at(-1)!;
  await Deno.copyFile(from, join(to, name));
  if (sidecar) await Deno.copyFile(`${from}.sha256`, join(to, `${name}.sha256`));
  return join(to, name);
}

async function mutate(path: string, edit: (b: Uint8Array) => Uint8Array) {
  await Deno.writeFile(path, edit(await Deno.readFile(path)));
}

const oneLine = (stderr: string) =>
  stderr.split("\n").filter((l) => / ERROR /.test(l) && !/ hint: /.test(l));

Deno.test("encrypt: backup --encrypt-to writes only <ts>.zip.age + sidecar off the directory; verify and restore read it with the identity", async () => {
  await using t = await setup();
  const recipientsFile = join(t.dir, "recipients.txt");
  await Deno.writeTextFile(recipientsFile, `# the post-quantum key\n\n${t.pqRecipient}\n`);
  const b = await t.backup([
    "--encrypt-to",
    t.recipient,
    "--encrypt-to-file",
    recipientsFile,
    "--json",
  ]);
  assert.equal(b.code, 0, b.stderr);
  const report = JSON.parse(b.stdout);
  const ts: string = report.manifest.snapshot;
  assert.deepEqual(await ls(t.out), [
    ".astrabak.lock",
    ts,
    `${ts}.zip.age`,
    `${ts}.zip.age.sha256`,
  ]);
  const agePath = join(t.out, `${ts}.zip.age`);
  assert.equal(report.encrypted.path, agePath);
  assert.equal((await Deno.stat(agePath)).mode! & 0o777, 0o600);
  // The sidecar is sha256sum's format, for the ciphertext.
  const cipher = await Deno.readFile(agePath);
  assert.equal(await Deno.readTextFile(`${agePath}.sha256`), `${sha256(cipher)}  ${ts}.zip.age\n`);
  assert.equal(new TextDecoder().decode(cipher.subarray(0, 22)), "age-encryption.org/v1\n");
  // The manifest (in the directory and inside the encrypted zip, byte for byte) records the
  // recipients' public keys and format 4.
  const dirManifest = await Deno.readFile(join(t.out, ts, "manifest.json"));
  const m = JSON.parse(new TextDecoder().decode(dirManifest));
  assert.equal(m.backup_format_version, 4);
  assert.deepEqual(m.encryption, {
    format: "age-encryption.org/v1",
    recipients: [t.recipient, t.pqRecipient],
  });
  const entries = await zipEntries(await decryptFile(agePath, t.identity));
  assert.deepEqual(entries.get(`${ts}/manifest.json`), dirManifest);
  assert.deepEqual([...entries.keys()].sort(), [
    `${ts}/${KS}.articles.jsonl.gz`,
    `${ts}/${KS}.customers.jsonl.gz`,
    `${ts}/${KS}.faq.jsonl.gz`,
    `${ts}/manifest.json`,
  ]);

  // verify, with the identity by flag, then by the environment (the post-quantum one).
  const v = await t.run(["verify", agePath, "--identity-file", t.keyFile]);
  assert.equal(v.code, 0, v.stderr + v.stdout);
  assert.match(v.stdout, /^Verified zip\.age .*: 3 collections, 170 documents/m);
  const v2 = await t.run(["verify", agePath], { ASTRABAK_AGE_IDENTITY_FILE: t.pqKeyFile });
  assert.equal(v2.code, 0, v2.stderr + v2.stdout);

  // restore into a second fake gives identical documents.
  const r = await restoreInto(t, [agePath, "--json"], { ASTRABAK_AGE_IDENTITY_FILE: t.keyFile });
  assert.equal(r.code, 0, r.stderr);
  for (const name of ["articles", "customers"]) {
    assert.deepEqual(docsOf(t.target, name), docsOf(t.source, name), name);
  }
  assert.deepEqual(
    (await ls(t.out)).filter((n) => n.endsWith(".decrypted")),
    [],
    "the temporary plaintext zip is removed",
  );
});

Deno.test("encrypt: --no-keep-local leaves only the proven .zip.age; latest finds it; verify without an identity checks header and sidecar only", async () => {
  await using t = await setup();
  const b = await t.backup(["--no-keep-local", "--json"], {
    ASTRABAK_AGE_RECIPIENTS: `${t.recipient}, ${t.pqRecipient}`,
  });
  assert.equal(b.code, 0, b.stderr);
  const ts: string = JSON.parse(b.stdout).manifest.snapshot;
  assert.equal(JSON.parse(b.stdout).local_removed, true);
  assert.deepEqual(await ls(t.out), [".astrabak.lock", `${ts}.zip.age`, `${ts}.zip.age.sha256`]);
  const agePath = join(t.out, `${ts}.zip.age`);

  const deep = await t.run(["verify", agePath]);
  assert.equal(deep.code, 2, deep.stdout);
  assert.match(deep.stdout, /FAILED {2}cannot verify contents without an identity/);
  assert.match(deep.stdout, /age header: 2 recipient stanza\(s\) \(X25519, mlkem768x25519\)/);
  const quick = await t.run(["verify", agePath, "--quick", "--json"]);
  assert.equal(quick.code, 0, quick.stdout + quick.stderr);
  const q = JSON.parse(quick.stdout);
  assert.equal(q.contents_verified, false);
  assert.equal(q.encryption.recipients, 2);

  const list = await t.run(["list", "--from", t.out]);
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, new RegExp(`${ts} +age +complete .*${ts}\\.zip\\.age`));
  // latest weighs .zip.age like .zip, by the timestamp in its name.
  const r = await restoreInto(t, ["latest", "--from", t.out, "--identity-file", t.keyFile]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(docsOf(t.target, "articles"), docsOf(t.source, "articles"));
  // Without an identity, restore refuses before anything is written.
  await using other = await setup();
  const refused = await restoreInto(other, [agePath]);
  assert.equal(refused.code, 1, refused.stderr);
  assert.match(refused.stderr, /Cannot read .*\.zip\.age: it is encrypted \(age\)/);
  assert.deepEqual(restored(other.target), []);
});

Deno.test("encrypt: bad recipients are refused before anything is written (exit 1, one line naming file and line)", async () => {
  await using t = await setup();
  const file = join(t.dir, "recipients.txt");
  await Deno.writeTextFile(file, `# keys\n${t.recipient}\n\nage1this-is-not-a-key\n`);
  const r = await t.backup(["--encrypt-to-file", file]);
  assert.equal(r.code, 1, r.stderr);
  assert.deepEqual(oneLine(r.stderr).length, 1, r.stderr);
  assert.match(
    r.stderr,
    /recipients file ".*recipients\.txt" line 4: "age1this-is-not-a-key" is not an age recipient/,
  );
  const s = await t.backup(["--encrypt-to", "age1qqqq"]);
  assert.equal(s.code, 1, s.stderr);
  assert.match(s.stderr, /Cannot use --encrypt-to: "age1qqqq" is not an age recipient/);
  const n = await t.backup(["--no-keep-local"]);
  assert.equal(n.code, 1);
  assert.match(n.stderr, /Cannot use --no-keep-local without recipients/);
  const z = await t.backup(["--no-keep-local", "--zip", "--encrypt-to", t.recipient]);
  assert.equal(z.code, 1);
  assert.match(z.stderr, /Cannot use --zip with --no-keep-local: the plaintext zip would stay/);
  await assert.rejects(Deno.stat(t.out), Deno.errors.NotFound, "nothing was written");
});

Deno.test("encrypt: wrong identity, truncation, flipped payload and header bytes: one line, exit 1 or 2, nothing restored", async () => {
  await using t = await setup();
  const b = await t.backup(["--encrypt-to", t.recipient, "--json"]);
  assert.equal(b.code, 0, b.stderr);
  const agePath: string = JSON.parse(b.stdout).encrypted.path;
  const size = (await Deno.stat(agePath)).size;
  const headerEnd = new TextDecoder().decode((await Deno.readFile(agePath)).subarray(0, 400))
    .indexOf("\n---") + 1;
  const wrongKey = join(t.dir, "wrong.txt");
  await Deno.writeTextFile(wrongKey, `${await age.generateIdentity()}\n`);
  const cases: Array<
    [string, boolean, (b: Uint8Array) => Uint8Array, string | null, number, RegExp]
  > = [
    [
      "wrong identity",
      true,
      (b) => b,
      wrongKey,
      1,
      /no identity from --identity-file .*wrong\.txt is one of its recipients/,
    ],
    [
      "truncated",
      true,
      (b) => b.subarray(0, size - 200),
      null,
      2,
      /does not match its sidecar|damaged or truncated/,
    ],
    [
      "truncated, no sidecar",
      false,
      (b) => b.subarray(0, size - 200),
      null,
      2,
      /is damaged or truncated: decryption failed/,
    ],
    [
      "payload byte, no sidecar",
      false,
      (b) => flip(b, size - 300),
      null,
      2,
      /is damaged or truncated: decryption failed/,
    ],
    [
      "payload byte",
      true,
      (b) => flip(b, size - 300),
      null,
      2,
      /is damaged|does not match its sidecar/,
    ],
    [
      "header byte (a recipient stanza)",
      true,
      (b) => flip(b, 40),
      null,
      2,
      /does not match its sidecar: SHA-256 .*the file is damaged/,
    ],
    [
      "header byte (the MAC), no sidecar",
      false,
      (b) => swapBase64(b, headerEnd + 6),
      null,
      2,
      /damaged: its age header does not parse or verify \(invalid header HMAC\)/,
    ],
    [
      "header byte (the version line), no sidecar",
      false,
      (b) => flip(b, 3),
      null,
      2,
      /damaged: its age header does not parse or verify \(invalid version/,
    ],
  ];
  for (const [i, [what, sidecar, edit, key, code, message]] of cases.entries()) {
    const copy = await copyAge(t.dir, agePath, `case${i}`, sidecar);
    await mutate(copy, edit);
    for (const command of ["verify", "restore"]) {
      const r = command === "verify"
        ? await t.run(["verify", copy, "--identity-file", key ?? t.keyFile])
        : await restoreInto(t, [copy, "--identity-file", key ?? t.keyFile]);
      assert.equal(r.code, code, `${what} (${command}): ${r.stderr}`);
      assert.match(r.stderr, message, `${what} (${command})`);
      assert.equal(oneLine(r.stderr).length, 1, `${what} (${command}): ${r.stderr}`);
      assert.ok(!/\n\s+at .*\.ts:\d+/.test(r.stderr), `no stack trace: ${r.stderr}`);
    }
    assert.deepEqual(restored(t.target), [], `${what}: nothing restored`);
    assert.deepEqual(
      await ls(join(t.dir, `case${i}`)).then((n) => n.filter((x) => x.endsWith(".decrypted"))),
      [],
      `${what}: no temporary file left`,
    );
  }
});

/** Replaces the base64 letter at `at` by another valid one (a flipped bit might not be base64). */
function swapBase64(b: Uint8Array, at: number): Uint8Array {
  const c = b.slice();
  c[at] = c[at] === 0x41 ? 0x42 : 0x41; // "A" or "B"
  return c;
}

function flip(b: Uint8Array, at: number): Uint8Array {
  const c = b.slice();
  c[at]! ^= 0x01;
  return c;
}

Deno.test("encrypt: `astrabak encrypt` makes <ts>.zip.age from a snapshot directory or its zip; the copy's manifest records the recipients", async () => {
  await using t = await setup();
  const b = await t.backup(["--zip", "--json"]);
  assert.equal(b.code, 0, b.stderr);
  const report = JSON.parse(b.stdout);
  const ts: string = report.manifest.snapshot;
  const dirManifest = await Deno.readTextFile(join(report.snapshot, "manifest.json"));
  for (const source of [report.snapshot, report.zip.path]) {
    const e = await t.run(["encrypt", source, "--encrypt-to", t.recipient]);
    assert.equal(e.code, 0, e.stderr);
    const agePath = join(t.out, `${ts}.zip.age`);
    assert.match(
      e.stdout,
      /^Wrote .*\.zip\.age \(\d+ bytes, 1 recipient\(s\)\) and .*\.zip\.age\.sha256/,
    );
    const again = await t.run(["encrypt", source, "--encrypt-to", t.recipient]);
    assert.equal(again.code, 1, "an existing .zip.age is never replaced");
    const m = JSON.parse(
      new TextDecoder().decode(
        (await zipEntries(await decryptFile(agePath, t.identity))).get(`${ts}/manifest.json`),
      ),
    );
    assert.equal(m.backup_format_version, 4);
    assert.deepEqual(m.encryption.recipients, [t.recipient]);
    const v = await t.run(["verify", agePath, "--identity-file", t.keyFile]);
    assert.equal(v.code, 0, v.stdout + v.stderr);
    await Deno.remove(agePath);
    await Deno.remove(`${agePath}.sha256`);
  }
  assert.equal(
    await Deno.readTextFile(join(report.snapshot, "manifest.json")),
    dirManifest,
    "the snapshot is unchanged",
  );
  const none = await t.run(["encrypt", report.snapshot]);
  assert.equal(none.code, 1);
  assert.match(none.stderr, /Cannot encrypt: no recipient given/);
});

const ageCli = await ensureTool("age", ["--version"], "age");
const interop = ageCli.ok ? "" : ` (IGNORED: ${ageCli.reason})`;

/** A key pair made by the reference age-keygen. */
async function ageKeygen(dir: string): Promise<{ keyFile: string; recipient: string }> {
  const keyFile = join(dir, "age-keygen.txt");
  const gen = await new Deno.Command("age-keygen", { args: ["-o", keyFile], stderr: "piped" })
    .output();
  assert.ok(gen.success, new TextDecoder().decode(gen.stderr));
  const y = await new Deno.Command("age-keygen", { args: ["-y", keyFile], stdout: "piped" })
    .output();
  return { keyFile, recipient: new TextDecoder().decode(y.stdout).trim() };
}

async function ageRun(args: string[]): Promise<void> {
  const r = await new Deno.Command("age", { args, stderr: "piped" }).output();
  assert.ok(r.success, `age ${args.join(" ")}: ${new TextDecoder().decode(r.stderr)}`);
}

Deno.test({
  name:
    `encrypt: the age CLI decrypts astrabak's .zip.age (age -d -i) into a zip that astrabak verify accepts${interop}`,
  ignore: !ageCli.ok,
  async fn() {
    await using t = await setup();
    const { keyFile, recipient } = await ageKeygen(t.dir);
    const b = await t.backup(["--encrypt-to", recipient, "--json"]);
    assert.equal(b.code, 0, b.stderr);
    const report = JSON.parse(b.stdout);
    const plainDir = join(t.dir, "plain");
    await Deno.mkdir(plainDir);
    const zipPath = join(plainDir, `${report.manifest.snapshot}.zip`);
    await ageRun(["-d", "-i", keyFile, "-o", zipPath, report.encrypted.path]);
    const v = await t.run(["verify", zipPath]);
    assert.equal(v.code, 0, v.stdout + v.stderr);
    assert.match(v.stdout, /^Verified zip .*: 3 collections, 170 documents/m);
  },
});

Deno.test({
  name:
    `encrypt: astrabak restores a .zip.age that age -r encrypted (no sidecar), with an age-keygen identity${interop}`,
  ignore: !ageCli.ok,
  async fn() {
    await using t = await setup();
    const { keyFile, recipient } = await ageKeygen(t.dir);
    const b = await t.backup(["--zip", "--json"]);
    assert.equal(b.code, 0, b.stderr);
    const report = JSON.parse(b.stdout);
    const encDir = join(t.dir, "from-age");
    await Deno.mkdir(encDir);
    const agePath = join(encDir, `${report.manifest.snapshot}.zip.age`);
    await ageRun(["-r", recipient, "-o", agePath, report.zip.path]);
    const r = await restoreInto(t, [agePath, "--identity-file", keyFile]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /has no sidecar .*; decrypted anyway/);
    for (const name of ["articles", "customers"]) {
      assert.deepEqual(docsOf(t.target, name), docsOf(t.source, name), name);
    }
    assert.deepEqual(await ls(encDir), [".astrabak.lock", `${report.manifest.snapshot}.zip.age`]);
  },
});

Deno.test("encrypt: prune counts a .zip.age as a complete snapshot and removes its sidecar with it", async () => {
  await using t = await setup();
  await Deno.mkdir(t.out, { recursive: true });
  for (const ts of ["20261101_020000", "20261102_020000"]) {
    await Deno.writeTextFile(join(t.out, `${ts}.zip.age`), "age-encryption.org/v1\n");
    await Deno.writeTextFile(
      join(t.out, `${ts}.zip.age.sha256`),
      `${"0".repeat(64)}  ${ts}.zip.age\n`,
    );
  }
  const r = await t.run(["prune", "--from", t.out, "--keep-last", "1"]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual((await ls(t.out)).filter((n) => !n.startsWith(".")), [
    "20261102_020000.zip.age",
    "20261102_020000.zip.age.sha256",
  ]);
});

Deno.test("encrypt: drill proves a .zip.age (latest) read with the identity, and leaves no plaintext behind", async () => {
  await using t = await setup();
  const b = await t.backup(["--encrypt-to", t.recipient, "--no-keep-local"]);
  assert.equal(b.code, 0, b.stderr);
  const r = await t.run([
    "drill",
    "latest",
    "--from",
    t.out,
    "--identity-file",
    t.keyFile,
    "--collection-limit",
    "6",
    "--json",
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).status, "proven");
  assert.deepEqual((await ls(t.out)).filter((n) => n.endsWith(".decrypted")), []);
});

Deno.test("encrypt: SIGTERM while a .zip.age is read removes the temporary plaintext zip (exit 130)", async () => {
  await using t = await setup({ articles: 3000, dimension: 768 });
  const b = await t.backup(["--encrypt-to", t.recipient, "--no-compress", "--json"]);
  assert.equal(b.code, 0, b.stderr);
  const agePath: string = JSON.parse(b.stdout).encrypted.path;
  const child = spawnCli(["verify", agePath, "--identity-file", t.keyFile], {
    dir: t.dir,
    env: fakeEnv(t.source),
  });
  // Wait (by state, not by time) until the plaintext temporary zip exists, then stop the run.
  let seen = false;
  while (!seen) {
    seen = (await ls(t.out)).some((n) => n.endsWith(".decrypted"));
    if (!seen) await new Promise((r) => setTimeout(r, 5));
  }
  child.kill("SIGTERM");
  const out = await child.output();
  assert.equal(out.code, 130, new TextDecoder().decode(out.stderr));
  assert.deepEqual((await ls(t.out)).filter((n) => n.endsWith(".decrypted")), []);
});

Deno.test("encrypt: a snapshot whose bytes are not its manifest's is refused (exit 2) and nothing is left, from a directory or a zip", async () => {
  await using t = await setup({ articles: 400, dimension: 64 });
  const b = await t.backup(["--zip", "--json"]);
  assert.equal(b.code, 0, b.stderr);
  const report = JSON.parse(b.stdout);
  const ts: string = report.manifest.snapshot;
  // The directory: a data file changed after the backup (the hash check as bytes enter age).
  const dirCase = join(t.dir, "dir-case");
  await Deno.mkdir(dirCase);
  const snap = join(dirCase, ts);
  await Deno.mkdir(snap);
  for await (const f of Deno.readDir(report.snapshot)) {
    await Deno.copyFile(join(report.snapshot, f.name), join(snap, f.name));
  }
  await mutate(join(snap, `${KS}.articles.jsonl.gz`), (b) => flip(b, 100));
  // The zip: a byte of a data entry flipped (its CRC-32 fails mid-stream, stopping the encrypter).
  const zipCase = join(t.dir, "zip-case");
  await Deno.mkdir(zipCase);
  const zipCopy = join(zipCase, `${ts}.zip`);
  await Deno.copyFile(report.zip.path, zipCopy);
  const bytes = await Deno.readFile(zipCopy);
  const at = new TextDecoder("latin1").decode(bytes).indexOf(`${ts}/${KS}.articles.jsonl.gz`) + 200;
  await mutate(zipCopy, (b) => flip(b, at));
  for (const [source, where] of [[snap, dirCase], [zipCopy, zipCase]]) {
    const r = await t.run(["encrypt", source!, "--encrypt-to", t.recipient]);
    assert.equal(r.code, 2, `${source}: ${r.stderr}`);
    assert.match(r.stderr, /articles/);
    assert.deepEqual(
      (await ls(where!)).filter((n) => n.includes(".age")),
      [],
      `${source}: nothing written`,
    );
  }
});
