/**
 * @module
 * Read-only schema calls: which collections a keyspace has and how each was created, and the
 * server's document-count estimate.
 */

import { SourceError } from "../errors.ts";
import { NAME_PATTERN } from "../config/resolve.ts";
import type { DataApiClient } from "./data_api.ts";
import { readPages } from "./pages.ts";

/** A collection and its options exactly as `findCollections` (explain) returned them. */
export interface CollectionInfo {
  keyspace: string;
  name: string;
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
    throw protocolError(`findCollections on keyspace ${keyspace} returned no status.collections`);
  }
  return list.map((item: unknown) => {
    const rec = item as { name?: unknown; options?: unknown };
    if (typeof rec?.name !== "string" || !NAME_PATTERN.test(rec.name)) {
      throw protocolError(
        `findCollections on keyspace ${keyspace} returned an invalid collection name`,
      );
    }
    const options = rec.options ?? {};
    if (typeof options !== "object" || options === null || Array.isArray(options)) {
      throw protocolError(`findCollections returned invalid options for ${keyspace}.${rec.name}`);
    }
    return { keyspace, name: rec.name, definition: options as Record<string, unknown> };
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
    throw protocolError(`estimatedDocumentCount on ${keyspace}.${collection} returned no count`);
  }
  return count;
}

function protocolError(message: string): SourceError {
  return new SourceError(message, {
    kind: "protocol",
    command: "findCollections",
    retriable: false,
  });
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
 * Counts documents exactly by paging through their `_id`s: countDocuments stops at 1000 and
 * estimatedDocumentCount is approximate, so a restore proves its result this way.
 */
export async function countByScan(
  client: DataApiClient,
  keyspace: string,
  collection: string,
  signal?: AbortSignal,
): Promise<number> {
  let n = 0;
  for await (
    const page of readPages(client, keyspace, collection, { signal, projection: { _id: 1 } })
  ) {
    n += page.length;
  }
  return n;
}
