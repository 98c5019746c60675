import assert from "node:assert/strict";
import { canonicalRow, firstDifference, rowKey } from "./json_diff.ts";

const b = (s: string) => new TextEncoder().encode(s);

Deno.test("firstDifference names the first differing field path, digits and order included", () => {
  assert.equal(
    firstDifference(b('{"a":1,"m":{"p":1.50}}'), b('{"a":1,"m":{"p":1.5}}'))?.path,
    "m.p",
  );
  assert.deepEqual(firstDifference(b('{"$vector":[1,2,3]}'), b('{"$vector":[1,2,4]}')), {
    path: "$vector[2]",
    detail: "snapshot 3, read back 4",
  });
  assert.equal(firstDifference(b('{"v":[1,2]}'), b('{"v":[1]}'))?.path, "v[1]");
  assert.equal(
    firstDifference(b('{"a":1,"b":2}'), b('{"a":1}'))?.detail,
    "missing in what was read back",
  );
  assert.equal(firstDifference(b('{"a":1}'), b('{"a":1,"z":0}'))?.path, "z");
  assert.equal(
    firstDifference(b('{"a":1,"b":2}'), b('{"b":2,"a":1}'))?.detail,
    "members in another order",
  );
  assert.equal(firstDifference(b('{"a":1,"b":2}'), b('{"b":2,"a":1}'), false), null);
  assert.equal(
    firstDifference(b('{"s":"x\\u0041"}'), b('{"s":"xA"}'))?.path,
    "s",
    "escapes are exact",
  );
  assert.equal(firstDifference(b('{"a":{"$date":1}}'), b('{"a":{"$date":1}}')), null);
});

Deno.test("canonicalRow orders columns by name, values byte for byte; rowKey in key order", () => {
  assert.equal(
    canonicalRow(b('{"z":1.50,"a":{"y":1,"b":[2]},"m":"é"}')),
    '{"a":{"y":1,"b":[2]},"m":"é","z":1.50}',
  );
  assert.equal(rowKey(b('{"v":2,"sku":"s1","cat":"x"}'), ["cat", "sku"]), '{"cat":"x","sku":"s1"}');
});
