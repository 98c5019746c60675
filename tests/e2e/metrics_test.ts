/**
 * `--metrics-file` end to end: the file node_exporter's textfile collector reads, written by the
 * CLI (subprocess, shipped sandbox) for successful and failed runs of backup, verify, restore and
 * prune, checked by `promtool check metrics` when it can be had.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { findSample } from "../../src/metrics/prometheus.ts";
import { seedSample } from "../fakes/data_api/sample_data.ts";
import { ensureTool } from "../support/tools.ts";
import { fakeEnv, ls, runCli, spawnCli, withFakeDataApi } from "./run_cli.ts";

const PROMTOOL = await ensureTool("promtool", ["--version"], "prometheus");

/** Runs `promtool check metrics` on a file (when promtool is there) and fails on any complaint. */
async function promtoolCheck(path: string): Promise<void> {
  if (!PROMTOOL.ok) return;
  const text = await Deno.readFile(path);
  const child = new Deno.Command("promtool", {
    args: ["check", "metrics"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const w = child.stdin.getWriter();
  await w.write(text);
  await w.close();
  const out = await child.output();
  const said = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  assert.ok(out.success && said.trim() === "", `promtool check metrics: ${said}`);
}

function sample(text: string, name: string, labels: Record<string, string>): number | null {
  return findSample(text, name, labels);
}

const promtoolNote = PROMTOOL.ok ? "" : ` (promtool part skipped: ${PROMTOOL.reason})`;

Deno.test(`metrics: backup writes the file on success and on failure, and carries the last success${promtoolNote}`, async () => {
  await using t = await withFakeDataApi();
  seedSample(t.api.store, { articles: 30, dimension: 4 });
  const dir = join(t.dir, "textfile");
  await Deno.mkdir(dir);
  const file = join(dir, "astrabak_backup.prom");
  const backup = { command: "backup" };

  // 1. Success.
  const ok = await runCli(["backup", "--out", t.out, "--metrics-file", file], {
    dir: t.dir,
    env: fakeEnv(t.api),
  });
  assert.equal(ok.code, 0, ok.stderr);
  await promtoolCheck(file);
  const first = await Deno.readTextFile(file);
  assert.equal((await Deno.stat(file)).mode! & 0o777, 0o644, "readable by node_exporter");
  assert.deepEqual(await ls(dir), ["astrabak_backup.prom"], "no temporary file left");
  const lastRun = sample(first, "astrabak_last_run_timestamp_seconds", backup)!;
  assert.ok(Math.abs(lastRun - Date.now() / 1000) < 120, first);
  assert.equal(sample(first, "astrabak_last_success_timestamp_seconds", backup), lastRun);
  assert.equal(sample(first, "astrabak_last_run_exit_code", backup), 0);
  assert.ok(sample(first, "astrabak_last_run_duration_seconds", backup)! >= 0);
  assert.equal(sample(first, "astrabak_documents", backup), 30 + 100 + 40);
  assert.ok(sample(first, "astrabak_bytes", backup)! > 0);
  const articles = { ...backup, keyspace: "default_keyspace", collection: "articles" };
  assert.equal(sample(first, "astrabak_collection_documents", articles), 30);
  assert.equal(sample(first, "astrabak_collection_status", { ...articles, status: "ok" }), 1);
  for (const name of ["astrabak_last_run_exit_code", "astrabak_collection_status"]) {
    assert.match(first, new RegExp(`^# HELP ${name} .+\\n# TYPE ${name} gauge$`, "m"));
  }

  // 2. An incomplete snapshot (exit 2): the last success is carried over.
  await new Promise((r) => setTimeout(r, 1100));
  t.api.faults.add({
    command: "find",
    collection: "customers",
    times: Infinity,
    action: { kind: "error", errorCode: "UNKNOWN_COLLECTION_OR_TABLE", message: "gone" },
  });
  const incomplete = await runCli(["backup", "--out", t.out, "--metrics-file", file], {
    dir: t.dir,
    env: fakeEnv(t.api),
  });
  assert.equal(incomplete.code, 2, incomplete.stderr);
  await promtoolCheck(file);
  const second = await Deno.readTextFile(file);
  assert.equal(sample(second, "astrabak_last_run_exit_code", backup), 2);
  assert.ok(sample(second, "astrabak_last_run_timestamp_seconds", backup)! > lastRun);
  assert.equal(sample(second, "astrabak_last_success_timestamp_seconds", backup), lastRun);
  const customers = { ...backup, keyspace: "default_keyspace", collection: "customers" };
  assert.equal(sample(second, "astrabak_collection_status", { ...customers, status: "failed" }), 1);
  assert.equal(sample(second, "astrabak_collection_status", { ...articles, status: "ok" }), 1);

  // 3. A failure before any report (exit 1, a refused token): still written, still carried.
  const refused = await runCli(["backup", "--out", t.out, "--metrics-file", file], {
    dir: t.dir,
    env: fakeEnv(t.api, { ASTRA_DB_APPLICATION_TOKEN: "AstraCS:wrong" }),
  });
  assert.equal(refused.code, 1, refused.stderr);
  await promtoolCheck(file);
  const third = await Deno.readTextFile(file);
  assert.equal(sample(third, "astrabak_last_run_exit_code", backup), 1);
  assert.equal(sample(third, "astrabak_last_success_timestamp_seconds", backup), lastRun);
  assert.equal(sample(third, "astrabak_documents", backup), 0);
  assert.doesNotMatch(third, /astrabak_collection_/);
  assert.doesNotMatch(third, /AstraCS/);
});

Deno.test(`metrics: verify, restore and prune write their own files${promtoolNote}`, async () => {
  await using t = await withFakeDataApi();
  seedSample(t.api.store, { articles: 20, dimension: 4 });
  const dir = join(t.dir, "textfile");
  await Deno.mkdir(dir);
  const env = fakeEnv(t.api);
  const b = await runCli(["backup", "--out", t.out], { dir: t.dir, env });
  assert.equal(b.code, 0, b.stderr);
  const [snapshot] = (await ls(t.out)).filter((n) => /^\d{8}_\d{6}$/.test(n));

  const v = join(dir, "verify.prom");
  const verify = await runCli(["verify", join(t.out, snapshot!), "--metrics-file", v], {
    dir: t.dir,
    env,
  });
  assert.equal(verify.code, 0, verify.stderr);
  await promtoolCheck(v);
  const vt = await Deno.readTextFile(v);
  assert.equal(sample(vt, "astrabak_last_run_exit_code", { command: "verify" }), 0);
  assert.equal(sample(vt, "astrabak_documents", { command: "verify" }), 20 + 100 + 40);

  const r = join(dir, "restore.prom");
  const restore = await runCli([
    "restore",
    "latest",
    "--from",
    t.out,
    "--keyspace",
    "restored",
    "--metrics-file",
    r,
  ], { dir: t.dir, env });
  await promtoolCheck(r);
  const rt = await Deno.readTextFile(r);
  assert.equal(sample(rt, "astrabak_last_run_exit_code", { command: "restore" }), restore.code);

  const p = join(dir, "prune.prom");
  const prune = await runCli(["prune", "--from", t.out, "--keep-last", "1", "--metrics-file", p], {
    dir: t.dir,
    env,
  });
  assert.equal(prune.code, 0, prune.stderr);
  await promtoolCheck(p);
  const pt = await Deno.readTextFile(p);
  assert.equal(sample(pt, "astrabak_prune_snapshots", { command: "prune", decision: "kept" }), 1);
  assert.equal(
    sample(pt, "astrabak_last_success_timestamp_seconds", { command: "prune" }) !== 0,
    true,
  );
});

Deno.test("metrics: a metrics file the sandbox cannot write stops the run before any work (exit 1)", async () => {
  await using t = await withFakeDataApi();
  seedSample(t.api.store, { articles: 5, dimension: 4 });
  const outside = await Deno.makeTempDir({ prefix: "astrabak-metrics-outside-" });
  try {
    const r = await runCli(
      ["backup", "--out", t.out, "--metrics-file", join(outside, "astrabak.prom")],
      { dir: t.dir, env: fakeEnv(t.api) },
    );
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /Cannot write the metrics file .*astrabak\.prom/);
    assert.match(r.stderr, /ASTRABAK_ALLOW_WRITE/);
    assert.equal(t.api.requests.length, 0, "nothing was asked of the Data API");
    assert.deepEqual(await ls(outside), []);
  } finally {
    await Deno.remove(outside, { recursive: true });
  }
});

Deno.test(`metrics: an interrupted backup (SIGINT, exit 130) and a second signal both leave the file${promtoolNote}`, async () => {
  await using t = await withFakeDataApi();
  seedSample(t.api.store, { articles: 5, dimension: 4 });
  for (const signals of [1, 2]) {
    const file = join(t.dir, `astrabak_backup_${signals}.prom`);
    t.api.faults.add({ command: "find", collection: "customers", action: { kind: "hang" } });
    const used = t.api.faults.usage().length - 1;
    const child = spawnCli(["backup", "--out", t.out, "--metrics-file", file], {
      dir: t.dir,
      env: fakeEnv(t.api),
    });
    const deadline = Date.now() + 20_000;
    while (t.api.faults.usage()[used] !== 1 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    for (let i = 0; i < signals; i++) {
      child.kill("SIGINT");
      // Two signals, not one merged pending one.
      if (i + 1 < signals) await new Promise((r) => setTimeout(r, 5));
    }
    const out = await child.output();
    assert.equal(out.code, 130, new TextDecoder().decode(out.stderr));
    await promtoolCheck(file);
    const text = await Deno.readTextFile(file);
    assert.equal(sample(text, "astrabak_last_run_exit_code", { command: "backup" }), 130, text);
    assert.equal(sample(text, "astrabak_last_success_timestamp_seconds", { command: "backup" }), 0);
  }
});
