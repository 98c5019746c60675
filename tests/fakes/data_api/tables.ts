/**
 * @module
 * Tables, user-defined types and indexes of one keyspace in the fake Data API: parsing the
 * createTable/createType/create*Index bodies with the real server's rules, describing them the way
 * listTables/listTypes/listIndexes and `projectionSchema` do, and storing rows with CQL upsert
 * semantics. Rows are read back in a token-like order (hash of the partition key, then the
 * clustering columns), and each row's columns in a Java HashMap order, as the real server does.
 */

import { FakeApiError } from "./errors.ts";
import { get, type JNode, parseTree, stringifyTree } from "./json_tree.ts";
import {
  apiTypeName,
  CodecError,
  type ColType,
  compareValues,
  type CqlValue,
  decodeValue,
  encodeValue,
  isEmptyValue,
  javaHashMapOrder,
  PRIMITIVES,
  type PrimName,
  type UdtDef,
  VectorizeRequest,
} from "./table_values.ts";

/** A table column. */
export interface ColumnDef {
  name: string;
  type: ColType;
}

/** A table definition as the database keeps it. */
export interface TableDef {
  name: string;
  /** All columns in CQL metadata order: partition key, clustering columns, then by name. */
  columns: ColumnDef[];
  partitionBy: string[];
  /** Clustering columns in order, with 1 (ascending) or -1 (descending). */
  partitionSort: Array<[string, 1 | -1]>;
}

/** An index (names are unique per keyspace). */
export type IndexDef =
  & { name: string; table: string; column: string }
  & (
    | {
      kind: "regular";
      /** `$keys`/`$values` for maps, `$values` for lists and sets; none for map entries. */
      component?: "$keys" | "$values";
      options: Array<[string, boolean]>;
    }
    | { kind: "vector"; metric: string; sourceModel: string }
    | { kind: "text"; analyzer: JNode }
  );

/** One stored row. */
export interface StoredRow {
  /** Identity: JSON text of the primary key values. */
  pkKey: string;
  /** JSON text of the partition key values. */
  partKey: string;
  /** Token stand-in: hash of the partition key text. */
  order: number;
  /** Non-null cells, primary key included. */
  cells: Map<string, CqlValue>;
}

/** Turns text into a stand-in for a token (same FNV-1a as the collections use). */
export type Hasher = (s: string) => number;

/** Embeds text for vectorize columns (deterministic fake provider). */
export type Embedder = (text: string, dim: number) => JNode;

const NAME_RULE = /^\w+$/;

/** UNSUPPORTED_SCHEMA_NAME unless `name` is `\w+` and short enough (SchemaObjectNamingRule). */
export function checkSchemaName(kind: "table" | "type" | "index", name: string): void {
  const max = kind === "index" ? 100 : 48;
  if (!NAME_RULE.test(name) || name.length > max) {
    throw new FakeApiError(
      "UNSUPPORTED_SCHEMA_NAME",
      `The command attempted to create a ${kind} with a name that is not supported.\n\nThe supported ${kind} names must not be empty, more than ${max} characters long, or contain non-alphanumeric-underscore characters.\nThe command used the unsupported ${kind} name: '${name}'.\n\nResend the command using a supported ${kind} name.`,
    );
  }
}

/** COMMAND_FIELD_UNKNOWN for members of `node` not in `known` (Jackson FAIL_ON_UNKNOWN). */
export function checkKnownFields(node: JNode | undefined, known: string[]): void {
  if (!node || node.t !== "obj") return;
  for (const [k] of node.m) {
    if (!known.includes(k)) {
      throw new FakeApiError(
        "COMMAND_FIELD_UNKNOWN",
        `Command field '${k}' not recognized: not one of known fields (${
          known.map((x) => `'${x}'`).sort().join(", ")
        }).\n\nResend command with valid command fields.`,
      );
    }
  }
}

function structureMismatch(message: string): FakeApiError {
  return new FakeApiError(
    "REQUEST_STRUCTURE_MISMATCH",
    `Request is valid JSON but has a structural mismatch: ${message}.\n\nResend request with valid structure.`,
  );
}

/** Where a type is used; decides which types a user may bind there (TypeBindingPoint). */
type BindingPoint = "column" | "value" | "key" | "field";

const PRIMITIVE_SET = new Set<string>(PRIMITIVES);
const API_TYPE_NAMES = [...PRIMITIVES, "list", "map", "set", "vector", "userDefined"];
const COLUMN_DESC_FIELDS = ["type", "keyType", "valueType", "udtName", "dimension", "service"];

function primitiveList(): string {
  return PRIMITIVES.join(", ");
}

/**
 * Parses a column description in short (`"int"`) or long (`{"type": "int"}`) form, as
 * ColumnDescDeserializer does: only the six input fields are allowed (so `apiSupport` from a
 * listing is COMMAND_FIELD_UNKNOWN), short form is primitives only.
 */
export function parseColumnDesc(
  column: string,
  node: JNode,
  point: BindingPoint,
  udts: Map<string, UdtDef>,
): ColType {
  let typeName: string;
  if (node.t === "str") {
    typeName = node.v;
    if (!PRIMITIVE_SET.has(typeName)) {
      throw new FakeApiError(
        "UNKNOWN_PRIMITIVE_DATA_TYPE",
        `The column definition used the short hand for the data type, which only supports primitive data types.\n\nThe supported primitive data types are: ${primitiveList()}.\nThe command used the unsupported data type: ${typeName}.\n\nResend the command using a known primitive data type.`,
      );
    }
    return { kind: "prim", name: typeName as PrimName };
  }
  if (node.t !== "obj") {
    throw structureMismatch(
      `The Long Form type definition must be a JSON Object with at least a \`type\` field that is a String (node is not Object but ${node.t})`,
    );
  }
  const typeNode = get(node, "type");
  if (!typeNode || typeNode.t !== "str") {
    throw structureMismatch(
      "The Long Form type definition must be a JSON Object with at least a `type` field that is a String",
    );
  }
  typeName = typeNode.v;
  if (!API_TYPE_NAMES.includes(typeName)) {
    throw new FakeApiError(
      "UNKNOWN_DATA_TYPE",
      `The column definition used a data type that is not known.\n\nThe supported data types are: ${
        API_TYPE_NAMES.join(", ")
      }.\nThe command used the unsupported data type: ${typeName}.\n\nResend the command using a known data types.`,
    );
  }
  for (const [k] of node.m) {
    if (!COLUMN_DESC_FIELDS.includes(k)) {
      throw new FakeApiError(
        "COMMAND_FIELD_UNKNOWN",
        `Command field '${k}' not recognized: column '${column}' definition contains unknown field '${k}': not one of recognized fields [${
          COLUMN_DESC_FIELDS.join(", ")
        }].\n\nResend command with valid command fields.`,
      );
    }
  }
  if (PRIMITIVE_SET.has(typeName)) return { kind: "prim", name: typeName as PrimName };
  switch (typeName) {
    case "list":
    case "set": {
      const v = get(node, "valueType");
      const value = v ? parseColumnDesc(column, v, "value", udts) : undefined;
      if (!value || !collectionValueOk(value)) {
        throw new FakeApiError(
          typeName === "list" ? "UNSUPPORTED_LIST_DEFINITION" : "UNSUPPORTED_SET_DEFINITION",
          `The command attempted to create a ${typeName} column that used an unsupported type for the value.\n\nThe primitive data types are: ${primitiveList()}.\nThe command used the value type: ${
            value ? apiTypeName(value) : "null"
          }.\n\nResend the command using a supported value type.`,
        );
      }
      return { kind: typeName, value };
    }
    case "map": {
      const k = get(node, "keyType");
      const v = get(node, "valueType");
      const key = k ? parseColumnDesc(column, k, "key", udts) : undefined;
      const value = v ? parseColumnDesc(column, v, "value", udts) : undefined;
      const keyOk = key?.kind === "prim" &&
        !["duration", "counter", "timeuuid"].includes(key.name);
      if (!key || !value || !keyOk || !collectionValueOk(value)) {
        throw new FakeApiError(
          "UNSUPPORTED_MAP_DEFINITION",
          `The command attempted to create a map column that used unsupported types for either the key or value.\n\nThe command used the key type: ${
            key ? apiTypeName(key) : "null"
          }.\nThe command used the value type: ${
            value ? apiTypeName(value) : "null"
          }.\n\nResend the command using a supported key and value type.`,
        );
      }
      return { kind: "map", key, value };
    }
    case "vector": {
      const service = get(node, "service");
      const dimNode = get(node, "dimension");
      const dimText = dimNode === undefined || dimNode.t === "null"
        ? ""
        : dimNode.t === "str"
        ? dimNode.v
        : stringifyTree(dimNode);
      let dimension: number;
      if (dimText.trim() === "") {
        if (!service) {
          throw new FakeApiError(
            "MISSING_DIMENSION_IN_VECTOR_COLUMN",
            "The dimension is required for vector columns if the embedding service is not specified.\n\nThe command attempted to create the vector column without a dimension.\n\nResend the command using a dimension for the vector columns.",
          );
        }
        dimension = 1024;
      } else {
        dimension = /^[+-]?\d+$/.test(dimText) ? Number(dimText) : NaN;
      }
      if (!Number.isInteger(dimension) || dimension <= 0) {
        throw new FakeApiError(
          "UNSUPPORTED_VECTOR_DIMENSION",
          `The command attempted to create a vector column that used an unsupported configuration.\n\nThe dimension of the vector must be an positive integer value.\n\nThe command used the dimension: ${dimText}.\n\nResend the command using a supported vector dimension.`,
        );
      }
      return service && service.t !== "null"
        ? { kind: "vector", dimension, service }
        : { kind: "vector", dimension };
    }
    default: {
      // userDefined
      const nameNode = get(node, "udtName");
      const udtName = nameNode?.t === "str" ? nameNode.v : "";
      if (udtName.trim() === "") {
        throw new FakeApiError(
          "INVALID_USER_DEFINED_TYPE_NAME",
          `User defined type name is not valid: ${udtName}.\n\nThe user defined type name "udtName" must not be empty.\n\nResend the command using a valid user defined type name.`,
        );
      }
      if (point === "key") {
        throw new FakeApiError(
          "UNSUPPORTED_MAP_DEFINITION",
          "The command attempted to create a map column that used unsupported types for either the key or value.\n\nMaps can use most primitive types for the key and value, and userDefined types for the value.",
        );
      }
      if (point === "field") return { kind: "udt", name: udtName, frozen: true };
      if (!udts.has(udtName)) {
        throw new FakeApiError(
          "UNKNOWN_USER_DEFINED_TYPE",
          `The column uses a user defined type that is not known.\n\nUnknown type '${udtName}'\n\nResend the command using a known user defined type.`,
        );
      }
      return { kind: "udt", name: udtName, frozen: point === "value" };
    }
  }
}

function collectionValueOk(t: ColType): boolean {
  if (t.kind === "udt") return true;
  return t.kind === "prim" && t.name !== "counter" && t.name !== "timeuuid";
}

/** Types that the API itself cannot create (timeuuid, counter), per ApiDataTypeDefs. */
function notCreatable(t: ColType): boolean {
  return t.kind === "prim" && (t.name === "timeuuid" || t.name === "counter");
}

/** Options of {@linkcode parseTableDefinition}. */
export interface TableDefOptions {
  /**
   * Accept timeuuid and counter columns, as for a table created through CQL (test helper only:
   * the Data API's createTable rejects them).
   */
  cqlTypes?: boolean;
}

/** Parses and validates a createTable `definition` against the keyspace's types. */
export function parseTableDefinition(
  name: string,
  definition: JNode | undefined,
  udts: Map<string, UdtDef>,
  options: TableDefOptions = {},
): TableDef {
  checkSchemaName("table", name);
  if (!definition || definition.t !== "obj") {
    throw new FakeApiError(
      "COMMAND_FIELD_VALUE_INVALID",
      "Command field 'command.definition' value `null` not valid: must not be null.",
    );
  }
  checkKnownFields(definition, ["columns", "primaryKey"]);
  const columnsNode = get(definition, "columns");
  if (!columnsNode || columnsNode.t !== "obj" || columnsNode.m.length === 0) {
    throw new FakeApiError(
      "COMMAND_FIELD_VALUE_INVALID",
      "Command field 'command.definition.columns' value not valid: must not be empty.",
    );
  }
  const columns = new Map<string, ColType>();
  for (const [col, desc] of columnsNode.m) {
    columns.set(col, parseColumnDesc(col, desc, "column", udts));
  }
  if (!options.cqlTypes) {
    const bad = [...columns.values()].filter(notCreatable).map(apiTypeName).sort();
    if (bad.length > 0) {
      throw new FakeApiError(
        "UNSUPPORTED_DATA_TYPE_TABLE_CREATION",
        `The column definition used unsupported data types for the table creation.\n\nThe supported data types for table creation are: ${
          PRIMITIVES.filter((p) => p !== "timeuuid" && p !== "counter").sort().join(", ")
        }.\nThe command used the unsupported data types for table creation : ${
          bad.join(", ")
        }.\n\nResend the command using supported data types for table creation.`,
      );
    }
  }
  const { partitionBy, partitionSort } = parsePrimaryKey(get(definition, "primaryKey"));
  const known = [...columns.keys()];
  const unknownSort = partitionSort.filter(([c]) => !columns.has(c)).map(([c]) => c);
  if (unknownSort.length > 0) {
    throw new FakeApiError(
      "UNKNOWN_PARTITION_SORT_COLUMNS",
      `The columns used for partition sorting are not present in the table schema.\n\nThe table definition includes the columns: ${
        known.join(", ")
      }.\nThe partition sort includes the unknown columns: ${
        unknownSort.join(", ")
      }.\n\nResend the command using only columns included in the table definition.`,
    );
  }
  if (partitionBy.length === 0) {
    throw new FakeApiError(
      "MISSING_PARTITION_COLUMNS",
      `The table definition must have at least one partition key.\n\nThe table definition includes the columns: ${
        known.join(", ")
      }.\n\nResend the command using at least one partition key.`,
    );
  }
  const unknownPart = partitionBy.filter((c) => !columns.has(c));
  if (unknownPart.length > 0) {
    throw new FakeApiError(
      "UNKNOWN_PARTITION_COLUMNS",
      `The column used to partition by are not present in the table schema.\n\nThe table definition includes the columns: ${
        known.join(", ")
      }.\nThe partition includes the unknown columns: ${
        unknownPart.join(", ")
      }.\n\nResend the command using only columns included in the table definition.`,
    );
  }
  // Cassandra itself refuses these primary key types; the API passes its error on.
  for (const c of [...partitionBy, ...partitionSort.map(([c]) => c)]) {
    const t = columns.get(c)!;
    if (
      t.kind === "list" || t.kind === "set" || t.kind === "map" || t.kind === "udt" ||
      (t.kind === "prim" && (t.name === "duration" || t.name === "counter"))
    ) {
      throw new FakeApiError(
        "INVALID_DATABASE_QUERY",
        `The Data API command generated a database query that while syntactically correct, was rejected as invalid by the database.\n\nThe database error: Invalid ${
          apiTypeName(t)
        } type for PRIMARY KEY component ${c}.`,
      );
    }
  }
  for (const [c, t] of columns) {
    if (t.kind === "set" && t.value.kind === "prim" && t.value.name === "duration") {
      throw new FakeApiError(
        "INVALID_DATABASE_QUERY",
        `The Data API command generated a database query that while syntactically correct, was rejected as invalid by the database.\n\nThe database error: Durations are not allowed inside sets: set<duration> (column ${c}).`,
      );
    }
  }
  const pkNames = new Set([...partitionBy, ...partitionSort.map(([c]) => c)]);
  const regular = known.filter((c) => !pkNames.has(c)).sort();
  const ordered = [...partitionBy, ...partitionSort.map(([c]) => c), ...regular];
  return {
    name,
    columns: ordered.map((c) => ({ name: c, type: columns.get(c)! })),
    partitionBy,
    partitionSort,
  };
}

function primaryKeyIncorrect(): FakeApiError {
  return new FakeApiError(
    "PRIMARY_KEY_DEFINITION_INCORRECT",
    'Primary key definition provided is incorrect.\n1. A single primary key column can be defined using the shorthand format as:\n  "primaryKey": "id"\n2. A composite primary key can be defined using the advanced nested object structure format as:\n  "primaryKey": {"partitionBy": ["id"], "partitionSort": {"name" : 1, "age" : -1}}',
  );
}

/** `"id"` or `{"partitionBy": [...], "partitionSort": {col: 1 | -1}}` (order is semantic). */
function parsePrimaryKey(node: JNode | undefined): {
  partitionBy: string[];
  partitionSort: Array<[string, 1 | -1]>;
} {
  if (node?.t === "str") return { partitionBy: [node.v], partitionSort: [] };
  if (!node || node.t !== "obj") throw primaryKeyIncorrect();
  const by = get(node, "partitionBy");
  const sort = get(node, "partitionSort");
  if (!by || by.t !== "arr" || by.a.some((e) => e.t !== "str")) throw primaryKeyIncorrect();
  const partitionBy = by.a.map((e) => (e as { v: string }).v);
  const partitionSort: Array<[string, 1 | -1]> = [];
  if (sort && sort.t !== "null") {
    if (sort.t !== "obj") throw primaryKeyIncorrect();
    for (const [c, v] of sort.m) {
      if (v.t !== "num" || (v.raw !== "1" && v.raw !== "-1") || partitionBy.includes(c)) {
        throw primaryKeyIncorrect();
      }
      partitionSort.push([c, v.raw === "1" ? 1 : -1]);
    }
  }
  return { partitionBy, partitionSort };
}

/** Parses a createType `definition` (`{"fields": {...}}`): primitive fields only. */
export function parseTypeDefinition(
  name: string,
  definition: JNode | undefined,
  udts: Map<string, UdtDef>,
): UdtDef {
  checkSchemaName("type", name);
  checkKnownFields(definition, ["fields"]);
  const fieldsNode = get(definition, "fields");
  if (!fieldsNode || fieldsNode.t !== "obj" || fieldsNode.m.length === 0) {
    throw new FakeApiError(
      "MISSING_FIELDS_FOR_TYPE_CREATION",
      "The type definition must have at least one field.\n\nResend the command providing at least one field.",
    );
  }
  const fields: Array<[string, ColType]> = [];
  const unsupported: string[] = [];
  for (const [f, desc] of fieldsNode.m) {
    let t: ColType;
    try {
      t = parseColumnDesc(f, desc, "field", udts);
    } catch (e) {
      // A badly defined collection field is still just an unsupported field type here.
      const code = e instanceof FakeApiError ? e.descriptor.errorCode : "";
      if (!/^UNSUPPORTED_(LIST|SET|MAP)_DEFINITION$/.test(code)) throw e;
      const typeNode = get(desc, "type");
      unsupported.push(typeNode?.t === "str" ? typeNode.v : "unknown");
      continue;
    }
    // Only primitives may be UDT fields (UDT_FIELD binding rules).
    if (t.kind !== "prim" || notCreatable(t)) {
      unsupported.push(apiTypeName(t));
      continue;
    }
    fields.push([f, t]);
  }
  if (unsupported.length > 0) {
    throw new FakeApiError(
      "UNSUPPORTED_TYPE_FIELDS",
      `The command attempted to create a user defined type with field definitions that use unsupported types.\n\nThe supported field data types are: ${
        PRIMITIVES.filter((p) => p !== "timeuuid" && p !== "counter").join(", ")
      }.\nThe command used the unsupported types: ${
        unsupported.join(", ")
      }.\n\nResend the command using only supported field data types.`,
    );
  }
  return { name, fields };
}

/** CQL spelling of an identifier: quoted unless lower-case word characters. */
function cqlIdent(s: string): string {
  return /^[a-z][a-z0-9_]*$/.test(s) ? s : `"${s.replaceAll('"', '""')}"`;
}

/** CQL type text (`DataType.asCql(true, true)`), used in `apiSupport.cqlDefinition`. */
export function cqlDefinition(t: ColType, keyspace: string): string {
  switch (t.kind) {
    case "prim":
      return t.name;
    case "list":
    case "set":
      return `${t.kind}<${cqlDefinition(t.value, keyspace)}>`;
    case "map":
      return `map<${cqlDefinition(t.key, keyspace)}, ${cqlDefinition(t.value, keyspace)}>`;
    case "vector":
      return `vector<float, ${t.dimension}>`;
    case "udt": {
      const base = `${cqlIdent(keyspace)}.${cqlIdent(t.name)}`;
      return t.frozen ? `frozen<${base}>` : base;
    }
  }
}

/** The `apiSupport` block, present only when something is unsupported (ColumnDescSerializer). */
function apiSupportOf(t: ColType, keyspace: string): string | undefined {
  let s: [boolean, boolean, boolean, boolean] | undefined;
  if (t.kind === "vector") s = [true, true, true, false];
  else if (t.kind === "udt" && !t.frozen) s = [true, true, true, false];
  else if (t.kind === "prim" && t.name === "timeuuid") s = [false, true, true, true];
  else if (t.kind === "prim" && t.name === "counter") s = [false, false, true, true];
  if (!s) return undefined;
  return `{"createTable":${s[0]},"insert":${s[1]},"read":${s[2]},"filter":${s[3]},"cqlDefinition":${
    JSON.stringify(cqlDefinition(t, keyspace))
  }}`;
}

/**
 * A column description as compact JSON. `ddl` (listTables): a UDT is only referenced; `dml`
 * (projectionSchema, listTypes, primaryKeySchema): a UDT carries `definition.fields`. Primitive
 * key/value types of collections are short strings; everything else is long form.
 */
export function describeType(
  t: ColType,
  mode: "ddl" | "dml",
  keyspace: string,
  udts: Map<string, UdtDef>,
): string {
  const parts: string[] = [`"type":${JSON.stringify(apiTypeName(t))}`];
  const nested = (x: ColType) =>
    x.kind === "prim" ? JSON.stringify(x.name) : describeType(x, mode, keyspace, udts);
  switch (t.kind) {
    case "map":
      parts.push(`"keyType":${nested(t.key)}`, `"valueType":${nested(t.value)}`);
      break;
    case "list":
    case "set":
      parts.push(`"valueType":${nested(t.value)}`);
      break;
    case "vector":
      parts.push(`"dimension":${t.dimension}`);
      if (t.service) parts.push(`"service":${stringifyTree(t.service)}`);
      break;
    case "udt": {
      parts.push(`"udtName":${JSON.stringify(t.name)}`);
      const def = udts.get(t.name);
      if (mode === "dml" && def) parts.push(`"definition":${describeFields(def, keyspace, udts)}`);
      break;
    }
    default:
      break;
  }
  const support = apiSupportOf(t, keyspace);
  if (support) parts.push(`"apiSupport":${support}`);
  return `{${parts.join(",")}}`;
}

function describeFields(def: UdtDef, keyspace: string, udts: Map<string, UdtDef>): string {
  return `{"fields":{${
    def.fields.map(([f, ft]) => `${JSON.stringify(f)}:${describeType(ft, "dml", keyspace, udts)}`)
      .join(",")
  }}}`;
}

/** A listTypes (explain) item: a column description of the non-frozen UDT. */
export function describeUdt(def: UdtDef, keyspace: string, udts: Map<string, UdtDef>): string {
  return describeType({ kind: "udt", name: def.name, frozen: false }, "dml", keyspace, udts);
}

/** A listTables (explain) item. */
export function describeTable(table: FakeTable): string {
  const d = table.def;
  const cols = d.columns.map((c) =>
    `${JSON.stringify(c.name)}:${describeType(c.type, "ddl", table.keyspace, table.schema.types)}`
  ).join(",");
  const sort = d.partitionSort.map(([c, o]) => `${JSON.stringify(c)}:${o}`).join(",");
  return `{"name":${
    JSON.stringify(d.name)
  },"definition":{"columns":{${cols}},"primaryKey":{"partitionBy":${
    JSON.stringify(d.partitionBy)
  },"partitionSort":{${sort}}}}}`;
}

/** A listIndexes (explain) item: the same body the matching create command accepts. */
export function describeIndex(ix: IndexDef): string {
  let column = JSON.stringify(ix.column);
  let options: string;
  switch (ix.kind) {
    case "regular":
      if (ix.component) column = `{${JSON.stringify(ix.column)}:${JSON.stringify(ix.component)}}`;
      options = `{${ix.options.map(([k, v]) => `"${k}":${v}`).join(",")}}`;
      break;
    case "vector":
      options = `{"metric":${JSON.stringify(ix.metric)},"sourceModel":${
        JSON.stringify(ix.sourceModel)
      }}`;
      break;
    case "text":
      options = `{"analyzer":${stringifyTree(ix.analyzer)}}`;
      break;
  }
  return `{"name":${
    JSON.stringify(ix.name)
  },"definition":{"column":${column},"options":${options}},"indexType":"${ix.kind}"}`;
}

/** CQL index target text as IndexMetadata.getTarget() gives it (used in warnings). */
function indexTarget(ix: IndexDef): string {
  if (ix.kind !== "regular" || !ix.component) return ix.column;
  return `${ix.component === "$keys" ? "keys" : "values"}(${ix.column})`;
}

/** Schema objects of one keyspace: tables, user-defined types and indexes. */
export class KeyspaceSchema {
  readonly tables = new Map<string, FakeTable>();
  readonly types = new Map<string, UdtDef>();
  readonly indexes = new Map<string, IndexDef>();

  constructor(readonly keyspace: string) {}

  /** Tables using a type (for CANNOT_DROP_TYPE_USED_BY_TABLE). */
  tablesUsingType(name: string): string[] {
    const uses = (t: ColType): boolean =>
      (t.kind === "udt" && t.name === name) ||
      ((t.kind === "list" || t.kind === "set") && uses(t.value)) ||
      (t.kind === "map" && (uses(t.key) || uses(t.value)));
    return [...this.tables.values()].filter((tb) => tb.def.columns.some((c) => uses(c.type)))
      .map((tb) => tb.name);
  }

  /** Removes a table and its indexes. */
  dropTable(name: string): boolean {
    for (const [ixName, ix] of this.indexes) if (ix.table === name) this.indexes.delete(ixName);
    return this.tables.delete(name);
  }
}

const METRICS = ["cosine", "euclidean", "dot_product"];
const SOURCE_MODELS: Record<string, string> = {
  "ada002": "dot_product",
  "bert": "dot_product",
  "cohere-v3": "dot_product",
  "gecko": "dot_product",
  "nv-qa-4": "dot_product",
  "openai-v3-large": "dot_product",
  "openai-v3-small": "dot_product",
  "other": "cosine",
};

/** A table with its rows. */
export class FakeTable {
  readonly rows = new Map<string, StoredRow>();
  #sorted: StoredRow[] | null = null;
  #index: Map<string, number> | null = null;
  /** Column output order of a full row (a HashMap of all columns). */
  readonly rowOrder: string[];

  constructor(
    readonly schema: KeyspaceSchema,
    readonly def: TableDef,
    readonly hash: Hasher,
  ) {
    this.rowOrder = javaHashMapOrder(def.columns.map((c) => c.name));
  }

  get keyspace(): string {
    return this.schema.keyspace;
  }

  get name(): string {
    return this.def.name;
  }

  column(name: string): ColumnDef | undefined {
    return this.def.columns.find((c) => c.name === name);
  }

  /** Primary key column names: partition key, then clustering columns. */
  get primaryKey(): string[] {
    return [...this.def.partitionBy, ...this.def.partitionSort.map(([c]) => c)];
  }

  /** `name(cqlType)` list of all columns, as error messages print it. */
  columnsText(names = this.def.columns.map((c) => c.name)): string {
    if (names.length === 0) return "[None]";
    return names.map((n) => `${n}(${cqlDefinition(this.column(n)!.type, this.keyspace)})`).join(
      ", ",
    );
  }

  /** Warning objects' message for an empty filter (WhereCQLClauseAnalyzer.warnNoFilters). */
  zeroFilterMessage(): string {
    const targets = [...this.schema.indexes.values()].filter((ix) => ix.table === this.name)
      .map(indexTarget);
    return `Zero filters were provided in the filter for this query. \n\nProviding zero filters will return all rows in the table, which may have poor performance when the table is large. For the best performance, include one or more filters using the primary key or indexes.\n\nThe table ${this.keyspace}.${this.name} has the primary key: ${
      this.columnsText(this.primaryKey)
    }.\nAnd has indexes on the columns: ${
      targets.length ? targets.join(", ") : "[None]"
    }.\n\nThe query was executed without taking advantage of the primary key or indexes on the table, this can have performance implications on large tables.\n\nSee documentation for best practices for filtering.`;
  }

  /** `{"col":desc,…}` for the given columns (in table metadata order). */
  schemaText(names: Iterable<string>): string {
    const wanted = new Set(names);
    return `{${
      this.def.columns.filter((c) => wanted.has(c.name)).map((c) =>
        `${JSON.stringify(c.name)}:${describeType(c.type, "dml", this.keyspace, this.schema.types)}`
      ).join(",")
    }}`;
  }

  /** Rows in read order. */
  sorted(): StoredRow[] {
    if (!this.#sorted) {
      this.#sorted = [...this.rows.values()].sort((a, b) => this.compareRows(a, b));
      this.#index = new Map(this.#sorted.map((r, i) => [r.pkKey, i]));
    }
    return this.#sorted;
  }

  /** Position in {@linkcode sorted} of a row by its key, if it still exists. */
  indexOf(pkKey: string): number | undefined {
    this.sorted();
    return this.#index!.get(pkKey);
  }

  /** Token order stand-in, then partition text, then the clustering columns and directions. */
  compareRows(a: StoredRow, b: StoredRow): number {
    if (a.order !== b.order) return a.order - b.order;
    if (a.partKey !== b.partKey) return a.partKey < b.partKey ? -1 : 1;
    for (const [c, dir] of this.def.partitionSort) {
      const t = this.column(c)!.type;
      const d = compareValues(t, a.cells.get(c)!, b.cells.get(c)!);
      if (d) return d * dir;
    }
    return 0;
  }

  /** Builds a key probe for a primary key given as JSON values (page states, PK filters). */
  probe(values: JNode[]): StoredRow {
    const cells = new Map<string, CqlValue>();
    this.primaryKey.forEach((c, i) => {
      const v = decodeValue(this.column(c)!.type, values[i]!, this.#ctx());
      if (v === null || v instanceof VectorizeRequest) throw new CodecError("bad key value");
      cells.set(c, v);
    });
    return this.#keyed(cells);
  }

  #ctx() {
    return { udt: (n: string) => this.schema.types.get(n) };
  }

  /**
   * The row's entry in `insertedIds`/`documentResponses`: the primary key values as Jackson
   * writes the shredded key (stargate/data-api service/shredding/tables/RowId.java holds the
   * decoded Java values): like `find`, except a blob is a bare base64 string (a byte[]), not
   * `{"$binary": …}`.
   */
  insertedIdText(key: StoredRow): string {
    const ctx = this.#ctx();
    return `[${
      this.primaryKey.map((c) => {
        const v = key.cells.get(c)!;
        return v.k === "blob"
          ? JSON.stringify(btoa(String.fromCharCode(...v.v)))
          : encodeValue(this.column(c)!.type, v, ctx);
      }).join(",")
    }]`;
  }

  #keyed(cells: Map<string, CqlValue>): StoredRow {
    const enc = (c: string) => encodeValue(this.column(c)!.type, cells.get(c)!, this.#ctx());
    const partKey = `[${this.def.partitionBy.map(enc).join(",")}]`;
    const pkKey = `[${this.primaryKey.map(enc).join(",")}]`;
    return { pkKey, partKey, order: this.hash(partKey), cells };
  }

  /**
   * Validates one row for insert and returns the cells to write (null = delete) plus its key,
   * throwing the first error the server's checks would raise (WriteableTableRowBuilder).
   */
  prepareRow(
    doc: JNode,
    embed: Embedder,
    options: { allowUnsupported?: boolean } = {},
  ): { key: StoredRow; updates: Map<string, CqlValue | null> } {
    if (doc.t !== "obj") {
      throw new FakeApiError(
        "SHRED_BAD_DOCUMENT_TYPE",
        "Bad document type to shred: document must be a JSON Object",
      );
    }
    const unknown = doc.m.map(([k]) => k).filter((k) => !this.column(k)).sort();
    if (unknown.length > 0) {
      throw new FakeApiError(
        "UNKNOWN_TABLE_COLUMNS",
        `Only columns defined in the table schema can be included when inserted a document into a table.\n\nThe table ${this.keyspace}.${this.name} defines the columns: ${this.columnsText()}.\nThe command included the following unknown columns: ${
          unknown.join(", ")
        }.\n\nResend the command using only defined columns.`,
        200,
        "DOCUMENT",
      );
    }
    if (!options.allowUnsupported) {
      const counters = doc.m.map(([k]) => k).filter((k) => {
        const t = this.column(k)!.type;
        return t.kind === "prim" && t.name === "counter";
      }).sort();
      if (counters.length > 0) {
        throw new FakeApiError(
          "UNSUPPORTED_COLUMN_TYPES",
          `Only supported column types can be included when inserting a document into a table.\n\nThe table ${this.keyspace}.${this.name} defines the columns: ${this.columnsText()}.\nThe command included the following columns that have unsupported data types: ${
            counters.map((c) => `${c}(counter)`).join(", ")
          }.\n\nResend the command using only supported column types.`,
          200,
          "DOCUMENT",
        );
      }
    }
    const updates = new Map<string, CqlValue | null>();
    const invalid: Array<[string, string]> = [];
    const missingVectorize: string[] = [];
    for (const [k, v] of doc.m) {
      const t = this.column(k)!.type;
      try {
        let value = decodeValue(t, v, this.#ctx());
        if (value instanceof VectorizeRequest) {
          if (t.kind !== "vector" || !t.service) {
            missingVectorize.push(k);
            continue;
          }
          value = value.text.trim() === ""
            ? null
            : decodeValue(t, embed(value.text, t.dimension), this.#ctx()) as CqlValue;
        }
        updates.set(k, value === null || isEmptyValue(value) ? null : value);
      } catch (e) {
        if (!(e instanceof CodecError)) throw e;
        invalid.push([k, `${k}(${apiTypeName(t)}) - Cause: ${e.rootCause}`]);
      }
    }
    if (invalid.length > 0) {
      invalid.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      throw new FakeApiError(
        "INVALID_COLUMN_VALUES",
        `Only values that are supported by the column data type can be included when inserting a document into a table.\n\nThe table ${this.keyspace}.${this.name} defines the columns: ${this.columnsText()}.\nThe command included the following columns that had invalid values: ${
          invalid.map(([, m]) => m).join(", ")
        }.\n\nResend the command using only supported column values.`,
        200,
        "DOCUMENT",
      );
    }
    if (missingVectorize.length > 0) {
      const valid = this.def.columns.filter((c) => c.type.kind === "vector" && c.type.service);
      throw new FakeApiError(
        "UNSUPPORTED_VECTORIZE_WHEN_MISSING_VECTORIZE_DEFINITION",
        `Vectorize can only be used with columns that have a vectorize configuration. \n\nVectorize configuration can be added when the table is created or later using the \`alterTable\` command.\n\nThe table ${this.keyspace}.${this.name} defines the vector columns with vectorize definition: ${
          valid.length ? valid.map((c) => `${c.name}(vector)`).join(", ") : "[None]"
        }.\nThe command included the following vector columns without vectorize definition: ${
          missingVectorize.sort().map((c) => `${c}(vector)`).join(", ")
        }.\n\nResend the command using only vector columns with a vectorize definition.`,
        200,
        "DOCUMENT",
      );
    }
    const pk = this.primaryKey;
    const missing = pk.filter((c) => !updates.get(c));
    if (missing.length > 0) {
      throw new FakeApiError(
        "MISSING_PRIMARY_KEY_COLUMNS",
        `All primary key columns must be provided when inserting a document into a table. \n\nThe table ${this.keyspace}.${this.name} defines the primary key columns: ${
          this.columnsText(pk)
        }.\n\nThe command included values for primary key columns: ${
          this.columnsText(pk.filter((c) => !missing.includes(c)))
        }.\nThe command did not include values for primary key columns: ${
          this.columnsText([...missing].sort())
        }.\n\nResend the command including the missing primary key columns.`,
        200,
        "DOCUMENT",
      );
    }
    this.#checkPartitionKey(updates);
    const keyCells = new Map(pk.map((c) => [c, updates.get(c)!]));
    return { key: this.#keyed(keyCells), updates };
  }

  /**
   * What Cassandra itself refuses in a partition key and the Data API passes on as
   * INVALID_DATABASE_QUERY (stargate/data-api errors.yaml, scope DATABASE; mapped in
   * service/cqldriver/executor/DefaultDriverExceptionHandler.java): an empty single-column key
   * ("Key may not be empty") and a key component over 65535 bytes (its length is a 16-bit
   * prefix).
   */
  #checkPartitionKey(updates: Map<string, CqlValue | null>): void {
    const refuse = (why: string) =>
      new FakeApiError(
        "INVALID_DATABASE_QUERY",
        `The Data API command generated a database query that while syntactically correct, was rejected as invalid by the database.\n\nThe command used the keyspace and table or collection: ${this.keyspace}.${this.name}.\nThe database error: ${why}.`,
      );
    const parts = this.def.partitionBy;
    for (const c of parts) {
      const v = updates.get(c);
      const size = v?.k === "str"
        ? new TextEncoder().encode(v.v).length
        : v?.k === "blob"
        ? v.v.length
        : undefined;
      if (size === undefined) continue;
      if (size === 0 && parts.length === 1) throw refuse("Key may not be empty");
      if (size > 0xffff) {
        throw refuse(`Key length of ${size} is longer than maximum of ${0xffff}`);
      }
    }
  }

  /** CQL INSERT: creates the row or merges the given columns into it; null deletes a cell. */
  upsert(prepared: { key: StoredRow; updates: Map<string, CqlValue | null> }): void {
    const existing = this.rows.get(prepared.key.pkKey);
    const row = existing ?? { ...prepared.key, cells: new Map(prepared.key.cells) };
    for (const [c, v] of prepared.updates) {
      if (v === null) row.cells.delete(c);
      else row.cells.set(c, v);
    }
    if (!existing) {
      this.rows.set(row.pkKey, row);
      this.#sorted = null;
    }
  }

  /** A row as JSON text with the given columns, in that order; null/empty cells left out. */
  rowText(row: StoredRow, columns: string[]): string {
    const ctx = this.#ctx();
    const parts: string[] = [];
    for (const c of columns) {
      const v = row.cells.get(c);
      if (v === undefined || isEmptyValue(v)) continue;
      parts.push(`${JSON.stringify(c)}:${encodeValue(this.column(c)!.type, v, ctx)}`);
    }
    return `{${parts.join(",")}}`;
  }

  /** Removes one row by its key text (tests: rows vanishing between pages). */
  deleteRow(pkKey: string): boolean {
    const gone = this.rows.delete(pkKey);
    if (gone) this.#sorted = null;
    return gone;
  }

  /** Removes every row. */
  truncate(): void {
    this.rows.clear();
    this.#sorted = null;
  }

  // -------------------------------------------------------------------------------------------
  // Indexes

  /**
   * Validates and adds an index. Index names are unique per keyspace; with `ifNotExists` a
   * same-named index (even on another table) is left as it is, like CQL's IF NOT EXISTS.
   */
  addIndex(
    kind: "regular" | "vector" | "text",
    name: string,
    definition: JNode | undefined,
    ifNotExists = false,
  ): void {
    checkSchemaName("index", name);
    const ix = kind === "regular"
      ? this.createRegularIndex(name, definition)
      : kind === "vector"
      ? this.createVectorIndex(name, definition)
      : this.createTextIndex(name, definition);
    if (this.schema.indexes.has(name)) {
      if (ifNotExists) return;
      throw new FakeApiError(
        "CANNOT_ADD_EXISTING_INDEX",
        `The command attempted to add an index that already exists in the keyspace schema.\n\nThe command attempted to add the existing index: ${name}.\n\nResend the command using an index name that does not exist in the keyspace.`,
      );
    }
    this.schema.indexes.set(name, ix);
  }

  /** createIndex: a regular (SAI) index, with the text-analysis rules of ApiRegularIndex. */
  createRegularIndex(name: string, definition: JNode | undefined): IndexDef {
    checkKnownFields(definition, ["column", "options"]);
    const colNode = get(definition, "column");
    let column: string;
    let component: "$keys" | "$values" | undefined;
    if (colNode?.t === "str") column = colNode.v;
    else if (colNode?.t === "obj" && colNode.m.length === 1 && colNode.m[0]![1].t === "str") {
      column = colNode.m[0]![0];
      const fn = (colNode.m[0]![1] as { v: string }).v.toLowerCase();
      if (fn !== "$keys" && fn !== "$values") throw invalidIndexColumnFormat();
      component = fn;
    } else throw invalidIndexColumnFormat();
    const col = this.#indexColumn(column);
    const optionsNode = get(definition, "options");
    checkKnownFields(optionsNode, ["ascii", "caseSensitive", "normalize"]);
    const given = optionsNode?.t === "obj" ? optionsNode : undefined;
    const t = col.type;
    let target: ColType;
    if (t.kind === "prim") {
      if (component) throw invalidIndexColumnFormat();
      target = t;
    } else if (t.kind === "list" || t.kind === "set") {
      component = "$values";
      target = t.value;
    } else if (t.kind === "map") {
      target = component === "$keys" ? t.key : t.value;
      if (!component && given && given.m.length > 0) {
        throw new FakeApiError(
          "CANNOT_ANALYZE_ENTRIES_ON_MAP_COLUMNS",
          `Index function \`entries\` can not apply to map column when analyze options are specified.\n\nThe table ${this.keyspace}.${this.name} defines the columns: ${this.columnsText()}.\n\nResend the command without options.`,
        );
      }
    } else {
      throw new FakeApiError(
        "UNSUPPORTED_INDEXING_FOR_DATA_TYPES",
        `The command attempted to create an index on a column that uses a data type not supported for indexing.\n\nThe table ${this.keyspace}.${this.name} defines the columns: ${this.columnsText()}.\nThe command attempted to index the unsupported columns: ${col.name}(${
          apiTypeName(t)
        }).\n\nResend the command using columns of the supported data types.`,
      );
    }
    const isText = target.kind === "prim" && (target.name === "text" || target.name === "ascii");
    const flag = (k: string, dflt: boolean): [string, boolean] => {
      const v = get(given, k);
      return [k, v?.t === "bool" ? v.v : dflt];
    };
    let options: Array<[string, boolean]> = [];
    if (!given) {
      if (t.kind === "prim" && isText) {
        options = [flag("ascii", false), flag("caseSensitive", true), flag("normalize", false)];
      }
    } else if (t.kind === "map" && !component) {
      options = [];
    } else if (!isText) {
      if (given.m.length > 0) {
        throw new FakeApiError(
          "UNSUPPORTED_TEXT_ANALYSIS_FOR_DATA_TYPES",
          `The command attempted to create an index that specified text analysis on a column that uses a data type not supported for text analysis.\n\nThe table ${this.keyspace}.${this.name} defines the columns: ${this.columnsText()}.\nThe command attempted to index the unsupported columns: ${col.name}(${
            apiTypeName(t)
          }).\n\nResend the command using columns that support text analysis.`,
        );
      }
    } else {
      options = [flag("ascii", false), flag("caseSensitive", true), flag("normalize", false)];
    }
    return component
      ? { name, table: this.name, column, kind: "regular", component, options }
      : { name, table: this.name, column, kind: "regular", options };
  }

  /** createVectorIndex: metric and source model are always recorded (ApiVectorIndex). */
  createVectorIndex(name: string, definition: JNode | undefined): IndexDef {
    checkKnownFields(definition, ["column", "options"]);
    const colNode = get(definition, "column");
    if (colNode?.t !== "str") throw invalidIndexColumnFormat();
    const col = this.#indexColumn(colNode.v);
    if (col.type.kind !== "vector") {
      throw new FakeApiError(
        "UNSUPPORTED_VECTOR_INDEX_FOR_DATA_TYPES",
        `The command attempted to create a vector index on a column that is not a \`vector\` type.\n\nThe table ${this.keyspace}.${this.name} defines the columns: ${this.columnsText()}.\nThe command attempted to vector index the unsupported columns: ${col.name}(${
          apiTypeName(col.type)
        }).\n\nResend the command using columns of \`vector\` type.`,
      );
    }
    const optionsNode = get(definition, "options");
    checkKnownFields(optionsNode, ["metric", "sourceModel"]);
    const modelNode = get(optionsNode, "sourceModel");
    const model = modelNode?.t === "str" ? modelNode.v.toLowerCase() : "other";
    if (!(model in SOURCE_MODELS)) {
      throw new FakeApiError(
        "UNKNOWN_VECTOR_SOURCE_MODEL",
        `The command attempted to create an vector index using a vector source model that is not known by the API.\n\nThe known source models are: ${
          Object.keys(SOURCE_MODELS).join(", ")
        }.\nThe command attempted to use the source model: ${
          (modelNode as { v?: string })?.v
        }.\n\nResend the command using a known source model.`,
      );
    }
    const metricNode = get(optionsNode, "metric");
    const metric = metricNode?.t === "str" ? metricNode.v.toLowerCase() : SOURCE_MODELS[model]!;
    if (!METRICS.includes(metric)) {
      throw new FakeApiError(
        "UNKNOWN_VECTOR_METRIC",
        `The command attempted to create an vector index using a metric that is not known by the API.\n\nThe known metrics are: ${
          METRICS.join(", ")
        }.\nThe command attempted to use the metric: ${
          (metricNode as { v?: string })?.v
        }.\n\nResend the command using a known metric.`,
      );
    }
    return { name, table: this.name, column: col.name, kind: "vector", metric, sourceModel: model };
  }

  /** createTextIndex: text columns only; the analyzer defaults to "standard". */
  createTextIndex(name: string, definition: JNode | undefined): IndexDef {
    checkKnownFields(definition, ["column", "options"]);
    const colNode = get(definition, "column");
    if (colNode?.t !== "str") throw invalidIndexColumnFormat();
    const col = this.#indexColumn(colNode.v);
    if (col.type.kind !== "prim" || col.type.name !== "text") {
      throw new FakeApiError(
        "UNSUPPORTED_TEXT_INDEX_FOR_DATA_TYPES",
        `The command attempted to create a text index on a column that is not a \`text\` or \`ascii\` type.\n\nText indexes can only be created on columns of type \`text\` or \`ascii\`.\n\nThe table ${this.keyspace}.${this.name} defines the columns: ${this.columnsText()}.\nThe command attempted to text index the unsupported columns: ${col.name}(${
          apiTypeName(col.type)
        }).\n\nResend the command using columns of \`text\` type.`,
      );
    }
    const optionsNode = get(definition, "options");
    checkKnownFields(optionsNode, ["analyzer"]);
    const analyzer = get(optionsNode, "analyzer");
    if (analyzer && analyzer.t !== "null" && analyzer.t !== "str" && analyzer.t !== "obj") {
      throw new FakeApiError(
        "UNSUPPORTED_JSON_TYPE_FOR_TEXT_INDEX",
        `The command attempted to create a text index using an unsupported JSON value type.\n\nThe supported JSON value types are: String, Object.\nThe command used the unsupported JSON value type: ${analyzer.t}.\n\nResend the command using a supported JSON value type.`,
      );
    }
    return {
      name,
      table: this.name,
      column: col.name,
      kind: "text",
      analyzer: analyzer && analyzer.t !== "null" ? analyzer : { t: "str", v: "standard" },
    };
  }

  #indexColumn(column: string): ColumnDef {
    const col = this.column(column);
    if (!col) {
      throw new FakeApiError(
        "UNKNOWN_INDEX_COLUMN",
        `The command attempted to create an index on a column that is not in the table schema.\n\nIndexes can only be created on existing columns.\n\nThe table ${this.keyspace}.${this.name} defines the columns: ${this.columnsText()}.\nThe command attempted to index the unknown columns: ${column}.\n\nResend the command using only columns defined in the table schema.`,
      );
    }
    return col;
  }
}

function invalidIndexColumnFormat(): FakeApiError {
  return new FakeApiError(
    "INVALID_FORMAT_FOR_INDEX_CREATION_COLUMN",
    'Command has an invalid format for index creation column.\n\nThe column string can have different formats:\n- Primitive column: {"column": "primitiveColumn"}\n- List column: {"column": "listColumn"}\n- Set column: {"column": "setColumn"}\n- Map column:\n  - Default to index on map entries: {"column": "mapColumn"}\n  - Index on map keys: {"column": {"mapColumn" : "$keys"}}\n  - Index on map values: {"column": {"mapColumn" : "$values"}}\n\nResend the command using a valid format for index creation column.',
  );
}

/** Parses JSON given as text or a plain object (test helpers), keeping numbers exact. */
export function toTree(value: string | unknown): JNode {
  return parseTree(typeof value === "string" ? value : JSON.stringify(value));
}
