/**
 * Builds real snapshots (through runBackup against the fake Data API) and tampered copies of
 * them, for verify and restore tests.
 */

import { gzipSync } from "node:zlib";
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
