/**
 * `deno task bench [--docs N|auto] [--dims 384,1536] [--latency 0,20] [--page-size 20,50]
 *  [--only wire,cpu,naive,backup,verify,restore,parallel] [--level 1..9] [--restore-docs N]
 *  [--parallel-docs N] [--repeat N]`
 * `deno task bench --scale`: the growth series instead (scripts/bench_scale.ts).
 *
 * Measures astrabak against the floors of its own work, in one run, on this machine, against the
 * fake Data API (which runs in this process, on the other core):
 *
 * - wire floor: plain fetch of every page, discarded;
 * - CPU floor: the same pages, gzip (astrabak's default level) and SHA-256, nothing else;
 * - naive: astra-db-ts `find({}, {projection: {"*": true}})` + JSON.stringify + gzip + SHA-256;
 * - astrabak backup (a subprocess under the shipped sandbox), single collection and `--parallel`;
 * - restore: raw insertMany of pre-encoded batches at the best concurrency vs astrabak restore;
 * - verify: gunzip + SHA-256 of the files vs astrabak verify.
 *
 * - encryption (`--only encrypt`, not part of the default run): backup with and without
 *   `--encrypt-to`, and verify of the `.zip` vs the `.zip.age` (wall times, best of two).
 *
 * Prints each row as it is measured, then a markdown table of documents/s, MB/s, the ratios to the
 * floor and to the naive baseline, and peak RSS (of the astrabak subprocess, from /usr/bin/time).
 * Timings are never asserted anywhere; docs/BENCHMARKS.md records a run.
 */

import { createHash } from "node:crypto";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { DataAPIClient } from "@datastax/astra-db-ts";
import { FAKE_TOKEN, FakeDataApi } from "../tests/fakes/data_api/server.ts";
import { fakeEnv } from "../tests/e2e/run_cli.ts";
import { cli } from "./bench_cli.ts";
import { runScale } from "./bench_scale.ts";
import { gzipStream, inlineGunzipStream } from "../src/streams/gzip_stream.ts";
import { LineSplitStream } from "../src/streams/line_split_stream.ts";
import { insertManyBody } from "../src/source/insert.ts";
import { DEFAULT_RESTORE_CONCURRENCY } from "../src/restore/restore.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    docs: { type: "string", default: "auto" },
    dims: { type: "string", default: "384,1536" },
    latency: { type: "string", default: "0" },
    "page-size": { type: "string", default: "50" },
    only: { type: "string", default: "" },
    "parallel-collections": { type: "string", default: "8" },
    level: { type: "string", default: "" },
    "restore-docs": { type: "string", default: "auto" },
    "parallel-docs": { type: "string", default: "8000" },
    repeat: { type: "string", default: "1" },
    scale: { type: "boolean", default: false },
    "scale-docs": { type: "string", default: "10000,100000,1000000" },
    "scale-latency-docs": { type: "string", default: "10000,100000" },
    "scale-restore-max": { type: "string", default: "" },
  },
});
const only = new Set(values.only.split(",").filter(Boolean));
const want = (name: string) => only.size === 0 || only.has(name);
const say = (s = "") => Deno.stdout.writeSync(new TextEncoder().encode(s + "\n"));
const KS = "default_keyspace";

/**
 * What a row is, for the ratios: each measured row is compared with the floor of its kind in the
 * same configuration (backup with the CPU floor, verify with gunzip+SHA-256, restore with raw
 * insertMany) and, for backups, with the naive baseline.
 */
type Role =
  | "wire"
  | "cpu-floor"
  | "naive"
  | "backup"
  | "verify-floor"
  | "verify"
  | "insert-floor"
  | "restore";
const FLOOR_OF: Partial<Record<Role, Role>> = {
  backup: "cpu-floor",
  verify: "verify-floor",
  restore: "insert-floor",
};

interface Row {
  config: string;
  role: Role;
  what: string;
  docs: number;
  seconds: number;
  mb: number;
  rssMb?: number;
  note?: string;
  /** Which repetition (`--repeat`) measured it. */
  rep?: number;
}
const rows: Row[] = [];
/**
 * `--repeat N`: every measurement is taken N times, each floor right before what is compared
 * with it, and the table reports medians: on a shared 2-core VM one run's figure moves by ±20 %
 * from minute to minute, floors included, so only ratios of neighbouring runs are comparable.
 */
const repeat = Math.max(1, Number(values.repeat));
let currentRep = 0;
const record = (r: Row) => {
  r = { ...r, rep: currentRep };
  rows.push(r);
  say(
    `${r.config.padEnd(28)} ${r.what.padEnd(34)} ${
      (r.docs / r.seconds).toFixed(0).padStart(8)
    } docs/s ${(r.mb / r.seconds).toFixed(1).padStart(7)} MB/s${
      r.rssMb ? `  RSS ${r.rssMb.toFixed(0)} MB` : ""
    }${r.note ? `  ${r.note}` : ""}`,
  );
};

/** Pages of a collection as raw bytes, with plain fetch (what the wire floor reads). */
async function* rawPages(api: FakeDataApi, collection: string): AsyncGenerator<Uint8Array> {
  let pageState: string | null = null;
  for (;;) {
    const body: string = JSON.stringify({
      find: { filter: {}, projection: { "*": true }, options: pageState ? { pageState } : {} },
    });
    const res = await fetch(`${api.url}/v1/${KS}/${collection}`, {
      method: "POST",
      headers: { Token: FAKE_TOKEN, "Content-Type": "application/json" },
      body,
    });
    const bytes = new Uint8Array(await res.arrayBuffer());
    // Only the tail is parsed for the page state: the floor does not parse documents. (Read it
    // before yielding: the consumer may transfer the buffer to a worker.)
    const tail = new TextDecoder().decode(bytes.subarray(Math.max(0, bytes.length - 400)));
    const m = /"nextPageState":("[^"]*"|null)\}/.exec(tail);
    pageState = m && m[1] !== "null" ? JSON.parse(m[1]!) : null;
    yield bytes;
    if (!pageState) return;
  }
}

async function gzipSha(source: AsyncIterable<Uint8Array>): Promise<number> {
  const hash = createHash("sha256");
  let bytes = 0;
  await ReadableStream.from(source).pipeThrough(gzipStream(level())).pipeTo(
    new WritableStream({
      write(c) {
        hash.update(c);
        bytes += c.length;
      },
    }),
  );
  hash.digest("hex");
  return bytes;
}

function level(): number {
  return values.level ? Number(values.level) : 6;
}

/**
 * Documents per single-collection run: "auto" is 30 million vector elements (78k at 384 dims, 20k
 * at 1536), which keeps each astrabak backup at about 10 s on a 2-core machine.
 */
if (values.scale) {
  await runScale(
    values["scale-docs"].split(",").filter(Boolean).map(Number),
    values["scale-latency-docs"].split(",").filter(Boolean).map(Number),
    say,
    values["scale-restore-max"] ? Number(values["scale-restore-max"]) : Infinity,
  );
  Deno.exit(0);
}

const docsFor = (dims: number) =>
  values.docs === "auto" ? Math.round(30e6 / dims) : Number(values.docs);
const latencies = values.latency.split(",").map(Number);
const pageSizes = values["page-size"].split(",").map(Number);
const dir = await Deno.makeTempDir({ prefix: "astrabak-bench-" });
try {
  for (const dims of values.dims.split(",").map(Number)) {
    const docsCount = docsFor(dims);
    for (const latency of latencies) {
      for (const pageSize of pageSizes) {
        const config = `${docsCount} x ${dims}d, ${latency} ms, page ${pageSize}`;
        const api = await FakeDataApi.start({ pageSize, latencyMs: latency, logRequests: false });
        api.store.createCollection(KS, "bench", { vector: { dimension: dims } });
        api.store.seedSynthetic(KS, "bench", { count: docsCount, dimension: dims });
        try {
          for (let rep = 0; rep < repeat; rep++) {
            currentRep = rep;
            let wireMb = 0;
            if (want("wire")) {
              const t = performance.now();
              for await (const p of rawPages(api, "bench")) wireMb += p.length / 1e6;
              record({
                config,
                role: "wire",
                what: "wire floor (fetch only)",
                docs: docsCount,
                seconds: (performance.now() - t) / 1000,
                mb: wireMb,
              });
            }
            if (want("cpu")) {
              let mb = 0;
              const t = performance.now();
              await gzipSha((async function* () {
                for await (const p of rawPages(api, "bench")) {
                  mb += p.length / 1e6;
                  yield p;
                }
              })());
              record({
                config,
                role: "cpu-floor",
                what: `CPU floor (fetch+gzip${level()}+sha256)`,
                docs: docsCount,
                seconds: (performance.now() - t) / 1000,
                mb,
              });
            }
            if (want("naive")) {
              const db = new DataAPIClient(FAKE_TOKEN, { environment: "hcd" }).db(api.url, {
                keyspace: KS,
              });
              const coll = db.collection("bench");
              let mb = 0;
              const t = performance.now();
              await gzipSha((async function* () {
                const enc = new TextEncoder();
                for await (const d of coll.find({}, { projection: { "*": true } })) {
                  const b = enc.encode(JSON.stringify(d) + "\n");
                  mb += b.length / 1e6;
                  yield b;
                }
              })());
              record({
                config,
                role: "naive",
                what: "naive astra-db-ts + gzip + sha256",
                docs: docsCount,
                seconds: (performance.now() - t) / 1000,
                mb,
              });
            }
            if (want("backup")) {
              const out = join(dir, `b-${dims}-${latency}-${pageSize}-${currentRep}`);
              const r = await cli(
                [
                  "backup",
                  "--out",
                  out,
                  "--collections",
                  "bench",
                  "--json",
                  ...(values.level ? ["--compression-level", values.level] : []),
                ],
                dir,
                fakeEnv(api),
              );
              if (r.code !== 0) throw new Error(`backup exited ${r.code}`);
              const report = JSON.parse(r.stdout);
              const secs = report.manifest.duration_seconds;
              const mb = report.manifest.collections[0].uncompressed_size_bytes / 1e6;
              record({
                config,
                role: "backup",
                what: "astrabak backup",
                docs: docsCount,
                seconds: secs,
                mb,
                rssMb: r.rssMb,
                note: `wall ${r.seconds.toFixed(1)} s`,
              });
              if (want("verify")) {
                const snap = report.snapshot as string;
                const file = join(snap, report.manifest.collections[0].data_file);
                const t = performance.now();
                const f = await Deno.open(file);
                const h = createHash("sha256");
                let raw = 0;
                await f.readable.pipeThrough(
                  new TransformStream({
                    transform(c, ctl) {
                      h.update(c);
                      ctl.enqueue(c);
                    },
                  }),
                ).pipeThrough(inlineGunzipStream()).pipeTo(
                  new WritableStream({ write: (c) => void (raw += c.length) }),
                );
                record({
                  config,
                  role: "verify-floor",
                  what: "verify floor (gunzip+sha256)",
                  docs: docsCount,
                  seconds: (performance.now() - t) / 1000,
                  mb: raw / 1e6,
                });
                const v = await cli(["verify", snap, "--json"], dir, {});
                const vr = JSON.parse(v.stdout);
                record({
                  config,
                  role: "verify",
                  what: "astrabak verify",
                  docs: docsCount,
                  seconds: vr.duration_seconds,
                  mb: raw / 1e6,
                  rssMb: v.rssMb,
                });
              }
            }
            if (want("restore") && latency === latencies[0] && pageSize === pageSizes[0]) {
              // Restore writes to a fresh fake without latency: once per dimension is enough.
              await benchRestore(dims);
            }
          }
        } finally {
          await api.close();
        }
      }
    }
  }
  if (want("parallel")) await benchParallel();
  if (only.has("encrypt")) await benchEncrypt();
  say();
  say(summaryTable(rows));
} finally {
  await Deno.remove(dir, { recursive: true });
}

/**
 * Restore: the insert floor (raw insertMany of pre-encoded 50-document batches at the best of a
 * few concurrencies, into a fresh collection) against astrabak restore's write phase.
 */
async function benchRestore(dims: number): Promise<void> {
  // The fake's insert path parses every document into a tree (about 0.1 KB per vector element),
  // so restores are measured on a smaller collection than backups: "auto" is 15 million vector
  // elements (39k documents at 384 dims, 10k at 1536; about 1.5 GB in this process).
  const n = values["restore-docs"] === "auto"
    ? Math.round(15e6 / dims)
    : Number(values["restore-docs"]);
  const source = await FakeDataApi.start({ logRequests: false });
  source.store.createCollection(KS, "bench", { vector: { dimension: dims } });
  source.store.seedSynthetic(KS, "bench", { count: n, dimension: dims });
  const config = `${n} x ${dims}d, restore`;
  const out = join(dir, `r-${dims}`);
  const b = await cli(
    ["backup", "--out", out, "--collections", "bench", "--json"],
    dir,
    fakeEnv(source),
  );
  await source.close();
  const report = JSON.parse(b.stdout);
  const snap = report.snapshot as string;
  const file = join(snap, report.manifest.collections[0].data_file);
  // Pre-encode the batches from the snapshot's own lines (streamed: a 1536-d file exceeds the
  // largest JS string).
  const bodies: Uint8Array[] = [];
  let mb = 0;
  let lines = 0;
  let batch: Uint8Array[] = [];
  const flushBatch = () => {
    if (batch.length === 0) return;
    bodies.push(insertManyBody(batch));
    lines += batch.length;
    batch = [];
  };
  await (await Deno.open(file)).readable
    // Not DecompressionStream: it stops after the first gzip member (data files are multi-member).
    .pipeThrough(inlineGunzipStream())
    .pipeThrough(new LineSplitStream(24_000_000))
    .pipeTo(
      new WritableStream({
        write(ls) {
          for (const l of ls) {
            mb += (l.byteLength + 1) / 1e6;
            batch.push(l.slice());
            if (batch.length === 50) flushBatch();
          }
        },
      }),
    );
  flushBatch();
  let best = { c: 0, s: Infinity };
  for (const c of [4, 8, 16]) {
    const target = await FakeDataApi.start({ logRequests: false });
    target.store.createCollection(KS, "bench", { vector: { dimension: dims } });
    const t = performance.now();
    let next = 0;
    await Promise.all(Array.from({ length: c }, async () => {
      while (next < bodies.length) {
        const body = bodies[next++]!;
        const res = await fetch(`${target.url}/v1/${KS}/bench`, {
          method: "POST",
          headers: { Token: FAKE_TOKEN, "Content-Type": "application/json" },
          body: body as BodyInit,
        });
        await res.arrayBuffer();
      }
    }));
    const secs = (performance.now() - t) / 1000;
    if (secs < best.s) best = { c, s: secs };
    await target.close();
  }
  record({
    config,
    role: "insert-floor",
    what: `insert floor (raw insertMany, c=${best.c})`,
    docs: lines,
    seconds: best.s,
    mb,
  });
  for (const c of new Set([DEFAULT_RESTORE_CONCURRENCY, best.c])) {
    const target = await FakeDataApi.start({ logRequests: false });
    const r = await cli(
      ["restore", snap, "--json", "--concurrency", String(c)],
      dir,
      fakeEnv(target, { ASTRA_DB_KEYSPACE: "" }),
    );
    await target.close();
    if (r.code !== 0) throw new Error(`restore exited ${r.code}`);
    const rr = JSON.parse(r.stdout).collections[0];
    record({
      config,
      role: "restore",
      what: `astrabak restore (write, c=${c})`,
      docs: lines,
      seconds: rr.write_seconds,
      mb,
      rssMb: r.rssMb,
      note: `wall ${r.seconds.toFixed(1)} s incl. verify and count`,
    });
  }
}

/**
 * Many collections over a slow link: 8 collections, 20 ms per request. The naive baseline reads
 * them one after another with astra-db-ts; astrabak reads them with --parallel.
 */
async function benchParallel(): Promise<void> {
  const collections = Number(values["parallel-collections"]);
  const per = Math.ceil(Number(values["parallel-docs"]) / collections);
  const dims = Number(values.dims.split(",")[0]);
  const api = await FakeDataApi.start({ pageSize: 20, latencyMs: 20, logRequests: false });
  const config = `${collections} x ${per} x ${dims}d, 20 ms, page 20`;
  try {
    for (let i = 0; i < collections; i++) {
      api.store.createCollection(KS, `c${i}`, { vector: { dimension: dims } });
      api.store.seedSynthetic(KS, `c${i}`, { count: per, dimension: dims, seed: i + 1 });
    }
    const db = new DataAPIClient(FAKE_TOKEN, { environment: "hcd" }).db(api.url, { keyspace: KS });
    for (let rep = 0; rep < repeat; rep++) {
      currentRep = rep;
      let mb = 0;
      const t = performance.now();
      for (let i = 0; i < collections; i++) {
        await gzipSha((async function* () {
          const enc = new TextEncoder();
          for await (const d of db.collection(`c${i}`).find({}, { projection: { "*": true } })) {
            const b = enc.encode(JSON.stringify(d) + "\n");
            mb += b.length / 1e6;
            yield b;
          }
        })());
      }
      const naive = (performance.now() - t) / 1000;
      record({
        config,
        role: "naive",
        what: "naive, sequential",
        docs: per * collections,
        seconds: naive,
        mb,
      });
      for (const p of [1, 4, 8]) {
        const r = await cli(
          ["backup", "--out", join(dir, `p${p}-${rep}`), "--parallel", String(p), "--json"],
          dir,
          fakeEnv(api),
        );
        const report = JSON.parse(r.stdout);
        const secs = report.manifest.duration_seconds;
        record({
          config,
          role: "backup",
          what: `astrabak backup --parallel ${p}`,
          docs: per * collections,
          seconds: secs,
          mb,
          rssMb: r.rssMb,
          note: `${(naive / secs).toFixed(1)}x naive`,
        });
      }
    }
  } finally {
    await api.close();
  }
}

/**
 * The run as the markdown table docs/BENCHMARKS.md records, with ratios to floor and naive. With
 * `--repeat`, one line per measurement: the median rate, the median of the ratios to the floor
 * (and naive) of the same repetition, and the highest peak RSS.
 */
function summaryTable(all: Row[]): string {
  const rate = (r: Row) => r.docs / r.seconds;
  const median = (xs: number[]) => {
    const v = [...xs].sort((a, b) => a - b);
    const m = Math.floor(v.length / 2);
    return v.length % 2 ? v[m]! : (v[m - 1]! + v[m]!) / 2;
  };
  const find = (config: string, role: Role, rep: number | undefined) =>
    all.find((r) => r.config === config && r.role === role && r.rep === rep);
  const groups = new Map<string, Row[]>();
  for (const r of all) {
    const key = `${r.config}\u0000${r.what}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  const ratio = (runs: Row[], role: Role | undefined) => {
    if (!role) return "";
    const each = runs.flatMap((r) => {
      const other = find(r.config, role, r.rep);
      return other ? [rate(r) / rate(other)] : [];
    });
    if (each.length === 0) return "";
    const range = each.length > 1
      ? ` (${Math.min(...each).toFixed(2)}–${Math.max(...each).toFixed(2)})`
      : "";
    return `${median(each).toFixed(2)}x${range}`;
  };
  const lines = [
    "| configuration | measurement | docs/s | MB/s | vs floor | vs naive | peak RSS |",
    "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const runs of groups.values()) {
    const r = runs[0]!;
    const rss = Math.max(...runs.map((x) => x.rssMb ?? 0));
    lines.push(
      `| ${r.config} | ${r.what} | ${median(runs.map(rate)).toFixed(0)} | ${
        median(runs.map((x) => x.mb / x.seconds)).toFixed(1)
      } | ${ratio(runs, FLOOR_OF[r.role])} | ${r.role === "backup" ? ratio(runs, "naive") : ""} | ${
        rss ? `${rss.toFixed(0)} MB` : ""
      } |`,
    );
  }
  return lines.join("\n");
}

/**
 * What encryption costs (issue 15): the same collection backed up plainly, with `--zip`, and
 * with `--encrypt-to` (the zip streamed through age into `<ts>.zip.age`), then `verify` of the
 * `.zip` against `verify --identity-file` of the `.zip.age` (which decrypts to a temporary zip
 * first). Wall times of the subprocess, best of two, since the packing and encryption happen
 * after the manifest's duration is taken.
 */
async function benchEncrypt(): Promise<void> {
  const dims = Number(values.dims.split(",")[0]);
  const docsCount = docsFor(dims);
  const config = `${docsCount} x ${dims}d, encryption`;
  const api = await FakeDataApi.start({ pageSize: 50, logRequests: false });
  api.store.createCollection(KS, "bench", { vector: { dimension: dims } });
  api.store.seedSynthetic(KS, "bench", { count: docsCount, dimension: dims });
  const { generateIdentity, identityToRecipient } = await import("age-encryption");
  const identity = await generateIdentity();
  const keyFile = join(dir, "bench-key.txt");
  await Deno.writeTextFile(keyFile, identity + "\n");
  const recipient = await identityToRecipient(identity);
  const best = async (
    run: (i: number) => Promise<{ seconds: number; rssMb: number; stdout: string }>,
  ) => {
    const a = await run(0);
    const b = await run(1);
    return a.seconds <= b.seconds ? a : b;
  };
  try {
    const variants: Array<[string, string[]]> = [
      ["astrabak backup", []],
      ["astrabak backup --zip", ["--zip"]],
      ["astrabak backup --encrypt-to", ["--encrypt-to", recipient]],
    ];
    const secs: Record<string, number> = {};
    const made: Record<string, { zip?: string; age?: string; mb: number }> = {};
    for (const [what, extra] of variants) {
      const r = await best(async (i) => {
        const out = join(dir, `enc-${extra[0] ?? "plain"}-${i}`.replace(/-+/g, "-"));
        const r = await cli(
          ["backup", "--out", out, "--collections", "bench", "--json", ...extra],
          dir,
          fakeEnv(api),
        );
        if (r.code !== 0) throw new Error(`${what} exited ${r.code}`);
        const rep = JSON.parse(r.stdout);
        made[what] = {
          mb: rep.manifest.collections[0].uncompressed_size_bytes / 1e6,
          ...(rep.zip ? { zip: rep.zip.path } : {}),
          ...(rep.encrypted ? { age: rep.encrypted.path } : {}),
        };
        return r;
      });
      secs[what] = r.seconds;
      const base = secs["astrabak backup"]!;
      record({
        config,
        role: "backup",
        what,
        docs: docsCount,
        seconds: r.seconds,
        mb: made[what]!.mb,
        rssMb: r.rssMb,
        note: `wall; ${((r.seconds / base - 1) * 100).toFixed(1)}% vs plain backup`,
      });
    }
    const zipPath = made["astrabak backup --zip"]!.zip!;
    const agePath = made["astrabak backup --encrypt-to"]!.age!;
    const mb = made["astrabak backup --zip"]!.mb;
    const vz = await best(() => cli(["verify", zipPath, "--json"], dir, {}));
    record({
      config,
      role: "verify",
      what: "astrabak verify .zip",
      docs: docsCount,
      seconds: vz.seconds,
      mb,
      rssMb: vz.rssMb,
      note: "wall",
    });
    const va = await best(() =>
      cli(["verify", agePath, "--identity-file", keyFile, "--json"], dir, {})
    );
    record({
      config,
      role: "verify",
      what: "astrabak verify .zip.age --identity-file",
      docs: docsCount,
      seconds: va.seconds,
      mb,
      rssMb: va.rssMb,
      note: `wall; ${((va.seconds / vz.seconds - 1) * 100).toFixed(1)}% vs .zip`,
    });
  } finally {
    await api.close();
  }
}
