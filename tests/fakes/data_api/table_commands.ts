/**
 * @module
 * The Data API's table commands for the fake server: keyspace-level DDL (createTable, listTables,
 * dropTable, createType, listTypes, dropType, dropIndex) and table-level commands (create*Index,
 * listIndexes, find, findOne, insertOne, insertMany). Responses are built as text so numbers and
 * key order are exactly what the real server would send.
 *
 * Deliberate limits (refused, not faked): filters other than `{}` or equality on the full primary
 * key, sorts other than a vector sort (vector_search.ts), updateOne/deleteOne/deleteMany/alterTable/alterType.
 */

import { apiError, FakeApiError, type FakeError, pageStateRejected } from "./errors.ts";
import { get, type JNode, parseTree, stringifyTree, toPlain } from "./json_tree.ts";
import { fakeEmbedding, type FakeStore, LIMITS } from "./store.ts";
import {
  checkKnownFields,
  describeIndex,
  describeTable,
  describeUdt,
  type FakeTable,
  type StoredRow,
} from "./tables.ts";
import { CodecError } from "./table_values.ts";
import { floatText, tableVectorSearch, tableVectorSortOf } from "./vector_search.ts";
import { type AlterChange, reorderedVector } from "./faults.ts";

const OK = `{"status":{"ok":1}}`;

/** Commands per target (CommandName.java), for the UNSUPPORTED_*_COMMAND messages. */
const TABLE_COMMANDS = [
  "alterTable",
  "alterType",
  "createIndex",
  "createTextIndex",
  "createVectorIndex",
  "deleteMany",
  "deleteOne",
  "find",
  "findOne",
  "insertMany",
  "insertOne",
  "listIndexes",
  "updateOne",
];
const COLLECTION_COMMANDS = [
  "countDocuments",
  "deleteMany",
  "deleteOne",
  "estimatedDocumentCount",
  "find",
  "findAndRerank",
  "findOne",
  "findOneAndDelete",
  "findOneAndReplace",
  "findOneAndUpdate",
  "insertMany",
  "insertOne",
  "updateMany",
  "updateOne",
];

/** True for commands that only exist for tables (sent to a collection they are refused). */
export function isTableOnlyCommand(command: string): boolean {
  return TABLE_COMMANDS.includes(command) && !COLLECTION_COMMANDS.includes(command);
}

/** UNSUPPORTED_COLLECTION_COMMAND for a table-only command sent to a collection. */
export function unsupportedCollectionCommand(
  command: string,
  keyspace: string,
  collection: string,
): FakeApiError {
  return new FakeApiError(
    "UNSUPPORTED_COLLECTION_COMMAND",
    `The command is not supported by collections in the API.  \n\nWhile many commands operate on both tables and collections, some commands can only be run against tables or collections. \n\nThe commands supported by collections are: ${
      COLLECTION_COMMANDS.join(", ")
    }.\nThe commands supported by tables are: ${
      TABLE_COMMANDS.join(", ")
    }.\n\nThe unsupported command ran against the collection: ${keyspace}.${collection}\nThe unsupported command was: ${command}.\n\nResend using one of the supported commands. `,
  );
}

function unsupportedTableCommand(command: string, t: FakeTable): FakeApiError {
  return new FakeApiError(
    "UNSUPPORTED_TABLE_COMMAND",
    `The command is not supported by tables in the API.  \n\nWhile many commands operate on both tables and collections, some commands can only be run against tables or collections. \n\nThe commands supported by tables are: ${
      TABLE_COMMANDS.join(", ")
    }.\nThe commands supported by collections are: ${
      COLLECTION_COMMANDS.join(", ")
    }.\n\nThe unsupported command ran against the table: ${t.keyspace}.${t.name}\nThe unsupported command was: ${command}.\n\nResend using one of the supported commands.`,
  );
}

function flag(node: JNode | undefined, key: string): boolean {
  const v = get(node, key);
  return v?.t === "bool" && v.v;
}

function requiredName(args: JNode): string {
  const name = get(args, "name");
  if (name?.t !== "str") {
    throw new FakeApiError(
      "COMMAND_FIELD_VALUE_INVALID",
      "Command field 'command.name' value `null` not valid: must not be null.",
    );
  }
  if (name.v === "") {
    throw new FakeApiError(
      "COMMAND_FIELD_VALUE_INVALID",
      `Command field 'command.name' value "" not valid: must not be empty.`,
    );
  }
  return name.v;
}

/**
 * A keyspace-level table command (POST /v1/{keyspace}); undefined when `command` is not one, so
 * the caller can try its own commands.
 */
export function tableKeyspaceCommand(
  store: FakeStore,
  command: string,
  args: JNode,
  keyspace: string,
): string | undefined {
  switch (command) {
    case "createTable": {
      checkKnownFields(args, ["name", "definition", "options"]);
      checkKnownFields(get(args, "options"), ["ifNotExists"]);
      const name = requiredName(args);
      store.createTable(keyspace, name, get(args, "definition") ?? { t: "null" }, {
        ifNotExists: flag(get(args, "options"), "ifNotExists"),
      });
      return OK;
    }
    case "listTables": {
      const schema = store.schema(keyspace);
      const tables = [...schema.tables.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
      const explain = flag(get(args, "options"), "explain");
      return `{"status":{"tables":[${
        tables.map((t) => explain ? describeTable(t) : JSON.stringify(t.name)).join(",")
      }]}}`;
    }
    case "dropTable": {
      checkKnownFields(args, ["name", "options"]);
      const name = requiredName(args);
      store.dropTable(keyspace, name, flag(get(args, "options"), "ifExists"));
      return OK;
    }
    case "createType": {
      checkKnownFields(args, ["name", "definition", "options"]);
      checkKnownFields(get(args, "options"), ["ifNotExists"]);
      const name = requiredName(args);
      store.createType(keyspace, name, get(args, "definition") ?? { t: "null" }, {
        ifNotExists: flag(get(args, "options"), "ifNotExists"),
      });
      return OK;
    }
    case "listTypes": {
      const schema = store.schema(keyspace);
      const explain = flag(get(args, "options"), "explain");
      const types = [...schema.types.values()];
      return `{"status":{"types":[${
        types.map((d) => explain ? describeUdt(d, keyspace, schema.types) : JSON.stringify(d.name))
          .join(",")
      }]}}`;
    }
    case "dropType": {
      const name = requiredName(args);
      const schema = store.schema(keyspace);
      if (!schema.types.has(name)) {
        if (flag(get(args, "options"), "ifExists")) return OK;
        throw new FakeApiError(
          "CANNOT_DROP_UNKNOWN_TYPE",
          `The command attempted to drop a type that is not in the keyspace schema.\n\nThe command attempted to drop the unknown type: ${name}.\n\nResend the command using a type that exists in the keyspace.`,
        );
      }
      const users = schema.tablesUsingType(name);
      if (users.length > 0) {
        throw new FakeApiError(
          "CANNOT_DROP_TYPE_USED_BY_TABLE",
          `The command attempted to drop a type that is used by tables.\n\nThe command attempted to drop the type: ${name}.\nThe command is used by the tables: ${
            users.join(", ")
          }.\n\nResend the command using a type that is not used by a table.`,
        );
      }
      schema.types.delete(name);
      return OK;
    }
    case "dropIndex": {
      const name = requiredName(args);
      const schema = store.schema(keyspace);
      if (!schema.indexes.delete(name) && !flag(get(args, "options"), "ifExists")) {
        throw new FakeApiError(
          "CANNOT_DROP_UNKNOWN_INDEX",
          `The command attempted to drop an index that is not in the keyspace schema.\n\nThe command attempted to drop the unknown index: ${name}.\n\nResend the command using an index that exists in the keyspace.`,
        );
      }
      return OK;
    }
    default:
      return undefined;
  }
}

/** Settings the table commands take from the server. */
export interface TableCommandContext {
  /** Rows per find page (the real server: 20 up to v1.0.46, 50 after). */
  pageSize: number;
  /** insertMany row limit (100). */
  maxInsertCount: number;
  /** Leave out `nextPageState` on the last page instead of sending null. */
  omitNullPageState?: boolean;
  /** insertMany: the `lose`/`alter` fault of this request (faults.ts), as for collections. */
  documentFault?:
    | { kind: "lose"; count: number }
    | { kind: "alter"; every: number; change: AlterChange }
    | undefined;
}

/** A table-level command (POST /v1/{keyspace}/{table}). */
export function tableCommand(
  ctx: TableCommandContext,
  command: string,
  args: JNode,
  t: FakeTable,
): string {
  switch (command) {
    case "createIndex":
    case "createVectorIndex":
    case "createTextIndex":
      return createIndex(command, args, t);
    case "listIndexes": {
      const explain = flag(get(args, "options"), "explain");
      const indexes = [...t.schema.indexes.values()].filter((ix) => ix.table === t.name);
      return `{"status":{"indexes":[${
        indexes.map((ix) => explain ? describeIndex(ix) : JSON.stringify(ix.name)).join(",")
      }]}}`;
    }
    case "find":
      return find(ctx, args, t, false);
    case "findOne":
      return find(ctx, args, t, true);
    case "insertOne": {
      checkKnownFields(args, ["document"]);
      const doc = get(args, "document");
      if (!doc) {
        throw new FakeApiError(
          "COMMAND_FIELD_VALUE_INVALID",
          "Command field 'command.document' value `null` not valid: must not be null.",
        );
      }
      return insert(t, [doc], false, false);
    }
    case "insertMany": {
      checkKnownFields(args, ["documents", "options"]);
      checkKnownFields(get(args, "options"), ["ordered", "returnDocumentResponses"]);
      const docs = get(args, "documents");
      if (!docs || docs.t !== "arr") {
        throw new FakeApiError(
          "COMMAND_FIELD_VALUE_INVALID",
          "Command field 'command.documents' value `null` not valid: must not be null.",
        );
      }
      if (docs.a.length > ctx.maxInsertCount) {
        throw new FakeApiError(
          "COMMAND_FIELD_VALUE_INVALID",
          `Command field 'documents' value not valid: amount of documents to insert is over the max limit (${docs.a.length} vs ${ctx.maxInsertCount}).`,
        );
      }
      const options = get(args, "options");
      return insert(
        t,
        docs.a,
        flag(options, "ordered"),
        flag(options, "returnDocumentResponses"),
        ctx.documentFault,
      );
    }
    default:
      if (COLLECTION_COMMANDS.includes(command) && !TABLE_COMMANDS.includes(command)) {
        throw unsupportedTableCommand(command, t);
      }
      throw new FakeApiError(
        "COMMAND_UNKNOWN",
        TABLE_COMMANDS.includes(command)
          ? `fake Data API: command "${command}" is not implemented for tables.`
          : `Provided command unknown: "${command}".`,
      );
  }
}

function createIndex(command: string, args: JNode, t: FakeTable): string {
  checkKnownFields(args, ["name", "definition", "indexType", "options"]);
  checkKnownFields(get(args, "options"), ["ifNotExists"]);
  const name = requiredName(args);
  const kind: "regular" | "vector" | "text" = command === "createIndex"
    ? "regular"
    : command === "createVectorIndex"
    ? "vector"
    : "text";
  const typeNode = get(args, "indexType");
  if (typeNode && typeNode.t !== "null") {
    const given = typeNode.t === "str" ? typeNode.v : stringifyTree(typeNode);
    if (!["regular", "vector", "text"].includes(given)) {
      throw new FakeApiError(
        "UNKNOWN_INDEX_TYPE",
        `The command attempted to create an index using an unknown type.\n\nThe known index types are: regular, text, vector.\nThe command used the unknown index type: ${given}.\n\nResend the command using a known index type.`,
      );
    }
    if (given !== kind) {
      throw new FakeApiError(
        "UNSUPPORTED_INDEX_TYPE",
        `The command attempted to create an index using an unsupported type.\n\nThe supported index types are: ${kind}.\nThe command used the unsupported index type: ${given}.\n\nResend the command using a supported index type.`,
      );
    }
  }
  t.addIndex(kind, name, get(args, "definition"), flag(get(args, "options"), "ifNotExists"));
  return OK;
}

// ---------------------------------------------------------------------------------------------
// find / findOne

/** Columns a projection selects, in output order (TableProjectionDefinition). */
function projectedColumns(t: FakeTable, projection: JNode | undefined): string[] {
  if (
    !projection || projection.t === "null" || (projection.t === "obj" && projection.m.length === 0)
  ) {
    return t.rowOrder;
  }
  if (projection.t !== "obj") {
    throw new FakeApiError(
      "UNSUPPORTED_PROJECTION_PARAM",
      `Unsupported projection parameter: projection must be an Object, not ${projection.t}.\n\nResend the command with valid projection definition.`,
      200,
      "PROJECTION",
    );
  }
  const include = (path: string, v: JNode): boolean => {
    // BigDecimal.ZERO.equals(...) is scale-sensitive: only an integral 0 excludes.
    if (v.t === "num") return !/^-?0$/.test(v.raw);
    if (v.t === "bool") return v.v;
    throw new FakeApiError(
      "UNSUPPORTED_PROJECTION_PARAM",
      v.t === "obj"
        ? `Unsupported projection parameter: path ('${path}') value cannot be Object: nesting not supported for Tables.\n\nResend the command with valid projection definition.`
        : `Unsupported projection parameter: path ('${path}') value must be Number or Boolean, was ${
          v.t === "str" ? "String" : v.t === "arr" ? "Array" : "Null"
        }.\n\nResend the command with valid projection definition.`,
      200,
      "PROJECTION",
    );
  };
  const names: string[] = [];
  let inclusion = false;
  if (projection.m.length === 1 && projection.m[0]![0] === "*") {
    if (include("*", projection.m[0]![1])) return t.rowOrder;
    inclusion = true;
  } else {
    for (const [path, v] of projection.m) {
      if (path === "" || path === "*") {
        throw new FakeApiError(
          "UNSUPPORTED_PROJECTION_PARAM",
          `Unsupported projection parameter: ${
            path === ""
              ? "empty paths (and path segments) not allowed"
              : "wildcard ('*') only allowed as the only root-level path"
          }.\n\nResend the command with valid projection definition.`,
          200,
          "PROJECTION",
        );
      }
      const inc = include(path, v);
      if (names.length === 0) inclusion = inc;
      else if (inc !== inclusion) {
        throw new FakeApiError(
          "UNSUPPORTED_PROJECTION_PARAM",
          `Unsupported projection parameter: cannot ${inc ? "include" : "exclude"} '${path}' on ${
            inclusion ? "inclusion" : "exclusion"
          } projection.\n\nResend the command with valid projection definition.`,
          200,
          "PROJECTION",
        );
      }
      names.push(path);
    }
  }
  const columns = inclusion
    ? names.filter((n, i) => t.column(n) && names.indexOf(n) === i)
    : t.rowOrder.filter((c) => !names.includes(c));
  if (columns.length === 0) {
    throw new FakeApiError(
      "UNKNOWN_TABLE_COLUMNS",
      `Only columns defined in the table schema can be included in the projection.\n\nThe table ${t.keyspace}.${t.name} defines the columns: ${t.columnsText()}.\nThe projection included the following unknown columns: [${
        names.join(", ")
      }].\n\nResend the command using only defined columns.`,
      200,
      "PROJECTION",
    );
  }
  return columns;
}

/** Rows selected by the filter: all (`{}`), or one by equality on the full primary key. */
function filterRows(t: FakeTable, filter: JNode | undefined): StoredRow[] | "all" {
  if (!filter || filter.t === "null" || (filter.t === "obj" && filter.m.length === 0)) return "all";
  const pk = t.primaryKey;
  const refuse = () =>
    new FakeApiError(
      "FILTER_UNSUPPORTED_OPERATOR",
      "fake Data API: only an empty filter or equality on the full primary key is implemented for tables",
    );
  if (filter.t !== "obj" || filter.m.length !== pk.length) throw refuse();
  const values: JNode[] = [];
  for (const c of pk) {
    let v = get(filter, c);
    if (!v) throw refuse();
    if (v.t === "obj" && v.m.length === 1 && v.m[0]![0] === "$eq") v = v.m[0]![1];
    else if (
      v.t === "obj" && v.m.some(([k]) => k.startsWith("$") && k !== "$binary" && k !== "$date")
    ) {
      throw refuse();
    }
    values.push(v);
  }
  let probe: StoredRow;
  try {
    probe = t.probe(values);
  } catch (e) {
    if (!(e instanceof CodecError)) throw e;
    throw new FakeApiError(
      "INVALID_FILTER_COLUMN_VALUES",
      `Only values that are supported by the column data type can be included in the filter: ${e.rootCause}.`,
    );
  }
  const row = t.rows.get(probe.pkKey);
  return row ? [row] : [];
}

function find(ctx: TableCommandContext, args: JNode, t: FakeTable, single: boolean): string {
  checkKnownFields(args, ["filter", "projection", "sort", "options"]);
  const sort = get(args, "sort");
  const vectorSort = sort && sort.t === "obj" && sort.m.length > 0
    ? tableVectorSortOf(t, sort)
    : null;
  if (sort && sort.t === "obj" && sort.m.length > 0 && !vectorSort) {
    throw new FakeApiError(
      "SORT_CLAUSE_INVALID",
      "fake Data API: only a vector sort is implemented for tables",
    );
  }
  const options = get(args, "options");
  const limitNode = get(options, "limit");
  const limit = limitNode && limitNode.t !== "null" ? Number(toPlain(limitNode)) : undefined;
  if (limit !== undefined && !(Number.isInteger(limit) && limit > 0)) {
    throw new FakeApiError(
      "COMMAND_FIELD_VALUE_INVALID",
      "Command field 'options.limit' value not valid: must be greater than 0.",
    );
  }
  const skip = get(options, "skip");
  if (vectorSort) {
    return vectorFind(
      ctx,
      t,
      args,
      vectorSort,
      limit,
      skip !== undefined && skip.t !== "null",
      single,
    );
  }
  if (skip && skip.t !== "null") {
    throw new FakeApiError(
      "COMMAND_FIELD_VALUE_INVALID",
      "fake Data API: options.skip needs a sort, which is not implemented for tables.",
    );
  }
  const columns = projectedColumns(t, get(args, "projection"));
  const selected = filterRows(t, get(args, "filter"));
  const status = `"status":{"projectionSchema":${t.schemaText(columns)}${
    selected === "all"
      ? `,"warnings":[${JSON.stringify(apiError("ZERO_FILTER_OPERATIONS", t.zeroFilterMessage()))}]`
      : ""
  }}`;
  const all = selected === "all" ? t.sorted() : selected;
  if (single) {
    const row = all[0];
    return `{"data":{"document":${row ? t.rowText(row, columns) : "null"}},${status}}`;
  }
  const stateNode = get(options, "pageState") ?? get(options, "pagingState");
  let start = 0;
  let served = 0;
  if (stateNode && stateNode.t === "str" && stateNode.v !== "") {
    const st = decodePageState(stateNode.v, `${t.keyspace}.${t.name}`);
    served = st.n;
    start = resumeAt(t, all, st.p);
  }
  let size = ctx.pageSize;
  if (limit !== undefined) size = Math.max(0, Math.min(size, limit - served));
  const page = all.slice(start, start + size);
  const last = page[page.length - 1];
  const more = last !== undefined && start + page.length < all.length &&
    (limit === undefined || served + page.length < limit);
  const docs = page.map((r) => t.rowText(r, columns)).join(",");
  // The last page says `"nextPageState":null`, for tables as for collections (the server's
  // ResponseData; astra-db-ts's table cursor waits for it); omitNullPageState leaves it out.
  const next = more
    ? `,"nextPageState":${
      JSON.stringify(encodePageState(`${t.keyspace}.${t.name}`, last.pkKey, served + page.length))
    }`
    : ctx.omitNullPageState
    ? ""
    : `,"nextPageState":null`;
  return `{"data":{"documents":[${docs}]${next}},${status}}`;
}

/**
 * `find`/`findOne` with a vector sort (vector_search.ts tableVectorSearch): the best rows first,
 * `$similarity` last in each row with `includeSimilarity`, paged like any table read; the page
 * state holds the position in the (recomputed) result.
 */
function vectorFind(
  ctx: TableCommandContext,
  t: FakeTable,
  args: JNode,
  sort: { column: string; query: Float32Array },
  limit: number | undefined,
  hasSkip: boolean,
  single: boolean,
): string {
  const options = get(args, "options");
  const columns = projectedColumns(t, get(args, "projection"));
  const selected = filterRows(t, get(args, "filter"));
  const found = tableVectorSearch(t, selected === "all" ? t.sorted() : selected, {
    ...sort,
    limit: single ? 1 : limit,
    hasSkip,
  });
  const withSimilarity = flag(options, "includeSimilarity");
  const text = (f: { row: StoredRow; similarity: number }) => {
    const row = t.rowText(f.row, columns);
    if (!withSimilarity) return row;
    const sim = `"$similarity":${floatText(f.similarity)}`;
    return row === "{}" ? `{${sim}}` : `${row.slice(0, -1)},${sim}}`;
  };
  const status = `"status":{"projectionSchema":${t.schemaText(columns)}}`;
  if (single) {
    return `{"data":{"document":${found[0] ? text(found[0]) : "null"}},${status}}`;
  }
  const stateNode = get(options, "pageState") ?? get(options, "pagingState");
  const key = `${t.keyspace}.${t.name}#ann`;
  const start = stateNode && stateNode.t === "str" && stateNode.v !== ""
    ? decodePageState(stateNode.v, key).n
    : 0;
  const page = found.slice(start, start + ctx.pageSize);
  const end = start + page.length;
  const next = end < found.length
    ? `,"nextPageState":${JSON.stringify(encodePageState(key, "", end))}`
    : ctx.omitNullPageState
    ? ""
    : `,"nextPageState":null`;
  return `{"data":{"documents":[${page.map(text).join(",")}]${next}},${status}}`;
}

/** Index of the first row after the key a page state names (the row may be gone by now). */
function resumeAt(t: FakeTable, rows: StoredRow[], pkKey: string): number {
  const at = t.indexOf(pkKey);
  if (at !== undefined) return at + 1;
  let probe: StoredRow;
  try {
    const node = parseTree(pkKey);
    probe = t.probe(node.t === "arr" ? node.a : []);
  } catch {
    throw pageStateRejected("AAAA", t.name); // valid base64 the database cannot use
  }
  let lo = 0;
  let hi = rows.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (t.compareRows(rows[mid]!, probe) > 0) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

function encodePageState(table: string, pkKey: string, served: number): string {
  const json = JSON.stringify({
    k: table,
    p: pkKey,
    n: served,
  });
  let bin = "";
  for (const b of new TextEncoder().encode(json)) bin += String.fromCharCode(b);
  return btoa(bin);
}

function decodePageState(state: string, table: string): { p: string; n: number } {
  try {
    const json = new TextDecoder().decode(Uint8Array.from(atob(state), (ch) => ch.charCodeAt(0)));
    const st = JSON.parse(json) as { k: string; p: string; n: number };
    if (st.k === table && typeof st.p === "string" && typeof st.n === "number") return st;
  } catch {
    // fall through
  }
  throw pageStateRejected(state, table);
}

// ---------------------------------------------------------------------------------------------
// insertOne / insertMany

function longestNumber(n: JNode): number {
  switch (n.t) {
    case "num":
      return n.raw.length;
    case "arr":
      return n.a.reduce((m, e) => Math.max(m, longestNumber(e)), 0);
    case "obj":
      return n.m.reduce((m, [, e]) => Math.max(m, longestNumber(e)), 0);
    default:
      return 0;
  }
}

/**
 * Validates every row first (as the server builds all rows before writing), then upserts: with
 * `ordered`, rows after the first failed one are skipped, but every bad row gets its own error.
 */
function insert(
  t: FakeTable,
  docs: JNode[],
  ordered: boolean,
  detailed: boolean,
  fault?: TableCommandContext["documentFault"],
): string {
  for (const d of docs) {
    const len = longestNumber(d);
    if (len > LIMITS.maxNumberChars) {
      throw new FakeApiError(
        "SHRED_DOC_LIMIT_VIOLATION",
        `Document size limitation violated: Number value length (${len}) exceeds the maximum allowed (${LIMITS.maxNumberChars})`,
      );
    }
  }
  const prepared = docs.map((d, i) => {
    try {
      if (fault?.kind === "alter" && i % fault.every === 0) {
        return t.prepareRow(alterRow(t, d, fault.change), fakeEmbedding);
      }
      return t.prepareRow(d, fakeEmbedding);
    } catch (e) {
      if (!(e instanceof FakeApiError)) throw e;
      return e;
    }
  });
  const firstFailure = prepared.findIndex((p) => p instanceof FakeApiError);
  const results: Array<{ id?: string; status: "OK" | "ERROR" | "SKIPPED"; err?: number }> = [];
  const errors: FakeError[] = [];
  prepared.forEach((p, i) => {
    if (p instanceof FakeApiError) {
      results.push({ status: "ERROR", err: errors.length });
      errors.push(p.descriptor);
    } else if (ordered && firstFailure >= 0 && i > firstFailure) {
      results.push({ id: t.insertedIdText(p.key), status: "SKIPPED" });
    } else {
      // `lose`: confirmed, not stored.
      if (!(fault?.kind === "lose" && i < fault.count)) t.upsert(p);
      results.push({ id: t.insertedIdText(p.key), status: "OK" });
    }
  });
  const schema = docs.length > 0 ? `"primaryKeySchema":${t.schemaText(t.primaryKey)},` : "";
  const status = detailed
    ? `{${schema}"documentResponses":[${
      results.map((r) =>
        `{${r.id === undefined ? "" : `"_id":${r.id},`}"status":"${r.status}"${
          r.err === undefined ? "" : `,"errorsIdx":${r.err}`
        }}`
      ).join(",")
    }]}`
    : `{${schema}"insertedIds":[${
      results.filter((r) => r.status === "OK").map((r) => r.id).join(",")
    }]}`;
  return errors.length > 0
    ? `{"status":${status},"errors":${JSON.stringify(errors)}}`
    : `{"status":${status}}`;
}

/**
 * A row changed as the `alter` fault stores it (faults.ts): `round` adds one to the first number
 * of a column outside the primary key, `drop` leaves out the last such column.
 */
function alterRow(t: FakeTable, row: JNode, change: AlterChange): JNode {
  if (row.t !== "obj") return row;
  const key = new Set(t.primaryKey);
  if (change === "reorder") {
    const at = row.m.findIndex(([k, v]) => !key.has(k) && reorderedVector(v) !== null);
    return at < 0
      ? row
      : { ...row, m: row.m.map(([k, v], i) => [k, i === at ? reorderedVector(v)! : v]) };
  }
  if (change === "drop") {
    const last = row.m.findLastIndex(([k]) => !key.has(k));
    return last < 0 ? row : { ...row, m: row.m.filter((_, i) => i !== last) };
  }
  const at = row.m.findIndex(([k, v]) => !key.has(k) && v.t === "num");
  if (at < 0) return row;
  return {
    ...row,
    m: row.m.map(([k, v], i): [string, JNode] =>
      i === at
        ? [k, { t: "num", raw: String(Math.round(Number((v as { raw: string }).raw)) + 1) }]
        : [k, v]
    ),
  };
}
