import assert from "node:assert/strict";
import { parseRetryAfter } from "./retry.ts";

Deno.test("parseRetryAfter reads delta-seconds and HTTP dates, and nothing else", () => {
  const now = Date.parse("Thu, 26 Nov 2026 02:00:00 GMT");
  assert.equal(parseRetryAfter("3", now), 3000);
  assert.equal(parseRetryAfter(" 1.5 ", now), 1500);
  assert.equal(parseRetryAfter("Thu, 26 Nov 2026 02:00:07 GMT", now), 7000);
  assert.equal(parseRetryAfter("Thu, 26 Nov 2026 01:59:00 GMT", now), 0, "a past date: no wait");
  assert.equal(parseRetryAfter(null, now), undefined);
  assert.equal(parseRetryAfter("", now), undefined);
  assert.equal(parseRetryAfter("soon", now), undefined);
  assert.equal(parseRetryAfter("-5", now), undefined);
});
