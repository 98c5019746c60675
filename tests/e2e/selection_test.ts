/**
 * Choosing what a command works on, end to end (the CLI as a subprocess under the shipped
 * sandbox): collections named `name` (every keyspace) or `keyspace.name` in backup and restore;
 * names checked against the manifest before the deep verify; contradictory flags refused and
 * unused ones warned about; `latest` for verify as for restore; and Box credentials asked for
 * only when Box is actually read.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { FakeDataApi } from "../fakes/data_api/server.ts";
import { seedSample } from "../fakes/data_api/sample_data.ts";
import { flipByte, makeSnapshot } from "../support/snapshots.ts";
import { fakeEnv, NOT_A_KEYSPACE, runCli } from "./run_cli.ts";

const KS = "default_keyspace";

async function setup() {
  const source = await FakeDataApi.start({ logRequests: false });
  const target = await FakeDataApi.start();
  const dir = await Deno.makeTempDir({ prefix: "astrabak-selection-" });
  return {
    source,
    target,
    dir,
    async [Symbol.asyncDispose]() {
      await source.close();
      await target.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

type T = Awaited<ReturnType<typeof setup>>;

function backup(t: T, out: string, args: string[]) {
  return runCli(["backup", "--out", join(t.dir, out), ...args], {
    dir: t.dir,
    env: fakeEnv(t.source),
  });
}

function restore(t: T, args: string[], env: Record<string, string> = {}) {
  return runCli(["restore", ...args], {
    dir: t.dir,
    env: fakeEnv(t.target, { ASTRA_DB_KEYSPACE: NOT_A_KEYSPACE, ...env }),
  });
}

const names = (t: T, keyspace: string) => [...t.target.store.keyspace(keyspace).keys()].sort();

Deno.test("selection: keyspace.name picks one keyspace's collection in backup and restore; name picks it in every keyspace", async () => {
  await using t = await setup();
  seedSample(t.source.store, { articles: 5, dimension: 4 });
  t.source.store.keyspaces.set("other", new Map());
  seedSample(t.source.store, { keyspace: "other", articles: 3, dimension: 4 });
  const both = ["--keyspace", `${KS},other`];

  // Backup: the form astrabak prints is accepted, and mixes with plain names.
  const some = await backup(t, "some", [
    ...both,
    "--collections",
    "other.customers,articles",
    "--exclude",
    "other.articles",
    "--json",
  ]);
  assert.equal(some.code, 0, some.stderr);
  assert.deepEqual(
    JSON.parse(some.stdout).collections.map((c: { keyspace: string; name: string }) =>
      `${c.keyspace}.${c.name}`
    ).sort(),
    [`${KS}.articles`, "other.customers"],
  );

  const all = await backup(t, "all", [...both, "--json"]);
  assert.equal(all.code, 0, all.stderr);
  const snapshot = JSON.parse(all.stdout).snapshot as string;

  // Restore: keyspace.name selects in one keyspace only.
  t.target.store.keyspaces.set("other", new Map());
  const one = await restore(t, [snapshot, "--collections", `${KS}.customers`, "--dry-run"]);
  assert.equal(one.code, 0, one.stderr);
  assert.match(
    one.stdout,
    /would create {2}default_keyspace\.customers → default_keyspace\.customers/,
  );
  assert.doesNotMatch(one.stdout, /other\.customers/);

  const r = await restore(t, [
    snapshot,
    "--collections",
    "customers,other.articles",
    "--rename",
    "other.customers=clients",
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(names(t, KS), ["customers"]);
  assert.deepEqual(names(t, "other"), ["articles", "clients"]);
  assert.match(r.stdout, /other\.customers → other\.clients/);

  const target = await restore(t, [snapshot, "--rename", "articles=other.x", "--dry-run"]);
  assert.equal(target.code, 1);
  assert.match(target.stderr, /hint: give the new name without a keyspace; --keyspace chooses/);
});

Deno.test("selection: unknown names are refused from the manifest, before the deep verify and before connecting", async () => {
  await using t = await setup();
  const snap = await makeSnapshot(t.dir, { sample: { articles: 5, dimension: 4 } });
  // A damaged data file: only the deep verify would notice it, so a name error reported instead
  // proves the names were checked first.
  await flipByte(join(snap.snapshot, `${KS}.faq.jsonl.gz`), 30);
  for (
    const [args, message] of [
      [
        ["--rename", "nosuch=x"],
        /--rename "nosuch" is not in the snapshot \(it holds default_keyspace\.articles/,
      ],
      [["--collections", "nosuch"], /--collections "nosuch" is not in the snapshot/],
      [
        ["--collections", "other.articles"],
        /--collections "other\.articles" is not in the snapshot/,
      ],
      [
        ["--collections", "customers", "--rename", "articles=x"],
        /--rename articles=x names a collection that --collections leaves out/,
      ],
      [
        ["--rename", "articles=x", "--rename", `${KS}.articles=y`],
        /default_keyspace\.articles is renamed twice \(articles=x, default_keyspace\.articles=y\)/,
      ],
    ] as const
  ) {
    const r = await restore(t, [snap.snapshot, ...args]);
    assert.equal(r.code, 1, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, message);
    assert.doesNotMatch(r.stderr, /Verifying/, "refused before the deep verify");
  }
  assert.equal(t.target.requests.length, 0, "nothing was asked of the target");
});

Deno.test("selection: --vectorize reembed without a vectorize collection is warned about", async () => {
  await using t = await setup();
  const snap = await makeSnapshot(t.dir, { sample: { articles: 5, dimension: 4 } });
  const none = await restore(t, [
    snap.snapshot,
    "--collections",
    "customers",
    "--vectorize",
    "reembed",
    "--dry-run",
  ]);
  assert.equal(none.code, 0, none.stderr);
  assert.match(none.stderr, /WARN .*--vectorize reembed changes nothing/);
  const faq = await restore(t, [
    snap.snapshot,
    "--collections",
    "faq",
    "--vectorize",
    "reembed",
    "--dry-run",
  ], { ASTRABAK_EMBEDDING_API_KEY: "sk-selection-test-key" });
  assert.equal(faq.code, 0, faq.stderr);
  assert.doesNotMatch(faq.stderr, /changes nothing/);
});

Deno.test("selection: contradictory backup flags are refused; an --exclude that matches nothing is a warning", async () => {
  await using t = await setup();
  seedSample(t.source.store, { articles: 5, dimension: 4 });
  const level = await backup(t, "a", ["--no-compress", "--compression-level", "9"]);
  assert.equal(level.code, 1);
  assert.match(level.stderr, /Cannot use --compression-level with --no-compress/);

  const both = await backup(t, "b", ["--collections", "customers,faq", "--exclude", "customers"]);
  assert.equal(both.code, 1);
  assert.match(both.stderr, /Cannot use --exclude customers: it excludes --collections customers/);
  const narrower = await backup(t, "c", [
    "--collections",
    `${KS}.customers`,
    "--exclude",
    "customers",
  ]);
  assert.equal(narrower.code, 1, "excluding every keyspace's customers also excludes ks.customers");
  assert.equal(t.source.requests.length, 0, "refused before connecting");

  const exclude = await backup(t, "d", ["--exclude", "nosuch,faq", "--json"]);
  assert.equal(exclude.code, 0, exclude.stderr);
  assert.match(exclude.stderr, /WARN .*--exclude "nosuch" matches no collection or table/);
  assert.equal(JSON.parse(exclude.stdout).collections.length, 2);
});

Deno.test("selection: Box credentials are needed only when Box is read; verify takes latest like restore", async () => {
  await using t = await setup();
  const snap = await makeSnapshot(t.dir, { sample: { articles: 5, dimension: 4 } });
  // A cron env file that names a folder but holds no Box credentials.
  const folderOnly = { BOX_FOLDER_ID: "123456789" };

  const latest = await restore(t, ["latest", "--dry-run", "--json"], folderOnly);
  assert.equal(latest.code, 0, latest.stderr);
  assert.equal(JSON.parse(latest.stdout).snapshot, join("backups", snap.manifest.snapshot));

  const flagged = await restore(t, [snap.snapshot, "--box-folder", "123", "--dry-run"]);
  assert.equal(flagged.code, 0, flagged.stderr);
  assert.match(flagged.stderr, /WARN .*--box-folder is not used: .* is a local snapshot/);

  const from = await restore(t, [snap.snapshot, "--from", t.dir, "--dry-run"]);
  assert.equal(from.code, 0, from.stderr);
  assert.match(from.stderr, /WARN .*--from is not used/);

  const verify = (args: string[], env: Record<string, string> = {}) =>
    runCli(["verify", ...args], { dir: t.dir, env });
  const vLatest = await verify(["latest"], folderOnly);
  assert.equal(vLatest.code, 0, vLatest.stderr);
  assert.match(vLatest.stdout, new RegExp(`Verified .*backups/${snap.manifest.snapshot} `));
  const vFrom = await verify(["latest", "--from", join(t.dir, "backups"), "--json"]);
  assert.equal(vFrom.code, 0, vFrom.stderr);
  assert.equal(JSON.parse(vFrom.stdout).path, snap.snapshot);
  const vFlag = await verify([snap.snapshot, "--box-folder", "123"]);
  assert.equal(vFlag.code, 0, vFlag.stderr);
  const none = await verify(["latest", "--from", join(t.dir, "nothing")]);
  assert.equal(none.code, 1);
  assert.match(none.stderr, /nothing does not exist/);

  // Reading Box still needs them, and says so.
  for (
    const args of [
      ["restore", "box:latest", "--dry-run"],
      ["restore", "latest", "--box-folder", "123", "--dry-run"],
      ["verify", "box:latest"],
      ["verify", "latest", "--box-folder", "123"],
    ]
  ) {
    const r = await runCli(args, { dir: t.dir, env: fakeEnv(t.target, folderOnly) });
    assert.equal(r.code, 1, args.join(" "));
    assert.match(r.stderr, /BOX_CLIENT_ID and BOX_CLIENT_SECRET must be set/, args.join(" "));
  }
});
