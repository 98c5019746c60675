import assert from "node:assert/strict";
import { unsafeEntryName } from "./reader.ts";

Deno.test("unsafeEntryName accepts plain relative names only", () => {
  assert.equal(unsafeEntryName("20261125_000000/manifest.json"), null);
  assert.equal(unsafeEntryName("20261125_000000/"), null);
  for (
    const [name, why] of [
      ["../x", "escapes"],
      ["a/../../x", "escapes"],
      ["a/./x", "escapes"],
      ["/etc/passwd", "absolute"],
      ["C:/x", "absolute"],
      ["a\\..\\x", "backslash"],
      ["a//x", "empty path segment"],
      ["", "empty name"],
      ["a\0b", "NUL"],
    ]
  ) assert.match(unsafeEntryName(name!)!, new RegExp(why!), name);
});
