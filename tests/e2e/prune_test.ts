/**
 * Retention end to end: `astrabak prune` and `backup --keep-*` through the CLI (subprocess, shipped
 * sandbox) on a local snapshot directory and on the fake Box (tests/fakes/box), whose DELETE moves
 * files to the trash as Box does.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { lockOutDir } from "../../src/snapshot/lock.ts";
import { FakeBox } from "../fakes/box/server.ts";
import { FakeDataApi } from "../fakes/data_api/server.ts";
import { seedSample } from "../fakes/data_api/sample_data.ts";
import { fakeEnv, ls, runCli } from "./run_cli.ts";
import { canMountTmpfs, modesBypassed } from "../support/host.ts";

const SECRET = "box-SECRET-prune-4e8d2a";

/** Creates snapshot-like entries: `*.zip` as files, everything else as a directory with a file. */
async function seed(dir: string, names: string[]): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  for (const name of names) {
    if (name.endsWith(".zip") || name.includes(".txt")) {
      await Deno.writeTextFile(join(dir, name), name);
    } else {
      await Deno.mkdir(join(dir, name, "sub"), { recursive: true });
      await Deno.writeTextFile(join(dir, name, "manifest.json"), "{}");
      await Deno.writeTextFile(join(dir, name, "sub", "data"), "x");
    }
  }
}

async function setup() {
  const api = await FakeDataApi.start({ logRequests: false });
  const box = await FakeBox.start({ clientSecret: SECRET });
  const folder = box.createFolder("astra-backups");
  const dir = await Deno.makeTempDir({ prefix: "astrabak-prune-" });
  const env = fakeEnv(api, {
    BOX_CLIENT_ID: box.clientId,
    BOX_CLIENT_SECRET: SECRET,
    BOX_ENTERPRISE_ID: box.enterpriseId!,
    BOX_API_BASE_URL: box.apiBaseUrl,
    BOX_UPLOAD_BASE_URL: box.uploadBaseUrl,
  });
  return {
    api,
    box,
    folder,
    dir,
    out: join(dir, "backups"),
    run: (args: string[], extra: Record<string, string> = {}) =>
      runCli(args, { dir, env: { ...env, ...extra } }),
    async [Symbol.asyncDispose]() {
      await api.close();
      await box.close();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

const LOCAL = [
  "20261110_020000",
  "20261110_020000.zip",
  "20261109_020000",
  "20261108_230000.INCOMPLETE",
  "20261108_020000",
  "20261101_020000.zip",
  "20261015_020000",
  "notes.txt",
  "20261001_000000.bak",
  ".20261109_120000.zip.inprogress.txt",
];

Deno.test("prune: --dry-run prints every snapshot with keep/remove and its rule; the real run removes exactly those", async () => {
  await using t = await setup();
  await seed(t.out, LOCAL);
  const before = await ls(t.out);
  const rules = ["--keep-daily", "2", "--keep-monthly", "2"];

  const dry = await t.run(["prune", "--from", t.out, ...rules, "--dry-run"]);
  assert.equal(dry.code, 0, dry.stderr);
  assert.deepEqual(await ls(t.out), before, "a dry run removes nothing");
  const rows = dry.stdout.split("\n").filter((l) => /^ {2}\d{8}_\d{6}/.test(l));
  assert.deepEqual(rows.map((l) => l.trim().split(/\s+/).slice(0, 3).join(" ")), [
    "20261110_020000 complete keep",
    "20261109_020000 complete keep",
    "20261108_230000 incomplete remove",
    "20261108_020000 complete remove",
    "20261101_020000 complete remove",
    "20261015_020000 complete keep",
  ]);
  assert.match(rows[0]!, /keep {5}daily, monthly {2}\[20261110_020000, 20261110_020000\.zip\]/);
  assert.match(rows[2]!, /incomplete; newer complete snapshot 20261109_020000 exists/);
  assert.match(rows[3]!, /no rule keeps it/);
  assert.match(rows[5]!, /keep {5}monthly/);
  assert.match(dry.stdout, /3 kept, 3 to remove \(dry run: nothing was removed\)/);

  const json = await t.run(["prune", "--from", t.out, ...rules, "--dry-run", "--json"]);
  assert.equal(json.code, 0, json.stderr);
  const report = JSON.parse(json.stdout);
  assert.equal(report.dry_run, true);
  assert.equal(report.policy, "keep 2 daily, 2 monthly; keep-min 1");
  assert.deepEqual(report.locations[0].snapshots[4], {
    timestamp: "20261101_020000",
    state: "complete",
    names: ["20261101_020000.zip"],
    action: "remove",
    reasons: ["no rule keeps it"],
    removed: false,
  });

  const real = await t.run(["prune", "--from", t.out, ...rules]);
  assert.equal(real.code, 0, real.stderr);
  assert.deepEqual(
    real.stdout.split("\n").filter((l) => /^ {2}\d{8}_\d{6}/.test(l)).map((l) =>
      l.trim().split(/\s+/).slice(0, 3).join(" ")
    ),
    rows.map((l) => l.trim().split(/\s+/).slice(0, 3).join(" ").replace(/remove$/, "removed")),
    "the same table, with the removals done",
  );
  assert.match(real.stdout, /3 kept, 3 removed, 0 failed/);
  assert.deepEqual(await ls(t.out), [
    ".20261109_120000.zip.inprogress.txt",
    ".astrabak.lock",
    "20261001_000000.bak",
    "20261015_020000",
    "20261109_020000",
    "20261110_020000",
    "20261110_020000.zip",
    "notes.txt",
  ], "exactly the three decided on are gone; names that are not snapshot names are untouched");
});

Deno.test("prune: no rule, no directory, or a running backup's lock: exit 1 and nothing removed", async () => {
  await using t = await setup();
  await seed(t.out, ["20261110_020000", "20261109_020000", ".20261111_020000.inprogress"]);
  const before = await ls(t.out);

  const none = await t.run(["prune", "--from", t.out]);
  assert.equal(none.code, 1);
  assert.match(none.stderr, /Cannot prune: no keep rule given/);

  const onlyMin = await t.run(["prune", "--from", t.out, "--keep-min", "2"]);
  assert.equal(onlyMin.code, 1);

  const missing = await t.run(["prune", "--from", join(t.dir, "nope"), "--keep-last", "1"]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /Cannot prune .*nope: no such directory/);

  const badWithin = await t.run(["prune", "--from", t.out, "--keep-within", "1 week"]);
  assert.equal(badWithin.code, 1);
  assert.match(badWithin.stderr, /--keep-within.*expected a duration like 30d/);

  const lock = await lockOutDir(t.out, { holder: "backup" }); // a backup is running
  try {
    const busy = await t.run(["prune", "--from", t.out, "--keep-last", "1"]);
    assert.equal(busy.code, 1, busy.stdout);
    assert.match(busy.stderr, /another astrabak run is writing into/);
    const dry = await t.run(["prune", "--from", t.out, "--keep-last", "1", "--dry-run"]);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(
      dry.stdout,
      /20261111_020000 {2}inprogress {2}keep {5}in progress: a running backup holds the lock/,
    );
  } finally {
    lock.release();
  }
  assert.deepEqual((await ls(t.out)).filter((n) => n !== ".astrabak.lock"), before);

  // With the backup gone, its .inprogress is a crashed run's leftover: it goes only once a newer
  // complete snapshot exists, which is not the case here.
  const after = await t.run(["prune", "--from", t.out, "--keep-last", "1", "--json"]);
  assert.equal(after.code, 0, after.stderr);
  const snaps = JSON.parse(after.stdout).locations[0].snapshots;
  assert.deepEqual(snaps.map((s: { action: string }) => s.action), ["keep", "keep", "remove"]);
  assert.deepEqual(snaps[0].reasons, ["unfinished; no newer complete snapshot"]);
});

const ROOT = await modesBypassed();
// Root ignores directory modes; there a tmpfs mounted inside the snapshot makes its removal fail.
const CANNOT_FAIL_A_REMOVAL = ROOT && !(await canMountTmpfs());

Deno.test({
  name:
    `prune: a failed removal is named, the others go on, exit 2; no damaged snapshot keeps its name${
      CANNOT_FAIL_A_REMOVAL ? " (ignored: as root, needs mount -t tmpfs)" : ""
    }`,
  ignore: CANNOT_FAIL_A_REMOVAL,
  fn: async (t) => {
    await using s = await setup();
    await seed(s.out, ["20261110_020000", "20261109_020000", "20261108_020000", "20261107_020000"]);
    // Make 20261108_020000 impossible to remove completely: a mount point inside it (root), or a
    // read-only subdirectory (anyone else).
    const stuck = join(s.out, "20261108_020000", "sub");
    const root = ROOT;
    if (root) {
      const mounted = await new Deno.Command("mount", {
        args: ["-t", "tmpfs", "-o", "size=64k", "tmpfs", stuck],
      }).output();
      assert.ok(mounted.success, "mount tmpfs");
      await Deno.writeTextFile(join(stuck, "data"), "x");
    } else {
      await Deno.chmod(stuck, 0o500);
    }
    let unmounted = false;
    const release = async () => {
      if (unmounted) return;
      unmounted = true;
      if (root) {
        await new Deno.Command("umount", { args: [join(s.out, ".20261108_020000.pruning", "sub")] })
          .output();
      } else await Deno.chmod(join(s.out, ".20261108_020000.pruning", "sub"), 0o700);
    };
    try {
      const r = await s.run(["prune", "--from", s.out, "--keep-last", "1", "--json"]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /ERROR Cannot remove 20261108_020000 in .*backups: .*(busy|denied)/i);
      const report = JSON.parse(r.stdout);
      assert.equal(report.failed, 1);
      assert.equal(report.removed, 2, "the removals after the failed one went on");
      assert.deepEqual(await ls(s.out), [
        ".20261108_020000.pruning",
        ".astrabak.lock",
        "20261110_020000",
      ], "the half-removed snapshot no longer has a snapshot name");
      await t.step("the next prune removes the leftover", async () => {
        await release();
        const again = await s.run(["prune", "--from", s.out, "--keep-last", "1"]);
        assert.equal(again.code, 0, again.stderr);
        assert.match(
          again.stdout,
          /leftover of an interrupted prune: \.20261108_020000\.pruning \(removed\)/,
        );
        assert.deepEqual(await ls(s.out), [".astrabak.lock", "20261110_020000"]);
      });
    } finally {
      await release().catch(() => {});
    }
  },
});

Deno.test("prune --box-folder: Box decided from what Box holds, deleted into its trash; a failed delete exits 2", async () => {
  await using t = await setup();
  const bytes = new TextEncoder().encode("zip");
  for (
    const n of [
      "20261110_020000.zip",
      "20261103_020000.zip",
      "20261027_020000.zip",
      "20261020_020000.zip",
      "notes.zip",
      "20261001_000000.zip.txt",
    ]
  ) {
    t.box.putFile(t.folder.id, n, bytes);
  }
  // The local directory holds other snapshots: it is decided on its own.
  await seed(t.out, ["20261111_020000", "20261020_020000"]);
  t.box.faults.add({
    op: "delete",
    after: 1,
    action: { kind: "status", status: 403, code: "access_denied_insufficient_permissions" },
  });
  const r = await t.run([
    "prune",
    "--from",
    t.out,
    "--box-folder",
    t.folder.id,
    "--keep-weekly",
    "1",
    "--json",
  ]);
  assert.equal(r.code, 2, r.stderr);
  const report = JSON.parse(r.stdout);
  const [local, box] = report.locations;
  assert.equal(local.where, "local");
  assert.deepEqual(local.snapshots.map((s: { action: string }) => s.action), ["keep", "remove"]);
  assert.equal(box.where, "box");
  assert.equal(box.location, t.folder.id);
  assert.deepEqual(
    box.snapshots.map((s: { timestamp: string; action: string; removed: boolean }) =>
      `${s.timestamp} ${s.action} ${s.removed}`
    ),
    [
      "20261110_020000 keep false",
      "20261103_020000 remove true",
      "20261027_020000 remove false",
      "20261020_020000 remove true",
    ],
  );
  assert.match(
    box.snapshots[2].error,
    /Cannot delete 20261027_020000\.zip \(Box file \d+\): HTTP 403/,
  );
  assert.match(r.stderr, /Moved 20261103_020000\.zip \(Box file \d+\) to the Box trash/);
  assert.deepEqual(
    t.box.trashed().map((f) => f.name).sort(),
    ["20261020_020000.zip", "20261103_020000.zip"],
  );
  assert.deepEqual(
    t.box.files().filter((f) => f.parentId === t.folder.id).map((f) => f.name).sort(),
    ["20261001_000000.zip.txt", "20261027_020000.zip", "20261110_020000.zip", "notes.zip"],
    "names that are not snapshot names are never touched",
  );
  assert.deepEqual(await ls(t.out), [".astrabak.lock", "20261111_020000"]);
  assert.ok(!r.stdout.includes(SECRET) && !r.stderr.includes(SECRET));
});

Deno.test("prune --box-folder: a zip deleted behind prune's back counts as removed", async () => {
  await using t = await setup();
  const gone = t.box.putFile(t.folder.id, "20261101_020000.zip", new Uint8Array([1]));
  t.box.putFile(t.folder.id, "20261102_020000.zip", new Uint8Array([2]));
  t.box.faults.add({
    op: "delete",
    action: { kind: "run", fn: () => t.box.store.files.delete(gone.id) },
  });
  const r = await t.run(["prune", "--box-folder", t.folder.id, "--keep-last", "1", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).removed, 1);
  assert.deepEqual(t.box.requestsOf("delete").map((q) => q.status), [404]);
  assert.match(r.stderr, /20261101_020000\.zip \(Box file \d+\) was already gone from Box/);
});

Deno.test("backup --keep-*: prunes --out and Box after a complete backup, never after an incomplete one", async () => {
  await using t = await setup();
  seedSample(t.api.store, { articles: 10, dimension: 4 });
  await seed(t.out, ["20261101_020000", "20261102_020000", "20261103_020000"]);
  t.box.putFile(t.folder.id, "20261103_020000.zip", new Uint8Array([1]));
  t.box.putFile(t.folder.id, "20261102_020000.zip", new Uint8Array([2]));

  // 1. An incomplete backup: nothing is pruned, whatever the rules say.
  t.api.faults.add({
    command: "find",
    collection: "customers",
    times: Infinity,
    action: { kind: "error", errorCode: "UNKNOWN_COLLECTION_OR_TABLE", message: "dropped" },
  });
  const bad = await t.run(["backup", "--out", t.out, "--keep-last", "1", "--json"]);
  assert.equal(bad.code, 2, bad.stderr);
  assert.match(bad.stderr, /Not pruning: the snapshot is INCOMPLETE/);
  assert.equal(JSON.parse(bad.stdout).prune, null);
  const incomplete = (await ls(t.out)).find((n) => n.endsWith(".INCOMPLETE"))!;
  assert.deepEqual((await ls(t.out)).filter((n) => /^2026110/.test(n)), [
    "20261101_020000",
    "20261102_020000",
    "20261103_020000",
  ]);
  t.api.faults.clear();

  // 2. A complete backup with an off-host copy: both destinations are pruned.
  const good = await t.run([
    "backup",
    "--out",
    t.out,
    "--box-folder",
    t.folder.id,
    "--keep-last",
    "2",
    "--json",
  ]);
  assert.equal(good.code, 0, good.stderr);
  const report = JSON.parse(good.stdout);
  assert.equal(report.status, "complete");
  const ts = report.manifest.snapshot as string;
  assert.deepEqual(
    (await ls(t.out)).filter((n) => n !== ".astrabak.lock"),
    ["20261103_020000", ts, `${ts}.zip`],
    `kept the new snapshot and the newest older one; removed ${incomplete} and the rest`,
  );
  assert.deepEqual(
    t.box.files().filter((f) => f.parentId === t.folder.id).map((f) => f.name).sort(),
    ["20261103_020000.zip", `${ts}.zip`],
  );
  assert.deepEqual(t.box.trashed().map((f) => f.name), ["20261102_020000.zip"]);
  assert.equal(report.prune.removed, 4);
  assert.match(good.stderr, /Removed .*20261101_020000/);

  // 3. Rules are checked before anything is backed up.
  const noRule = await t.run(["backup", "--out", t.out, "--keep-min", "3"]);
  assert.equal(noRule.code, 1);
  assert.match(noRule.stderr, /Cannot use --keep-min without a keep rule/);
});
