/**
 * @module
 * Read-only schema calls: which collections a keyspace has and how each was created, and the
 * server's document-count estimate.
 */

import { NAME_PATTERN } from "../config/resolve.ts";
import type { EntryKind } from "../manifest/mod.ts";
import { type DataApiClient, protocolError } from "./data_api.ts";
import { readPages } from "./pages.ts";

/** A collection (or table) and its definition as the Data API described it. */
export interface CollectionInfo {
  keyspace: string;
  name: string;
  kind: EntryKind;
  /** The `options` object from findCollections, verbatim (vector, indexing, lexical, rerank, defaultId). */
  definition: Record<string, unknown>;
}

/** Lists the collections of `keyspace` with their definitions (`findCollections` with explain). */
export async function listCollections(
  client: DataApiClient,
  keyspace: string,
  signal?: AbortSignal,
): Promise<CollectionInfo[]> {
  const res = await client.simple(
    { keyspace },
    { findCollections: { options: { explain: true } } },
    {
      signal,
    },
  );
  const list = res.status?.collections;
  if (!Array.isArray(list)) {
    throw protocolError(
      "findCollections",
      `findCollections on keyspace ${keyspace} returned no status.collections`,
    );
  }
  return list.map((item: unknown) => {
    const rec = item as { name?: unknown; options?: unknown };
    if (typeof rec?.name !== "string" || !NAME_PATTERN.test(rec.name)) {
      throw protocolError(
        "findCollections",
        `findCollections on keyspace ${keyspace} returned an invalid collection name`,
      );
    }
    const options = rec.options ?? {};
    if (typeof options !== "object" || options === null || Array.isArray(options)) {
      throw protocolError(
        "findCollections",
        `findCollections returned invalid options for ${keyspace}.${rec.name}`,
      );
    }
    return {
      keyspace,
      name: rec.name,
      kind: "collection" as const,
      definition: options as Record<string, unknown>,
    };
  });
}

/** The server's approximate document count (`estimatedDocumentCount`). */
export async function estimatedDocumentCount(
  client: DataApiClient,
  keyspace: string,
  collection: string,
  signal?: AbortSignal,
): Promise<number> {
  const res = await client.simple({ keyspace, collection }, { estimatedDocumentCount: {} }, {
    signal,
  });
  const count = res.status?.count;
  if (typeof count !== "number") {
    throw protocolError(
      "estimatedDocumentCount",
      `estimatedDocumentCount on ${keyspace}.${collection} returned no count`,
    );
  }
  return count;
}

/** Creates a collection with the given options (`createCollection`; idempotent for equal options). */
export async function createCollection(
  client: DataApiClient,
  keyspace: string,
  name: string,
  definition: Record<string, unknown>,
  signal?: AbortSignal,
): Promise<void> {
  await client.simple({ keyspace }, { createCollection: { name, options: definition } }, {
    signal,
  });
}

/** Drops a collection (`deleteCollection`, the wire name of astra-db-ts's dropCollection). */
export async function deleteCollection(
  client: DataApiClient,
  keyspace: string,
  name: string,
  signal?: AbortSignal,
): Promise<void> {
  await client.simple({ keyspace }, { deleteCollection: { name } }, { signal });
}

/**
 * Counts documents (or rows) exactly by paging through their keys: countDocuments stops at 1000,
 * estimatedDocumentCount is approximate, and tables support neither, so a restore proves its
 * result this way. `keys` are the columns to project (`_id` for collections, the primary key for
 * tables). The server reads every whole document whatever the projection (doc_json is always
 * selected: CollectionReadOperation.documentColumns in stargate/data-api), so a scan costs a full
 * read; with `max` it stops as soon as it has seen more than `max` (and returns that partial count).
 */
export async function countByScan(
  client: DataApiClient,
  keyspace: string,
  collection: string,
  keys: readonly string[] = ["_id"],
  signal?: AbortSignal,
  max = Infinity,
): Promise<number> {
  let n = 0;
  const projection = Object.fromEntries(keys.map((k) => [k, 1]));
  for await (const page of readPages(client, keyspace, collection, { signal, projection })) {
    n += page.length;
    if (n > max) break;
  }
  return n;
}
