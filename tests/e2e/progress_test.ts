/**
 * Live progress end to end: in a real terminal (a tmux pane) the display moves while a backup
 * runs against a slowed fake and leaves the final report intact; off a terminal, plain progress
 * lines appear every --progress-interval seconds and --json stdout stays one object.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { runFlags } from "../../src/cli/permissions.ts";
import { seedSample } from "../fakes/data_api/sample_data.ts";
import { ensureTool } from "../support/tools.ts";
import { fakeEnv, REPO_ROOT, runCli, testSandbox, withFakeDataApi } from "./run_cli.ts";

const TMUX = await ensureTool("tmux", ["-V"], "tmux");

/** Single-quotes a word for sh. */
const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

async function tmux(socket: string, args: string[]): Promise<string> {
  const out = await new Deno.Command("tmux", { args: ["-L", socket, ...args], stderr: "piped" })
    .output();
  if (!out.success) throw new Error(`tmux ${args[0]}: ${new TextDecoder().decode(out.stderr)}`);
  return new TextDecoder().decode(out.stdout);
}

Deno.test({
  name: `progress: in a real terminal the live display moves and the final report is intact${
    TMUX.ok ? "" : ` (ignored: ${TMUX.reason})`
  }`,
  ignore: !TMUX.ok,
  async fn() {
    // 900 documents in pages of 20 at 100 ms a page: about 4.5 s of backup to watch. A narrow
    // pane (60 columns): log lines written while the display is live wrap over it.
    await using t = await withFakeDataApi({ latencyMs: 100, pageSize: 20 });
    // One keyspace only: the report then has no "not backed up" line for another.
    t.api.store.keyspaces.delete("default_keyspace");
    t.api.store.keyspaces.set("ks", new Map());
    seedSample(t.api.store, { keyspace: "ks", articles: 900, dimension: 8 });
    // A retried 503 on customers logs a (wrapping) WARN line while two collections are live.
    t.api.faults.add({
      command: "find",
      collection: "customers",
      after: 2,
      action: { kind: "status", status: 503 },
    });
    const env: Record<string, string> = {
      ...fakeEnv(t.api, { ASTRA_DB_KEYSPACE: "ks" }),
      NO_COLOR: "1",
    };
    for (const k of ["HOME", "DENO_DIR", "PATH"]) {
      const v = Deno.env.get(k);
      if (v !== undefined) env[k] = v;
    }
    const cli = [
      Deno.execPath(),
      "run",
      ...runFlags(testSandbox(t.dir)),
      `${REPO_ROOT}main.ts`,
      "backup",
      "--out",
      t.out,
    ];
    const script = join(t.dir, "run.sh");
    await Deno.writeTextFile(
      script,
      `cd ${q(t.dir)}\nenv -i ${Object.entries(env).map(([k, v]) => q(`${k}=${v}`)).join(" ")} ${
        cli.map(q).join(" ")
      }\necho "EXIT=$?"\nsleep 600\n`,
    );
    const socket = `astrabak-test-${Deno.pid}`;
    await tmux(socket, [
      "new-session",
      "-d",
      "-s",
      "p",
      "-x",
      "60",
      "-y",
      "50",
      `sh ${q(script)}`,
    ]);
    try {
      const seen: number[] = [];
      let logWhileLive = false;
      let pane = "";
      const deadline = Date.now() + 60_000;
      while (!/^EXIT=\d+/m.test(pane) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 150));
        pane = await tmux(socket, ["capture-pane", "-p", "-J", "-t", "p"]);
        const m = /backup ks\.articles: (\d+) of ~900 documents \(estimate\)/.exec(pane);
        if (m && seen.at(-1) !== Number(m[1])) seen.push(Number(m[1]));
        if (m && /WARN .*503/.test(pane) && / ks\.customers: \d+ of ~100/.test(pane)) {
          logWhileLive = true;
        }
      }
      assert.match(pane, /^EXIT=0$/m, pane);
      // The display moved: several different counts, each higher than the last.
      assert.ok(seen.length >= 2, `the display showed ${JSON.stringify(seen)}\n${pane}`);
      assert.deepEqual([...seen].sort((a, b) => a - b), seen);
      assert.ok(logWhileLive, "a log line was written above the live display");
      // The final screen: log lines, then the report, and nothing of the display left over.
      const lines = pane.split("\n").map((l) => l.trimEnd()).filter((l) => l !== "");
      for (const l of lines) {
        assert.match(
          l,
          /^(\d{4}-\d\d-\d\dT[\d:.]+Z (INFO|WARN) |Snapshot complete: | {2}ok {6}ks\.|3 ok, 0 failed, 1040 documents$|EXIT=0$)/,
          `unexpected line on the final screen: ${JSON.stringify(l)}\n${pane}`,
        );
      }
      // Not even a fragment of it at the end of a log line that wrapped over it.
      assert.doesNotMatch(pane, /ETA|\(estimate\)|documents\/s| of ~\d|\[[#?-]{20}\]/, pane);
      const report = lines.slice(lines.findIndex((l) => l.startsWith("Snapshot complete")));
      assert.equal(report.length, 6, pane); // Snapshot, 3 collections, totals, EXIT
      assert.match(report[1]!, /^ {2}ok {6}ks\.articles: 900 documents, \d+ bytes/);
    } finally {
      await tmux(socket, ["kill-server"]).catch(() => {});
    }
  },
});

Deno.test("progress: off a terminal a progress line per collection appears every interval and --json stays one object", async () => {
  // 600 documents in pages of 20 at 100 ms a page: about 3 s, so several 1 s intervals.
  await using t = await withFakeDataApi({ latencyMs: 100, pageSize: 20 });
  seedSample(t.api.store, { articles: 600, dimension: 8 });
  const r = await runCli(
    ["backup", "--out", t.out, "--collections", "articles", "--progress-interval", "1", "--json"],
    { dir: t.dir, env: fakeEnv(t.api) },
  );
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  assert.equal(report.status, "complete");
  const progress = r.stderr.split("\n").filter((l) =>
    / INFO {2}backup default_keyspace\.articles: \d+ of ~600 documents \(estimate\)/.test(l)
  );
  assert.ok(progress.length >= 1, r.stderr);
  assert.ok(progress.length <= 10, r.stderr);
  assert.match(progress[0]!, /documents\/s, [\d.]+ (B|kB|MB), ETA /);
  assert.ok(!r.stderr.includes("\x1b["), "no terminal control codes off a terminal");

  // restore: the same lines, counted towards the manifest's exact figure.
  const restored = await runCli(
    [
      "restore",
      "latest",
      "--from",
      t.out,
      "--collections",
      "articles",
      "--rename",
      "articles=articles_copy",
      "--concurrency",
      "1",
      "--batch-size",
      "20",
      "--progress-interval",
      "1",
    ],
    { dir: t.dir, env: fakeEnv(t.api) },
  );
  assert.equal(restored.code, 0, restored.stderr);
  assert.match(
    restored.stderr,
    / INFO {2}restore default_keyspace\.articles_copy: \d+ of 600 documents \d+%, \d+ documents\/s/,
  );
  assert.match(restored.stdout, /^Restored /m);

  // --progress none: no progress lines at all.
  const quiet = await runCli(
    [
      "backup",
      "--out",
      t.out,
      "--collections",
      "articles",
      "--progress",
      "none",
      "--progress-interval",
      "1",
    ],
    { dir: t.dir, env: fakeEnv(t.api) },
  );
  assert.equal(quiet.code, 0, quiet.stderr);
  assert.doesNotMatch(quiet.stderr, /of ~600 documents/);
});

Deno.test("progress: --progress-interval outside 1-3600 and an unknown --progress mode are usage errors", async () => {
  await using t = await withFakeDataApi();
  for (
    const args of [["--progress-interval", "0"], ["--progress-interval", "3601"], [
      "--progress-interval",
      "1.5",
    ], ["--progress", "bars"]]
  ) {
    const r = await runCli(["backup", "--out", t.out, ...args], {
      dir: t.dir,
      env: fakeEnv(t.api),
    });
    assert.equal(r.code, 1, `${args.join(" ")}: ${r.stderr}`);
    assert.match(
      r.stderr,
      args[0] === "--progress"
        ? /Allowed choices are auto, tty, log, none/
        : /whole seconds from 1 to 3600/,
    );
  }
});
