/**
 * `astrabak verify` and `astrabak zip` end to end, on fresh snapshots and on every tamper case:
 * each bad snapshot must exit 2 with one clear line naming the file, never a stack trace.
 */

import assert from "node:assert/strict";
import * as zip from "@zip.js/zip.js";
import { join } from "node:path";
import { fakeEnv, ls, runCli } from "./run_cli.ts";
import { FakeDataApi } from "../fakes/data_api/server.ts";
import {
  copyDir,
  dataLines,
  editManifest,
  flipByte,
  gzip,
  makeSnapshot,
  replaceDataFile,
  replaceLines,
  type ReplaceLinesOptions,
} from "../support/snapshots.ts";

async function scratch() {
  const dir = await Deno.makeTempDir({ prefix: "astrabak-verify-" });
  return {
    dir,
    async [Symbol.asyncDispose]() {
      await Deno.remove(dir, { recursive: true });
    },
  };
}

async function verify(dir: string, path: string, ...flags: string[]) {
  const r = await runCli(["verify", path, ...flags], { dir });
  assert.ok(!/\n\s+at .*\.ts:\d+/.test(r.stderr + r.stdout), `no stack trace:\n${r.stderr}`);
  return r;
}

/** A fresh snapshot copied to `<dir>/<name>` for tampering. */
async function tamperable(dir: string, name = "20261125_120000", compress = true) {
  const report = await makeSnapshot(join(dir, "src"), { compress });
  const copy = join(dir, name);
  await copyDir(report.snapshot, copy);
  await editManifest(copy, (m) => (m.snapshot = name.slice(0, 15)));
  return copy;
}

Deno.test("verify: fresh snapshots verify, as directories and zips, compressed or not", async () => {
  await using t = await scratch();
  for (const compress of [true, false]) {
    const report = await makeSnapshot(join(t.dir, `c${compress}`), { compress, zip: true });
    assert.ok(report.zip, "backup --zip packed the snapshot");
    assert.equal((await Deno.stat(report.zip.path)).mode! & 0o777, 0o600);
    for (const path of [report.snapshot, report.zip.path]) {
      for (const mode of [[], ["--quick"]]) {
        const r = await verify(t.dir, path, ...mode);
        assert.equal(r.code, 0, `${path} ${mode}: ${r.stdout}${r.stderr}`);
        assert.match(r.stdout, /ok {6}default_keyspace\.articles: 40 documents/);
        assert.match(r.stdout, /^Verified (dir|zip) .*: 3 collections, 180 documents/m);
      }
    }
    const json = JSON.parse((await verify(t.dir, report.zip.path, "--json")).stdout);
    assert.equal(json.status, "ok");
    assert.equal(json.kind, "zip");
    assert.equal(json.totals.documents, 180);
  }
});

Deno.test("verify: every tamper case fails with exit 2 and a reason naming the file", async () => {
  await using t = await scratch();
  const cases: Array<[string, (snap: string) => Promise<void>, RegExp]> = [
    [
      "flipped byte in a data file",
      (s) => flipByte(join(s, "default_keyspace.articles.jsonl.gz"), 300),
      /articles.*SHA-256 is .* the manifest says/,
    ],
    ["truncated data file", async (s) => {
      const p = join(s, "default_keyspace.customers.jsonl.gz");
      const b = await Deno.readFile(p);
      await Deno.writeFile(p, b.subarray(0, b.length - 50));
    }, /customers.*(size is|gzip)/],
    [
      "manifest is not JSON",
      (s) => Deno.writeTextFile(join(s, "manifest.json"), "{ not json"),
      /manifest\.json.*not valid JSON/,
    ],
    [
      "manifest with wrong types",
      (s) =>
        editManifest(
          s,
          (m) => ((m.collections[0] as unknown as Record<string, unknown>).document_count = "40"),
        ),
      /\/collections\/0\/document_count is "40" \(a string\), expected an integer/,
    ],
    [
      "manifest with absurd numbers",
      (s) => editManifest(s, (m) => (m.collections[1]!.document_count = 1e15)),
      /document_count is 1000000000000000 \(a number\), expected a number <= 1000000000000/,
    ],
    [
      "future format version",
      (s) => editManifest(s, (m) => (m.backup_format_version = 99)),
      /backup_format_version 99 is not supported \(this astrabak reads 1-4\)/,
    ],
    [
      "missing data file",
      (s) => Deno.remove(join(s, "default_keyspace.faq.jsonl.gz")),
      /faq.*default_keyspace\.faq\.jsonl\.gz is missing/,
    ],
    [
      "unexpected extra file",
      (s) => Deno.writeTextFile(join(s, "notes.txt"), "hi"),
      /unexpected file notes\.txt/,
    ],
    ["count that does not match", (s) =>
      editManifest(s, (m) => {
        m.collections.find((c) => c.name === "customers")!.document_count! += 1;
        m.totals.documents += 1;
      }), /customers.*holds 100 documents, the manifest says 101/],
    ["duplicate collection names", (s) =>
      editManifest(s, (m) => {
        m.collections.push({ ...m.collections[0]! });
        m.totals.collections_ok += 1;
        m.totals.documents += m.collections[0]!.document_count!;
      }), /duplicates collection default_keyspace\.articles/],
    ["vector dimension that does not match the definition", (s) =>
      editManifest(s, (m) => {
        const a = m.collections.find((c) => c.name === "articles")!;
        (a.definition.vector as { dimension: number }).dimension = 17;
        a.vector!.dimension = 17;
      }), /articles.*has a \$vector of dimension 16, but the definition says 17/],
    [
      "data file named outside the snapshot",
      (s) => editManifest(s, (m) => (m.collections[0]!.data_file = "../../etc/passwd")),
      /data_file is "\.\.\/\.\.\/etc\/passwd" \(a string\), expected a string matching /,
    ],
    ["gzip bomb", (s) =>
      replaceDataFile(s, "customers", gzip(new Uint8Array(50_000_000)), (e) => {
        e.uncompressed_size_bytes = 5000;
      }), /customers.*decompressed data exceeds the 5000 bytes the manifest declares/],
    [
      "huge single line",
      (s) =>
        replaceDataFile(s, "customers", gzip("x".repeat(30_000_000)), (e) => {
          e.uncompressed_size_bytes = 30_000_000;
        }),
      /customers.*line 1 is longer than 24000000 bytes/,
    ],
    [
      "line that is not JSON",
      (s) =>
        replaceDataFile(s, "customers", gzip('{"_id":1}\n{"_id":2,\n'), (e) => {
          e.uncompressed_size_bytes = 2000;
        }),
      /customers.*line 2 is not a valid JSON document/,
    ],
    ["document without _id", (s) =>
      replaceDataFile(s, "customers", gzip('{"a":1}\n'), (e) => {
        e.uncompressed_size_bytes = 2000;
      }), /customers.*document #1 in default_keyspace\.customers has no _id/],
    [
      "data that is not gzip",
      (s) => replaceDataFile(s, "customers", new TextEncoder().encode("plain text\n")),
      /customers.*not a valid gzip stream/,
    ],
    [
      "manifest of another snapshot",
      (s) => editManifest(s, (m) => (m.snapshot = "20200101_000000")),
      /the snapshot is named 20261125_1201\d\d but its manifest says 20200101_000000/,
    ],
    ["symlink inside the snapshot", async (s) => {
      await Deno.remove(join(s, "default_keyspace.faq.jsonl.gz"));
      await Deno.symlink("/etc/hostname", join(s, "default_keyspace.faq.jsonl.gz"));
    }, /default_keyspace\.faq\.jsonl\.gz is a symbolic link/],
  ];
  const base = await tamperable(t.dir);
  for (const [i, [what, tamper, pattern]] of cases.entries()) {
    const snap = join(t.dir, `20261125_1201${String(i).padStart(2, "0")}`);
    await copyDir(base, snap);
    await editManifest(snap, (m) => (m.snapshot = snap.slice(-15)));
    await tamper(snap);
    const r = await verify(t.dir, snap);
    assert.equal(r.code, 2, `${what}: exit ${r.code}\n${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, pattern, `${what}:\n${r.stdout}`);
  }
});

const enc = new TextEncoder();

/** Bytes of `parts` joined: text as UTF-8, numbers as raw bytes. */
function bytesOf(...parts: Array<string | number[]>): Uint8Array {
  const chunks = parts.map((p) => typeof p === "string" ? enc.encode(p) : new Uint8Array(p));
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

Deno.test("verify: a line that restore would refuse fails deep verify with file, line and reason; restore writes nothing", async () => {
  await using t = await scratch();
  const base = await tamperable(t.dir);
  const good = await dataLines(base, "customers");
  assert.equal(good.length, 100);
  // The line holding {"$uuid":"0192f1a2-…-000000000002"} (the server's order is arbitrary), and
  // the last line, after it, where the cases go.
  const u = good.findIndex((l) =>
    l.startsWith('{"_id":{"$uuid":"0192f1a2-0000-7000-8000-000000000002"}')
  );
  assert.ok(u >= 0 && u < 99);
  const at = 99;
  const uLine = `line ${u + 1}`;
  const atLine = `line ${at + 1}`;
  // Each case puts one line at `at` of customers and expects this reason in the verdict.
  const cases: Array<[string, string | Uint8Array, RegExp]> = [
    [
      "two lines with the same _id",
      good[u]!,
      new RegExp(
        `${atLine} repeats the _id=\\{"\\$uuid":"0192f1a2-0000-7000-8000-000000000002"\\} of ${uLine}`,
      ),
    ],
    [
      "the same stored _id spelled differently (a plain string and its $uuid)",
      '{"_id":"0192f1a2-0000-7000-8000-000000000002","kind":"plain"}',
      new RegExp(`${atLine} repeats the _id="0192f1a2-0000-7000-8000-000000000002" of ${uLine}`),
    ],
    [
      "an _id of a type the Data API refuses",
      '{"_id":{"a":1},"name":"x"}',
      new RegExp(
        `${atLine}: the Data API would refuse this document: _id \\{"a":1\\} is an object, .*\\(SHRED_BAD_DOCID_TYPE\\)`,
      ),
    ],
    [
      "an empty string _id",
      '{"_id":"","name":"x"}',
      new RegExp(`${atLine}: .*_id is an empty string \\(SHRED_BAD_DOCID_VALUE\\)`),
    ],
    [
      "a $date _id that is not an integer",
      '{"_id":{"$date":"2024-01-01"}}',
      new RegExp(`${atLine}: .*\\$date must hold an integer .*\\(SHRED_BAD_DOCID_TYPE\\)`),
    ],
    [
      "a $uuid _id that is not a UUID",
      '{"_id":{"$uuid":"not-a-uuid"}}',
      new RegExp(`${atLine}: .*\\$uuid must hold a UUID string \\(SHRED_BAD_DOCID_TYPE\\)`),
    ],
    [
      "invalid UTF-8 in a string",
      bytesOf('{"_id":"bad-utf8","name":"', [0xc3, 0x28], '"}'),
      new RegExp(`${atLine} is not a valid JSON document \\(Invalid UTF-8 in string at byte 26\\)`),
    ],
    [
      "a name twice in one object",
      '{"_id":"twice","a":{"b":1,"b":2}}',
      new RegExp(
        `${atLine} is not a valid JSON document \\(Duplicate member name "b" at byte 26\\)`,
      ),
    ],
    [
      "a field name starting with $",
      '{"_id":"dollar","x":{"$where":"1","y":2}}',
      new RegExp(`${atLine}: .*field name "\\$where" starts with '\\$' \\(SHRED_BAD_FIELD_NAME\\)`),
    ],
    [
      "an empty field name",
      '{"_id":"empty-name","":1}',
      new RegExp(`${atLine}: .*a field name is empty \\(SHRED_BAD_FIELD_NAME\\)`),
    ],
    [
      "an EJSON wrapper holding an object",
      '{"_id":"ejson","when":{"$date":{"x":1}}}',
      new RegExp(
        `${atLine}: .*the EJSON wrapper \\$date holds an object .*\\(SHRED_BAD_EJSON_VALUE\\)`,
      ),
    ],
    [
      "an indexed string over 8000 bytes",
      `{"_id":"long-string","s":"${"é".repeat(4001)}"}`,
      new RegExp(`${atLine}: .*a string is 8002 bytes long, over the 8000 bytes`),
    ],
    [
      "nesting deeper than 16",
      `{"_id":"deep17","a":${'{"b":'.repeat(16)}1${"}".repeat(16)}}`,
      new RegExp(
        `${atLine}: .*nested deeper than the 16 levels allowed \\(SHRED_DOC_LIMIT_VIOLATION\\)`,
      ),
    ],
    [
      "a number longer than 100 characters",
      `{"_id":"long-number","n":${"1".repeat(101)}}`,
      new RegExp(`${atLine}: .*a number has 101 characters, over the 100`),
    ],
    [
      "a document over 4,000,000 characters",
      `{"_id":"huge","a":[${Array(600).fill(`"${"x".repeat(7000)}"`).join(",")}]}`,
      new RegExp(`${atLine}: .*the document is 4201820 characters long, over the 4000000 allowed`),
    ],
  ];
  await using target = await (async () => {
    const api = await FakeDataApi.start();
    return { api, [Symbol.asyncDispose]: () => api.close() };
  })();
  for (const [i, [what, line, pattern]] of cases.entries()) {
    const snap = join(t.dir, `20261125_1202${String(i).padStart(2, "0")}`);
    await copyDir(base, snap);
    await editManifest(snap, (m) => (m.snapshot = snap.slice(-15)));
    const lines: Array<string | Uint8Array> = [...good];
    lines[at] = line;
    await replaceLines(snap, "customers", lines);
    const r = await verify(t.dir, snap);
    assert.equal(r.code, 2, `${what}: exit ${r.code}\n${r.stdout}\n${r.stderr}`);
    assert.match(
      r.stdout,
      /FAILED +default_keyspace\.customers \(default_keyspace\.customers\.jsonl\.gz\): /,
      what,
    );
    assert.match(r.stdout, pattern, `${what}:\n${r.stdout}`);
    const restored = await runCli(["restore", snap], { dir: t.dir, env: fakeEnv(target.api) });
    assert.equal(restored.code, 2, `${what}: restore exit ${restored.code}\n${restored.stderr}`);
    assert.match(restored.stderr, /Refusing to restore: the snapshot failed verification/, what);
    assert.match(restored.stderr, pattern, what);
    assert.equal(target.api.requests.length, 0, `${what}: restore wrote nothing`);
  }
});

Deno.test("verify: CRLF line ends and multi-member gzip are read as written, and restore the same documents", async () => {
  await using t = await scratch();
  const base = await tamperable(t.dir);
  const good = await dataLines(base, "customers");
  const variants: Array<[string, ReplaceLinesOptions]> = [
    ["CRLF line ends", { eol: "\r\n" }],
    ["three gzip members", { members: 3 }],
  ];
  for (const [i, [what, options]] of variants.entries()) {
    const snap = join(t.dir, `20261125_1203${String(i).padStart(2, "0")}`);
    await copyDir(base, snap);
    await editManifest(snap, (m) => (m.snapshot = snap.slice(-15)));
    await replaceLines(snap, "customers", good, options);
    const r = await verify(t.dir, snap);
    assert.equal(r.code, 0, `${what}: ${r.stdout}${r.stderr}`);
    assert.match(r.stdout, /ok +default_keyspace\.customers: 100 documents/, what);
    const api = await FakeDataApi.start();
    try {
      const restored = await runCli(["restore", snap, "--collections", "customers"], {
        dir: t.dir,
        env: fakeEnv(api),
      });
      assert.equal(restored.code, 0, `${what}: ${restored.stderr}`);
      const docs = [...api.store.keyspace("default_keyspace").get("customers")!.docs.values()]
        .map((d) => d.full).sort();
      assert.deepEqual(docs, [...good].sort(), what);
    } finally {
      await api.close();
    }
  }
});

Deno.test("verify: INCOMPLETE snapshots fail, naming the failed collections and the way forward", async () => {
  await using t = await scratch();
  const report = await makeSnapshot(t.dir, {
    zip: true,
    prepare: (api) =>
      api.faults.add({
        command: "find",
        collection: "faq",
        times: Infinity,
        action: { kind: "status", status: 500 },
      }),
  });
  assert.match(report.snapshot, /\.INCOMPLETE$/);
  assert.equal(report.zip, null, "an INCOMPLETE snapshot is never zipped");
  assert.deepEqual((await ls(join(t.dir, "backups"))).filter((n) => n.endsWith(".zip")), []);
  const r = await verify(t.dir, report.snapshot);
  assert.equal(r.code, 2);
  assert.match(r.stdout, /the snapshot is INCOMPLETE: default_keyspace\.faq \(.*HTTP 500/);
  assert.match(r.stdout, /- {7}default_keyspace\.faq: not in this snapshot/);
  assert.match(r.stdout, /ok {6}default_keyspace\.articles/);
  assert.match(r.stdout, /hint: .*astrabak restore .* --force/);
  const z = await runCli(["zip", report.snapshot], { dir: t.dir });
  assert.equal(z.code, 2);
  assert.match(z.stderr, /Refusing to zip .*INCOMPLETE/);
});

Deno.test("verify: hostile zips are refused before anything is read", async () => {
  await using t = await scratch();
  const good = await makeSnapshot(join(t.dir, "src"), { zip: true });
  const craft = async (name: string, entries: Array<[string, string]>) => {
    const path = join(t.dir, name);
    const file = await Deno.open(path, { write: true, createNew: true });
    const w = new zip.ZipWriter(file.writable, { level: 0 });
    for (const [n, text] of entries) await w.add(n, new zip.TextReader(text));
    await w.close();
    return path;
  };
  const manifest = await Deno.readTextFile(join(good.snapshot, "manifest.json"));
  const ts = good.manifest.snapshot;
  const cases: Array<[string, RegExp]> = [
    [
      await craft("slip.zip", [[`${ts}/manifest.json`, manifest], [
        `${ts}/../../evil.sh`,
        "rm -rf",
      ]]),
      /entry "20\d{6}_\d{6}\/\.\.\/\.\.\/evil\.sh" escapes the snapshot root/,
    ],
    [
      await craft("abs.zip", [["/etc/cron.d/evil", "x"]]),
      /entry "\/etc\/cron\.d\/evil" is an absolute path/,
    ],
    [
      await craft("two-roots.zip", [[`${ts}/manifest.json`, manifest], ["other/x", "y"]]),
      /entries must all sit in one <ts>\/ folder/,
    ],
  ];
  const truncated = join(t.dir, "truncated.zip");
  const bytes = await Deno.readFile(good.zip!.path);
  await Deno.writeFile(truncated, bytes.subarray(0, bytes.length - 100));
  cases.push([truncated, /Cannot read .*truncated\.zip as a zip/]);
  const flipped = join(t.dir, "flipped.zip");
  await Deno.writeFile(flipped, bytes);
  await flipByte(flipped, Math.floor(bytes.length / 2));
  cases.push([flipped, /FAILED .*(CRC|SHA-256)/i]);
  // A flipped byte inside the stored manifest.json: zip.js's CRC-32 check is what catches it.
  const badManifest = join(t.dir, "bad_manifest.zip");
  const at = new TextDecoder("latin1").decode(bytes).indexOf('"backup_format_version"');
  assert.ok(at > 0);
  await Deno.writeFile(badManifest, bytes);
  await flipByte(badManifest, at + 3);
  cases.push([badManifest, /manifest\.json in bad_manifest\.zip: .*CRC/i]);
  for (const [path, pattern] of cases) {
    const r = await verify(t.dir, path);
    assert.equal(r.code, 2, `${path}: ${r.stdout}${r.stderr}`);
    assert.match(r.stdout, pattern);
  }
});

Deno.test("verify: unfinished and unreadable paths", async () => {
  await using t = await scratch();
  const inprogress = join(t.dir, ".20261125_120000.inprogress");
  await Deno.mkdir(inprogress);
  const r = await verify(t.dir, inprogress);
  assert.equal(r.code, 2);
  assert.match(r.stdout, /is not a finished snapshot/);
  const missing = await verify(t.dir, join(t.dir, "nope"));
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /Cannot read .*nope: no such file or directory/);
  const usage = await runCli(["verify"], { dir: t.dir });
  assert.equal(usage.code, 1);
  assert.match(usage.stderr, /missing required argument 'path'/);
});

Deno.test("zip: packs an existing complete snapshot once, checked, and never overwrites", async () => {
  await using t = await scratch();
  const report = await makeSnapshot(t.dir);
  const r = await runCli(["zip", report.snapshot, "--json"], { dir: t.dir });
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(out.zip, `${report.snapshot}.zip`);
  assert.equal(out.zip64, false);
  assert.equal((await verify(t.dir, out.zip)).code, 0);
  // An existing zip, or a zip given as the snapshot, is a usage error (exit 1), not a failure.
  const again = await runCli(["zip", report.snapshot], { dir: t.dir });
  assert.equal(again.code, 1, again.stderr);
  assert.match(
    again.stderr,
    /Cannot write .*\.zip: it already exists\n.*hint: check it with: astrabak verify /,
  );
  const ofZip = await runCli(["zip", out.zip], { dir: t.dir });
  assert.equal(ofZip.code, 1, ofZip.stderr);
  assert.match(ofZip.stderr, /Cannot zip .*\.zip: it is already a zip/);
  assert.deepEqual((await ls(join(t.dir, "backups"))).filter((n) => n.includes("inprogress")), []);
});
