/**
 * @module
 * Keyspaces end to end, through the CLI under the shipped sandbox: `backup --all-keyspaces`
 * backs up every keyspace the token can see (findKeyspaces, system keyspaces left out), a backup
 * of named keyspaces names the ones it left out, and the flags that contradict are refused.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { seedSample } from "../fakes/data_api/sample_data.ts";
import { fakeEnv, ls, runCli, withFakeDataApi } from "./run_cli.ts";

const KS = "default_keyspace";

/** A fake with two user keyspaces: default_keyspace (sample) and `sales` (one collection). */
async function twoKeyspaces(profile?: "astra" | "hcd-1.0.25") {
  const t = await withFakeDataApi(profile ? { profile } : {});
  seedSample(t.api.store, { articles: 3, dimension: 4 });
  t.api.store.keyspaces.set("sales", new Map());
  t.api.store.createCollection("sales", "orders", {});
  t.api.store.seed("sales", "orders", ['{"_id":"o1","total":12.5}', '{"_id":"o2","total":7}']);
  return t;
}

function backup(
  t: { api: Parameters<typeof fakeEnv>[0]; dir: string; out: string },
  args: string[],
  env: Record<string, string> = {},
) {
  return runCli(["backup", "--out", t.out, "--json", ...args], {
    dir: t.dir,
    env: fakeEnv(t.api, env),
  });
}

for (const profile of [undefined, "astra", "hcd-1.0.25"] as const) {
  Deno.test(`keyspaces: --all-keyspaces backs up every user keyspace, never a system one (${profile ?? "default"})`, async () => {
    await using t = await twoKeyspaces(profile);
    // ASTRA_DB_KEYSPACE (set by fakeEnv) is not a --keyspace: --all-keyspaces wins over it.
    const r = await backup(t, ["--all-keyspaces"]);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout);
    assert.deepEqual(
      report.collections.map((c: { keyspace: string; name: string }) => `${c.keyspace}.${c.name}`)
        .sort(),
      [`${KS}.articles`, `${KS}.customers`, `${KS}.faq`, "sales.orders"],
    );
    assert.deepEqual(report.manifest.source.keyspaces, [KS, "sales"]);
    assert.deepEqual(report.keyspaces_not_backed_up, []);
    assert.ok(
      (await ls(report.snapshot)).some((f) => f.startsWith("sales.orders.")),
      "sales.orders written",
    );
    // The fake lists system keyspaces as the server does; none of them was asked about.
    assert.ok(t.api.requestsOf("findKeyspaces").length === 1);
    assert.deepEqual(
      t.api.requests.filter((q) => q.keyspace?.startsWith("system")),
      [],
    );
  });
}

Deno.test("keyspaces: without --all-keyspaces the report names the keyspaces that were not backed up", async () => {
  await using t = await twoKeyspaces();
  const r = await backup(t, []);
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  assert.deepEqual(report.keyspaces_not_backed_up, ["sales"]);
  assert.ok(report.collections.every((c: { keyspace: string }) => c.keyspace === KS));
  const text = await runCli(["backup", "--out", join(t.dir, "b2")], {
    dir: t.dir,
    env: fakeEnv(t.api),
  });
  assert.equal(text.code, 0, text.stderr);
  assert.match(
    text.stdout,
    /not backed up: keyspace sales \(not selected; add --keyspace NAME or --all-keyspaces\)/,
  );
  assert.doesNotMatch(text.stdout, /system/);
  // Both named: nothing left out, and the line is not printed.
  const both = await backup(t, ["--keyspace", `${KS},sales`]);
  assert.equal(both.code, 0, both.stderr);
  assert.deepEqual(JSON.parse(both.stdout).keyspaces_not_backed_up, []);
});

Deno.test("keyspaces: when findKeyspaces is refused, a named backup says nothing of other keyspaces and --all-keyspaces refuses", async () => {
  await using t = await twoKeyspaces();
  t.api.faults.add({
    command: "findKeyspaces",
    times: Infinity,
    action: { kind: "status", status: 404 },
  });
  const named = await backup(t, []);
  assert.equal(named.code, 0, named.stderr);
  assert.equal(JSON.parse(named.stdout).keyspaces_not_backed_up, undefined);
  const all = await runCli(["backup", "--out", join(t.dir, "b2"), "--all-keyspaces"], {
    dir: t.dir,
    env: fakeEnv(t.api),
  });
  assert.equal(all.code, 1, all.stderr);
  assert.match(all.stderr, /Cannot back up every keyspace: .*findKeyspaces refused/);
  assert.match(all.stderr, /hint: name the keyspaces with --keyspace/);
  assert.ok(!(await ls(t.dir)).includes("b2"), "nothing written");
});

Deno.test("keyspaces: --all-keyspaces with --keyspace is refused before any request", async () => {
  await using t = await twoKeyspaces();
  const r = await backup(t, ["--all-keyspaces", "--keyspace", "sales"]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(
    JSON.parse(r.stdout).message,
    /Cannot use --keyspace with --all-keyspaces/,
  );
  assert.equal(t.api.requests.length, 0);
});
