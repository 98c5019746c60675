/**
 * @module
 * Data API table schema calls: reading a table's full definition (columns and primary key from
 * listTables, indexes from listIndexes, the user-defined types it uses from listTypes) and
 * recreating it in the order the server needs (types → table → indexes). Shapes follow the
 * stargate/data-api integration tests (see docs/FORMAT.md, "Tables").
 */

import { NAME_PATTERN } from "../config/resolve.ts";
import {
  type ColumnDesc,
  indexCreateCommand,
  tableColumns,
  usedTypeNames,
} from "../manifest/mod.ts";
import type { CollectionInfo } from "./collections.ts";
import { type DataApiClient, protocolError } from "./data_api.ts";
import { SourceError } from "../errors.ts";
import { canonicalJson } from "../json/canonical_json.ts";

/** Column keys createTable accepts; everything else (`apiSupport`, `definition`) is read-only. */
const CREATE_COLUMN_KEYS = ["type", "keyType", "valueType", "udtName", "dimension", "service"];

/**
 * The tables of a keyspace, or why this server has none to offer: `listTables` itself unknown
 * (COMMAND_UNKNOWN, servers that predate tables) or switched off (TABLE_FEATURE_NOT_ENABLED, HTTP
 * 200, v1.0.18–v1.0.34 when the operator set `stargate.jsonapi.feature.flags.tables: false`:
 * stargate/data-api src/main/java/io/stargate/sgv2/jsonapi/api/v1/KeyspaceResource.java,
 * config/feature/ApiFeature.java). Only the answer to `listTables` means "no tables": a later
 * command this server lacks (listIndexes before v1.0.19, listTypes before v1.0.30) is an error,
 * never an empty result.
 */
export type TableListing =
  | { tables: CollectionInfo[]; unavailable?: undefined }
  | { tables?: undefined; unavailable: string };

/** Error codes with which `listTables` says this server has no tables to offer. */
const TABLES_UNAVAILABLE = new Set(["COMMAND_UNKNOWN", "TABLE_FEATURE_NOT_ENABLED"]);

/**
 * Lists the tables of `keyspace`, each with a definition of `{columns, primaryKey, indexes,
 * types}` assembled from listTables, listIndexes and (only when a column uses a user-defined
 * type) listTypes, all with explain. Throws when the server has no tables (see
 * {@linkcode listTablesOrWhyNot} for the caller that can go on without them).
 */
export async function listTables(
  client: DataApiClient,
  keyspace: string,
  signal?: AbortSignal,
): Promise<CollectionInfo[]> {
  const listing = await listTablesOrWhyNot(client, keyspace, signal, true);
  return listing.tables ?? [];
}

/**
 * The names of the tables of `keyspace` (listTables without explain), empty when this server has
 * no tables to offer: for a caller that must know every name taken in the keyspace (collections
 * and tables share one namespace) without describing any table.
 */
export async function tableNames(
  client: DataApiClient,
  keyspace: string,
  signal?: AbortSignal,
): Promise<string[]> {
  let res;
  try {
    res = await client.simple({ keyspace }, { listTables: {} }, { signal });
  } catch (e) {
    if (
      e instanceof SourceError && e.errorCode !== undefined && TABLES_UNAVAILABLE.has(e.errorCode)
    ) {
      return [];
    }
    throw e;
  }
  const tables = res.status?.tables;
  if (!Array.isArray(tables) || tables.some((t) => typeof t !== "string")) {
    throw protocolError("listTables", `listTables on keyspace ${keyspace} returned no table names`);
  }
  return tables as string[];
}

/** {@linkcode listTables}, but "this server has no tables" is an answer, not an error. */
export async function listTablesOrWhyNot(
  client: DataApiClient,
  keyspace: string,
  signal?: AbortSignal,
  throwIfUnavailable = false,
): Promise<TableListing> {
  let res;
  try {
    res = await client.simple({ keyspace }, { listTables: { options: { explain: true } } }, {
      signal,
    });
  } catch (e) {
    if (
      !throwIfUnavailable && e instanceof SourceError && e.errorCode !== undefined &&
      TABLES_UNAVAILABLE.has(e.errorCode)
    ) {
      return { unavailable: e.message };
    }
    throw e;
  }
  const tables = res.status?.tables;
  if (!Array.isArray(tables)) {
    throw protocolError(
      "listTables",
      `listTables on keyspace ${keyspace} returned no status.tables`,
    );
  }
  const valid = (tables as Array<{ name?: unknown; definition?: Record<string, unknown> }>).map(
    (t) => {
      if (typeof t?.name !== "string" || !NAME_PATTERN.test(t.name) || !t.definition) {
        throw protocolError(
          "listTables",
          `listTables on keyspace ${keyspace} returned an invalid table`,
        );
      }
      return { name: t.name, definition: t.definition };
    },
  );
  const usedTypes = valid.map((t) => usedTypeNames(t.definition));
  const anyUdt = usedTypes.some((u) => u.size > 0);
  const allTypes = anyUdt
    ? await describeCommand(
      client,
      keyspace,
      undefined,
      "listTypes",
      "types",
      `tables ${
        valid.filter((_, i) => usedTypes[i]!.size > 0).map((t) => t.name).join(", ")
      } use user-defined types`,
      "v1.0.30",
      signal,
    )
    : [];
  const out: CollectionInfo[] = [];
  for (const [i, t] of valid.entries()) {
    const indexes = await describeCommand(
      client,
      keyspace,
      t.name,
      "listIndexes",
      "indexes",
      `table ${t.name} needs its indexes described`,
      "v1.0.19",
      signal,
    );
    const used = usedTypes[i]!;
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
  return { tables: out };
}

/**
 * Runs a describing command (listIndexes, listTypes) with explain and returns its list. A server
 * that does not know the command cannot describe these tables: that is an error naming the
 * version that added it, never "no indexes" or "no tables".
 */
async function describeCommand(
  client: DataApiClient,
  keyspace: string,
  table: string | undefined,
  command: "listIndexes" | "listTypes",
  field: "indexes" | "types",
  why: string,
  since: string,
  signal: AbortSignal | undefined,
): Promise<Array<Record<string, unknown>>> {
  let res;
  try {
    res = await client.simple(
      table === undefined ? { keyspace } : { keyspace, collection: table },
      { [command]: { options: { explain: true } } },
      { signal },
    );
  } catch (e) {
    if (e instanceof SourceError && e.errorCode === "COMMAND_UNKNOWN") {
      throw new SourceError(
        `keyspace ${keyspace}: ${why}, but this Data API has no ${command} (added in server ${since}); astrabak cannot describe ${
          table === undefined ? "them" : "it"
        } exactly`,
        {
          kind: "command",
          command,
          errorCode: "COMMAND_UNSUPPORTED_BY_SERVER",
          retriable: false,
          hint:
            `upgrade the Data API to ${since} or later, or back up collections only with --kind collections`,
          cause: e,
        },
      );
    }
    throw e;
  }
  const list = res.status?.[field];
  if (!Array.isArray(list)) {
    throw protocolError(
      command,
      `${command} on ${
        table === undefined ? `keyspace ${keyspace}` : `${keyspace}.${table}`
      } returned no status.${field}`,
    );
  }
  return list as Array<Record<string, unknown>>;
}

/**
 * Creates the types and the table of a definition, not its indexes: restore writes the rows of a
 * table whose index the target then refuses, rather than leave a replaced table empty.
 */
export async function createTableWithoutIndexes(
  client: DataApiClient,
  keyspace: string,
  name: string,
  definition: Record<string, unknown>,
  signal?: AbortSignal,
): Promise<void> {
  await createTypesOf(client, keyspace, definition, signal);
  // ifNotExists stays false: an existing table must not pass as "created". But a retried
  // create whose first answer was lost meets the table it made (CANNOT_ADD_EXISTING_TABLE,
  // stargate/data-api errors.yaml from v1.0.19): that is success when the table there now is
  // exactly the one asked for.
  let attempts = 0;
  try {
    await client.simple({ keyspace }, createTableCommand(name, definition), {
      signal,
      onAttempt: (a) => (attempts = a),
    });
  } catch (e) {
    if (
      !(attempts > 1 && e instanceof SourceError && e.errorCode === "CANNOT_ADD_EXISTING_TABLE")
    ) throw e;
    const there = (await listTables(client, keyspace, signal)).find((t) => t.name === name);
    if (
      !there ||
      canonicalJson(creatableColumns(there.definition)) !==
        canonicalJson(creatableColumns(definition)) ||
      canonicalJson(there.definition.primaryKey) !== canonicalJson(definition.primaryKey)
    ) throw e;
  }
}

/** Creates the indexes of a table definition (`ifNotExists`, so a retry is harmless). */
export async function createIndexesOf(
  client: DataApiClient,
  keyspace: string,
  name: string,
  definition: Record<string, unknown>,
  signal?: AbortSignal,
): Promise<void> {
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
  return {
    createTable: {
      name,
      definition: { columns: creatableColumns(definition), primaryKey: definition.primaryKey },
      options: { ifNotExists: false },
    },
  };
}

/** The columns of a definition as createTable accepts them. */
function creatableColumns(definition: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(tableColumns(definition)).map(([c, d]) => [c, creatable(d)]),
  );
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

/**
 * Drops a table (`dropTable` with `ifExists`, stargate/data-api DropTableCommand.java from
 * v1.0.19): a retry after a drop whose answer was lost must not fail on CANNOT_DROP_UNKNOWN_TABLE.
 */
export async function dropTable(
  client: DataApiClient,
  keyspace: string,
  name: string,
  signal?: AbortSignal,
) {
  await client.simple({ keyspace }, { dropTable: { name, options: { ifExists: true } } }, {
    signal,
  });
}
