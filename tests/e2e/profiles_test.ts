/**
 * The whole round trip (backup → verify → restore into a second fake → compare) against every
 * server profile the fake plays (tests/fakes/data_api/profiles.ts), restores from one profile
 * into another, and the servers the CLI cannot fully serve ending with a clear message and a
 * documented exit code rather than a partial snapshot that looks whole.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { parseManifest } from "../../src/manifest/mod.ts";
import { ExitCode } from "../../src/exit_codes.ts";
import { PROFILE_NAMES, type ProfileName, PROFILES } from "../fakes/data_api/profiles.ts";
import { seedSample, seedTables } from "../fakes/data_api/sample_data.ts";
import { FakeDataApi, type FakeDataApiOptions } from "../fakes/data_api/server.ts";
import { fakeEnv, NOT_A_KEYSPACE, runCli } from "./run_cli.ts";

const KS = "default_keyspace";

async function start(name: ProfileName, extra: FakeDataApiOptions = {}) {
  return await FakeDataApi.start({ ...PROFILES[name].options, ...extra });
}

async function seeded(name: ProfileName, extra: FakeDataApiOptions = {}) {
  const api = await start(name, extra);
  seedSample(api.store, { articles: 45, dimension: 8 });
  seedTables(api.store);
  return api;
}

/** Whether the profile's server offers tables (its feature flag). */
const tablesOn = (o: FakeDataApiOptions) => o.tablesEnabled !== false;

function collectionDocs(api: FakeDataApi, name: string): string[] {
  return [...api.store.keyspace(KS).get(name)!.docs.values()].map((d) => d.full).sort();
}

async function roundTrip(from: ProfileName, to: ProfileName, adapt?: RegExp) {
  const dir = await Deno.makeTempDir({ prefix: "astrabak-profile-" });
  const source = await seeded(from);
  const target = await start(to);
  try {
    const backup = await runCli(["backup", "--out", join(dir, "b"), "--json"], {
      dir,
      env: fakeEnv(source),
    });
    assert.equal(backup.code, ExitCode.Ok, `${from}: ${backup.stderr}`);
    const snapshot = JSON.parse(backup.stdout).snapshot as string;
    const m = parseManifest(await Deno.readFile(join(snapshot, "manifest.json")), snapshot);
    const names = m.collections.map((c) => c.name).sort();
    if (tablesOn(PROFILES[from].options)) {
      assert.deepEqual(names, ["articles", "audit_log", "customers", "faq", "products"]);
      assert.equal(m.warnings, undefined);
    } else {
      // Tables off: a complete snapshot of the collections that says what it lacks.
      assert.deepEqual(names, ["articles", "customers", "faq"]);
      assert.match(m.warnings!.join(), /tables not backed up: .*TABLE_FEATURE_NOT_ENABLED/);
      assert.match(backup.stderr, /WARN .*tables not backed up/);
    }
    const verify = await runCli(["verify", snapshot], { dir, env: {} });
    assert.equal(verify.code, ExitCode.Ok, `${from}: ${verify.stderr}`);
    const env = fakeEnv(target, { ASTRA_DB_KEYSPACE: NOT_A_KEYSPACE });
    if (adapt) {
      // The target lacks a feature the snapshot's definitions use: refused in the plan, with
      // nothing written, unless --adapt-definitions, which reports every change.
      const refused = await runCli(["restore", snapshot], { dir, env });
      assert.equal(refused.code, ExitCode.Config, refused.stderr);
      assert.match(refused.stderr, adapt);
      assert.match(refused.stderr, /--adapt-definitions/);
      assert.equal(target.store.keyspace(KS).size, 0, "nothing created");
    }
    const restore = await runCli(
      ["restore", snapshot, "--json", ...(adapt ? ["--adapt-definitions"] : [])],
      { dir, env },
    );
    assert.equal(restore.code, ExitCode.Ok, `${from} → ${to}: ${restore.stderr}`);
    if (adapt) {
      const report = JSON.parse(restore.stdout) as {
        collections: Array<{ kind: string; definition_changes: string[] }>;
      };
      assert.ok(
        report.collections.some((c) => c.kind === "collection" && c.definition_changes.length > 0),
        "every change reported",
      );
    }
    for (const c of ["articles", "customers"]) {
      assert.deepEqual(collectionDocs(target, c), collectionDocs(source, c), `${c}`);
    }
    for (const t of m.collections.filter((c) => c.kind === "table").map((c) => c.name)) {
      assert.deepEqual(
        target.store.tableRows(KS, t).sort(),
        source.store.tableRows(KS, t).sort(),
        `${t} rows`,
      );
      assert.equal(target.store.tableDefinition(KS, t), source.store.tableDefinition(KS, t));
    }
  } finally {
    await source.close();
    await target.close();
    await Deno.remove(dir, { recursive: true });
  }
}

for (const name of PROFILE_NAMES) {
  Deno.test(`profiles: backup → verify → restore → compare on ${name}`, async () => {
    await roundTrip(name, name);
  });
}

Deno.test("profiles: a snapshot of Astra restores into current HCD (reranking off): refused, or adapted", async () => {
  await roundTrip("astra", "hcd-current", /RERANKING_FEATURE_NOT_ENABLED/);
});

Deno.test("profiles: a snapshot of current HCD restores into Astra", async () => {
  await roundTrip("hcd-current", "astra");
});

Deno.test("profiles: servers astrabak cannot fully serve end with exit 1 and the reason, nothing written", async () => {
  const dir = await Deno.makeTempDir({ prefix: "astrabak-profile-" });
  try {
    // v1.0.18 with the tables flag switched on: tables, but no listIndexes/listTypes to describe
    // them (added in v1.0.19/v1.0.30).
    const old = await seeded("hcd-1.0.18", { tablesEnabled: true });
    try {
      const r = await runCli(["backup", "--out", join(dir, "b")], { dir, env: fakeEnv(old) });
      assert.equal(r.code, ExitCode.Config, r.stderr);
      assert.match(
        r.stderr,
        /this Data API has no list(Types|Indexes) \(added in server v1\.0\.(30|19)\)/,
      );
      assert.match(r.stderr, /--kind collections/);
      await assert.rejects(Deno.stat(join(dir, "b")), Deno.errors.NotFound, "nothing written");
      // --kind collections is served fully.
      const c = await runCli(["backup", "--out", join(dir, "b"), "--kind", "collections"], {
        dir,
        env: fakeEnv(old),
      });
      assert.equal(c.code, ExitCode.Ok, c.stderr);
    } finally {
      await old.close();
    }
    // Tables asked for on a server whose tables feature is off.
    const off = await seeded("hcd-1.0.25");
    try {
      const r = await runCli(["backup", "--out", join(dir, "c"), "--kind", "tables"], {
        dir,
        env: fakeEnv(off),
      });
      assert.equal(r.code, ExitCode.Config, r.stderr);
      assert.match(r.stderr, /tables are not available on this Data API/);
    } finally {
      await off.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("profiles: on an old server one document's driver timeout makes insertMany an HTTP 504; the restore is still exact", async () => {
  const dir = await Deno.makeTempDir({ prefix: "astrabak-profile-" });
  const source = await seeded("hcd-1.0.25");
  const target = await start("hcd-1.0.25");
  try {
    const backup = await runCli(["backup", "--out", join(dir, "b"), "--json"], {
      dir,
      env: fakeEnv(source),
    });
    assert.equal(backup.code, ExitCode.Ok, backup.stderr);
    const snapshot = JSON.parse(backup.stdout).snapshot as string;
    // Two documents of the first insertMany time out in the driver after being written; the
    // answer is HTTP 504 with the documentResponses of all (ThrowableToErrorMapper.java).
    target.faults.add({
      command: "insertMany",
      action: {
        kind: "documentError",
        errorCode: "SERVER_DRIVER_TIMEOUT",
        count: 2,
        applied: true,
      },
    });
    const r = await runCli(
      ["restore", snapshot, "--collections", "articles", "--batch-size", "20", "--json"],
      { dir, env: fakeEnv(target, { ASTRA_DB_KEYSPACE: NOT_A_KEYSPACE }) },
    );
    assert.equal(r.code, ExitCode.Ok, r.stderr);
    assert.match(r.stderr, /HTTP 504.*retrying/);
    const c = JSON.parse(r.stdout).collections[0];
    assert.deepEqual([c.inserted, c.already_present, c.refused, c.count_after], [45, 0, 0, 45]);
    assert.deepEqual(collectionDocs(target, "articles"), collectionDocs(source, "articles"));
  } finally {
    await source.close();
    await target.close();
    await Deno.remove(dir, { recursive: true });
  }
});
