/**
 * @module
 * Data API table schema calls: reading a table's full definition (columns and primary key from
 * listTables, indexes from listIndexes, the user-defined types it uses from listTypes) and
 * recreating it in the order the server needs (types → table → indexes). Shapes follow the
 * stargate/data-api integration tests (see docs/FORMAT.md, "Tables").
 */

import { NAME_PATTERN } from "../config/resolve.ts";
import { type ColumnDesc, indexCreateCommand, tableColumns } from "../manifest/mod.ts";
import type { CollectionInfo } from "./collections.ts";
import { type DataApiClient, protocolError } from "./data_api.ts";

/** Column keys createTable accepts; everything else (`apiSupport`, `definition`) is read-only. */
const CREATE_COLUMN_KEYS = ["type", "keyType", "valueType", "udtName", "dimension", "service"];

/**
 * Lists the tables of `keyspace`, each with a definition of `{columns, primaryKey, indexes,
 * types}` assembled from listTables, listIndexes and listTypes (all with explain).
 */
export async function listTables(
  client: DataApiClient,
  keyspace: string,
  signal?: AbortSignal,
): Promise<CollectionInfo[]> {
  const res = await client.simple({ keyspace }, { listTables: { options: { explain: true } } }, {
    signal,
  });
  const tables = res.status?.tables;
  if (!Array.isArray(tables)) {
    throw protocolError(
      "listTables",
      `listTables on keyspace ${keyspace} returned no status.tables`,
    );
  }
  if (tables.length === 0) return [];
  const typesRes = await client.simple(
    { keyspace },
    { listTypes: { options: { explain: true } } },
    { signal },
  );
  const allTypes = Array.isArray(typesRes.status?.types)
    ? typesRes.status.types as Array<Record<string, unknown>>
    : [];
  const out: CollectionInfo[] = [];
  for (const t of tables as Array<{ name?: unknown; definition?: Record<string, unknown> }>) {
    if (typeof t?.name !== "string" || !NAME_PATTERN.test(t.name) || !t.definition) {
      throw protocolError(
        "listTables",
        `listTables on keyspace ${keyspace} returned an invalid table`,
      );
    }
    const idx = await client.simple(
      { keyspace, collection: t.name },
      { listIndexes: { options: { explain: true } } },
      { signal },
    );
    const indexes = Array.isArray(idx.status?.indexes) ? idx.status.indexes : [];
    const used = usedTypeNames(t.definition);
    out.push({
      keyspace,
      name: t.name,
      kind: "table",
      definition: {
        columns: t.definition.columns,
        primaryKey: t.definition.primaryKey,
        indexes,
        types: allTypes.filter((ty) => used.has(String(ty.udtName))),
      },
    });
  }
  return out;
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
 * Recreates a table from its manifest definition: its types (if missing), the table, and its
 * indexes, each with `ifNotExists`. Read-only annotations are stripped first.
 */
export async function createTableFromDefinition(
  client: DataApiClient,
  keyspace: string,
  name: string,
  definition: Record<string, unknown>,
  signal?: AbortSignal,
): Promise<void> {
  await createTypesOf(client, keyspace, definition, signal);
  await client.simple({ keyspace }, createTableCommand(name, definition), { signal });
  for (const idx of (definition.indexes as Array<Record<string, unknown>> | undefined) ?? []) {
    const command = indexCreateCommand(idx.indexType);
    if (!command) {
      // The restore plan refuses such tables before anything is dropped or created.
      throw protocolError(
        "createIndex",
        `index ${idx.name} of ${keyspace}.${name} has type ${idx.indexType}, which cannot be recreated`,
      );
    }
    const def = { ...(idx.definition as Record<string, unknown>) };
    // An empty options object makes the server materialise defaults; leave it out instead.
    if (def.options && typeof def.options === "object" && Object.keys(def.options).length === 0) {
      delete def.options;
    }
    await client.simple({ keyspace, collection: name }, {
      [command]: { name: idx.name, definition: def, options: { ifNotExists: true } },
    }, { signal });
  }
}

/** Creates the user-defined types a table definition uses, where missing (`ifNotExists`). */
export async function createTypesOf(
  client: DataApiClient,
  keyspace: string,
  definition: Record<string, unknown>,
  signal?: AbortSignal,
): Promise<void> {
  for (const ty of (definition.types as Array<Record<string, unknown>> | undefined) ?? []) {
    const fields = (ty.definition as { fields?: Record<string, ColumnDesc> } | undefined)?.fields ??
      {};
    await client.simple({ keyspace }, {
      createType: {
        name: ty.udtName,
        definition: {
          fields: Object.fromEntries(Object.entries(fields).map(([f, c]) => [f, creatable(c)])),
        },
        options: { ifNotExists: true },
      },
    }, { signal });
  }
}

/**
 * The `createTable` command for a manifest definition, without `ifNotExists`: sent under the name
 * of an existing table it is validated in full and then refused as CANNOT_ADD_EXISTING_TABLE,
 * which is how restore proves a table creatable before it drops anything.
 */
export function createTableCommand(
  name: string,
  definition: Record<string, unknown>,
): Record<string, unknown> {
  const columns = Object.fromEntries(
    Object.entries(tableColumns(definition)).map(([c, d]) => [c, creatable(d)]),
  );
  return {
    createTable: {
      name,
      definition: { columns, primaryKey: definition.primaryKey },
      options: { ifNotExists: false },
    },
  };
}

/** A column description as createTable accepts it (nested key/value types too). */
function creatable(c: ColumnDesc | string): ColumnDesc | string {
  if (typeof c === "string") return c;
  const out: Record<string, unknown> = {};
  for (const k of CREATE_COLUMN_KEYS) {
    const v = c[k];
    if (v === undefined) continue;
    out[k] = k === "keyType" || k === "valueType" ? creatable(v as ColumnDesc | string) : v;
  }
  return out as ColumnDesc;
}

/** Drops a table (`dropTable`). */
export async function dropTable(
  client: DataApiClient,
  keyspace: string,
  name: string,
  signal?: AbortSignal,
) {
  await client.simple({ keyspace }, { dropTable: { name } }, { signal });
}
