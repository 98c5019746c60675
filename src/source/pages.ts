/**
 * @module
 * Reads a whole collection (or table) as pages of raw documents.
 */

import { SourceError } from "../errors.ts";
import type { InspectOptions, RawDocument } from "../json/raw_document.ts";
import type { DataApiClient } from "./data_api.ts";

/** Options of {@linkcode readPages}. */
export interface ReadPagesOptions {
  inspect?: InspectOptions;
  signal?: AbortSignal | undefined;
  /** Projection sent with every `find`; default `{"*": true}` (every field, `$vector` included). */
  projection?: Record<string, unknown>;
  /** Called after each page with the running totals. */
  onPage?: (
    page: { index: number; documents: number; status: Record<string, unknown> | null },
  ) => void;
}

/**
 * Yields the documents of a collection page by page: unsorted `find` with filter `{}` and
 * projection `{"*": true}` (the default projection silently drops `$vector`, `$vectorize` and
 * `$lexical`), following `nextPageState` until it is null or absent. Page size is whatever the
 * server chooses (20 or 50 today); nothing here assumes one. Each page is retried on its own, so
 * a transient failure never restarts the scan.
 */
export async function* readPages(
  client: DataApiClient,
  keyspace: string,
  collection: string,
  options: ReadPagesOptions = {},
): AsyncGenerator<RawDocument[]> {
  const projection = options.projection ?? { "*": true };
  let pageState: string | null = null;
  for (let index = 0;; index++) {
    const findOptions: Record<string, unknown> = pageState === null ? {} : { pageState };
    const res = await client.simple(
      { keyspace, collection },
      { find: { filter: {}, projection, options: findOptions } },
      { inspect: options.inspect ?? {}, signal: options.signal },
    );
    const docs = res.documents;
    if (docs === null) {
      throw protocolError(`find on ${keyspace}.${collection} returned no data.documents`);
    }
    options.onPage?.({ index, documents: docs.length, status: res.status });
    if (docs.length > 0) yield docs;
    if (res.nextPageState === null || res.nextPageState === "") return;
    if (res.nextPageState === pageState) {
      throw protocolError(`find on ${keyspace}.${collection} returned the same page state twice`);
    }
    pageState = res.nextPageState;
  }
}

function protocolError(message: string): SourceError {
  return new SourceError(message, { kind: "protocol", command: "find", retriable: false });
}
