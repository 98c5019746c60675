/**
 * `deno task demo`: the main job on an embedded default. Starts the fake Data API with sample
 * vector data (a 384-dimension collection, a plain collection with awkward values, a vectorize
 * collection), backs it up with the real CLI under the shipped permission sandbox, shows where
 * the snapshot is and what its manifest says, verifies the packed zip, restores it into a
 * second, empty fake Data API, and drills it against the first (scratch copies, compared, dropped).
 */

import { join } from "node:path";
import { parseManifest } from "../src/manifest/mod.ts";
import { FakeDataApi } from "../tests/fakes/data_api/server.ts";
import { seedSample, seedTables } from "../tests/fakes/data_api/sample_data.ts";
import { fakeEnv, runCli } from "../tests/e2e/run_cli.ts";

const say = (s = "") => Deno.stdout.writeSync(new TextEncoder().encode(s + "\n"));

const api = await FakeDataApi.start({ logRequests: false });
seedSample(api.store);
seedTables(api.store);
const target = await FakeDataApi.start({ logRequests: false });
const dir = await Deno.makeTempDir({ prefix: "astrabak-demo-" });
const out = join(dir, "backups");
say(
  `Fake Data API at ${api.url} with collections articles (300 docs, 384-d vectors), customers, faq (vectorize) and tables products (60 rows, vector column, UDT, indexes), audit_log (empty)`,
);
say(`Working in ${dir}\n`);

let code = 0;
try {
  say("$ astrabak backup --out backups --zip");
  const backup = await runCli(["backup", "--out", out, "--zip"], { dir, env: fakeEnv(api) });
  say(backup.stderr.trimEnd());
  say(backup.stdout.trimEnd());
  if (backup.code !== 0) throw new Error(`backup exited ${backup.code}`);

  const snapshot = [...Deno.readDirSync(out)].map((e) => e.name).find((n) =>
    /^\d{8}_\d{6}$/.test(n)
  )!;
  const m = parseManifest(await Deno.readFile(join(out, snapshot, "manifest.json")), snapshot);
  say(
    `\nSnapshot ${
      join(out, snapshot)
    } (manifest: status ${m.status}, format v${m.backup_format_version})`,
  );
  for (const c of m.collections) {
    const v = c.vector
      ? `, $vector in ${c.vector.documents_with_vector}/${c.document_count} (dim ${c.vector.dimension})`
      : "";
    say(
      `  ${c.keyspace}.${c.name}: ${c.document_count} docs${v}, sha256 ${
        c.data_sha256?.slice(0, 16)
      }…`,
    );
  }

  say(`\n$ astrabak verify backups/${snapshot}.zip`);
  const verify = await runCli(["verify", join(out, `${snapshot}.zip`)], { dir });
  say(verify.stdout.trimEnd());
  if (verify.code !== 0) throw new Error(`verify exited ${verify.code}: ${verify.stderr}`);

  say(
    `\n$ astrabak restore latest --from backups   # into a second, empty fake Data API at ${target.url}`,
  );
  const restore = await runCli(["restore", "latest", "--from", out], { dir, env: fakeEnv(target) });
  say(restore.stderr.trimEnd());
  say(restore.stdout.trimEnd());
  if (restore.code !== 0) throw new Error(`restore exited ${restore.code}`);
  say(
    "\nSource and restored collections, document by document (the faq texts are the one documented difference):",
  );
  for (const name of ["products", "audit_log"]) {
    const same = api.store.tableRows("default_keyspace", name).sort().join("\n") ===
      target.store.tableRows("default_keyspace", name).sort().join("\n");
    const def = api.store.tableDefinition("default_keyspace", name) ===
      target.store.tableDefinition("default_keyspace", name);
    say(
      `  ${name} (table): rows ${same ? "identical" : "DIFFER"}, definition ${
        def ? "identical" : "DIFFERS"
      }`,
    );
    if (!same || !def) code = 1;
  }
  for (const name of ["articles", "customers", "faq"]) {
    const docs = (f: FakeDataApi) =>
      [...f.store.keyspace("default_keyspace").get(name)!.docs.values()].map((d) => d.full);
    const restored = new Set(docs(target));
    const same = docs(api).filter((d) =>
      restored.has(d.replace(/,"\$vectorize":"[^"]*"/, ""))
    ).length;
    say(`  ${name}: ${same}/${docs(api).length} identical`);
    if (same !== docs(api).length || restored.size !== docs(api).length) code = 1;
  }
  if (code !== 0) say("demo failed: the restored data differs from the source");

  say(
    "\n$ astrabak drill latest --from backups --collection-limit 6   # into scratch copies beside the source, compared, probed, dropped",
  );
  const drill = await runCli(["drill", "latest", "--from", out, "--collection-limit", "6"], {
    dir,
    env: fakeEnv(api),
  });
  say(drill.stdout.trimEnd());
  const left = [
    ...api.store.keyspace("default_keyspace").keys(),
    ...api.store.schemas
      .get("default_keyspace")!.tables.keys(),
  ].filter((n) => n.startsWith("drill_"));
  if (drill.code !== 0 || left.length > 0) {
    say(`demo failed: drill exited ${drill.code}${left.length ? `, left ${left.join(", ")}` : ""}`);
    say(drill.stderr.trimEnd());
    code = 1;
  }
} catch (e) {
  say(`demo failed: ${e instanceof Error ? e.message : e}`);
  code = 1;
} finally {
  await api.close();
  await target.close();
}
say(`\nThe snapshot stays in ${dir} for you to inspect.`);
Deno.exit(code);
