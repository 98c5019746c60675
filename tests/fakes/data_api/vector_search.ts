/**
 * @module
 * Vector (ANN) search on collections for the fake Data API: `find` with
 * `sort: {"$vector": [...]}` or `{"$vector": {"$binary": "<base64 float32 big-endian>"}}`,
 * answered by exact brute force with the collection's metric.
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
