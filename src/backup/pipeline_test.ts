import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { parseDocumentLine, type RawDocument } from "../json/raw_document.ts";
import { zlibWorkerCount } from "../streams/zlib_worker_stream.ts";
import { DataFileWriter, SegmentMismatchError, type SegmentState } from "./pipeline.ts";

const options = {
  compress: true,
  stats: { label: "ks.c", requireId: true, vectorFields: [{ field: "$vector", dimension: 2 }] },
};

function page(from: number, n: number): RawDocument[] {
  return Array.from({ length: n }, (_, i) =>
    parseDocumentLine(
      new TextEncoder().encode(`{"_id":${from + i},"$vector":[0.5,${from + i}]}`),
      { vectorFields: ["$vector"] },
    ));
}

async function* pages(...ps: RawDocument[][]) {
  for (const p of ps) yield p;
}

/** gzip members in a file: each starts with the gzip magic and a deflate method byte. */
function members(bytes: Uint8Array): number {
  let n = 0;
  for (let i = 0; i + 2 < bytes.length; i++) {
    if (bytes[i] === 0x1f && bytes[i + 1] === 0x8b && bytes[i + 2] === 8) n++;
  }
  return n;
}

Deno.test("DataFileWriter: one gzip member per segment, one worker stream throughout, resumable state", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "ks.c.jsonl.gz");
    const w = await DataFileWriter.create(path, options);
    // Segments are handed over back to back, without waiting for the one before to be written.
    const h1 = await w.writeSegment(pages(page(0, 3), page(3, 2)), () => false);
    assert.equal(zlibWorkerCount(), 1, "the worker stays up between segments");
    const h2 = await w.writeSegment(pages(page(5, 4)), () => false);
    const h3 = await w.writeSegment(pages(page(9, 1)), () => true);
    assert.equal(w.segmentsHanded, 3);
    const [s1, s2, s3] = await Promise.all([h1.written, h2.written, h3.written]);
    const written = await w.finish();
    const bytes = await Deno.readFile(path);
    assert.equal(members(bytes), 3);
    assert.equal(s1.stats.documents, 5);
    assert.equal(s2.stats.documents, 9);
    assert.equal(s3.stats.vectors[0]!.withVector, 10);
    assert.equal(written.sizeBytes, bytes.byteLength);
    assert.equal(written.sha256, createHash("sha256").update(bytes).digest("hex"));
    // The state after segment 1 is a prefix of the file, with its hash.
    assert.equal(
      s1.sha256,
      createHash("sha256").update(bytes.subarray(0, s1.sizeBytes)).digest("hex"),
    );
    const lines = new TextDecoder().decode(gunzipSync(bytes)).split("\n");
    assert.equal(lines.pop(), "");
    assert.deepEqual(lines.map((l) => JSON.parse(l)._id), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.equal(written.uncompressedBytes, lines.join("\n").length + 1);
    assert.equal(zlibWorkerCount(), 0, "and stops at the end");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("DataFileWriter.resume cuts a killed run's tail off, and refuses a prefix that changed", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "ks.c.jsonl.gz");
    const w = await DataFileWriter.create(path, options);
    const saved: SegmentState = await (await w.writeSegment(pages(page(0, 3)), () => false))
      .written;
    // What a run killed after the checkpoint wrote: part of the next member.
    await (await w.writeSegment(pages(page(3, 3)), () => false)).written;
    w.abort();
    await Deno.writeFile(path, new Uint8Array([1, 2, 3]), { append: true });

    const r = await DataFileWriter.resume(path, options, saved);
    await (await r.writeSegment(pages(page(3, 2)), () => true)).written;
    const done = await r.finish();
    const bytes = await Deno.readFile(path);
    assert.equal(done.sha256, createHash("sha256").update(bytes).digest("hex"));
    assert.equal(done.stats.documents, 5);
    const ids = new TextDecoder().decode(gunzipSync(bytes)).split("\n").filter(Boolean).map((
      l,
    ) => JSON.parse(l)._id);
    assert.deepEqual(ids, [0, 1, 2, 3, 4], "nothing twice, nothing of the cut tail");

    const f = await Deno.open(path, { write: true });
    await f.write(new Uint8Array([0]));
    f.close();
    await assert.rejects(
      () => DataFileWriter.resume(path, options, saved),
      SegmentMismatchError,
    );
    await assert.rejects(
      () => DataFileWriter.resume(join(dir, "gone.jsonl.gz"), options, saved),
      SegmentMismatchError,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("DataFileWriter: a scan that ends exactly at a segment's end still leaves an fsynced file", async () => {
  // No last segment closes the stream then (the checkpoint came first); finish() must fsync.
  const dir = await Deno.makeTempDir();
  const real = Deno.FsFile.prototype.sync;
  let syncs = 0;
  Deno.FsFile.prototype.sync = function (this: Deno.FsFile) {
    syncs++;
    return real.call(this);
  };
  try {
    for (const compress of [true, false]) {
      const path = join(dir, `ks.c${compress}.jsonl.gz`);
      const w = await DataFileWriter.create(path, { ...options, compress });
      await (await w.writeSegment(pages(page(0, 3)), () => false)).written;
      syncs = 0;
      const done = await w.finish();
      assert.equal(syncs, 1, `fsynced once (compress ${compress})`);
      assert.equal(done.stats.documents, 3);
      assert.equal((await Deno.stat(path)).size, done.sizeBytes);
    }
  } finally {
    Deno.FsFile.prototype.sync = real;
    await Deno.remove(dir, { recursive: true });
  }
});
