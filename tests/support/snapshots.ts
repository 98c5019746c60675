/**
 * Builds real snapshots (through runBackup against the fake Data API) and tampered copies of
 * them, for verify and restore tests.
 */

import { gunzipSync, gzipSync } from "node:zlib";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { type BackupReport, runBackup } from "../../src/backup/backup.ts";
import type { Manifest } from "../../src/manifest/mod.ts";
import { silentReporter } from "../../src/reporter.ts";
import { FAKE_TOKEN, FakeDataApi } from "../fakes/data_api/server.ts";
import { type SampleOptions, seedSample } from "../fakes/data_api/sample_data.ts";

/** Options of {@linkcode makeSnapshot}. */
export interface MakeSnapshotOptions {
  sample?: SampleOptions;
  compress?: boolean;
  zip?: boolean;
  /** Encrypt the off-host copy to these age recipients (`<ts>.zip.age`). */
  encryptTo?: string[];
  /** Runs against the fake before the backup (seed more, inject faults). */
  prepare?: (api: FakeDataApi) => void;
}

/** Backs up the sample data into `<dir>/backups` and returns the report. */
export async function makeSnapshot(
  dir: string,
  options: MakeSnapshotOptions = {},
): Promise<BackupReport> {
  const api = await FakeDataApi.start({ logRequests: false });
  try {
    seedSample(api.store, options.sample ?? { articles: 40, dimension: 16 });
    options.prepare?.(api);
    return await runBackup({
      connection: {
        endpoint: api.url,
        environment: "hcd",
        keyspaces: ["default_keyspace"],
        token: FAKE_TOKEN,
        tokenSource: "test",
      },
      outDir: join(dir, "backups"),
      include: [],
      exclude: [],
      compress: options.compress ?? true,
      zip: options.zip ?? false,
      ...(options.encryptTo ? { encryptTo: options.encryptTo } : {}),
      retry: { maxAttempts: 1 },
      collectionAttempts: 1,
    }, silentReporter);
  } finally {
    await api.close();
  }
}

/** Copies a snapshot directory (flat: files only). */
export async function copyDir(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true, mode: 0o700 });
  for await (const e of Deno.readDir(from)) {
    if (e.isFile) await Deno.copyFile(join(from, e.name), join(to, e.name));
  }
}

/** Reads, edits and rewrites a manifest verbatim (no validation: tests write hostile ones). */
export async function editManifest(dir: string, edit: (m: Manifest) => void): Promise<void> {
  const path = join(dir, "manifest.json");
  const m = JSON.parse(await Deno.readTextFile(path)) as Manifest;
  edit(m);
  await Deno.writeTextFile(path, JSON.stringify(m, null, 2));
}

/** Replaces a data file and makes the manifest's hash and size agree with the new bytes. */
export async function replaceDataFile(
  dir: string,
  collection: string,
  bytes: Uint8Array,
  edit: (entry: Manifest["collections"][number]) => void = () => {},
): Promise<void> {
  await editManifest(dir, (m) => {
    const entry = m.collections.find((c) => c.name === collection)!;
    Deno.writeFileSync(join(dir, entry.data_file!), bytes);
    entry.data_sha256 = createHash("sha256").update(bytes).digest("hex");
    entry.data_size_bytes = bytes.byteLength;
    edit(entry);
  });
}

/** Flips one bit of a file at `offset` (negative: from the end). */
export async function flipByte(path: string, offset: number): Promise<void> {
  const bytes = await Deno.readFile(path);
  const at = offset < 0 ? bytes.length + offset : offset;
  bytes[at]! ^= 0x01;
  await Deno.writeFile(path, bytes);
}

/** gzip of the given text (one member), for crafted data files. */
export function gzip(data: string | Uint8Array): Uint8Array {
  return new Uint8Array(gzipSync(data));
}

/** Options of {@linkcode replaceLines}. */
export interface ReplaceLinesOptions {
  /** Line terminator (default `\n`). */
  eol?: string;
  /** Split the data into this many gzip members, concatenated (default 1). */
  members?: number;
}

/**
 * Rewrites a collection's data file from `lines` (text or raw bytes) and makes the manifest agree
 * in every figure (hash, sizes, document count, totals), so that only the lines' content is on
 * trial.
 */
export async function replaceLines(
  dir: string,
  collection: string,
  lines: ReadonlyArray<string | Uint8Array>,
  options: ReplaceLinesOptions = {},
): Promise<void> {
  const enc = new TextEncoder();
  const eol = enc.encode(options.eol ?? "\n");
  const parts = lines.flatMap((l) => [typeof l === "string" ? enc.encode(l) : l, eol]);
  const plain = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    plain.set(p, at);
    at += p.length;
  }
  const members = options.members ?? 1;
  const step = Math.ceil(plain.length / members);
  const gz: Uint8Array[] = [];
  for (let i = 0; i < members; i++) gz.push(gzip(plain.subarray(i * step, (i + 1) * step)));
  const bytes = new Uint8Array(gz.reduce((n, p) => n + p.length, 0));
  at = 0;
  for (const p of gz) {
    bytes.set(p, at);
    at += p.length;
  }
  let before = 0;
  await replaceDataFile(dir, collection, bytes, (e) => {
    before = e.document_count ?? 0;
    e.document_count = lines.length;
    e.uncompressed_size_bytes = plain.length;
  });
  await editManifest(dir, (m) => (m.totals.documents += lines.length - before));
}

/** The lines of a collection's (gzipped) data file, as text. */
export async function dataLines(dir: string, collection: string): Promise<string[]> {
  const bytes = await Deno.readFile(join(dir, `default_keyspace.${collection}.jsonl.gz`));
  return new TextDecoder().decode(gunzipSync(bytes)).trimEnd().split("\n");
}
