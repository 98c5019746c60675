import assert from "node:assert/strict";
import { ByteLimitStream } from "./byte_limit_stream.ts";
import { DigestStream } from "./digest_stream.ts";
import { LineSplitStream } from "./line_split_stream.ts";

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
