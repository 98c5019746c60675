/**
 * @module
 * Reads a whole collection (or table) as pages of raw documents.
 */

import type { CommandResponse } from "../json/command_response.ts";
import type { InspectOptions, RawDocument } from "../json/raw_document.ts";
import { type DataApiClient, protocolError } from "./data_api.ts";

/** Options of {@linkcode readPages}. */
export interface ReadPagesOptions {
  inspect?: InspectOptions;
  signal?: AbortSignal | undefined;
  /** Projection sent with every `find`; default `{"*": true}` (every field, `$vector` included). */
  projection?: Record<string, unknown>;
  /**
   * Where to start: a `nextPageState` saved by a checkpoint (default: the first page). The Data
   * API's page state is the Cassandra driver's paging state in base64 (stargate/data-api
   * service/cqldriver/executor/CqlPagingState.java), which holds no server-side cursor, so it
   * stays valid across connections and time for the same query.
   */
  pageState?: string | null;
  /** Called after each page with the running totals and the state of the page after it. */
  onPage?: (page: PageInfo) => void;
  /**
   * Called after each page that has a next one (after `onPage`); when it returns a promise, the
   * next page is requested only once that settles (a rejection fails the scan with its reason).
   * Backup checkpoints use it to bound how many pages a run may request past its last durable
   * checkpoint, so that a run killed at any moment reads at most one interval again.
   */
  beforeNext?: (page: PageInfo) => Promise<void> | undefined;
}

/** One page as {@linkcode ReadPagesOptions.onPage} sees it. */
export interface PageInfo {
  index: number;
  documents: number;
  status: Record<string, unknown> | null;
  /** The state that reads the page after this one; null on the last page. */
  nextPageState: string | null;
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
  const fetchPage = (pageState: string | null): Promise<CommandResponse> => {
    const p = client.simple(
      { keyspace, collection },
      { find: { filter: {}, projection, options: pageState === null ? {} : { pageState } } },
      { inspect: options.inspect ?? {}, signal },
    );
    p.catch(() => {}); // observed when awaited; avoids an unhandled rejection if abandoned
    return p;
  };
  let pageState: string | null = options.pageState ?? null;
  let pending: Promise<CommandResponse> | null = fetchPage(pageState);
  try {
    for (let index = 0;; index++) {
      const res: CommandResponse = await (pending ?? fetchPage(pageState));
      const docs = res.documents;
      if (docs === null) {
        throw protocolError("find", `find on ${keyspace}.${collection} returned no data.documents`);
      }
      const next: string | null = res.nextPageState === "" ? null : res.nextPageState;
      if (next !== null && next === pageState) {
        throw protocolError(
          "find",
          `find on ${keyspace}.${collection} returned the same page state twice`,
        );
      }
      const info = { index, documents: docs.length, status: res.status, nextPageState: next };
      options.onPage?.(info);
      if (next !== null) {
        const gate = options.beforeNext?.(info);
        pending = gate ? gate.then(() => fetchPage(next)) : fetchPage(next);
        pending.catch(() => {}); // observed when awaited
      } else pending = null;
      pageState = next;
      if (docs.length > 0) yield docs;
      if (next === null) return;
    }
  } finally {
    stop.abort();
  }
}
