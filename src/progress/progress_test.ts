import assert from "node:assert/strict";
import { describeTask, formatDuration, type TaskFigures, taskRates } from "./progress.ts";
import { renderLine, TtyProgress } from "./tty_progress.ts";
import { LogProgress } from "./log_progress.ts";
import type { Reporter } from "../reporter.ts";

const fig = (over: Partial<TaskFigures> & Pick<TaskFigures, "plan">): TaskFigures => ({
  label: "ks.c",
  items: 0,
  bytes: 0,
  elapsedMs: 10_000,
  ...over,
});

Deno.test("describeTask says an estimate is an estimate and gives rate, bytes and ETA", () => {
  const line = describeTask(fig({
    plan: { action: "backup", unit: "documents", total: 5000, estimate: true },
    items: 1000,
    bytes: 1_500_000,
  }));
  assert.equal(
    line,
    "backup ks.c: 1000 of ~5000 documents (estimate) 20%, 100 documents/s, 1.50 MB, ETA 40s",
  );
});

Deno.test("describeTask past an estimate gives no percentage and no ETA", () => {
  const f = fig({
    plan: { action: "backup", unit: "documents", total: 100, estimate: true },
    items: 150,
  });
  assert.deepEqual(taskRates(f), { rate: 15, fraction: null, etaSeconds: null });
  assert.match(
    describeTask(f),
    /150 of ~100 documents \(estimate\), 15 documents\/s, .*ETA unknown \(past the estimate\)$/,
  );
});

Deno.test("describeTask counts rows without a total, and bytes for a quick verify", () => {
  assert.match(
    describeTask(
      fig({ plan: { action: "backup", unit: "rows", total: null, estimate: false }, items: 7 }),
    ),
    /^backup ks\.c: 7 rows, 1 rows\/s, 0 B, ETA unknown$/,
  );
  assert.equal(
    describeTask(fig({
      plan: { action: "verify", unit: "documents", total: null, estimate: false, totalBytes: 4000 },
      bytes: 1000,
    })),
    "verify ks.c: 1.00 kB of 4.00 kB 25%, 100 B/s, ETA 30s",
  );
  assert.equal(formatDuration(3725), "1:02:05");
});

function buffer() {
  const chunks: string[] = [];
  const dec = new TextDecoder();
  return {
    chunks,
    text: () => chunks.join(""),
    writeSync(p: Uint8Array) {
      chunks.push(dec.decode(p));
      return p.byteLength;
    },
  };
}

Deno.test("TtyProgress writes log lines above the display and clears it on stop", () => {
  const out = buffer();
  const p = new TtyProgress(out, { columns: () => 120, fps: 1 });
  assert.equal(p.printAbove("before"), false, "nothing live yet: the caller writes the line");
  const task = p.start("ks.c", { action: "backup", unit: "documents", total: 10, estimate: true });
  task.advance(4, 100);
  assert.equal(p.printAbove("a log line"), true);
  const drawn = out.text();
  assert.ok(drawn.includes("\x1b[J"), "cleared below before the log line");
  assert.ok(drawn.indexOf("a log line\n") < drawn.lastIndexOf("backup ks.c: 4 of ~10"), drawn);
  task.end();
  const end = out.text().slice(drawn.length);
  assert.ok(
    /\[0?J$/.test(end) && end.includes("\x1b"),
    `the display is cleared away: ${JSON.stringify(end)}`,
  );
  assert.equal(p.printAbove("after"), false);
  p.stop();
});

Deno.test("LogProgress logs tasks in flight and stops its timer when the last one ends", async () => {
  const lines: string[] = [];
  const reporter: Reporter = {
    info: (m) => lines.push(m),
    warn() {},
    error() {},
    debug() {},
  };
  const p = new LogProgress(reporter, 20);
  const task = p.start("ks.c", {
    action: "restore",
    unit: "documents",
    total: 10,
    estimate: false,
  });
  task.advance(5, 10);
  while (lines.length === 0) await new Promise((r) => setTimeout(r, 10));
  assert.match(lines[0]!, /^restore ks\.c: 5 of 10 documents 50%/);
  task.end();
  const n = lines.length;
  await new Promise((r) => setTimeout(r, 60));
  assert.equal(lines.length, n, "no line after the last task ended");
});

Deno.test("renderLine draws a bar when it fits, only the figures when narrow, never past the width", () => {
  const f = fig({
    plan: { action: "backup", unit: "documents", total: 100, estimate: true },
    items: 50,
  });
  assert.match(renderLine(f, 200), /^\[#{10}-{10}\] backup ks\.c: 50 of ~100 documents/);
  const narrow = renderLine(f, 40);
  assert.equal(narrow, "backup ks.c: 50 of ~100 documents (esti");
  assert.equal(narrow.length, 39);
});
