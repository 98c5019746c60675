import assert from "node:assert/strict";
import {
  type Keyed,
  nameDifferences,
  partitionCount,
  PartitionedDigest,
  type Pass,
} from "./compare.ts";

const enc = new TextEncoder();
const doc = (id: number, extra = ""): Keyed => ({
  key: JSON.stringify(`d${id}`),
  bytes: enc.encode(`{"_id":"d${id}","n":${id}${extra}}`),
});

/** A pass over `docs` that counts how often it is read. */
function counted(docs: Keyed[]) {
  const c: { reads: number; pass: Pass } = {
    reads: 0,
    pass: () => [] as unknown as AsyncIterable<Keyed>,
  };
  c.pass = () => {
    c.reads++;
    return (async function* () {
      yield* docs;
    })();
  };
  return c;
}

function digest(docs: Keyed[], parts: number): PartitionedDigest {
  const d = new PartitionedDigest(parts);
  for (const x of docs) d.add(x.key, x.bytes);
  return d;
}

Deno.test("compare: the digest is order-independent and counts a document stored twice", () => {
  const docs = Array.from({ length: 50 }, (_, i) => doc(i));
  const a = digest(docs, 8);
  assert.ok(a.total.equals(digest([...docs].reverse(), 8).total));
  assert.deepEqual(a.differing(digest([...docs].reverse(), 8)), []);
  const twice = digest([...docs, docs[3]!], 8);
  assert.ok(!a.total.equals(twice.total));
  assert.equal(a.differing(twice).length, 1);
});

Deno.test("compare: a single difference is named with one more pass over each side, whatever the partitions", async () => {
  // Many partitions of few documents: before, every partition cost one more full read of the
  // scratch copy and of the snapshot until five differences were named (all of them, for one).
  const snapshot = Array.from({ length: 400 }, (_, i) => doc(i));
  for (const lost of [0, 199, 399]) {
    const server = snapshot.filter((_, i) => i !== lost);
    const parts = 64;
    const want = digest(snapshot, parts);
    const have = digest(server, parts);
    const s = counted(snapshot);
    const c = counted(server);
    const out = await nameDifferences(s.pass, c.pass, parts, want.differing(have), 5);
    assert.deepEqual(out.map((d) => [d.kind, d._id]), [["missing", `"d${lost}"`]]);
    assert.deepEqual([s.reads, c.reads], [1, 1]);
  }
});

Deno.test("compare: differing, extra and duplicated documents are named, the differing ones by field", async () => {
  const snapshot = Array.from({ length: 30 }, (_, i) => doc(i));
  const server = snapshot.map((d, i) => (i === 7 ? doc(7, ',"x":1') : d));
  server.push(doc(100), snapshot[2]!);
  const parts = partitionCount(snapshot.length);
  const want = digest(snapshot, parts);
  const have = digest(server, parts);
  const out = await nameDifferences(
    counted(snapshot).pass,
    counted(server).pass,
    parts,
    want.differing(have),
    5,
  );
  const byId = new Map(out.map((d) => [d._id, d]));
  assert.equal(out.length, 3);
  assert.deepEqual([byId.get('"d7"')?.kind, byId.get('"d7"')?.path], ["differs", "x"]);
  assert.equal(byId.get('"d100"')?.kind, "extra");
  assert.equal(byId.get('"d2"')?.kind, "extra", "restored twice");
});
