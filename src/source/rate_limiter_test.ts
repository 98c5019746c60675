import assert from "node:assert/strict";
import { RateLimiter } from "./rate_limiter.ts";

Deno.test("RateLimiter spaces requests at the cap", async () => {
  const l = new RateLimiter({ maxRps: 50 });
  const t = performance.now();
  for (let i = 0; i < 11; i++) await l.acquire();
  const ms = performance.now() - t;
  assert.ok(ms >= 190 && ms < 600, `11 requests at 50/s took ${ms} ms`);
});

Deno.test("RateLimiter halves on 429 and recovers additively", () => {
  const changes: string[] = [];
  const l = new RateLimiter({ maxRps: 100, onChange: (r, why) => changes.push(`${why} ${r}`) });
  l.throttled();
  l.throttled();
  assert.equal(l.rps, 25);
  for (let i = 0; i < 10; i++) l.succeeded();
  assert.equal(l.rps, 45);
  for (let i = 0; i < 100; i++) l.succeeded();
  assert.equal(l.rps, 100);
  assert.deepEqual(changes, ["throttled 50", "throttled 25", "recovered 100"]);
  const floor = new RateLimiter({ maxRps: 2 });
  for (let i = 0; i < 5; i++) floor.throttled();
  assert.equal(floor.rps, 1);
});
