import assert from "node:assert/strict";
import {
  decideRetention,
  describePolicy,
  groupSnapshotNames,
  hasKeepRule,
  isoWeek,
  type RetentionPolicy,
  timestampDate,
} from "./rules.ts";

const NOW = new Date("2027-03-10T12:00:00Z");

/** Decides over `names` and returns `{ "<first name>": "keep: reasons" | "remove: reasons" }`. */
function decide(
  names: string[],
  policy: RetentionPolicy,
  context: { now?: Date; inProgressLocked?: boolean } = {},
): Record<string, string> {
  const { groups } = groupSnapshotNames(names);
  const out: Record<string, string> = {};
  for (
    const d of decideRetention(groups, policy, {
      now: context.now ?? NOW,
      inProgressLocked: context.inProgressLocked ?? false,
    })
  ) {
    out[d.snapshot.names.join("+")] = `${d.action}: ${d.reasons.join(", ")}`;
  }
  return out;
}

Deno.test("isoWeek follows ISO 8601 across year ends", () => {
  const cases: Array<[string, string]> = [
    ["20261231_020000", "2026-W53"], // 2026 starts on a Thursday: it has 53 weeks
    ["20270103_235959", "2026-W53"], // Sunday: still the last week of 2026
    ["20270104_000000", "2027-W01"], // Monday
    ["20241230_020000", "2025-W01"], // Monday of the week holding 2 Jan 2025
    ["20210103_020000", "2020-W53"],
    ["20260105_000000", "2026-W02"],
    ["20260101_000000", "2026-W01"],
  ];
  for (const [ts, week] of cases) assert.equal(isoWeek(timestampDate(ts)!), week, ts);
});

Deno.test("timestampDate refuses timestamps that are not real dates", () => {
  assert.equal(timestampDate("20261345_000000"), null);
  assert.equal(timestampDate("20270229_020000"), null);
  assert.equal(timestampDate("20260101_240000"), null);
  assert.equal(timestampDate("20280229_020000")?.toISOString(), "2028-02-29T02:00:00.000Z");
});

Deno.test("groupSnapshotNames: a directory and its zip are one snapshot; other names are ignored", () => {
  const { groups, ignored } = groupSnapshotNames([
    "20270301_020000",
    "20270301_020000.zip",
    "20270302_020000.zip",
    "20270303_020000.INCOMPLETE",
    ".20270304_020000.inprogress",
    ".astrabak.lock",
    "notes.txt",
    "20261345_000000",
    "20270301_020000.zip.tmp",
    ".20270301_020000.zip.1a2b3c4d.download",
  ]);
  assert.deepEqual(groups, [
    { timestamp: "20270304_020000", state: "inprogress", names: [".20270304_020000.inprogress"] },
    { timestamp: "20270303_020000", state: "incomplete", names: ["20270303_020000.INCOMPLETE"] },
    { timestamp: "20270302_020000", state: "complete", names: ["20270302_020000.zip"] },
    {
      timestamp: "20270301_020000",
      state: "complete",
      names: ["20270301_020000", "20270301_020000.zip"],
    },
  ]);
  assert.deepEqual(ignored, [
    ".20270301_020000.zip.1a2b3c4d.download",
    ".astrabak.lock",
    "20261345_000000",
    "20270301_020000.zip.tmp",
    "notes.txt",
  ]);
});

Deno.test("keep-daily keeps the newest of each of the last N days that hold one", () => {
  assert.deepEqual(
    decide([
      "20270310_020000",
      "20270309_230000",
      "20270309_020000",
      "20270307_020000", // 8 March holds none: the rule reaches further back
      "20270306_020000",
      "20270305_020000",
    ], { daily: 3 }),
    {
      "20270310_020000": "keep: daily",
      "20270309_230000": "keep: daily",
      "20270309_020000": "remove: no rule keeps it",
      "20270307_020000": "keep: daily",
      "20270306_020000": "remove: no rule keeps it",
      "20270305_020000": "remove: no rule keeps it",
    },
  );
});

Deno.test("a rule with counts left also keeps the oldest snapshot (restic's 'oldest')", () => {
  assert.deepEqual(
    decide(["20270302_020000", "20270301_140000", "20270301_020000"], { daily: 7 }),
    {
      "20270302_020000": "keep: daily",
      "20270301_140000": "keep: daily",
      "20270301_020000": "keep: oldest daily",
    },
  );
});

Deno.test("ISO weeks cross the year end; months and years follow the calendar", () => {
  const names = [
    "20270104_020000", // 2027-W01, January
    "20270102_020000", // 2026-W53, January 2027
    "20261231_020000", // 2026-W53, December 2026
    "20261227_020000", // 2026-W52 (a Sunday)
  ];
  assert.deepEqual(decide(names, { weekly: 2 }), {
    "20270104_020000": "keep: weekly",
    "20270102_020000": "keep: weekly",
    "20261231_020000": "remove: no rule keeps it",
    "20261227_020000": "remove: no rule keeps it",
  });
  assert.deepEqual(decide(names, { monthly: 2 }), {
    "20270104_020000": "keep: monthly",
    "20270102_020000": "remove: no rule keeps it",
    "20261231_020000": "keep: monthly",
    "20261227_020000": "remove: no rule keeps it",
  });
  assert.deepEqual(decide(names, { yearly: 5 }), {
    "20270104_020000": "keep: yearly",
    "20270102_020000": "remove: no rule keeps it",
    "20261231_020000": "keep: yearly",
    "20261227_020000": "keep: oldest yearly",
  });
});

Deno.test("month edge: the last second of a month and the first of the next are two months", () => {
  const names = ["20270201_000000", "20270131_235959", "20270131_010000"];
  assert.deepEqual(decide(names, { monthly: 2, daily: 1 }), {
    "20270201_000000": "keep: daily, monthly",
    "20270131_235959": "keep: monthly",
    "20270131_010000": "remove: no rule keeps it",
  });
});

Deno.test("keep-hourly and keep-last; a snapshot kept by several rules lists them all", () => {
  assert.deepEqual(
    decide(
      ["20270310_110500", "20270310_103000", "20270310_100000", "20270310_090000"],
      { hourly: 2, last: 1 },
    ),
    {
      "20270310_110500": "keep: last, hourly",
      "20270310_103000": "keep: hourly",
      "20270310_100000": "remove: no rule keeps it",
      "20270310_090000": "remove: no rule keeps it",
    },
  );
});

Deno.test("keep-within counts back from the newest snapshot not in the future, exclusive", () => {
  assert.deepEqual(
    decide(
      [
        "20270311_020000", // in the future: kept, but does not anchor the window
        "20270310_020000",
        "20270309_030000",
        "20270309_020000", // exactly 1 day before the anchor: outside (restic: After)
        "20270308_020000",
      ],
      { withinMs: 86_400_000, withinText: "1d" },
    ),
    {
      "20270311_020000": "keep: within 1d",
      "20270310_020000": "keep: within 1d",
      "20270309_030000": "keep: within 1d",
      "20270309_020000": "remove: no rule keeps it",
      "20270308_020000": "remove: no rule keeps it",
    },
  );
});

Deno.test("floor: the newest complete snapshot is kept even when no rule keeps it", () => {
  assert.deepEqual(decide(["20270310_020000", "20270309_020000"], {}), {
    "20270310_020000": "keep: newest complete snapshot (always kept)",
    "20270309_020000": "remove: no rule keeps it",
  });
});

Deno.test("floor: nothing is removed when fewer than keep-min complete snapshots would remain", () => {
  const names = ["20270310_020000", "20270309_020000", "20270308_020000", "20270307_020000"];
  const why = "keep: keep-min 3: only 1 complete snapshot(s) would remain, so nothing is removed";
  assert.deepEqual(decide([...names, "20270306_020000.INCOMPLETE"], { last: 1, keepMin: 3 }), {
    "20270310_020000": "keep: last",
    "20270309_020000": why,
    "20270308_020000": why,
    "20270307_020000": why,
    "20270306_020000.INCOMPLETE": why,
  });
  // Exactly keep-min remain: the removals happen.
  const ok = decide(names, { last: 3, keepMin: 3 });
  assert.equal(ok["20270307_020000"], "remove: no rule keeps it");
  // Fewer complete snapshots than keep-min exist at all.
  assert.equal(
    decide(names.slice(0, 2), { last: 1, keepMin: 3 })["20270309_020000"]?.startsWith(
      "keep: keep-min 3",
    ),
    true,
  );
});

Deno.test("INCOMPLETE: removed only when a newer complete snapshot exists, never counted as complete", () => {
  assert.deepEqual(
    decide(
      [
        "20270310_020000.INCOMPLETE",
        "20270309_020000",
        "20270308_020000.INCOMPLETE",
        "20270307_020000",
        "20270306_020000",
      ],
      { last: 2 },
    ),
    {
      "20270310_020000.INCOMPLETE": "keep: incomplete; no newer complete snapshot",
      "20270309_020000": "keep: last",
      "20270308_020000.INCOMPLETE":
        "remove: incomplete; newer complete snapshot 20270309_020000 exists",
      "20270307_020000": "keep: last",
      "20270306_020000": "remove: no rule keeps it",
    },
  );
  // Only incomplete snapshots: nothing is complete, so nothing goes.
  assert.deepEqual(
    decide(["20270310_020000.INCOMPLETE", "20270309_020000.INCOMPLETE"], { last: 1 }),
    {
      "20270310_020000.INCOMPLETE": "keep: incomplete; no newer complete snapshot",
      "20270309_020000.INCOMPLETE": "keep: incomplete; no newer complete snapshot",
    },
  );
});

Deno.test(".inprogress: never touched while its backup holds the lock; a crashed one is like INCOMPLETE", () => {
  const names = [".20270310_030000.inprogress", "20270310_020000", ".20270309_020000.inprogress"];
  assert.deepEqual(decide(names, { last: 1 }, { inProgressLocked: true }), {
    ".20270310_030000.inprogress": "keep: in progress: a running backup holds the lock",
    "20270310_020000": "keep: last",
    ".20270309_020000.inprogress": "keep: in progress: a running backup holds the lock",
  });
  assert.deepEqual(decide(names, { last: 1 }, { inProgressLocked: false }), {
    ".20270310_030000.inprogress": "keep: unfinished; no newer complete snapshot",
    "20270310_020000": "keep: last",
    ".20270309_020000.inprogress":
      "remove: unfinished; newer complete snapshot 20270310_020000 exists",
  });
});

Deno.test("hasKeepRule and describePolicy", () => {
  assert.equal(hasKeepRule({ keepMin: 3 }), false);
  assert.equal(hasKeepRule({ withinMs: 1 }), true);
  assert.equal(hasKeepRule({ yearly: 1 }), true);
  assert.equal(
    describePolicy({ daily: 7, weekly: 4, withinMs: 1, withinText: "30d", keepMin: 2 }),
    "keep 7 daily, 4 weekly, within 30d; keep-min 2",
  );
});
