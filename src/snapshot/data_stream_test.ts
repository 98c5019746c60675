import assert from "node:assert/strict";
import { documentIdKey } from "../json/document_id.ts";
import { hashName, keyHash } from "../json/document_key.ts";
import type { CollectionEntry } from "../manifest/mod.ts";
import { duplicateKeyProblems, readDataFile } from "./data_stream.ts";

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
