import assert from "node:assert/strict";
import { compactDuration } from "./duration.ts";

Deno.test("compactDuration re-spells fractional ISO seconds and leaves the rest alone", () => {
  assert.equal(compactDuration("PT1.5S"), "1s500ms");
  assert.equal(compactDuration("PT0.5S"), "500ms");
  assert.equal(compactDuration("PT22H0.001S"), "22h1ms");
  assert.equal(compactDuration("-P1DT2H0.5S"), "-1d2h500ms");
  assert.equal(compactDuration("P1Y2M3DT4H5M6.000007008S"), "1y2mo3d4h5m6s7us8ns");
  assert.equal(compactDuration("PT2H45M"), null);
  assert.equal(compactDuration("PT0S"), null);
  assert.equal(compactDuration("1h30m"), null);
});
