import assert from "node:assert/strict";
import { join } from "node:path";
import { escapeLabelValue, findSample } from "./prometheus.ts";
import { figuresOf, RunMetrics } from "./run_metrics.ts";

Deno.test("RunMetrics.render carries the last success over a failed run, 0 when none is known", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const m = await RunMetrics.open("backup", join(dir, "a.prom"), new Date(1000_000));
    const ok = m.render(0, null, null, new Date(2000_000));
    assert.equal(
      findSample(ok, "astrabak_last_success_timestamp_seconds", { command: "backup" }),
      2000,
    );
    const failed = m.render(3, null, ok, new Date(3000_000));
    assert.equal(
      findSample(failed, "astrabak_last_success_timestamp_seconds", { command: "backup" }),
      2000,
    );
    assert.equal(findSample(failed, "astrabak_last_run_exit_code", { command: "backup" }), 3);
    assert.equal(
      findSample(failed, "astrabak_last_run_duration_seconds", { command: "backup" }),
      2000,
    );
    // Another command's file carries nothing over.
    const other = (await RunMetrics.open("verify", join(dir, "a.prom"))).render(
      2,
      null,
      ok,
      new Date(),
    );
    assert.equal(
      findSample(other, "astrabak_last_success_timestamp_seconds", { command: "verify" }),
      0,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("escapeLabelValue escapes what the text format requires, and findSample reads it back", () => {
  assert.equal(escapeLabelValue('a"b\\c\nd'), 'a\\"b\\\\c\\nd');
  const text = `x{k="${escapeLabelValue('a"b\\c')}"} 5\n`;
  assert.equal(findSample(text, "x", { k: 'a"b\\c' }), 5);
});

Deno.test("figuresOf reads restore targets and ignores error objects", () => {
  const f = figuresOf("restore", {
    status: "ok",
    verification: { totals: { bytes_read: 99 } },
    collections: [{ target: "ks.c", status: "ok", inserted: 4 }],
  });
  assert.deepEqual(f, {
    documents: 4,
    bytes: 99,
    collections: [{ keyspace: "ks", collection: "c", status: "ok", documents: 4, bytes: null }],
  });
  assert.equal(figuresOf("backup", { status: "error", exit_code: 1 }), null);
});
