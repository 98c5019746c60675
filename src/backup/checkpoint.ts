/**
 * @module
 * The checkpoint of an unfinished backup: `checkpoint.json` inside its `.<ts>.inprogress/`
 * directory, rewritten atomically (temporary file, fsync, rename) after every segment of every
 * collection. It holds what `backup --resume` needs to continue without reading any collection
 * again from the start (the selection the run was started with, each collection's definition,
 * the page state of its next page, and the state of its data file) and no secret. It is removed
 * before the snapshot is renamed to its final name, so no finished snapshot contains it.
 */

import { join } from "node:path";
import { redactSecrets } from "../config/secrets.ts";
import { ConfigError } from "../errors.ts";
import type { CollectionEntry, EntryKind } from "../manifest/mod.ts";
import { INPROGRESS_SUFFIX, parseSnapshotName } from "../snapshot/layout.ts";
import { writeFileDurably } from "../snapshot/durable_file.ts";
import { syncDir } from "../snapshot/workdir.ts";
import { TOOL_NAME, VERSION } from "../version.ts";
import type { SegmentState } from "./pipeline.ts";

/** File name of the checkpoint inside the in-progress directory. */
export const CHECKPOINT_FILE = "checkpoint.json";
const CHECKPOINT_VERSION = 1;

/** The flags that decide what a backup reads and writes; a resume must be given the same. */
export interface Selection {
  api_endpoint: string;
  environment: string;
  /** Keyspaces named with --keyspace (empty with --all-keyspaces). */
  keyspaces: string[];
  all_keyspaces: boolean;
  collections: string[];
  exclude: string[];
  kind: string;
  /** gzip level, or null for --no-compress. */
  compression_level: number | null;
}

/** Where one collection stands. */
export type CollectionCheckpoint =
  & { keyspace: string; name: string; kind: EntryKind; definition: Record<string, unknown> }
  & (
    | { state: "pending" }
    | { state: "running"; progress: CollectionProgress }
    | {
      state: "done";
      entry: CollectionEntry; /** gzip members of its data file */
      members: number;
    }
  );

/** A running collection at its last complete segment. */
export interface CollectionProgress {
  /** The state that reads the page after the last one written; null to start from the first. */
  page_state: string | null;
  data: SegmentState;
  /** Pages whose documents are in the data file. */
  pages: number;
  attempts: number;
  estimated_document_count_before: number | null;
  projection_schema: Record<string, unknown> | null;
  warnings: string[];
}

/** The whole checkpoint file. */
export interface Checkpoint {
  checkpoint_version: number;
  tool: { name: string; version: string };
  snapshot: string;
  created_at_utc: string;
  /** When each `--resume` run continued this snapshot. */
  resumed_at_utc: string[];
  selection: Selection;
  /** The keyspaces backed up (resolved from --all-keyspaces when given), for the manifest. */
  source_keyspaces: string[];
  /** Snapshot-wide warnings found at the start (for the manifest). */
  warnings: string[];
  keyspaces_not_backed_up: string[] | null;
  collections: CollectionCheckpoint[];
}

/**
 * Keeps the checkpoint of one in-progress snapshot and writes it: one write at a time (parallel
 * collections queue), each atomic and durable, file mode 0600.
 */
export class CheckpointStore {
  readonly dir: string;
  readonly #data: Checkpoint;
  #queue: Promise<void> = Promise.resolve();

  constructor(dir: string, data: Checkpoint) {
    this.dir = dir;
    this.#data = data;
  }

  /** A copy of the current contents. */
  get data(): Checkpoint {
    return structuredClone(this.#data);
  }

  /** Replaces one collection's record and writes the file. */
  update(c: CollectionCheckpoint): Promise<void> {
    const i = this.#data.collections.findIndex((x) =>
      x.keyspace === c.keyspace && x.name === c.name
    );
    if (i < 0) throw new Error(`Internal error: ${c.keyspace}.${c.name} is not in the checkpoint`);
    this.#data.collections[i] = structuredClone(c);
    return this.write();
  }

  /** Writes the current contents (after any write already queued). */
  write(): Promise<void> {
    const text = redactSecrets(JSON.stringify(this.#data)) + "\n";
    const next = this.#queue.then(() => writeAtomic(this.dir, CHECKPOINT_FILE, text));
    this.#queue = next.catch(() => {});
    return next;
  }

  /** Removes the file (the snapshot is about to be finished); waits for queued writes first. */
  async remove(): Promise<void> {
    await this.#queue;
    for (const name of [CHECKPOINT_FILE, `.${CHECKPOINT_FILE}.tmp`]) {
      await Deno.remove(join(this.dir, name)).catch((e) => {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
      });
    }
  }
}

/** A fresh checkpoint for a backup starting now. */
export function newCheckpoint(
  snapshot: string,
  startedAt: Date,
  selection: Selection,
  sourceKeyspaces: string[],
  collections: ReadonlyArray<
    { keyspace: string; name: string; kind: EntryKind; definition: Record<string, unknown> }
  >,
  warnings: string[],
  keyspacesNotBackedUp: string[] | null,
): Checkpoint {
  return {
    checkpoint_version: CHECKPOINT_VERSION,
    tool: { name: TOOL_NAME, version: VERSION },
    snapshot,
    created_at_utc: startedAt.toISOString(),
    resumed_at_utc: [],
    selection,
    source_keyspaces: sourceKeyspaces,
    warnings: [...warnings],
    keyspaces_not_backed_up: keyspacesNotBackedUp,
    collections: collections.map((c) => ({
      keyspace: c.keyspace,
      name: c.name,
      kind: c.kind,
      definition: c.definition,
      state: "pending",
    })),
  };
}

/** The unfinished snapshot `backup --resume` would continue. */
export interface Resumable {
  /** Path of the `.<ts>.inprogress` directory. */
  path: string;
  timestamp: string;
  checkpoint: Checkpoint;
}

/**
 * The newest `.<ts>.inprogress` directory in `outDir` and its checkpoint. Returns `why` instead
 * when there is nothing to resume (no such directory, or the newest has no readable checkpoint:
 * killed before its first checkpoint, or left by an astrabak without resume). Call it only while
 * holding the output directory's lock.
 */
export async function findResumable(
  outDir: string,
): Promise<{ resumable: Resumable } | { why: string }> {
  const found: string[] = [];
  try {
    for await (const e of Deno.readDir(outDir)) {
      const p = parseSnapshotName(e.name);
      if (p?.kind === "inprogress" && e.isDirectory) found.push(p.timestamp);
    }
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return { why: `${outDir} does not exist yet` };
    throw e;
  }
  if (found.length === 0) return { why: `no unfinished snapshot in ${outDir}` };
  const timestamp = found.sort().at(-1)!;
  const path = join(outDir, `.${timestamp}${INPROGRESS_SUFFIX}`);
  let text: string;
  try {
    text = await Deno.readTextFile(join(path, CHECKPOINT_FILE));
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
    return {
      why:
        `the newest unfinished snapshot ${path} has no checkpoint (stopped before its first one)`,
    };
  }
  const checkpoint = parseCheckpoint(text);
  if (typeof checkpoint === "string") {
    return { why: `the checkpoint of ${path} cannot be used: ${checkpoint}` };
  }
  if (checkpoint.snapshot !== timestamp) {
    return {
      why: `the checkpoint of ${path} belongs to snapshot ${checkpoint.snapshot}, not ${timestamp}`,
    };
  }
  return { resumable: { path, timestamp, checkpoint } };
}

/** The checkpoint, or why it cannot be used. */
function parseCheckpoint(text: string): Checkpoint | string {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return "not valid JSON";
  }
  const c = data as Partial<Checkpoint> | null;
  if (typeof c !== "object" || c === null) return "not a JSON object";
  if (c.checkpoint_version !== CHECKPOINT_VERSION) {
    return `checkpoint_version ${c.checkpoint_version} is not ${CHECKPOINT_VERSION}`;
  }
  if (
    typeof c.snapshot !== "string" || typeof c.created_at_utc !== "string" ||
    !Array.isArray(c.resumed_at_utc) || typeof c.selection !== "object" ||
    !Array.isArray(c.source_keyspaces) ||
    c.selection === null || !Array.isArray(c.collections) || !Array.isArray(c.warnings)
  ) {
    return "fields are missing";
  }
  return c as Checkpoint;
}

/**
 * Refuses (exit 1) to continue a snapshot whose selection differs from the flags given: the
 * finished snapshot would otherwise hold what neither run asked for.
 */
export function assertSameSelection(
  snapshot: string,
  saved: Selection,
  given: Selection,
): void {
  const show: Record<keyof Selection, (s: Selection) => string> = {
    api_endpoint: (s) => `endpoint ${s.api_endpoint}`,
    environment: (s) => `environment ${s.environment}`,
    keyspaces: (s) => s.keyspaces.length ? `--keyspace ${s.keyspaces.join(",")}` : "no --keyspace",
    all_keyspaces: (s) => s.all_keyspaces ? "--all-keyspaces" : "no --all-keyspaces",
    collections: (s) =>
      s.collections.length ? `--collections ${s.collections.join(",")}` : "no --collections",
    exclude: (s) => s.exclude.length ? `--exclude ${s.exclude.join(",")}` : "no --exclude",
    kind: (s) => `--kind ${s.kind}`,
    compression_level: (s) =>
      s.compression_level === null ? "--no-compress" : `--compression-level ${s.compression_level}`,
  };
  const differ = (Object.keys(show) as Array<keyof Selection>).filter((k) =>
    JSON.stringify(saved[k]) !== JSON.stringify(given[k])
  );
  if (differ.length === 0) return;
  throw new ConfigError(
    `Cannot resume snapshot ${snapshot}: it was started with ${
      differ.map((k) => show[k](saved)).join(", ")
    }, not ${differ.map((k) => show[k](given)).join(", ")}`,
    {
      hint:
        "resume with the flags it was started with, or run backup without --resume for a new snapshot",
    },
  );
}

/** Writes `name` in `dir` durably (src/snapshot/durable_file.ts), with the directory fsynced. */
async function writeAtomic(dir: string, name: string, text: string): Promise<void> {
  await writeFileDurably(dir, name, text);
  await syncDir(dir);
}
