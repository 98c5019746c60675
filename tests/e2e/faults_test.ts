/**
 * The fault matrix: process signals and crashes, concurrent runs, the disk, hung requests, and the
 * permission sandbox, each injected into a real CLI run. The invariant everywhere: nothing that
 * looks finished is ever left unless it is whole.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { permissionFlags } from "../../src/cli/permissions.ts";
import { seedSample } from "../fakes/data_api/sample_data.ts";
import {
  fakeEnv,
  ls,
  REPO_ROOT,
  runCli,
  spawnCli,
  testSandbox,
  withFakeDataApi,
} from "./run_cli.ts";
import { canMountTmpfs, modesBypassed } from "../support/host.ts";

const setup = withFakeDataApi;

async function waitFor(cond: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > until) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 10));
  }
}

const snapshotsIn = async (out: string) => (await ls(out)).filter((n) => n !== ".astrabak.lock");

for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"] as const) {
  Deno.test(`faults: ${signal} stops a backup cleanly, removes the unfinished snapshot, exits 130`, async () => {
    await using t = await setup({ pageSize: 2 });
    seedSample(t.api.store, { articles: 10, dimension: 4 });
    t.api.faults.add({
      command: "find",
      collection: "customers",
      after: 1,
      action: { kind: "hang" },
    });
    const child = spawnCli(["backup", "--out", t.out], { dir: t.dir, env: fakeEnv(t.api) });
    await waitFor(() => t.api.faults.usage()[0] === 1);
    child.kill(signal);
    const out = await child.output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 130, stderr);
    assert.match(stderr, /Backup interrupted; the unfinished snapshot was removed/);
    assert.deepEqual(await snapshotsIn(t.out), [], "no snapshot and no .inprogress left");
  });
}

Deno.test("faults: SIGHUP after the terminal is gone (a dropped SSH session) still cleans up and exits 130", async () => {
  await using t = await setup({ pageSize: 2 });
  seedSample(t.api.store, { articles: 10, dimension: 4 });
  t.api.faults.add({
    command: "find",
    collection: "customers",
    after: 1,
    action: { kind: "hang" },
  });
  const child = spawnCli(["backup", "--out", t.out], { dir: t.dir, env: fakeEnv(t.api) });
  await waitFor(() => t.api.faults.usage()[0] === 1);
  // The session drops: nobody reads stdout or stderr any more, then the kernel sends SIGHUP.
  await child.stdout.cancel();
  await child.stderr.cancel();
  child.kill("SIGHUP");
  assert.equal((await child.status).code, 130, "not 129 (killed), nor 1 (failed on a log line)");
  assert.deepEqual(await snapshotsIn(t.out), [], "no snapshot and no .inprogress left");
});

Deno.test("faults: SIGKILL at random points never leaves a snapshot that looks whole but is not", async () => {
  await using t = await setup({ pageSize: 5, latencyMs: 15 });
  seedSample(t.api.store, { articles: 60, dimension: 8 });
  let seed = 7;
  const rand = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
  const outcomes = { killedEarly: 0, inprogress: 0, finished: 0 };
  for (let i = 0; i < 20; i++) {
    const out = join(t.dir, `run${i}`);
    const seen = t.api.requests.length;
    const child = spawnCli(["backup", "--out", out, "--zip"], { dir: t.dir, env: fakeEnv(t.api) });
    // The clock starts at the run's first request, not at spawn: a loaded machine takes longer
    // to start the CLI, and a kill before any work proves nothing.
    const started = Date.now();
    while (t.api.requests.length === seen && Date.now() - started < 30_000) {
      await new Promise((r) => setTimeout(r, 5));
    }
    await new Promise((r) => setTimeout(r, rand() * 800));
    try {
      child.kill("SIGKILL");
    } catch {
      // It finished before the kill: then everything it left must verify (checked below).
    }
    await child.status;
    await child.stdout.cancel();
    await child.stderr.cancel();
    const names = await Deno.stat(out).then(() => snapshotsIn(out), () => []);
    if (names.length === 0) outcomes.killedEarly++;
    for (const n of names) {
      if (/^\.\d{8}_\d{6}\.(inprogress|zip\.inprogress)$/.test(n)) {
        outcomes.inprogress++;
        continue;
      }
      assert.match(n, /^\d{8}_\d{6}(\.zip)?$/, `unexpected leftover ${n}`);
      // A finished name must verify: the rename happens only after everything is durable.
      const v = await runCli(["verify", join(out, n)], { dir: t.dir });
      assert.equal(v.code, 0, `${n} looks finished but does not verify:\n${v.stdout}`);
      outcomes.finished++;
    }
  }
  assert.ok(outcomes.inprogress > 0, `some kills landed mid-backup: ${JSON.stringify(outcomes)}`);
  // A new backup after the crashes ignores the leftovers and succeeds.
  const again = await runCli(["backup", "--out", join(t.dir, "run0")], {
    dir: t.dir,
    env: fakeEnv(t.api),
  });
  assert.equal(again.code, 0, again.stderr);
});

Deno.test("faults: a second backup into the same --out refuses while the first runs", async () => {
  await using t = await setup({ pageSize: 2 });
  seedSample(t.api.store, { articles: 10, dimension: 4 });
  t.api.faults.add({ command: "find", collection: "customers", action: { kind: "hang" } });
  const first = spawnCli(["backup", "--out", t.out], { dir: t.dir, env: fakeEnv(t.api) });
  await waitFor(() => t.api.faults.usage()[0] === 1);
  const second = await runCli(["backup", "--out", t.out], { dir: t.dir, env: fakeEnv(t.api) });
  assert.equal(second.code, 1);
  assert.match(
    second.stderr,
    /another astrabak run is writing into .* \(lock .*\.astrabak\.lock\)/,
  );
  first.kill("SIGKILL");
  await first.status;
  await first.stdout.cancel();
  await first.stderr.cancel();
  const after = await runCli(["backup", "--out", t.out, "--exclude", "customers"], {
    dir: t.dir,
    env: fakeEnv(t.api),
  });
  assert.equal(after.code, 0, "the kernel released the dead run's lock");
  assert.match(
    after.stderr,
    /1 leftover\(s\) of unfinished runs .*\.inprogress.*--clean-stale removes them/,
  );
});

Deno.test("faults: --clean-stale removes leftovers older than the threshold, and only those", async () => {
  await using t = await setup();
  seedSample(t.api.store, { articles: 3, dimension: 4 });
  await Deno.mkdir(join(t.out, ".20200101_000000.inprogress"), { recursive: true });
  await Deno.mkdir(join(t.out, ".20200101_000001.inprogress"));
  await Deno.utime(
    join(t.out, ".20200101_000000.inprogress"),
    new Date("2020-01-01"),
    new Date("2020-01-01"),
  );
  const r = await runCli(["backup", "--out", t.out, "--clean-stale", "1h"], {
    dir: t.dir,
    env: fakeEnv(t.api),
  });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /Removed stale .*\.20200101_000000\.inprogress/);
  const names = await snapshotsIn(t.out);
  assert.ok(names.includes(".20200101_000001.inprogress"), "the recent leftover is kept");
  assert.ok(!names.includes(".20200101_000000.inprogress"));
  const bad = await runCli(["backup", "--out", t.out, "--clean-stale", "soon"], {
    dir: t.dir,
    env: fakeEnv(t.api),
  });
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /expected a duration like 30m, 24h or 7d/);
});

Deno.test("faults: a request that hangs past --request-timeout is retried, then fails that collection only", async () => {
  await using t = await setup();
  seedSample(t.api.store, { articles: 3, dimension: 4 });
  t.api.faults.add({ command: "find", collection: "faq", times: 1, action: { kind: "hang" } });
  t.api.faults.add({
    command: "find",
    collection: "customers",
    times: Infinity,
    action: { kind: "hang" },
  });
  const r = await runCli([
    "backup",
    "--out",
    t.out,
    "--request-timeout",
    "0.5",
    "--retries",
    "1",
    "--json",
  ], {
    dir: t.dir,
    env: fakeEnv(t.api),
  });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /find on default_keyspace\.faq timed out after 500 ms; retrying/);
  const report = JSON.parse(r.stdout);
  const byName = Object.fromEntries(report.collections.map((c: { name: string }) => [c.name, c]));
  assert.equal(byName.faq.status, "ok", "one hang, then the retry succeeded");
  assert.equal(byName.articles.status, "ok");
  assert.match(byName.customers.error, /timed out after 500 ms/);
});

Deno.test("faults: a revoked token mid-run fails the rest of the run as an auth error", async () => {
  await using t = await setup({ pageSize: 2 });
  seedSample(t.api.store, { articles: 10, dimension: 4 });
  t.api.faults.add({
    command: "find",
    collection: "articles",
    after: 1,
    action: { kind: "run", fn: () => t.api.tokens.clear() },
  });
  const r = await runCli(["backup", "--out", t.out], { dir: t.dir, env: fakeEnv(t.api) });
  assert.equal(r.code, 2);
  assert.match(
    r.stderr,
    /default_keyspace\.articles failed: .*authentication failed \(HTTP 401, UNAUTHENTICATED_REQUEST\)/,
  );
  // Collections already running get their own 401; any not yet started are not attempted.
  for (const c of ["customers", "faq"]) {
    assert.match(
      r.stdout,
      new RegExp(`FAILED {2}default_keyspace\\.${c}: .*authentication failed`),
    );
  }
});

Deno.test({
  name: "faults: an unwritable --out is a clear error and nothing is written",
  // Root ignores directory modes; there a read-only tmpfs makes --out unwritable instead.
  ignore: (await modesBypassed()) && !(await canMountTmpfs()),
  fn: async () => {
    await using t = await setup();
    seedSample(t.api.store, { articles: 3, dimension: 4 });
    await Deno.mkdir(t.out, { mode: 0o500 });
    const root = await modesBypassed();
    if (root) {
      const mounted = await new Deno.Command("mount", {
        args: ["-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", t.out],
      }).output();
      assert.ok(mounted.success);
    }
    try {
      const r = await runCli(["backup", "--out", t.out], { dir: t.dir, env: fakeEnv(t.api) });
      assert.equal(r.code, 1, r.stderr);
      assert.match(
        r.stderr,
        /Cannot (write snapshots into|lock) .*(permission denied|read-only file system)/i,
      );
      assert.deepEqual(await ls(t.out), [], "nothing was written");
    } finally {
      if (root) await new Deno.Command("umount", { args: [t.out] }).output();
    }
  },
});

Deno.test({
  name: "faults: a full disk mid-backup removes the partial snapshot and says so (tmpfs)",
  ignore: !(await canMountTmpfs()),
  fn: async () => {
    await using t = await setup();
    seedSample(t.api.store, { articles: 400, dimension: 64 });
    await Deno.mkdir(t.out);
    const mounted = await new Deno.Command("mount", {
      args: ["-t", "tmpfs", "-o", "size=256k", "tmpfs", t.out],
    }).output();
    assert.ok(mounted.success);
    try {
      const r = await runCli(["backup", "--out", t.out, "--no-compress"], {
        dir: t.dir,
        env: fakeEnv(t.api),
      });
      assert.equal(r.code, 2, r.stderr);
      assert.match(
        r.stderr,
        /Cannot write the snapshot in .*No space left on device.*the unfinished snapshot was removed/,
      );
      assert.deepEqual(await snapshotsIn(t.out), [], "no partial snapshot under any name");
    } finally {
      await new Deno.Command("umount", { args: [t.out] }).output();
    }
  },
});

Deno.test("sandbox: the CLI cannot write outside its directories or read other environment variables", async () => {
  await using t = await setup();
  seedSample(t.api.store, { articles: 3, dimension: 4 });
  const outside = await Deno.makeTempDir({ prefix: "astrabak-outside-" });
  try {
    const r = await runCli(["backup", "--out", join(outside, "b")], {
      dir: t.dir,
      env: fakeEnv(t.api),
    });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /the permission sandbox does not allow it/);
    assert.deepEqual(await ls(outside), [], "nothing was created outside the sandbox");
  } finally {
    await Deno.remove(outside, { recursive: true });
  }
  // The same flags, probed directly: unrelated variables and paths are denied.
  const probe = join(t.dir, "probe.ts");
  await Deno.writeTextFile(
    probe,
    `const r: string[] = [];
     for (const v of ["HOME", "PATH", "GITHUB_TOKEN", "AWS_CONTAINER_AUTHORIZATION_TOKEN"]) { try { Deno.env.get(v); r.push("read " + v); } catch { r.push("denied " + v); } }
     try { Deno.env.toObject(); r.push("read all"); } catch { r.push("denied all"); }
     try { Deno.env.get("ASTRA_DB_API_ENDPOINT"); r.push("read ASTRA_DB_API_ENDPOINT"); } catch { r.push("denied ASTRA_DB_API_ENDPOINT"); }
     try { await Deno.writeTextFile("/tmp/astrabak-sandbox-probe", "x"); r.push("wrote /tmp"); } catch { r.push("denied /tmp"); }
     try { await Deno.readTextFile("/etc/hostname"); r.push("read /etc"); } catch { r.push("denied /etc"); }
     try { await fetch("http://example.com/"); r.push("net example.com"); } catch (e) { r.push(e instanceof Deno.errors.NotCapable ? "denied net" : "net error"); }
     console.log(r.join("; "));`,
  );
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...permissionFlags(testSandbox(t.dir)), probe],
    cwd: REPO_ROOT,
    // An unrelated secret, and an AWS variable astrabak does not list (AWS_* is not granted).
    env: {
      HOME: Deno.env.get("HOME") ?? "/root",
      GITHUB_TOKEN: "x",
      AWS_CONTAINER_AUTHORIZATION_TOKEN: "x",
    },
  }).output();
  assert.equal(
    new TextDecoder().decode(out.stdout).trim(),
    "denied HOME; denied PATH; denied GITHUB_TOKEN; denied AWS_CONTAINER_AUTHORIZATION_TOKEN; denied all; read ASTRA_DB_API_ENDPOINT; denied /tmp; denied /etc; denied net",
  );
});

Deno.test("faults: --max-rps caps the request rate and halves it on 429, saying so", async () => {
  await using t = await setup({ pageSize: 1 });
  t.api.store.createCollection("default_keyspace", "c", {});
  t.api.store.seed("default_keyspace", "c", Array.from({ length: 40 }, (_, i) => `{"_id":${i}}`));
  t.api.faults.add({
    command: "find",
    after: 5,
    times: 1,
    action: { kind: "status", status: 429, retryAfter: 0 },
  });
  const started = Date.now();
  const r = await runCli(["backup", "--out", t.out, "--max-rps", "40"], {
    dir: t.dir,
    env: fakeEnv(t.api),
  });
  const ms = Date.now() - started;
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /Data API answered 429: slowing down to 20\.0 requests\/s/);
  // 40 pages + listing, estimates and the retry: at least ~44 requests at <= 40/s.
  assert.ok(ms >= 1000, `44 requests under --max-rps 40 took only ${ms} ms`);
});
