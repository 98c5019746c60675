/**
 * Reading collection and table definitions (as the manifest stores them) for the parts astrabak
 * acts on. Backup, verify and restore all ask these questions the same way.
 */

import type { CollectionEntry, EntryKind, VectorStatsEntry } from "./types.ts";

/** The vector settings of a collection definition. */
export interface VectorSpec {
  /** Declared dimension; null when the definition has none (some vectorize providers). */
  dimension: number | null;
  /** The collection embeds `$vectorize` text server-side (`vector.service` is set). */
  vectorize: boolean;
}

/** The vector settings of a collection definition, or null for a collection without vectors. */
export function vectorSpec(definition: Record<string, unknown>): VectorSpec | null {
  const v = definition.vector as
    | { dimension?: unknown; size?: unknown; service?: unknown }
    | undefined;
  if (!v || typeof v !== "object") return null;
  const dim = typeof v.dimension === "number"
    ? v.dimension
    : typeof v.size === "number"
    ? v.size
    : null;
  return { dimension: dim, vectorize: v.service !== undefined && v.service !== null };
}

/** A column description as listTables (explain) returns it. */
export interface ColumnDesc {
  type: string;
  dimension?: number;
  keyType?: string | ColumnDesc;
  valueType?: string | ColumnDesc;
  udtName?: string;
  service?: unknown;
  apiSupport?: {
    createTable?: boolean;
    insert?: boolean;
    read?: boolean;
    filter?: boolean;
    cqlDefinition?: string;
  };
  [key: string]: unknown;
}

/** The columns of a table definition (in the server's order). */
export function tableColumns(definition: Record<string, unknown>): Record<string, ColumnDesc> {
  const c = definition.columns;
  return c && typeof c === "object" ? c as Record<string, ColumnDesc> : {};
}

/** Primary-key columns: partition columns, then clustering columns, in order. */
export function primaryKeyColumns(definition: Record<string, unknown>): string[] {
  const pk = definition.primaryKey as
    | string
    | { partitionBy?: string[]; partitionSort?: Record<string, number> }
    | undefined;
  if (typeof pk === "string") return [pk];
  return [...(pk?.partitionBy ?? []), ...Object.keys(pk?.partitionSort ?? {})];
}

/**
 * The fields whose values are vectors, each with its declared dimension: `$vector` for vector
 * collections, every `vector` column for tables.
 */
export function vectorFields(
  kind: EntryKind,
  definition: Record<string, unknown>,
): Array<{ field: string; dimension: number | null }> {
  if (kind === "collection") {
    const spec = vectorSpec(definition);
    return spec ? [{ field: "$vector", dimension: spec.dimension }] : [];
  }
  return Object.entries(tableColumns(definition))
    .filter(([, c]) => c.type === "vector")
    .map(([field, c]) => ({
      field,
      dimension: typeof c.dimension === "number" ? c.dimension : null,
    }));
}

/** Columns whose type the Data API cannot read (a scan including them fails). */
export function unreadableColumns(definition: Record<string, unknown>): string[] {
  return Object.entries(tableColumns(definition))
    .filter(([, c]) => c.type === "UNSUPPORTED" || c.apiSupport?.read === false)
    .map(([name]) => name);
}

/** Names of the user-defined types a table's columns refer to (also inside collections). */
export function usedTypeNames(definition: Record<string, unknown>): Set<string> {
  const names = new Set<string>();
  const walk = (c: ColumnDesc | string | undefined) => {
    if (!c || typeof c === "string") return;
    if (c.type === "userDefined" && typeof c.udtName === "string") names.add(c.udtName);
    walk(c.keyType);
    walk(c.valueType);
  };
  for (const c of Object.values(tableColumns(definition))) walk(c);
  return names;
}

/**
 * User-defined types the columns use that the definition's `types` (from listTypes) does not
 * describe: restore could not create them, so the table could not be recreated in an empty
 * database (UNKNOWN_USER_DEFINED_TYPE).
 */
export function undescribedTypes(definition: Record<string, unknown>): string[] {
  const described = new Set(
    ((definition.types as Array<{ udtName?: unknown }> | undefined) ?? []).map((t) =>
      String(t.udtName)
    ),
  );
  return [...usedTypeNames(definition)].filter((n) => !described.has(n));
}

/**
 * Why a backed-up table cannot be recreated through the Data API (empty when it can): columns
 * it cannot create (timeuuid, counter, static, frozen collections, unsupported types, also when
 * nested), and indexes it cannot describe.
 */
export function unrestorableReasons(definition: Record<string, unknown>): string[] {
  const reasons: string[] = [];
  const bad = (c: ColumnDesc | string | undefined): string | null => {
    if (c === undefined) return null;
    if (typeof c === "string") return c === "timeuuid" || c === "counter" ? c : null;
    if (c.type === "UNSUPPORTED" || c.apiSupport?.createTable === false) {
      return c.apiSupport?.cqlDefinition ?? c.type;
    }
    return bad(c.keyType) ?? bad(c.valueType);
  };
  for (const [name, c] of Object.entries(tableColumns(definition))) {
    const why = bad(c);
    if (why) reasons.push(`column ${name} (${why}) cannot be created through the Data API`);
  }
  // User-defined types as listTypes (explain) describes them: a type or one of its fields can be
  // marked `apiSupport.createTable: false` (stargate/data-api ListTypesIntegrationTest.java).
  for (const ty of (definition.types as Array<Record<string, unknown>> | undefined) ?? []) {
    const t = ty as ColumnDesc & { definition?: { fields?: Record<string, ColumnDesc | string> } };
    const typeName = t.udtName ?? t.apiSupport?.cqlDefinition ?? "?";
    if (t.type === "UNSUPPORTED" || t.apiSupport?.createTable === false) {
      reasons.push(`user-defined type ${typeName} cannot be created through the Data API`);
      continue;
    }
    for (const [field, f] of Object.entries(t.definition?.fields ?? {})) {
      const why = bad(f);
      if (why) {
        reasons.push(
          `field ${field} (${why}) of user-defined type ${typeName} cannot be created through the Data API`,
        );
      }
    }
  }
  for (const name of undescribedTypes(definition)) {
    reasons.push(`user-defined type ${name} is used but not described in the snapshot`);
  }
  for (
    const idx of (definition.indexes as Array<{ name?: string; indexType?: string }> | undefined) ??
      []
  ) {
    if (!indexCreateCommand(idx.indexType)) {
      reasons.push(`index ${idx.name} (${idx.indexType}) is not one the Data API can create`);
    }
  }
  return reasons;
}

const INDEX_CREATE_COMMANDS: Readonly<Record<string, string>> = {
  regular: "createIndex",
  vector: "createVectorIndex",
  text: "createTextIndex",
};

/**
 * The Data API command that recreates a `listIndexes` entry of this `indexType`, or undefined
 * when there is none (`UNKNOWN`: an index made through CQL). One table for backup's warning,
 * restore's plan and the restore itself.
 */
export function indexCreateCommand(indexType: unknown): string | undefined {
  return typeof indexType === "string" && Object.hasOwn(INDEX_CREATE_COMMANDS, indexType)
    ? INDEX_CREATE_COMMANDS[indexType]
    : undefined;
}

/** "3 collections and 2 tables": how many of each kind, for report lines that cover both. */
export function describeEntries(entries: readonly { kind: EntryKind }[]): string {
  const tables = entries.filter((e) => e.kind === "table").length;
  const collections = entries.length - tables;
  const parts = [
    collections > 0 || tables === 0
      ? `${collections} collection${collections === 1 ? "" : "s"}`
      : "",
    tables > 0 ? `${tables} table${tables === 1 ? "" : "s"}` : "",
  ].filter(Boolean);
  return parts.join(" and ");
}

/** The vector statistics of an entry: its collection `$vector` and its tables' vector columns. */
export function vectorStats(entry: CollectionEntry): VectorStatsEntry[] {
  return [...(entry.vector ? [entry.vector] : []), ...(entry.vector_columns ?? [])];
}
