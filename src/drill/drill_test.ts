import assert from "node:assert/strict";
import { MAX_NAME_LENGTH, scratchNames } from "./drill.ts";

Deno.test("scratchNames: cut to 48 characters and collision-free for long similar names", () => {
  const long = "a".repeat(60);
  const entries = [
    { keyspace: "ks", name: `${long}_one` },
    { keyspace: "ks", name: `${long}_two` },
    { keyspace: "ks", name: `${long}_three` },
    { keyspace: "other", name: `${long}_one` },
    { keyspace: "ks", name: "short" },
  ];
  const names = scratchNames("0123456789ab", entries, null);
  for (const n of names) {
    assert.ok(n.length <= MAX_NAME_LENGTH, n);
    assert.match(n, /^drill_0123456789ab_[A-Za-z0-9_]+$/);
  }
  const inKs = names.filter((_, i) => entries[i]!.keyspace === "ks");
  assert.equal(new Set(inKs).size, inKs.length, "distinct within a keyspace");
  assert.equal(names[4], "drill_0123456789ab_short");
  // Into one target keyspace, the entries of two keyspaces must not meet either.
  const one = scratchNames("0123456789ab", entries, "scratch");
  assert.equal(new Set(one).size, one.length);
  assert.ok(one.every((n) => n.length <= MAX_NAME_LENGTH));
});
