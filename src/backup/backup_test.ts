import assert from "node:assert/strict";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { parseManifest } from "../manifest/mod.ts";
import { type Reporter, silentReporter } from "../reporter.ts";
import { lockOutDir } from "../snapshot/lock.ts";
import { InterruptedError } from "../errors.ts";
import { FAKE_TOKEN, FakeDataApi } from "../../tests/fakes/data_api/server.ts";
import { type BackupOptions, runBackup } from "./backup.ts";
import { backupCollection, CheckpointGate } from "./collection.ts";
import { DataApiClient } from "../source/data_api.ts";
import { listCollections } from "../source/collections.ts";
import { SnapshotWorkdir } from "../snapshot/workdir.ts";

async function withFake(
  options: Parameters<typeof FakeDataApi.start>[0],
  fn: (
    api: FakeDataApi,
    opts: (o?: Partial<BackupOptions>) => BackupOptions,
    out: string,
  ) => Promise<void>,
) {
  const api = await FakeDataApi.start(options);
  const dir = await Deno.makeTempDir({ prefix: "astrabak-backup-" });
  const out = join(dir, "out");
  const opts = (o: Partial<BackupOptions> = {}): BackupOptions => ({
    connection: {
      endpoint: api.url,
      environment: "hcd",
      keyspaces: ["default_keyspace"],
      token: FAKE_TOKEN,
      tokenSource: "test",
    },
    outDir: out,
    include: [],
    exclude: [],
    compress: false,
    retry: { baseDelayMs: 1, maxAttempts: 3 },
    ...o,
  });
  try {
    await fn(api, opts, out);
  } finally {
    await api.close();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("runBackup follows nextPageState for every page size and collection size", async () => {
  for (const pageSize of [1, 7, 20, 50]) {
    await withFake({ pageSize }, async (api, opts) => {
      const sizes = [0, 1, 20, 21, 1000];
      for (const n of sizes) {
        api.store.createCollection("default_keyspace", `c${n}`, {});
        api.store.seed(
          "default_keyspace",
          `c${n}`,
          Array.from({ length: n }, (_, i) => `{"_id":${i},"v":"${i}"}`),
        );
      }
      const report = await runBackup(opts(), silentReporter);
      assert.equal(report.status, "complete");
      for (const n of sizes) {
        const entry = report.manifest.collections.find((c) => c.name === `c${n}`)!;
        assert.equal(entry.document_count, n, `page size ${pageSize}, ${n} documents`);
        assert.equal(
          entry.pages,
          Math.max(1, Math.ceil(n / pageSize)),
          `pages for ${n} at ${pageSize}`,
        );
        const lines = (await Deno.readTextFile(join(report.snapshot, entry.data_file!))).split(
          "\n",
        );
        lines.pop();
        const ids = lines.map((l) => (JSON.parse(l) as { _id: number })._id).sort((a, b) => a - b);
        assert.deepEqual(
          ids,
          Array.from({ length: n }, (_, i) => i),
          "no document lost or repeated",
        );
      }
    });
  }
});

Deno.test("runBackup fails a collection whose vectors have the wrong dimension", async () => {
  await withFake({}, async (api, opts) => {
    const c = api.store.createCollection("default_keyspace", "v", { vector: { dimension: 3 } });
    api.store.seed("default_keyspace", "v", ['{"_id":1,"$vector":[1,2,3]}']);
    // The real server cannot hold this, but a backup must not trust that: plant it directly.
    const bad = c.prepare(
      { t: "obj", m: [["_id", { t: "num", raw: "2" }]] },
      () => ({ t: "null" }),
    );
    c.docs.set("2", { ...bad, full: '{"_id":2,"$vector":[1,2]}' });
    const report = await runBackup(opts(), silentReporter);
    assert.equal(report.status, "incomplete");
    assert.match(
      report.collections[0]!.error!,
      /_id=2 in default_keyspace\.v has a \$vector of dimension 2, but the definition says 3/,
    );
  });
});

Deno.test("runBackup restarts a collection from the start after page retries run out", async () => {
  await withFake({ pageSize: 2 }, async (api, opts) => {
    api.store.createCollection("default_keyspace", "c", {});
    api.store.seed("default_keyspace", "c", Array.from({ length: 9 }, (_, i) => `{"_id":${i}}`));
    // Page 3 fails three times in a row (the retry budget), then the collection starts over.
    api.faults.add({
      command: "find",
      after: 2,
      times: 3,
      action: { kind: "status", status: 503 },
    });
    const report = await runBackup(opts({ collectionAttempts: 2 }), silentReporter);
    assert.equal(report.status, "complete");
    const entry = report.manifest.collections[0]!;
    assert.equal(entry.attempts, 2);
    assert.equal(entry.document_count, 9);
    assert.match(entry.warnings[0]!, /attempt 1 failed .*HTTP 503.*restarted from the beginning/);
    const text = await Deno.readTextFile(join(report.snapshot, entry.data_file!));
    assert.equal(text.split("\n").length - 1, 9, "the rewritten file holds each document once");
    parseManifest(await Deno.readFile(join(report.snapshot, "manifest.json")), "manifest");
  });
});

Deno.test("runBackup continues a collection from its last checkpoint after page retries run out", async () => {
  await withFake({ pageSize: 2 }, async (api, opts) => {
    api.store.createCollection("default_keyspace", "c", {});
    api.store.seed("default_keyspace", "c", Array.from({ length: 9 }, (_, i) => `{"_id":${i}}`));
    // Checkpoints after pages 2 and 4; page 5 fails three times in a row (the retry budget).
    api.faults.add({
      command: "find",
      after: 4,
      times: 3,
      action: { kind: "status", status: 503 },
    });
    const report = await runBackup(
      opts({ collectionAttempts: 2, checkpointEvery: 2, compress: true }),
      silentReporter,
    );
    assert.equal(report.status, "complete");
    const entry = report.manifest.collections[0]!;
    assert.equal(entry.attempts, 2);
    assert.equal(entry.document_count, 9);
    assert.equal(entry.pages, 5);
    assert.match(
      entry.warnings[0]!,
      /attempt 1 failed .*HTTP 503.*continued from its last checkpoint \(page 4\)/,
    );
    // 4 pages, 3 failures of page 5, then pages 5 again: nothing before the checkpoint re-read.
    assert.equal(api.requestsOf("find", "c").length, 4 + 3 + 1);
    const text = new TextDecoder().decode(
      gunzipSync(await Deno.readFile(join(report.snapshot, entry.data_file!))),
    );
    assert.deepEqual(
      text.split("\n").filter(Boolean).map((l) => JSON.parse(l)._id).sort(),
      [0, 1, 2, 3, 4, 5, 6, 7, 8],
      "each document once",
    );
    assert.equal(report.manifest.backup_format_version, 4, "several gzip members");
    parseManifest(await Deno.readFile(join(report.snapshot, "manifest.json")), "manifest");
  });
});

Deno.test("runBackup stops after a 401 and names the remaining collections as not attempted", async () => {
  await withFake({ pageSize: 20 }, async (api, opts) => {
    for (const n of ["a", "b", "c"]) {
      api.store.createCollection("default_keyspace", n, {});
      api.store.seed("default_keyspace", n, Array.from({ length: 30 }, (_, i) => `{"_id":${i}}`));
    }
    // The token is revoked while b's first page is served; b's second page gets a 401.
    api.faults.add({
      command: "find",
      collection: "b",
      action: { kind: "run", fn: () => api.tokens.clear() },
    });
    const report = await runBackup(opts({ parallel: 1 }), silentReporter);
    assert.equal(report.status, "incomplete");
    const byName = Object.fromEntries(report.collections.map((c) => [c.name, c]));
    assert.equal(byName.a!.status, "ok");
    assert.match(byName.b!.error!, /authentication failed \(HTTP 401/);
    assert.match(byName.c!.error!, /not attempted: authentication failed earlier/);
  });
});

Deno.test("runBackup refuses a second backup into a locked output directory", async () => {
  await withFake({}, async (api, opts, out) => {
    api.store.createCollection("default_keyspace", "a", {});
    await Deno.mkdir(out);
    const held = await lockOutDir(out, { holder: "test" });
    try {
      await assert.rejects(
        runBackup(opts(), silentReporter),
        /another astrabak run is writing into/,
      );
    } finally {
      held.release();
    }
    const report = await runBackup(opts(), silentReporter);
    assert.equal(report.status, "complete", "the lock is free once released");
  });
});

Deno.test("runBackup never reuses a snapshot name within the same second", async () => {
  await withFake({}, async (api, opts) => {
    api.store.createCollection("default_keyspace", "a", {});
    const fixed = new Date("2026-11-25T10:00:00.500Z");
    let calls = 0;
    const now = () => new Date(fixed.getTime() + (calls++ > 1 ? 1000 : 0));
    const first = await runBackup(opts({ now }), silentReporter);
    const second = await runBackup(opts({ now }), silentReporter);
    assert.notEqual(first.snapshot, second.snapshot);
    assert.match(first.snapshot, /20261125_100000$/);
  });
});

Deno.test("runBackup interrupted while packing the zip keeps the complete snapshot and says so", async () => {
  await withFake({}, async (api, opts, out) => {
    api.store.createCollection("default_keyspace", "a", {});
    api.store.seed("default_keyspace", "a", ['{"_id":1}', '{"_id":2}']);
    const controller = new AbortController();
    // Ctrl-C arrives the moment packing starts (the reporter hears of it first).
    const reporter: Reporter = {
      ...silentReporter,
      info(message) {
        if (message.startsWith("Packing ")) {
          controller.abort(new InterruptedError("Interrupted by SIGINT"));
        }
      },
    };
    const err = await runBackup(opts({ zip: true, signal: controller.signal }), reporter).then(
      () => null,
      (e) => e,
    );
    assert.ok(err instanceof InterruptedError, String(err));
    assert.match(
      err.message,
      /^Interrupted while packing the zip; the snapshot .*\d{8}_\d{6} is complete and kept, only the unfinished zip was removed$/,
    );
    assert.doesNotMatch(err.message, /unfinished snapshot was removed/);
    const names = [];
    for await (const e of Deno.readDir(out)) names.push(e.name);
    assert.equal(names.filter((n) => /^\d{8}_\d{6}$/.test(n)).length, 1, names.join(", "));
    assert.ok(!names.some((n) => n.includes(".zip")), `no zip or zip leftover: ${names}`);
  });
});

Deno.test("a checkpoint being written does not stop the reader, which stays within one interval of the last durable one", async () => {
  await withFake({ pageSize: 2 }, async (api, opts, out) => {
    api.store.createCollection("default_keyspace", "c", {});
    api.store.seed("default_keyspace", "c", Array.from({ length: 40 }, (_, i) => `{"_id":${i}}`));
    const options = opts({ checkpointEvery: 4, compress: true });
    const client = new DataApiClient({ endpoint: api.url, environment: "hcd", token: FAKE_TOKEN });
    await Deno.mkdir(out, { recursive: true });
    const workdir = await SnapshotWorkdir.create(out);
    const [info] = await listCollections(client, "default_keyspace");
    const pagesRequested = () => api.requestsOf("find", "c").length;
    let durable = 0;
    let mostAhead = 0;
    const watch = setInterval(() => {
      mostAhead = Math.max(mostAhead, pagesRequested() - durable);
    }, 1);
    let readWhileCheckpointing = 0;
    try {
      const { entry } = await backupCollection(info!, workdir, client, options, silentReporter, {
        checkpoint: async (progress) => {
          const before = pagesRequested();
          await new Promise((r) => setTimeout(r, 40));
          if (pagesRequested() > before) readWhileCheckpointing++;
          mostAhead = Math.max(mostAhead, pagesRequested() - durable);
          durable = progress.pages;
        },
      });
      assert.equal(entry.status, "ok");
      assert.equal(entry.document_count, 40);
    } finally {
      clearInterval(watch);
      await workdir.discard();
    }
    assert.ok(readWhileCheckpointing > 0, "pages were requested while checkpoints were written");
    assert.ok(
      mostAhead <= 4,
      `at most one interval past the last durable checkpoint: ${mostAhead}`,
    );
  });
});

Deno.test("a checkpoint is taken after at most the time limit, however many pages the interval allows", async () => {
  await withFake({ pageSize: 2, latencyMs: 20 }, async (api, opts, out) => {
    api.store.createCollection("default_keyspace", "c", {});
    api.store.seed("default_keyspace", "c", Array.from({ length: 40 }, (_, i) => `{"_id":${i}}`));
    const client = new DataApiClient({ endpoint: api.url, environment: "hcd", token: FAKE_TOKEN });
    await Deno.mkdir(out, { recursive: true });
    const [info] = await listCollections(client, "default_keyspace");
    /** Pages at each checkpoint of one backup of the 20 pages, 1000 pages per interval. */
    const checkpoints = async (checkpointMaxMs?: number) => {
      const workdir = await SnapshotWorkdir.create(out);
      const at: number[] = [];
      try {
        const options = opts({
          checkpointEvery: 1000,
          compress: true,
          ...(checkpointMaxMs === undefined ? {} : { checkpointMaxMs }),
        });
        const { entry } = await backupCollection(info!, workdir, client, options, silentReporter, {
          checkpoint: (progress) => {
            at.push(progress.pages);
            return Promise.resolve();
          },
        });
        assert.equal(entry.status, "ok");
        assert.equal(entry.document_count, 40);
      } finally {
        await workdir.discard();
      }
      return at;
    };
    // Each page takes at least 20 ms: a 50 ms limit ends a segment every few pages.
    const timed = await checkpoints(50);
    assert.ok(timed.length >= 4, `checkpoints by time: at pages ${timed.join(", ")}`);
    for (let i = 1; i < timed.length; i++) {
      assert.ok(timed[i]! - timed[i - 1]! <= 5, `never far apart in pages: ${timed.join(", ")}`);
    }
    // The default (30 s) never fires here: the page interval alone allows the whole collection.
    assert.ok((await checkpoints()).length <= 1);
  });
});

Deno.test("CheckpointGate: half-interval segments, requests up to one interval past the durable checkpoint", async () => {
  const gate = new CheckpointGate(0, 4);
  assert.equal(gate.segmentPages, 2);
  for (let page = 1; page <= 4; page++) assert.equal(gate.mayRequest(page), undefined);
  let released = false;
  const waiting = gate.mayRequest(5)!.then(() => (released = true));
  await Promise.resolve();
  assert.equal(released, false);
  gate.durable(1);
  await waiting;
  assert.equal(gate.mayRequest(5), undefined);
  assert.notEqual(gate.mayRequest(6), undefined, "page 6 waits for the checkpoint of page 2");
  // The default interval comes from the first page holding documents: about 1000 documents.
  const byDocs = new CheckpointGate(7, null);
  byDocs.sawPage(0);
  byDocs.sawPage(50);
  byDocs.sawPage(20);
  assert.equal(byDocs.segmentPages, 10);
  assert.equal(byDocs.mayRequest(27), undefined);
  const late = byDocs.mayRequest(28)!;
  byDocs.fail(new Error("disk full"));
  await assert.rejects(() => late, /disk full/);
  await assert.rejects(() => byDocs.mayRequest(8)!, /disk full/);
});

Deno.test("runBackup: a read failing in the middle of a segment still continues from the checkpoint before it", async () => {
  await withFake({ pageSize: 2 }, async (api, opts) => {
    api.store.createCollection("default_keyspace", "c", {});
    api.store.seed("default_keyspace", "c", Array.from({ length: 12 }, (_, i) => `{"_id":${i}}`));
    // Interval 4 pages: segments of 2, checkpoints after pages 2 and 4. Page 6, the second page
    // of the third segment, fails three times: the segment's first page is already in the gzip
    // stage when the read fails, and the checkpoint of page 4 must still become durable.
    api.faults.add({
      command: "find",
      after: 5,
      times: 3,
      action: { kind: "status", status: 503 },
    });
    const report = await runBackup(
      opts({ collectionAttempts: 2, checkpointEvery: 4, compress: true }),
      silentReporter,
    );
    const entry = report.manifest.collections[0]!;
    assert.equal(entry.document_count, 12);
    assert.match(entry.warnings[0]!, /continued from its last checkpoint \(page 4\)/);
    const text = new TextDecoder().decode(
      gunzipSync(await Deno.readFile(join(report.snapshot, entry.data_file!))),
    );
    assert.deepEqual(
      text.split("\n").filter(Boolean).map((l) => JSON.parse(l)._id).sort((a, b) => a - b),
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11],
      "each document once",
    );
  });
});
