/**
 * `astrabak backup --resume` end to end: the CLI as a subprocess under the shipped sandbox is
 * SIGKILLed mid-read and resumed until the snapshot is finished; the result must hold exactly the
 * source's documents, verify, and have cost at most one checkpoint interval of pages per kill.
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { parseManifest } from "../../src/manifest/mod.ts";
import { FAKE_TOKEN, type FakeDataApi } from "../fakes/data_api/server.ts";
import { prng, seedSample } from "../fakes/data_api/sample_data.ts";
import { fakeEnv, ls, readData, runCli, spawnCli, withFakeDataApi } from "./run_cli.ts";

const KS = "default_keyspace";
/** Pages per checkpoint in these tests (`--checkpoint-every`). */
const EVERY = 10;

const sha = (s: string) => createHash("sha256").update(s).digest("hex");

/** Per-document hashes of what the fake serves, sorted (a multiset). */
function sourceHashes(api: FakeDataApi, collection: string): string[] {
  return [...api.store.keyspace(KS).get(collection)!.docs.values()].map((d) => sha(d.full)).sort();
}

/** Per-line hashes of a snapshot's data file, sorted. */
async function snapshotHashes(snap: string, collection: string): Promise<string[]> {
  const text = await readData(join(snap, `${KS}.${collection}.jsonl.gz`));
  const lines = text.split("\n");
  assert.equal(lines.pop(), "", "the data file ends with a newline");
  return lines.map(sha).sort();
}

const entries = async (out: string) => (await ls(out)).filter((n) => n !== ".astrabak.lock");

/** A collection of `count` small vector documents (4 dimensions, 40 bytes of text). */
function seedBig(api: FakeDataApi, name: string, count: number): void {
  api.store.createCollection(KS, name, { vector: { dimension: 4, metric: "cosine" } });
  api.store.seedSynthetic(KS, name, { count, dimension: 4, textBytes: 40 });
}

/** Runs `backup` and SIGKILLs it when the fake receives find request number `at` on `collection`. */
async function killedAt(
  api: FakeDataApi,
  dir: string,
  args: string[],
  collection: string,
  at: number,
): Promise<{ code: number; stdout: string; stderr: string; killed: boolean }> {
  let killed = false;
  const child = spawnCli(["backup", ...args], { dir, env: fakeEnv(api) });
  const remove = api.faults.add({
    command: "find",
    collection,
    after: at - 1,
    action: {
      kind: "run",
      fn: () => {
        killed = true;
        child.kill("SIGKILL");
      },
    },
  });
  const out = await child.output();
  remove();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr), killed };
}

Deno.test("resume: SIGKILL at random points, resumed until complete: every document once, verifies, bounded re-reads (10 seeds)", async () => {
  await using t = await withFakeDataApi({ pageSize: 50, latencyMs: 1, logRequests: true });
  const DOCS = 50_000;
  seedBig(t.api, "big", DOCS);
  const fullPages = DOCS / 50;
  const expected = sourceHashes(t.api, "big");
  for (let seed = 1; seed <= 10; seed++) {
    const rand = prng(seed * 7919);
    const out = join(t.dir, `seed${seed}`);
    const args = ["--out", out, "--resume", "--checkpoint-every", String(EVERY), "--parallel", "1"];
    const firstRequest = t.api.requestsOf("find", "big").length;
    let kills = 0;
    let attempts = 0;
    const maxKills = 1 + Math.floor(rand() * 3);
    for (;;) {
      attempts++;
      assert.ok(attempts <= 6, `seed ${seed}: still not finished after ${attempts - 1} attempts`);
      // One to three kills at random pages of what is left; then a run left alone.
      const served = t.api.requestsOf("find", "big").length - firstRequest;
      const at = kills < maxKills
        ? 1 + Math.floor(rand() * Math.max(1, fullPages - served))
        : Infinity;
      const r = Number.isFinite(at) ? await killedAt(t.api, t.dir, args, "big", at) : {
        ...(await runCli(["backup", ...args], { dir: t.dir, env: fakeEnv(t.api) })),
        killed: false,
      };
      if (r.killed) {
        kills++;
        assert.equal(r.code, 137, `seed ${seed}: killed run exits by SIGKILL\n${r.stderr}`);
        continue;
      }
      assert.equal(r.code, 0, `seed ${seed}, attempt ${attempts}:\n${r.stderr}`);
      if (attempts === 1) assert.match(r.stderr, /--resume: nothing to resume/);
      else assert.match(r.stdout, /Resume: continued snapshot \d{8}_\d{6}/);
      break;
    }
    const names = await entries(out);
    assert.equal(names.length, 1, `seed ${seed}: one finished snapshot, nothing left: ${names}`);
    const snap = join(out, names[0]!);
    assert.match(names[0]!, /^\d{8}_\d{6}$/);
    assert.deepEqual(await ls(snap), [`${KS}.big.jsonl.gz`, "manifest.json"], "no checkpoint left");
    const m = parseManifest(await Deno.readFile(join(snap, "manifest.json")), snap);
    assert.equal(m.collections[0]!.document_count, DOCS);
    assert.equal(m.collections[0]!.vector?.documents_with_vector, DOCS);
    assert.equal(m.collections[0]!.pages, fullPages, "pages whose documents the file holds");
    if (kills > 0) {
      assert.equal(m.backup_format_version, 4);
      assert.equal(m.resumed?.times, attempts - 1);
      assert.equal(m.resumed?.at_utc.length, attempts - 1);
    }
    assert.deepEqual(await snapshotHashes(snap, "big"), expected, `seed ${seed}: multiset differs`);
    const v = await runCli(["verify", snap], { dir: t.dir });
    assert.equal(v.code, 0, `seed ${seed}: verify\n${v.stdout}${v.stderr}`);
    const requested = t.api.requestsOf("find", "big").length - firstRequest;
    assert.ok(
      requested <= fullPages + kills * EVERY,
      `seed ${seed}: ${requested} pages requested for ${fullPages} pages and ${kills} kills (interval ${EVERY})`,
    );
  }
});

Deno.test("resume: --resume with nothing to resume starts a new backup and says so", async () => {
  await using t = await withFakeDataApi();
  seedSample(t.api.store, { articles: 30, dimension: 4 });
  const r = await runCli(["backup", "--out", t.out, "--resume"], {
    dir: t.dir,
    env: fakeEnv(t.api),
  });
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stderr,
    /--resume: nothing to resume \(no unfinished snapshot in .*\); started a new backup/,
  );
  assert.match(r.stdout, /^Resume: nothing to resume/m);
  const names = await entries(t.out);
  assert.equal(names.length, 1);
  const m = parseManifest(await Deno.readFile(join(t.out, names[0]!, "manifest.json")), "m");
  assert.equal(m.status, "complete");
  assert.equal(m.resumed, undefined);
  assert.equal(m.backup_format_version, 2, "a snapshot written in one go keeps its old version");
});

/** An unfinished snapshot of `big` (2000 documents) killed after a few checkpoints. */
async function unfinished(t: { api: FakeDataApi; dir: string; out: string }, extra: string[] = []) {
  seedBig(t.api, "big", 2000);
  const args = ["--out", t.out, "--checkpoint-every", "2", ...extra];
  const r = await killedAt(t.api, t.dir, args, "big", 25);
  assert.ok(r.killed, r.stderr);
  const names = await entries(t.out);
  assert.equal(names.length, 1);
  assert.match(names[0]!, /^\.\d{8}_\d{6}\.inprogress$/);
  return { args, inprogress: join(t.out, names[0]!) };
}

Deno.test("resume: the checkpoint is private, holds no secret, and the same flags are required", async () => {
  await using t = await withFakeDataApi({ pageSize: 50 });
  const { args, inprogress } = await unfinished(t, ["--collections", "big"]);
  const checkpoint = join(inprogress, "checkpoint.json");
  assert.equal((await Deno.stat(checkpoint)).mode! & 0o777, 0o600);
  const text = await Deno.readTextFile(checkpoint);
  assert.ok(!text.includes(FAKE_TOKEN), "no token in the checkpoint");
  assert.match(text, /"state":"running"/);

  for (
    const [other, says] of [
      [["--collections", "articles"], /started with --collections big, not --collections articles/],
      [
        ["--collections", "big", "--no-compress"],
        /started with --compression-level 6, not --no-compress/,
      ],
      [
        ["--collections", "big", "--keyspace", "other_ks"],
        /--keyspace default_keyspace, not --keyspace other_ks/,
      ],
    ] as const
  ) {
    const r = await runCli([
      "backup",
      "--out",
      t.out,
      "--checkpoint-every",
      "2",
      "--resume",
      ...other,
    ], {
      dir: t.dir,
      env: fakeEnv(t.api),
    });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /Cannot resume snapshot \d{8}_\d{6}: it was started with/);
    assert.match(r.stderr, says);
    const lines = r.stderr.split("\n").filter((l) => l.includes("Cannot resume"));
    assert.equal(lines.length, 1, "one line");
    assert.match(lines[0]!, says);
    assert.deepEqual(await entries(t.out), [inprogress.split("/").at(-1)], "left as it was");
  }
  const ok = await runCli(["backup", ...args, "--resume"], { dir: t.dir, env: fakeEnv(t.api) });
  assert.equal(ok.code, 0, ok.stderr);
  const names = await entries(t.out);
  assert.equal(names.length, 1);
  assert.deepEqual(await snapshotHashes(join(t.out, names[0]!), "big"), sourceHashes(t.api, "big"));
});

Deno.test("resume: a page state the server refuses ends the run with the collection named and the fix", async () => {
  await using t = await withFakeDataApi({ pageSize: 50 });
  const { args, inprogress } = await unfinished(t);
  const checkpoint = join(inprogress, "checkpoint.json");
  for (
    const [state, code] of [["not base64!", "UNEXPECTED_SERVER_ERROR"], [
      "AAAA",
      "UNEXPECTED_DRIVER_ERROR",
    ]]
  ) {
    const saved = JSON.parse(await Deno.readTextFile(checkpoint));
    const big = saved.collections.find((c: { name: string }) => c.name === "big");
    assert.equal(big.state, "running");
    big.progress.page_state = state;
    await Deno.writeTextFile(checkpoint, JSON.stringify(saved));
    const r = await runCli(["backup", ...args, "--resume"], { dir: t.dir, env: fakeEnv(t.api) });
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(
        `Cannot resume ${KS}\\.big: the Data API refused the page state saved at its last checkpoint \\(.*${code}`,
      ),
    );
    assert.match(r.stderr, /without --resume/);
    assert.ok(await Deno.stat(inprogress), "the unfinished snapshot is kept");
  }
  // Without --resume: a new snapshot, whole.
  const fresh = await runCli(["backup", ...args], { dir: t.dir, env: fakeEnv(t.api) });
  assert.equal(fresh.code, 0, fresh.stderr);
});

Deno.test("resume: with --resume, SIGTERM keeps the unfinished snapshot for the next --resume", async () => {
  await using t = await withFakeDataApi({ pageSize: 50 });
  seedBig(t.api, "big", 2000);
  const args = ["--out", t.out, "--checkpoint-every", "2", "--resume"];
  const child = spawnCli(["backup", ...args], { dir: t.dir, env: fakeEnv(t.api) });
  t.api.faults.add({
    command: "find",
    collection: "big",
    after: 12,
    action: { kind: "run", fn: () => child.kill("SIGTERM") },
  });
  const out = await child.output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 130, stderr);
  assert.match(
    stderr,
    /Backup interrupted; the unfinished snapshot .*\.inprogress is kept; continue it with astrabak backup --resume/,
  );
  const before = t.api.requestsOf("find", "big").length;
  const r = await runCli(["backup", ...args], { dir: t.dir, env: fakeEnv(t.api) });
  assert.equal(r.code, 0, r.stderr);
  assert.ok(
    t.api.requestsOf("find", "big").length - before <= 40 - 10 + 2,
    "continued, not restarted",
  );
  const names = await entries(t.out);
  assert.equal(names.length, 1);
  assert.deepEqual(await snapshotHashes(join(t.out, names[0]!), "big"), sourceHashes(t.api, "big"));
});

Deno.test("resume: --no-compress data files are cut back and continued the same way", async () => {
  await using t = await withFakeDataApi({ pageSize: 50 });
  const { args } = await unfinished(t, ["--no-compress"]);
  const r = await runCli(["backup", ...args, "--resume"], { dir: t.dir, env: fakeEnv(t.api) });
  assert.equal(r.code, 0, r.stderr);
  const snap = join(t.out, (await entries(t.out))[0]!);
  const text = await readData(join(snap, `${KS}.big.jsonl`));
  assert.deepEqual(text.split("\n").filter(Boolean).map(sha).sort(), sourceHashes(t.api, "big"));
  const m = parseManifest(await Deno.readFile(join(snap, "manifest.json")), snap);
  assert.equal(m.backup_format_version, 4, "resumed");
  assert.equal(m.resumed?.times, 1);
  const v = await runCli(["verify", snap], { dir: t.dir });
  assert.equal(v.code, 0, v.stdout + v.stderr);
});
