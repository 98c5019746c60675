import assert from "node:assert/strict";
import { ByteLimitStream } from "./byte_limit_stream.ts";
import { concurrentSink } from "./concurrent_sink.ts";
import { DigestStream } from "./digest_stream.ts";
import { gunzipStream, gzipStream, inlineGunzipStream } from "./gzip_stream.ts";
import { LineSplitStream } from "./line_split_stream.ts";
import {
  GZIP_MEMBER_END,
  MAX_PIECES_IN_FLIGHT,
  PIECE_BYTES,
  zlibInFlightPeak,
  zlibWorkerCount,
} from "./zlib_worker_stream.ts";
import { releaseBuffer } from "./release_buffer.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

function source(chunks: string[]): ReadableStream<Uint8Array> {
  return ReadableStream.from(chunks.map((c) => enc.encode(c)));
}

async function lines(chunks: string[], max = 100): Promise<string[]> {
  const out: string[] = [];
  await source(chunks).pipeThrough(new LineSplitStream(max)).pipeTo(
    new WritableStream({ write: (ls) => void out.push(...ls.map((l) => dec.decode(l))) }),
  );
  return out;
}

Deno.test("LineSplitStream joins lines split across chunks", async () => {
  assert.deepEqual(await lines(['{"a"', ':1}\n{"b":2}\n{', '"c":3}', "\n"]), [
    '{"a":1}',
    '{"b":2}',
    '{"c":3}',
  ]);
  assert.deepEqual(await lines([]), []);
  assert.deepEqual(await lines(["\n"]), [""]);
});

Deno.test("LineSplitStream refuses a missing final newline and over-long lines", async () => {
  await assert.rejects(lines(['{"a":1}\n{"b"']), /has no final newline: the file is truncated/);
  await assert.rejects(
    lines(["x".repeat(60), "x".repeat(60)], 100),
    /line 1 is longer than 100 bytes/,
  );
  await assert.rejects(
    lines(["ok\n" + "y".repeat(101) + "\n"], 100),
    /line 2 is longer than 100 bytes/,
  );
});

Deno.test("ByteLimitStream passes up to the limit and fails past it", async () => {
  const ok = new ByteLimitStream(6, (n) => `over ${n}`);
  await source(["abc", "def"]).pipeThrough(ok).pipeTo(new WritableStream());
  assert.equal(ok.bytes, 6);
  await assert.rejects(
    source(["abc", "defg"]).pipeThrough(new ByteLimitStream(6, (n) => `over ${n}`)).pipeTo(
      new WritableStream(),
    ),
    /over 6/,
  );
});

Deno.test("DigestStream hashes exactly what passes through", async () => {
  const d = new DigestStream();
  await source(["hello ", "world"]).pipeThrough(d).pipeTo(new WritableStream());
  assert.deepEqual(await d.result, {
    hex: "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9",
    bytes: 11,
  });
});

/** Deterministic, poorly compressible bytes (so gzip emits many chunks). */
function noise(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

async function collect(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  await stream.pipeTo(new WritableStream({ write: (c) => void parts.push(c) }));
  return concat(parts);
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function chunked(bytes: Uint8Array, size: number): ReadableStream<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
  return ReadableStream.from(chunks);
}

Deno.test("gzip streams sharing the worker pool stay separate, in order, and drain the pool", async () => {
  const inputs = Array.from({ length: 8 }, (_, i) => noise(300_000 + i * 7_919, i + 1));
  let peak = 0;
  const watch = setInterval(() => (peak = Math.max(peak, zlibWorkerCount())), 1);
  try {
    const results = await Promise.all(inputs.map(async (input, i) => {
      const gz = await collect(chunked(input, 10_000 + i * 1_000).pipeThrough(gzipStream(1)));
      // Each output is one standard gzip member: the platform's decoder reads it.
      const viaPlatform = await collect(
        chunked(gz, 4_096).pipeThrough(
          new DecompressionStream("gzip") as TransformStream<Uint8Array, Uint8Array>,
        ),
      );
      const viaWorker = await collect(chunked(gz, 4_096).pipeThrough(gunzipStream()));
      return { viaPlatform, viaWorker };
    }));
    results.forEach(({ viaPlatform, viaWorker }, i) => {
      assert.deepEqual(viaPlatform, inputs[i]);
      assert.deepEqual(viaWorker, inputs[i]);
    });
  } finally {
    clearInterval(watch);
  }
  assert.ok(peak >= 1 && peak <= 4, `workers alive at once: ${peak}`);
  assert.equal(zlibWorkerCount(), 0);
});

Deno.test("a large chunk goes to the zlib worker in small pieces, a few at a time", async () => {
  // A page of 1536-d documents is one 1.5 MB chunk; handed over whole, each one in flight cost
  // its size again in the worker (docs/BENCHMARKS.md).
  const input = noise(3_000_000, 7);
  zlibInFlightPeak(true);
  const gz = await collect(chunked(input, input.length).pipeThrough(gzipStream(1)));
  const gzPeak = zlibInFlightPeak(true);
  const back = await collect(chunked(gz, gz.length).pipeThrough(gunzipStream()));
  const gunzipPeak = zlibInFlightPeak(true);
  assert.deepEqual(back, input);
  for (const peak of [gzPeak, gunzipPeak]) {
    assert.ok(
      peak > 0 && peak <= MAX_PIECES_IN_FLIGHT * PIECE_BYTES && peak < 1_500_000,
      `bytes in flight to the worker: ${peak}`,
    );
  }
});

Deno.test("releaseBuffer frees a whole buffer and leaves a view into a larger one alone", () => {
  const whole = new Uint8Array(1000);
  releaseBuffer(whole);
  assert.equal(whole.byteLength, 0);
  assert.equal(whole.buffer.detached, true);
  const big = new Uint8Array(1000);
  const view = big.subarray(10, 20);
  releaseBuffer(view);
  assert.equal(view.byteLength, 10);
  assert.equal(big.buffer.detached, false);
});

Deno.test("gunzip of corrupt input fails that stream only; a cancelled stream frees its worker", async () => {
  const good = noise(200_000, 7);
  const gz = await collect(chunked(good, 8_192).pipeThrough(gzipStream()));
  const corrupt = gz.slice();
  corrupt.fill(0x41, 100, 400);
  const [bad, ok] = await Promise.allSettled([
    collect(chunked(corrupt, 1_000).pipeThrough(gunzipStream())),
    collect(chunked(gz, 1_000).pipeThrough(gunzipStream())),
  ]);
  assert.equal(bad.status, "rejected");
  assert.match(String((bad as PromiseRejectedResult).reason), /gunzip failed/);
  assert.equal(ok.status, "fulfilled");
  assert.deepEqual((ok as PromiseFulfilledResult<Uint8Array>).value, good);

  const reader = chunked(gz, 1_000).pipeThrough(gunzipStream()).getReader();
  assert.equal((await reader.read()).done, false);
  await reader.cancel();
  assert.equal(zlibWorkerCount(), 0);
});

Deno.test("gzip members end in order: no chunk of the next member is written after the end", async () => {
  // The next member's chunks reach the worker while the old member is still ending; the worker
  // holds them until the next member is open (it failed with "write after end" when a chunk was
  // sent on too early). Tiny parts and back-to-back member ends make the held queue replay
  // through another member end.
  const parts = Array.from({ length: 30 }, (_, i) => noise(i % 3 === 0 ? 10 : 300_000, i + 1));
  const input = parts.flatMap((
    p,
    i,
  ) => (i % 5 === 4 ? [p, GZIP_MEMBER_END, GZIP_MEMBER_END] : [p, GZIP_MEMBER_END]));
  const out: Uint8Array[] = [];
  await ReadableStream.from(input).pipeThrough(gzipStream(1)).pipeTo(
    new WritableStream({ write: (c) => void out.push(c) }),
  );
  // Each member end comes out where it went in: the bytes between two of them gunzip to the part.
  const members: Uint8Array[][] = [[]];
  for (const c of out) c === GZIP_MEMBER_END ? members.push([]) : members.at(-1)!.push(c);
  const texts = members.map((m) => concat(m)).filter((m) => m.byteLength > 0);
  const back = await Promise.all(
    texts.map((m) => collect(chunked(m, 65_536).pipeThrough(gunzipStream()))),
  );
  assert.deepEqual(back.filter((b) => b.byteLength > 0), parts);
  assert.deepEqual(
    await collect(chunked(concat(out), 65_536).pipeThrough(gunzipStream())),
    concat(parts),
  );
});

Deno.test("inline gunzip reads every member of a multi-member file, without a worker", async () => {
  // Format 4 data files are multi-member (a member per backup checkpoint); restore gunzips them
  // on its main thread, which must not stop after the first member as DecompressionStream does.
  const parts = [noise(150_000, 3), noise(90_000, 4), noise(120_000, 5)];
  const input = ReadableStream.from(
    parts.flatMap((p, i) => (i < parts.length - 1 ? [p, GZIP_MEMBER_END] : [p])),
  );
  const gz = await collect(input.pipeThrough(gzipStream(1)));
  const seen: number[] = [];
  const watch = setInterval(() => seen.push(zlibWorkerCount()), 1);
  let back: Uint8Array;
  try {
    back = await collect(chunked(gz, 5_000).pipeThrough(inlineGunzipStream()));
  } finally {
    clearInterval(watch);
  }
  assert.deepEqual(back, concat(parts));
  assert.deepEqual(seen.filter((n) => n > 0), [], "no worker thread while gunzipping inline");

  const corrupt = gz.slice();
  corrupt.fill(0x41, 100, 400);
  await assert.rejects(
    collect(chunked(corrupt, 1_000).pipeThrough(inlineGunzipStream())),
    (e) => e instanceof TypeError && /gunzip failed/.test(e.message),
  );
  await assert.rejects(
    collect(chunked(gz.subarray(0, gz.length - 10), 1_000).pipeThrough(inlineGunzipStream())),
    /gunzip failed/,
  );
});

/** Runs items through concurrentSink with writes that finish in the order they were started. */
async function sinkRun(
  items: number[],
  limits: { concurrency: number; bytes: number },
  fail?: number,
): Promise<{ peakCount: number; peakBytes: number; written: number[]; error?: unknown }> {
  let count = 0, bytes = 0, peakCount = 0, peakBytes = 0;
  const written: number[] = [];
  try {
    await ReadableStream.from(items).pipeTo(
      concurrentSink(limits, (w) => w, async (w) => {
        count++;
        bytes += w;
        peakCount = Math.max(peakCount, count);
        peakBytes = Math.max(peakBytes, bytes);
        await new Promise((r) => setTimeout(r, 2));
        count--;
        bytes -= w;
        if (w === fail) throw new Error(`item ${w} failed`);
        written.push(w);
      }),
    );
  } catch (error) {
    return { peakCount, peakBytes, written, error };
  }
  return { peakCount, peakBytes, written };
}

Deno.test("concurrentSink bounds items and bytes in flight; one oversized item still goes alone", async () => {
  const many = await sinkRun(Array(20).fill(1), { concurrency: 4, bytes: 1_000 });
  assert.equal(many.peakCount, 4);
  assert.equal(many.written.length, 20);

  const heavy = await sinkRun([5, 5, 5, 5, 5, 5], { concurrency: 16, bytes: 12 });
  assert.equal(heavy.peakBytes, 10);
  assert.equal(heavy.peakCount, 2);

  const huge = await sinkRun([50, 1, 50], { concurrency: 16, bytes: 12 });
  assert.equal(huge.peakBytes, 50);
  assert.equal(huge.peakCount, 1);
  assert.deepEqual(huge.written.sort((a, b) => a - b), [1, 50, 50]);
});

Deno.test("concurrentSink fails with the first failed item and stops taking new ones", async () => {
  const r = await sinkRun([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], { concurrency: 2, bytes: 1_000 }, 3);
  assert.match(String(r.error), /item 3 failed/);
  assert.ok(!r.written.includes(10), `written after the failure: ${r.written}`);
});
