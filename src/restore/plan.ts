/**
 * @module
 * Decides, before anything is written, what restore will do with each collection: where it goes
 * (`--keyspace`, `--rename`), and what happens if it already exists (`--if-exists`). Every
 * refusal is collected and reported together, so a restore either starts with a complete plan or
 * writes nothing.
 */

import { formatNameRef, type NameRef, nameRefMatches } from "../config/resolve.ts";
import { ConfigError } from "../errors.ts";
import { canonicalJson } from "../json/canonical_json.ts";
import { type CollectionEntry, type Manifest, unrestorableReasons } from "../manifest/mod.ts";
import type { CollectionInfo } from "../source/collections.ts";

/** What to do when the target collection exists. */
export type IfExists = "fail" | "skip" | "append" | "replace";
/** The four values of {@linkcode IfExists}. */
export const IF_EXISTS: readonly IfExists[] = ["fail", "skip", "append", "replace"];

/** One `--rename old=new`: every snapshot collection `from` names is restored as `to`. */
export interface Rename {
  readonly from: NameRef;
  readonly to: string;
}

/** What restore does with one collection. */
export type RestoreAction = "create" | "replace" | "append" | "skip";

/** One collection of the plan. */
export interface PlannedCollection {
  entry: CollectionEntry;
  target: { keyspace: string; name: string };
  action: RestoreAction;
  /** Why this action (for the report). */
  reason: string;
  /** Set when this collection cannot be restored through the Data API (it is reported, not written). */
  refusal?: string;
  /** The definition to create: the snapshot's, unless `--adapt-definitions` changed it. */
  definition: Record<string, unknown>;
  /** What `--adapt-definitions` left out of the definition, in words (for the report). */
  changes: string[];
  /** Set when the collection was already created before the writes began (see capabilities.ts). */
  created?: boolean;
  /** Why the target's support for the definition could not be checked (dry-run only). */
  unchecked?: string;
  /**
   * `--if-exists append --adapt-definitions` onto a collection whose definition differs: allowed
   * only if adapting the snapshot's definition to this target gives exactly this one.
   */
  appendOnlyIfAdaptedTo?: Record<string, unknown>;
}

/** The collection limit a plan is checked against, and where it comes from. */
export interface CollectionLimit {
  limit: number;
  /** Where the figure comes from, for the message. */
  source: string;
}

/**
 * Collections per database when nothing else is known. The server counts collections (not
 * tables) over all keyspaces against `stargate.database.limits.max-collections`
 * (stargate/data-api CreateCollectionOperation.java findTableAndValidateLimits), which its
 * shipped application.yaml sets to 5 (the Java default is 10, DatabaseLimitsConfig.java); Astra
 * documents about 10 for databases created after June 2024 (5 before), bounded by its 100 indexes.
 */
export function defaultCollectionLimit(environment: string): CollectionLimit {
  return environment === "astra"
    ? { limit: 10, source: "Astra's documented limit for serverless databases" }
    : {
      limit: 5,
      source: "the Data API's default max-collections (stargate.database.limits.max-collections)",
    };
}

/** Inputs of {@linkcode planRestore}. */
export interface PlanInput {
  manifest: Manifest;
  /** Source collections to restore (`name` or `keyspace.name`); empty = all that were backed up. */
  include: readonly NameRef[];
  renames: readonly Rename[];
  /** Restore everything into this keyspace (default: each collection's own). */
  targetKeyspace: string | null;
  ifExists: IfExists;
  /** Collections that exist on the target, by `keyspace.name`. */
  existing: ReadonlyMap<string, CollectionInfo>;
  /** Collections in the whole target database (`atLeast` when not every keyspace was seen). */
  databaseCollections?: { count: number; atLeast: boolean };
  collectionLimit?: CollectionLimit;
  /** `--adapt-definitions`: an append may target a collection created with an adapted definition. */
  adapt?: boolean;
}

/** The snapshot entries a restore of `include` (all when empty) takes: backed up and named. */
export function selectEntries(m: Manifest, include: readonly NameRef[]): CollectionEntry[] {
  return m.collections.filter((c) =>
    c.status === "ok" && (include.length === 0 || include.some((r) => nameRefMatches(r, c)))
  );
}

/** The rename that applies to `entry`, if any ({@linkcode selectionProblems} refuses two). */
function renameOf(entry: CollectionEntry, renames: readonly Rename[]): string | undefined {
  return renames.find((r) => nameRefMatches(r.from, entry))?.to;
}

/**
 * What is wrong with the names a restore was given, judged from the manifest alone, so that a
 * typo is refused in seconds rather than after the deep verify: a `--collections` or `--rename`
 * name the snapshot does not hold (or did not back up), a `--rename` of a collection that
 * `--collections` leaves out (it would be ignored), and a collection that two renames name.
 */
export function selectionProblems(
  m: Manifest,
  include: readonly NameRef[],
  renames: readonly Rename[],
): string[] {
  const problems: string[] = [];
  const held = m.collections.map((c) => `${c.keyspace}.${c.name}`);
  const holds = `it holds ${held.slice(0, 20).join(", ")}${held.length > 20 ? ", …" : ""}`;
  for (
    const [flag, ref] of [
      ...include.map((r) => ["--collections", r] as const),
      ...renames.map((r) => ["--rename", r.from] as const),
    ]
  ) {
    const matches = m.collections.filter((c) => nameRefMatches(ref, c));
    if (matches.length === 0) {
      problems.push(`${flag} "${formatNameRef(ref)}" is not in the snapshot (${holds})`);
    } else if (matches.every((c) => c.status !== "ok")) {
      problems.push(
        `${flag} "${formatNameRef(ref)}" was not backed up in this snapshot (${
          matches.map((c) => c.error).join("; ")
        })`,
      );
    }
  }
  const selected = selectEntries(m, include);
  for (const r of renames) {
    const named = m.collections.filter((c) => c.status === "ok" && nameRefMatches(r.from, c));
    if (named.length > 0 && !named.some((c) => selected.includes(c))) {
      problems.push(
        `--rename ${
          formatNameRef(r.from)
        }=${r.to} names a collection that --collections leaves out`,
      );
    }
  }
  for (const c of selected) {
    const twice = renames.filter((r) => nameRefMatches(r.from, c));
    if (twice.length > 1) {
      problems.push(
        `${c.keyspace}.${c.name} is renamed twice (${
          twice.map((r) => `${formatNameRef(r.from)}=${r.to}`).join(", ")
        })`,
      );
    }
  }
  return problems;
}

/**
 * Builds the plan or throws one ConfigError listing every reason it cannot be carried out.
 * Definitions are compared with {@linkcode definitionDifferences}; an existing collection whose
 * definition differs is only touched with `replace`.
 */
export function planRestore(input: PlanInput): PlannedCollection[] {
  const m = input.manifest;
  const problems = selectionProblems(m, input.include, input.renames);
  const selected = selectEntries(m, input.include);
  const plan: PlannedCollection[] = [];
  const targets = new Map<string, string>();
  for (const entry of selected) {
    const target = {
      keyspace: input.targetKeyspace ?? entry.keyspace,
      name: renameOf(entry, input.renames) ?? entry.name,
    };
    const key = `${target.keyspace}.${target.name}`;
    const source = `${entry.keyspace}.${entry.name}`;
    const clash = targets.get(key);
    if (clash) {
      problems.push(`${source} and ${clash} would both be restored into ${key} (use --rename)`);
    }
    targets.set(key, source);
    const existing = input.existing.get(key);
    const reasons = entry.kind === "table" ? unrestorableReasons(entry.definition) : [];
    const base = {
      definition: entry.kind === "table" && target.name !== entry.name
        ? withRenamedIndexes(entry.definition, entry.name, target.name)
        : entry.definition,
      changes: [],
      ...(reasons.length > 0 ? { refusal: reasons.join("; ") } : {}),
    };
    if (!existing) {
      plan.push({ entry, target, action: "create", reason: "does not exist", ...base });
      continue;
    }
    if (existing.kind !== entry.kind && input.ifExists !== "replace" && input.ifExists !== "skip") {
      problems.push(
        `${key} exists as a ${existing.kind} but the snapshot holds a ${entry.kind} (only --if-exists replace may change it)`,
      );
      continue;
    }
    if (input.ifExists === "skip") {
      plan.push({
        entry,
        target,
        action: "skip",
        reason: "exists: left untouched (--if-exists skip)",
        definition: entry.definition,
        changes: [],
      });
      continue;
    }
    if (input.ifExists === "replace") {
      plan.push({
        entry,
        target,
        action: "replace",
        reason: "exists: dropped and recreated (--if-exists replace)",
        ...base,
      });
      continue;
    }
    if (input.ifExists === "fail") {
      problems.push(`${key} already exists (choose --if-exists skip, append or replace)`);
      continue;
    }
    const diff = definitionDifferences(schemaOf(entry), schemaOf(existing));
    if (
      diff.length > 0 && input.adapt && entry.kind === "collection" && existing.kind === entry.kind
    ) {
      // Perhaps what an earlier --adapt-definitions restore created: capabilities.ts decides.
      plan.push({
        entry,
        target,
        action: "append",
        reason: "exists with the definition adapted to this target (--if-exists append)",
        ...base,
        appendOnlyIfAdaptedTo: existing.definition,
      });
      continue;
    }
    if (diff.length > 0) {
      problems.push(
        `${key} exists with a different definition (${
          diff.join("; ")
        }); only --if-exists replace may change it`,
      );
      continue;
    }
    plan.push({
      entry,
      target,
      action: "append",
      reason: entry.kind === "table"
        ? "exists with the same columns and primary key (--if-exists append; tables upsert, so rows whose key exists are overwritten)"
        : "exists with the same definition (--if-exists append)",
      ...base,
    });
  }
  const limitProblem = overCollectionLimit(plan, input);
  if (limitProblem) problems.push(limitProblem);
  if (problems.length > 0) {
    throw new ConfigError(`Cannot restore: ${problems.join("; ")}`, {
      hint: problems.some((p) => p.includes("--if-exists")) || limitProblem
        ? "nothing was written"
        : undefined,
    });
  }
  return plan;
}

/**
 * The refusal when the collections this plan adds would pass the target's collection limit: the
 * server would refuse a create half-way through (TOO_MANY_COLLECTIONS).
 */
function overCollectionLimit(plan: PlannedCollection[], input: PlanInput): string | undefined {
  if (!input.databaseCollections || !input.collectionLimit) return undefined;
  const added = plan.filter((p) =>
    p.entry.kind === "collection" && !p.refusal &&
    (p.action === "create" ||
      (p.action === "replace" &&
        input.existing.get(`${p.target.keyspace}.${p.target.name}`)?.kind === "table"))
  ).length;
  const { count, atLeast } = input.databaseCollections;
  const { limit, source } = input.collectionLimit;
  if (added === 0 || count + added <= limit) return undefined;
  return `the target database has ${
    atLeast ? "at least " : ""
  }${count} collection(s) and this restore would create ${added} more, over its limit of ${limit} (${source}); free ${
    count + added - limit
  } or restore fewer with --collections (pass --collection-limit N if the server allows more)`;
}

/** The Data API's index name limit (stargate/data-api SchemaObjectNamingRule: 100 for indexes). */
const MAX_INDEX_NAME_LENGTH = 100;

/**
 * The name an index of table `from` gets when the table is restored as `to`: index names are
 * unique per keyspace (CQL), and the server creates indexes with `ifNotExists`, so a renamed table
 * that kept its source's index names next to the source would silently get no index at all.
 * `<from>_rest` becomes `<to>_rest`, any other name gets `<to>_` in front; cut to 100 characters.
 */
export function renamedIndexName(index: string, from: string, to: string): string {
  const rest = index.startsWith(`${from}_`) ? index.slice(from.length + 1) : index;
  return `${to}_${rest}`.slice(0, MAX_INDEX_NAME_LENGTH);
}

/** A table definition whose indexes carry the names of table `to` ({@linkcode renamedIndexName}). */
function withRenamedIndexes(
  definition: Record<string, unknown>,
  from: string,
  to: string,
): Record<string, unknown> {
  const indexes = definition.indexes as Array<Record<string, unknown>> | undefined;
  if (!Array.isArray(indexes) || indexes.length === 0) return definition;
  return {
    ...definition,
    indexes: indexes.map((ix) => ({ ...ix, name: renamedIndexName(String(ix.name), from, to) })),
  };
}

/** What must match for an append: a collection's whole definition, a table's columns and key. */
function schemaOf(
  c: { kind: string; definition: Record<string, unknown> },
): Record<string, unknown> {
  if (c.kind !== "table") return c.definition;
  return { columns: c.definition.columns, primaryKey: c.definition.primaryKey };
}

/** Top-level fields whose values differ between two definitions (key order ignored). */
export function definitionDifferences(
  a: Record<string, unknown>,
  b: Record<string, unknown>,
): string[] {
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  return keys.filter((k) => canonical(a[k]) !== canonical(b[k])).map((k) =>
    `${k}: snapshot ${canonical(a[k]) ?? "absent"}, target ${canonical(b[k]) ?? "absent"}`
  );
}

/** {@linkcode canonicalJson}, with an absent value kept absent. */
function canonical(v: unknown): string | undefined {
  return v === undefined ? undefined : canonicalJson(v);
}
