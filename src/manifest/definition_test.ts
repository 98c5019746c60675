import assert from "node:assert/strict";
import { describeEntries } from "./definition.ts";

Deno.test("describeEntries names each kind with its count", () => {
  const c = { kind: "collection" as const };
  const t = { kind: "table" as const };
  assert.equal(describeEntries([]), "0 collections");
  assert.equal(describeEntries([c]), "1 collection");
  assert.equal(describeEntries([t, t]), "2 tables");
  assert.equal(describeEntries([c, t, c, c, t]), "3 collections and 2 tables");
});
