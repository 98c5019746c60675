/**
 * @module
 * Reads a whole collection (or table) as pages of raw documents.
 */

import type { InspectOptions, RawDocument } from "../json/raw_document.ts";
import { type DataApiClient, protocolError } from "./data_api.ts";

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
 *
 * Paging is pipelined one page ahead: as soon as page k's `nextPageState` is known, page k+1 is
 * requested, while the consumer encodes and writes page k. At most two pages are in memory.
 */
export async function* readPages(
  client: DataApiClient,
  keyspace: string,
  collection: string,
  options: ReadPagesOptions = {},
): AsyncGenerator<RawDocument[]> {
  const projection = options.projection ?? { "*": true };
  // Aborted when the consumer stops early, so a prefetched request does not outlive the scan.
  const stop = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
  const fetchPage = (pageState: string | null) => {
    const p = client.simple(
      { keyspace, collection },
      { find: { filter: {}, projection, options: pageState === null ? {} : { pageState } } },
      { inspect: options.inspect ?? {}, signal },
    );
    p.catch(() => {}); // observed when awaited; avoids an unhandled rejection if abandoned
    return p;
  };
  let pageState: string | null = null;
  let pending = fetchPage(null);
  try {
    for (let index = 0;; index++) {
      const res = await pending;
      const docs = res.documents;
      if (docs === null) {
        throw protocolError("find", `find on ${keyspace}.${collection} returned no data.documents`);
      }
      const next = res.nextPageState === "" ? null : res.nextPageState;
      if (next !== null && next === pageState) {
        throw protocolError(
          "find",
          `find on ${keyspace}.${collection} returned the same page state twice`,
        );
      }
      if (next !== null) pending = fetchPage(next);
      pageState = next;
      options.onPage?.({ index, documents: docs.length, status: res.status });
      if (docs.length > 0) yield docs;
      if (next === null) return;
    }
  } finally {
    stop.abort();
  }
}
