/**
 * @module
 * Vector (ANN) search for the fake Data API: on collections `find` with
 * `sort: {"$vector": [...]}` or `{"$vector": {"$binary": "<base64 float32 big-endian>"}}`, on
 * tables `sort: {"<vector column>": …}` (see {@linkcode tableVectorSearch}), answered by exact
 * brute force with the collection's (or the column's index's) metric.
 *
 * What the real server does (stargate/data-api):
 * - a vector sort on a collection without vector: VECTOR_SEARCH_NOT_SUPPORTED
 *   (service/operation/collections/FindCollectionOperation.java execute, errors.yaml);
 * - `pageState` with a non-empty sort: SORT_CLAUSE_INVALID "'pageState' is not supported with
 *   non-empty sort clause" (service/resolver/FindCommandResolver.java);
 * - `limit` above 1000 (max-vector-search-limit) or `skip` with a vector sort: refused
 *   (api/model/command/validation/FindOptionsValidation.java); without a limit, at most 1000
 *   (FindCommandResolver.java `Math.min(limit, maxVectorSearchLimit)`);
 * - one page, no `nextPageState`;
 * - `includeSimilarity` adds `$similarity` computed by the CQL function of the metric
 *   (service/schema/SimilarityFunction.java: similarity_cosine, similarity_dot_product,
 *   similarity_euclidean), which Cassandra scales into [0, 1]: cosine (1 + cos) / 2, dot_product
 *   (1 + dot) / 2, euclidean 1 / (1 + squared distance). Vectors are float32 on the server.
 */

import { FakeApiError } from "./errors.ts";
import { get, type JNode } from "./json_tree.ts";
import type { FakeCollection, StoredDoc } from "./store.ts";
import type { FakeTable, StoredRow } from "./tables.ts";

/** max-vector-search-limit (config/OperationsConfig.java). */
export const MAX_VECTOR_SEARCH_LIMIT = 1000;

/** Float32 values of a `$vector` node (array of numbers or `{"$binary": …}`), or null. */
export function vectorOf(n: JNode | undefined): Float32Array | null {
  if (!n) return null;
  if (n.t === "arr") {
    if (n.a.length === 0 || n.a.some((x) => x.t !== "num")) return null;
    return Float32Array.from(n.a, (x) => Number((x as { raw: string }).raw));
  }
  const b = get(n, "$binary");
  if (n.t === "obj" && b?.t === "str") {
    let bytes: Uint8Array;
    try {
      bytes = Uint8Array.from(atob(b.v), (c) => c.charCodeAt(0));
    } catch {
      return null;
    }
    if (bytes.length === 0 || bytes.length % 4 !== 0) return null;
    const view = new DataView(bytes.buffer);
    const out = new Float32Array(bytes.length / 4);
    for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, false);
    return out;
  }
  return null;
}

/** The similarity the server reports for `metric` (see the module comment). */
export function similarity(metric: string, a: Float32Array, b: Float32Array): number {
  let dot = 0, na = 0, nb = 0, d2 = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!, y = b[i]!;
    dot += x * y;
    na += x * x;
    nb += y * y;
    d2 += (x - y) * (x - y);
  }
  if (metric === "dot_product") return (1 + dot) / 2;
  if (metric === "euclidean") return 1 / (1 + d2);
  return (1 + dot / Math.sqrt(na * nb)) / 2;
}

/** Parameters of a vector sort, already read from the command. */
export interface VectorSortRequest {
  sortValue: JNode;
  limit: number | undefined;
  hasPageState: boolean;
  hasSkip: boolean;
}

/** The documents of a vector search, best first, each with its similarity. */
export function vectorSearch(
  c: FakeCollection,
  req: VectorSortRequest,
): Array<{ doc: StoredDoc; similarity: number }> {
  if (req.hasPageState) {
    throw new FakeApiError(
      "SORT_CLAUSE_INVALID",
      "Sort clause used by command not valid.\nProblem: 'pageState' is not supported with non-empty sort clause.\n\nResend the command with a valid sort clause.",
    );
  }
  if (req.hasSkip) {
    throw new FakeApiError(
      "COMMAND_FIELD_VALUE_INVALID",
      "Command field 'options.skip' value not valid: skip options should not be used with vector search.",
    );
  }
  if (req.limit !== undefined && req.limit > MAX_VECTOR_SEARCH_LIMIT) {
    throw new FakeApiError(
      "COMMAND_FIELD_VALUE_INVALID",
      `Command field 'options.limit' value not valid: limit options should not be greater than ${MAX_VECTOR_SEARCH_LIMIT} for vector search.`,
    );
  }
  const config = c.options.vector as { dimension: number; metric?: string } | undefined;
  if (!config) {
    throw new FakeApiError(
      "VECTOR_SEARCH_NOT_SUPPORTED",
      `Vector search is not enabled for collection: ${c.keyspace}.${c.name}.`,
    );
  }
  const query = vectorOf(req.sortValue);
  if (!query) {
    throw new FakeApiError(
      "SHRED_BAD_VECTOR_VALUE",
      "Bad $vector value: needs to be array of numbers or a $binary float32 value.",
    );
  }
  if (query.length !== config.dimension) {
    throw new FakeApiError(
      "INVALID_VECTOR_LENGTH",
      `The collection was: ${c.keyspace}.${c.name}. The configured vector dimension is: ${config.dimension}.`,
    );
  }
  const metric = config.metric ?? "cosine";
  const scored: Array<{ doc: StoredDoc; similarity: number }> = [];
  for (const doc of c.sorted()) {
    const v = vectorOf(get(doc.node, "$vector"));
    // Documents without a vector are not in the vector index, so never returned.
    if (!v || v.length !== query.length) continue;
    scored.push({ doc, similarity: similarity(metric, query, v) });
  }
  // Stable: ties keep the token order.
  scored.sort((a, b) => b.similarity - a.similarity);
  return scored.slice(0, Math.min(req.limit ?? MAX_VECTOR_SEARCH_LIMIT, MAX_VECTOR_SEARCH_LIMIT));
}

// ---------------------------------------------------------------------------------------------
// Tables

/**
 * A table `find` sort, classified as the real server does (stargate/data-api
 * api/model/command/builders/TableSortClauseBuilder.java): every path must be a column
 * (CANNOT_SORT_UNKNOWN_COLUMNS); a `vector` column sorted by an array or `{"$binary": …}` is a
 * vector sort, by a string a vectorize sort; a text column sorted by a string is a lexical sort;
 * such "special" sorts must stand alone (CANNOT_SORT_ON_SPECIAL_WITH_OTHERS); a vector column
 * sorted by anything else is INVALID_VECTOR_SORT_EXPRESSION. Returns null for a regular sort.
 */
export function tableVectorSortOf(
  t: FakeTable,
  sort: JNode & { t: "obj" },
): { column: string; query: Float32Array } | null {
  const unknown = sort.m.map(([k]) => k).filter((k) => !t.column(k));
  if (unknown.length > 0) {
    throw new FakeApiError(
      "CANNOT_SORT_UNKNOWN_COLUMNS",
      `The command attempted to sort using columns that are not in the table schema.\n\nThe table ${t.keyspace}.${t.name} defines the columns: ${t.columnsText()}.\nThe command attempted to sort the unknown columns: ${
        unknown.join(", ")
      }.\n\nResend the command using only columns that are defined in the table schema.`,
      200,
      "SORT",
    );
  }
  const special = sort.m.filter(([k, v]) => {
    const type = t.column(k)!.type;
    return type.kind === "vector" ||
      (type.kind === "prim" && (type.name === "text" || type.name === "ascii") && v.t === "str");
  });
  if (special.length === 0) return null;
  if (sort.m.length > 1) {
    const kinds = (want: "lexical" | "vector" | "regular") =>
      sort.m.filter(([k, v]) => {
        const type = t.column(k)!.type;
        const kind = type.kind === "vector"
          ? "vector"
          : special.some(([s]) => s === k) && v.t === "str"
          ? "lexical"
          : "regular";
        return kind === want;
      }).map(([k]) => k).join(", ");
    throw new FakeApiError(
      "CANNOT_SORT_ON_SPECIAL_WITH_OTHERS",
      `The command used a sort clause with a special (lexical/vector/vectorize) sort combined with one or more other sort expressions:\nSpecial sorts can only be used on their own, and cannot be combined with other sort expressions.\n\nThe command attempted to use lexical sort on columns: ${
        kinds("lexical")
      }.\nThe command attempted to use vector/vectorize sort on columns: ${
        kinds("vector")
      }.\nThe command attempted to use regular sort on columns: ${
        kinds("regular")
      }.\n\nResend the command with only one special sort expression.`,
      200,
      "SORT",
    );
  }
  const [column, value] = special[0]!;
  if (t.column(column)!.type.kind !== "vector") {
    throw new FakeApiError(
      "SORT_CLAUSE_INVALID",
      "fake Data API: lexical sort is not implemented for tables",
    );
  }
  if (value.t === "str") {
    throw new FakeApiError(
      "SORT_CLAUSE_INVALID",
      "fake Data API: vectorize sort is not implemented for tables",
    );
  }
  const query = vectorOf(value);
  if (!query) {
    throw new FakeApiError(
      "INVALID_VECTOR_SORT_EXPRESSION",
      `The command attempted to use unsupported JSON type (${
        value.t === "obj" ? "Object" : value.t === "num" ? "Number" : value.t
      }) for vector or vectorize sort.\n\n${VECTOR_SORT_EXPLANATION}\n\nResend the command with valid vector/vectorize sort expression.`,
      200,
      "SORT",
    );
  }
  return { column, query };
}

/** errors.yaml snippet VECTOR_SORT_EXPLANATION. */
const VECTOR_SORT_EXPLANATION =
  'A vector sort in the sort clause identifies the vector column by name and then provides either:  \n- The vector as an array of decimal numbers.\n- The vector as a base64-encoded `{"$binary": "base64-encoded-vector"}` object.\n- A string to be vectorized if enabled for the column.';

/**
 * ANN search on a table's vector column, by exact brute force with the metric of the column's
 * vector index (stargate/data-api service/resolver/sort/TableCqlSortClauseResolver.java
 * resolveVectorSort, in its order): `limit` above 1000 is CANNOT_VECTOR_SORT_WITH_LIMIT_EXCEEDS_MAX,
 * any `skip` CANNOT_VECTOR_SORT_WITH_SKIP_OPTION, a column without a vector index
 * CANNOT_VECTOR_SORT_NON_INDEXED_VECTOR_COLUMNS, a query of another dimension
 * CANNOT_VECTOR_SORT_ON_MISMATCHED_VECTOR_DIMENSIONS. Without a limit the CQL query gets
 * max-vector-search-limit (TableOrderByANNCqlClause getDefaultLimit, TableReadDBOperationBuilder);
 * the rows are then paged like any table read (driver paging). Rows without a vector are not in
 * the index, so never returned. Similarity: the index's metric (TableSimilarityFunction.java),
 * scaled as for collections.
 */
export function tableVectorSearch(
  t: FakeTable,
  rows: readonly StoredRow[],
  req: { column: string; query: Float32Array; limit: number | undefined; hasSkip: boolean },
): Array<{ row: StoredRow; similarity: number }> {
  const sortColumn = req.column;
  const vectorColumns = t.def.columns.filter((c) => c.type.kind === "vector").map((c) => c.name);
  if (req.limit !== undefined && req.limit > MAX_VECTOR_SEARCH_LIMIT) {
    throw new FakeApiError(
      "CANNOT_VECTOR_SORT_WITH_LIMIT_EXCEEDS_MAX",
      `The command attempted to vector sort columns with a limit that exceeds the maximum allowed.\n\nVector sorting is limited to a maximum of ${MAX_VECTOR_SEARCH_LIMIT} rows.\nThe command attempted to sort the vector column: ${sortColumn} with a limit of ${req.limit}.\n\nResend the command using a limit of ${MAX_VECTOR_SEARCH_LIMIT} or less.`,
      200,
      "SORT",
    );
  }
  if (req.hasSkip) {
    throw new FakeApiError(
      "CANNOT_VECTOR_SORT_WITH_SKIP_OPTION",
      `The command attempted to vector sort columns along with skip option set. \n\n${VECTOR_SORT_EXPLANATION}\n\nResend the command without the skip option.`,
      200,
      "SORT",
    );
  }
  const index = [...t.schema.indexes.values()].find((ix) =>
    ix.table === t.name && ix.column === sortColumn && ix.kind === "vector"
  );
  if (!index || index.kind !== "vector") {
    const indexed = [...t.schema.indexes.values()].filter((ix) =>
      ix.table === t.name && ix.kind === "vector"
    ).map((ix) => ix.column);
    throw new FakeApiError(
      "CANNOT_VECTOR_SORT_NON_INDEXED_VECTOR_COLUMNS",
      `The command attempted to vector sort vector columns that are not indexed.\n\nVector sorting is only supported on vector columns that have been indexed.\n\n${VECTOR_SORT_EXPLANATION}\n\nThe table ${t.keyspace}.${t.name} defines the vector columns: ${
        t.columnsText(vectorColumns)
      }.\nAnd has indexes on the vector columns: ${
        indexed.join(", ")
      }.\nThe command attempted to sort vector columns: ${sortColumn}.  \n\nResend the command using only indexed vector columns.`,
      200,
      "SORT",
    );
  }
  const type = t.column(sortColumn)!.type as { kind: "vector"; dimension: number };
  if (req.query.length !== type.dimension) {
    throw new FakeApiError(
      "CANNOT_VECTOR_SORT_ON_MISMATCHED_VECTOR_DIMENSIONS",
      `The command attempted to vector sort vector columns with a mismatched vector dimension.\nTarget vector column is \`${sortColumn}\`, which has a dimension of \`${type.dimension}\`.\nThe command provided a vector with a dimension of \`${req.query.length}\`.\n\n${VECTOR_SORT_EXPLANATION}\n\nThe table ${t.keyspace}.${t.name} defines the vector columns: ${
        t.columnsText(vectorColumns)
      }.\n\nResend the command providing vector that have the same dimension as target vector column.`,
      200,
      "SORT",
    );
  }
  const scored: Array<{ row: StoredRow; similarity: number }> = [];
  for (const row of rows) {
    const cell = row.cells.get(sortColumn);
    if (!cell || cell.k !== "vec" || cell.v.length !== req.query.length) continue;
    scored.push({
      row,
      similarity: Math.fround(similarity(index.metric, req.query, Float32Array.from(cell.v))),
    });
  }
  scored.sort((a, b) => b.similarity - a.similarity);
  return scored.slice(0, req.limit ?? MAX_VECTOR_SEARCH_LIMIT);
}

/** A float32 as Java's Float.toString would print it (the shortest text that reads back). */
export function floatText(f: number): string {
  for (let p = 1; p < 10; p++) {
    const s = String(Number(f.toPrecision(p)));
    if (Math.fround(Number(s)) === f) return s;
  }
  return String(f);
}
