/**
 * The rules of the snapshot directory, end to end (the CLI as a subprocess under the shipped
 * sandbox): nothing is ever written into a snapshot, every writer takes the one lock, a selection
 * that selects nothing is refused while an empty database is backed up loudly, and one naming
 * rule is applied alike by verify, zip, restore, list and `latest`.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { parseManifest } from "../../src/manifest/mod.ts";
import { lockOutDir } from "../../src/snapshot/lock.ts";
import { FakeDataApi } from "../fakes/data_api/server.ts";
import { seedSample } from "../fakes/data_api/sample_data.ts";
import { copyDir } from "../support/snapshots.ts";
import { fakeEnv, ls, NOT_A_KEYSPACE, runCli, withFakeDataApi } from "./run_cli.ts";

type Scratch = Awaited<ReturnType<typeof withFakeDataApi>>;

/** One backup of a small sample; returns the snapshot's path. */
async function backedUp(t: Scratch, ...flags: string[]): Promise<string> {
  const r = await runCli(["backup", "--out", t.out, "--json", ...flags], {
    dir: t.dir,
    env: fakeEnv(t.api),
  });
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout).snapshot;
}

/** Every file of a snapshot directory with its bytes, to prove it was left alone. */
async function contents(dir: string): Promise<Array<[string, string]>> {
  const out: Array<[string, string]> = [];
  for (const name of await ls(dir)) {
    const info = await Deno.lstat(join(dir, name));
    out.push([name, info.isFile ? (await Deno.readFile(join(dir, name))).join(",") : "dir"]);
  }
  return out;
}

/** `restore … --dry-run` into a fresh, empty target. */
async function dryRestore(t: Scratch, ...args: string[]) {
  const target = await FakeDataApi.start({ logRequests: false });
  try {
    return await runCli(["restore", ...args, "--dry-run"], {
      dir: t.dir,
      env: fakeEnv(target, { ASTRA_DB_KEYSPACE: NOT_A_KEYSPACE }),
    });
  } finally {
    await target.close();
  }
}

Deno.test("rules: backup --out a snapshot, a path inside one, or a renamed one is refused; the snapshot stays whole", async () => {
  await using t = await withFakeDataApi({ logRequests: false });
  seedSample(t.api.store, { articles: 3, dimension: 4 });
  const snap = await backedUp(t);
  const renamed = join(t.dir, "mybackup");
  await copyDir(snap, renamed);
  const before = await contents(snap);
  for (
    const [out, is] of [
      [snap, "is"],
      [join(snap, "sub", "deeper"), "lies inside"],
      [renamed, "is"],
    ] as const
  ) {
    const r = await runCli(["backup", "--out", out], { dir: t.dir, env: fakeEnv(t.api) });
    assert.equal(r.code, 1, `${out}: ${r.stderr}`);
    const lines = r.stderr.trim().split("\n").filter((l) => !/ INFO |^info/i.test(l));
    assert.match(
      lines.at(-2) ?? "",
      new RegExp(`Refusing to write into .*: it ${is} the snapshot .*, which must stay exactly`),
    );
    assert.match(
      lines.at(-1) ?? "",
      /hint: pass the directory that holds the snapshots, e\.g\. --out /,
    );
  }
  assert.deepEqual(await contents(snap), before, "nothing was written into the snapshot");
  assert.equal((await runCli(["verify", snap], { dir: t.dir })).code, 0);
  assert.deepEqual(await ls(renamed), before.map(([n]) => n), "nor into the renamed copy");
});

Deno.test("rules: zip takes the output directory's lock, so clean-stale can never remove its work", async () => {
  await using t = await withFakeDataApi({ logRequests: false });
  seedSample(t.api.store, { articles: 3, dimension: 4 });
  const snap = await backedUp(t);
  // Another run (here: this test) holds the lock, as a backup --clean-stale 0s would.
  const held = await lockOutDir(t.out, { holder: "backup" });
  try {
    const r = await runCli(["zip", snap], { dir: t.dir });
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      /another astrabak run is writing into .*backups \(lock .*\.astrabak\.lock\): pid \d+, backup since /,
    );
    assert.deepEqual((await ls(t.out)).filter((n) => n.includes(".zip")), [], "nothing written");
  } finally {
    held.release();
  }
  const r = await runCli(["zip", snap], { dir: t.dir });
  assert.equal(r.code, 0, r.stderr);
});

Deno.test("rules: a selection that selects nothing is a configuration error naming what exists", async () => {
  await using t = await withFakeDataApi({ logRequests: false });
  seedSample(t.api.store, { articles: 3, dimension: 4 });
  const cases: Array<[string[], RegExp]> = [
    [
      // A contradiction of the flags themselves is refused before connecting.
      ["--collections", "customers", "--exclude", "customers"],
      /Cannot use --exclude customers: it excludes --collections customers/,
    ],
    [
      ["--exclude", "articles,customers,faq"],
      /Cannot back up: --exclude articles,customers,faq selects nothing; the database holds default_keyspace\.articles \(collection\), default_keyspace\.customers \(collection\), default_keyspace\.faq \(collection\)/,
    ],
    [
      ["--kind", "tables"],
      /Cannot back up: --kind tables selects nothing; the database holds default_keyspace\.articles \(collection\)/,
    ],
    [
      ["--collections", "nosuch"],
      /Cannot back up "nosuch": no such collection or table \(found: default_keyspace\.articles, /,
    ],
  ];
  for (const [flags, pattern] of cases) {
    const r = await runCli(["backup", "--out", t.out, ...flags], {
      dir: t.dir,
      env: fakeEnv(t.api),
    });
    assert.equal(r.code, 1, `${flags.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, pattern);
    assert.doesNotMatch(r.stdout, /Snapshot complete/);
  }
  assert.equal(await Deno.stat(t.out).then(() => true, () => false), false, "nothing written");
});

Deno.test("rules: an empty database is backed up with a loud warning, and restore latest refuses the empty snapshot", async () => {
  await using t = await withFakeDataApi({ logRequests: false });
  t.api.store.createCollection("default_keyspace", "notes", {});
  t.api.store.seed("default_keyspace", "notes", ['{"_id":1}']);
  const withData = await backedUp(t);
  t.api.store.deleteCollection("default_keyspace", "notes");

  const text = await runCli(["backup", "--out", t.out], { dir: t.dir, env: fakeEnv(t.api) });
  assert.equal(text.code, 0, text.stderr);
  assert.match(
    text.stdout,
    /^WARNING: EMPTY BACKUP: keyspace default_keyspace at .* holds no collections or tables; this snapshot contains nothing/,
  );
  assert.match(text.stderr, /EMPTY BACKUP/);
  const json = await runCli(["backup", "--out", t.out, "--json"], {
    dir: t.dir,
    env: fakeEnv(t.api),
  });
  assert.equal(json.code, 0, json.stderr);
  const report = JSON.parse(json.stdout);
  assert.match(report.warnings[0], /^EMPTY BACKUP: /);
  const m = parseManifest(await Deno.readFile(join(report.snapshot, "manifest.json")), "m");
  assert.deepEqual(m.warnings, report.warnings, "the manifest carries the warning too");
  assert.equal((await runCli(["verify", report.snapshot], { dir: t.dir })).code, 0);

  const latest = await dryRestore(t, "latest", "--from", t.out);
  assert.equal(latest.code, 1, latest.stderr);
  assert.match(
    latest.stderr,
    /Cannot use latest: the latest snapshot .*\d{8}_\d{6} is empty: it holds no collections or tables \(taken from .*, keyspace default_keyspace, at [^;]*\)/,
  );
  assert.match(
    latest.stderr,
    new RegExp(`hint: the newest snapshot with data is ${withData}: pass it by path`),
  );
  const explicit = await dryRestore(t, report.snapshot);
  assert.equal(explicit.code, 0, `an empty snapshot given by path is allowed:\n${explicit.stderr}`);
});

Deno.test("rules: an empty database whose server lists no tables never claims 'no tables'", async () => {
  // v1.0.18–v1.0.34 with the tables flag off: listTables answers TABLE_FEATURE_NOT_ENABLED.
  await using t = await withFakeDataApi({ logRequests: false, tablesEnabled: false });
  for (const flags of [[], ["--kind", "collections"]]) {
    const r = await runCli(["backup", "--out", t.out, "--json", ...flags], {
      dir: t.dir,
      env: fakeEnv(t.api),
    });
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout);
    const empty = report.warnings.find((w: string) => w.startsWith("EMPTY BACKUP: "));
    assert.match(
      empty,
      /^EMPTY BACKUP: keyspace default_keyspace at .* holds no collections; tables could not be listed \(.*TABLE_FEATURE_NOT_ENABLED.*\); this snapshot contains nothing/,
      flags.join(" "),
    );
    assert.doesNotMatch(r.stderr, /no collections or tables/);
    const m = parseManifest(await Deno.readFile(join(report.snapshot, "manifest.json")), "m");
    assert.deepEqual(m.warnings, report.warnings, "the manifest says the same");
    await Deno.remove(report.snapshot, { recursive: true });
  }
  const text = await runCli(["backup", "--out", t.out], { dir: t.dir, env: fakeEnv(t.api) });
  assert.equal(text.code, 0, text.stderr);
  assert.match(
    text.stdout,
    /^WARNING: EMPTY BACKUP: keyspace default_keyspace at .* holds no collections; tables could not be listed/m,
  );
  const latest = await dryRestore(t, "latest", "--from", t.out);
  assert.equal(latest.code, 1, latest.stderr);
  assert.match(
    latest.stderr,
    /is empty: it holds no collections or tables \(taken from .*; its backup warned: keyspace default_keyspace: tables not backed up: .*TABLE_FEATURE_NOT_ENABLED/,
  );
  assert.doesNotMatch(latest.stderr, /had no collections or tables/);
});

Deno.test("rules: one naming rule: verify, zip and restore refuse a renamed snapshot, list shows it, latest follows symlinks alike", async () => {
  await using t = await withFakeDataApi({ logRequests: false });
  seedSample(t.api.store, { articles: 3, dimension: 4 });
  const snap = await backedUp(t);
  const ts = snap.slice(-15);

  // Renamed to something that is not a snapshot name: every reader says the same.
  const mine = join(t.dir, "mybackup");
  await copyDir(snap, mine);
  const rule = new RegExp(
    `the snapshot is named mybackup but its manifest says ${ts} \\(snapshot ${ts}, complete\\); a snapshot must keep its own name: rename the directory to ${ts}`,
  );
  const v = await runCli(["verify", mine], { dir: t.dir });
  assert.equal(v.code, 2, v.stdout);
  assert.match(v.stdout, rule);
  const z = await runCli(["zip", mine], { dir: t.dir });
  assert.equal(z.code, 2, z.stderr);
  assert.match(z.stderr, rule);
  assert.equal(await Deno.stat(`${mine}.zip`).then(() => true, () => false), false);
  const r = await dryRestore(t, mine);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, rule);

  // Renamed to another timestamp: list says misnamed, latest refuses to take it.
  const lying = join(t.out, "20991231_235959");
  await copyDir(snap, lying);
  const list = await runCli(["list", "--from", t.out, "--json"], { dir: t.dir });
  assert.equal(list.code, 0, list.stderr);
  const entry = JSON.parse(list.stdout).local.find((s: { path: string }) => s.path === lying);
  assert.equal(entry.status, "misnamed");
  assert.match(entry.problem, /the snapshot is named 20991231_235959 but its manifest says/);
  const latest = await dryRestore(t, "latest", "--from", t.out);
  assert.equal(latest.code, 2, latest.stderr);
  assert.match(latest.stderr, /Cannot use latest .*20991231_235959: the snapshot is named/);
  await Deno.remove(lying, { recursive: true });

  // A symbolic link under the snapshot's own name: list and latest both take it.
  const elsewhere = join(t.dir, "archive");
  await Deno.mkdir(elsewhere);
  await Deno.rename(snap, join(elsewhere, ts));
  await Deno.symlink(join(elsewhere, ts), snap);
  const listed = JSON.parse(
    (await runCli(["list", "--from", t.out, "--json"], { dir: t.dir })).stdout,
  );
  assert.equal(listed.local.find((s: { path: string }) => s.path === snap).status, "complete");
  const viaLink = await dryRestore(t, "latest", "--from", t.out, "--json");
  assert.equal(viaLink.code, 0, viaLink.stderr);
  assert.equal(JSON.parse(viaLink.stdout).snapshot, snap);
});
