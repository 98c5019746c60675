import assert from "node:assert/strict";
import { documentIdKey } from "../json/document_id.ts";
import { hashName, keyHash } from "../json/document_key.ts";
import type { CollectionEntry } from "../manifest/mod.ts";
import { discardingSink, duplicateKeyProblems, readDataFile } from "./data_stream.ts";
import { releaseWorkerOutput, zlibReleasedOutputs } from "../streams/zlib_worker_stream.ts";

const enc = new TextEncoder();

function entry(text: string, lines: number): CollectionEntry {
  return {
    keyspace: "ks",
    name: "c",
    kind: "collection",
    status: "ok",
    definition: {},
    data_file: "ks.c.jsonl",
    compressed: false,
    document_count: lines,
    estimated_document_count_before: null,
    estimated_document_count_after: null,
    vector: null,
    data_sha256: null,
    data_size_bytes: text.length,
    uncompressed_size_bytes: text.length,
    pages: 1,
    attempts: 1,
    warnings: [],
  };
}

const bytes = (text: string) => ReadableStream.from([enc.encode(text)]);

Deno.test("repeated keys: hashes find candidates, the exact pass keeps only real duplicates", async () => {
  const text =
    '{"_id":"a"}\n{"_id":"b"}\n{"_id":{"$uuid":"0192F1A2-0000-7000-8000-000000000002"}}\n' +
    '{"_id":"0192f1a2-0000-7000-8000-000000000002"}\n{"_id":"c"}\n';
  const e = entry(text, 5);
  const read = readDataFile(bytes(text), e, { quick: false, duplicates: true });
  await read.documents!.pipeTo(new WritableStream());
  const repeated = (await read.figures).repeatedKeys!;
  assert.equal(repeated.size, 1);
  const problems = await duplicateKeyProblems(bytes(text), e, repeated);
  assert.equal(problems.length, 1);
  assert.match(
    problems[0]!,
    /^1 line\(s\) repeat the _id of an earlier line.*: line 4 repeats the _id="0192f1a2-0000-7000-8000-000000000002" of line 3$/,
  );
  // A candidate that is only a hash collision (here: a key seen once) yields no finding.
  const once = new Set([hashName(keyHash(documentIdKey(enc.encode('"b"'))!))]);
  assert.deepEqual(await duplicateKeyProblems(bytes(text), e, once), []);
});

Deno.test("maxDocuments: a deliberate partial read stops after N documents; a file of exactly N is read whole", async () => {
  const text = '{"_id":"a"}\n{"_id":"b"}\n{"_id":"c"}\n';
  const e = entry(text, 3);
  const count = async (n: number) => {
    const read = readDataFile(bytes(text), e, { quick: false, maxDocuments: n });
    let docs = 0;
    for await (const page of read.documents!) docs += page.length;
    return { docs, cut: read.cut, figures: read.cut ? null : await read.figures };
  };
  const two = await count(2);
  assert.deepEqual([two.docs, two.cut], [2, true]);
  const three = await count(3);
  assert.deepEqual([three.docs, three.cut, three.figures?.stats?.documents], [3, false, 3]);
});

Deno.test("a discarding reader frees each gunzip output chunk once its documents are past it, and only those", async () => {
  // About 3 MB of JSON Lines whose lines straddle the worker's 256 KB output chunks.
  const lines = Array.from(
    { length: 6000 },
    (_, i) => `{"_id":${i},"text":"${"x".repeat(200 + (i * 37) % 600)}"}\n`,
  );
  const text = lines.join("");
  const gz = new Uint8Array(
    await new Response(
      ReadableStream.from([enc.encode(text)]).pipeThrough(new CompressionStream("gzip")),
    ).arrayBuffer(),
  );
  const e = { ...entry(text, lines.length), compressed: true, data_size_bytes: gz.byteLength };
  const read = readDataFile(ReadableStream.from([gz]), e, { quick: false, duplicates: true });
  let seen = 0;
  zlibReleasedOutputs(true);
  await read.documents!.pipeTo(discardingSink((page) => (seen += page.length)));
  const figures = await read.figures;
  assert.equal(seen, lines.length);
  assert.equal(figures.stats!.documents, lines.length);
  assert.equal(figures.uncompressedBytes, text.length);
  assert.equal(figures.repeatedKeys!.size, 0);
  // 3.2 MB come out in 256 KB chunks: all but the last are freed as soon as verify is past them.
  assert.equal(zlibReleasedOutputs(true), Math.ceil(text.length / (256 * 1024)) - 1);
  // Anything else (a file reader's or zip.js's buffer) is never freed by it.
  const other = new Uint8Array(16);
  releaseWorkerOutput(other.buffer);
  assert.equal(other.byteLength, 16);
});
