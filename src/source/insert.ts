/**
 * @module
 * Restore's write path: one `insertMany` request per batch, built from the documents' raw bytes
 * (so numbers, EJSON wrappers and the `$vector` representation go back exactly as stored; the
 * astra-db-ts insert path would rewrite `$vector` arrays as `$binary`). Unordered, with per-document
 * outcomes (`returnDocumentResponses`), and retries of the whole request on transient failures and
 * of single documents that failed transiently.
 */

import type { RawDocument } from "../json/raw_document.ts";
import type { CommandResponse } from "../json/command_response.ts";
import { releaseBuffer } from "../streams/release_buffer.ts";
import { type DataApiClient, protocolError, RETRIABLE_ERROR_CODES } from "./data_api.ts";

/** Data API limit on documents per insertMany (max-document-insert-count). */
export const MAX_INSERT_DOCUMENTS = 100;

/** A document the server refused, for the report. */
export interface InsertFailure {
  /** Raw JSON of the `_id`. */
  id: string;
  errorCode: string;
  message: string;
}

/** What became of one batch. */
export interface BatchOutcome {
  /** Documents the server answered "OK" for. */
  inserted: number;
  /** Documents refused with DOCUMENT_ALREADY_EXISTS. */
  alreadyExisting: number;
  /**
   * Of those, how many had been sent before in an attempt whose outcome is unknown (a request
   * re-sent after a transient failure, or a document that failed with FAILED_COMPARE_AND_SET or
   * a timeout) and whose stored bytes, read back, equal what was sent: that earlier attempt may
   * have written them (restore settles this with a count). An `_id` whose stored bytes differ is
   * not ours, whatever happened before: it stays a plain conflict.
   */
  alreadyExistingAfterRetry: number;
  failed: InsertFailure[];
  /** Indexes into the batch of the documents the server answered "OK" for (restore samples them). */
  confirmed: number[];
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const PREFIX = encoder.encode('{"insertMany":{"documents":[');
const SUFFIX = encoder.encode('],"options":{"ordered":false,"returnDocumentResponses":true}}}');

/**
 * Bytes before the first document of an {@linkcode insertManyBody}, whose documents follow one
 * another separated by one comma: a caller can keep its documents as views into the body.
 */
export const INSERT_MANY_PREFIX_BYTES: number = PREFIX.length;

/** Tries per document that insertMany reports as transiently failed. */
const DOCUMENT_RETRIES = 3;

/** The request body for a batch, concatenated from the documents' bytes. */
export function insertManyBody(docs: readonly Uint8Array[]): Uint8Array {
  let size = PREFIX.length + SUFFIX.length + Math.max(0, docs.length - 1);
  for (const d of docs) size += d.byteLength;
  const out = new Uint8Array(size);
  out.set(PREFIX, 0);
  let at = PREFIX.length;
  docs.forEach((d, i) => {
    if (i > 0) out[at++] = 0x2c;
    out.set(d, at);
    at += d.byteLength;
  });
  out.set(SUFFIX, at);
  return out;
}

/**
 * Inserts one batch (≤ 100 documents). `bodies[i]` is what is sent for `docs[i]` (the document,
 * possibly without `$vectorize` or `$vector`). Throws SourceError when the whole request fails
 * after retries; per-document refusals are returned in the outcome.
 */
export async function insertBatch(
  client: DataApiClient,
  target: { keyspace: string; collection: string },
  docs: readonly RawDocument[],
  bodies: readonly Uint8Array[],
  options: {
    signal?: AbortSignal | undefined;
    /**
     * The whole batch's body, already built by the caller (`insertManyBody(bodies)`), sent for
     * the first request instead of a new copy and left to the caller to free: restore keeps its
     * documents as views into it, one copy of each batch in flight instead of two.
     */
    body?: Uint8Array;
  } = {},
): Promise<BatchOutcome> {
  if (docs.length > MAX_INSERT_DOCUMENTS) throw new RangeError(`batch of ${docs.length} documents`);
  const outcome: BatchOutcome = {
    inserted: 0,
    alreadyExisting: 0,
    alreadyExistingAfterRetry: 0,
    failed: [],
    confirmed: [],
  };
  let pending = docs.map((_, i) => i);
  let retried = false;
  /** Documents some earlier attempt may have written. */
  const uncertain = new Set<number>();
  /** Uncertain documents that then answered DOCUMENT_ALREADY_EXISTS: read back before counting. */
  const toCheck: number[] = [];
  for (let round = 0; pending.length > 0; round++) {
    const prebuilt = round === 0 && options.body !== undefined;
    const body = prebuilt ? options.body! : insertManyBody(pending.map((i) => bodies[i]!));
    const res = await client.command(target, "insertMany", body, {
      signal: options.signal,
      acceptPartial: (r) => Array.isArray(r.status?.documentResponses),
      onAttempt: (a) => {
        if (a > 1) retried = true;
      },
    }).finally(() => {
      if (!prebuilt) releaseBuffer(body);
    });
    const responses = documentResponses(res, pending.length, target);
    const again: number[] = [];
    responses.forEach((r, k) => {
      const i = pending[k]!;
      if (r.status === "OK") {
        outcome.inserted++;
        outcome.confirmed.push(i);
        return;
      }
      const err = r.errorsIdx === undefined ? undefined : res.errors[r.errorsIdx];
      const code = typeof err?.errorCode === "string" ? err.errorCode : r.status;
      if (code === "DOCUMENT_ALREADY_EXISTS") {
        outcome.alreadyExisting++;
        if (retried || uncertain.has(i)) toCheck.push(i);
      } else if (RETRIABLE_ERROR_CODES.has(code) && round < DOCUMENT_RETRIES) {
        uncertain.add(i);
        again.push(i);
      } else {
        const id = docs[i]!.id;
        outcome.failed.push({
          id: id ? decoder.decode(id) : "(none)",
          errorCode: code,
          message: String(err?.message ?? r.status).split("\n")[0] ?? "",
        });
      }
    });
    pending = again;
  }
  if (toCheck.length > 0) {
    outcome.alreadyExistingAfterRetry = (await readBack(
      client,
      target,
      toCheck.map((i) => ({ id: docs[i]!.id, sent: bodies[i]! })),
      options.signal,
    )).identical.size;
  }
  return outcome;
}

/** `_id`s per read-back `find` (the server's $in limit is 100; one page of 20 holds them). */
const READ_BACK_CHUNK = 20;

/** What {@linkcode readBack} found: the `_id`s (raw JSON text) present, and those stored as sent. */
export interface ReadBack {
  found: Set<string>;
  identical: Set<string>;
}

/**
 * Which of `docs` the collection holds, and which with exactly the bytes we sent (`find` by `_id`,
 * projection `{"*": true}`, following `nextPageState`). The server stores a document as sent and
 * answers it in the same compact form (which is how the snapshot got those bytes). Used after an
 * uncertain write and for restore's sample proof (restore/collection.ts).
 */
export async function readBack(
  client: DataApiClient,
  target: { keyspace: string; collection: string },
  docs: ReadonlyArray<{ id: Uint8Array | null; sent: Uint8Array }>,
  signal: AbortSignal | undefined,
): Promise<ReadBack> {
  const sentById = new Map<string, Uint8Array>();
  for (const d of docs) if (d.id) sentById.set(decoder.decode(d.id), d.sent);
  const ids = [...sentById.keys()];
  const out: ReadBack = { found: new Set(), identical: new Set() };
  for (let k = 0; k < ids.length; k += READ_BACK_CHUNK) {
    const inList = ids.slice(k, k + READ_BACK_CHUNK).join(",");
    let pageState: string | null = null;
    do {
      const options: string = pageState === null ? "{}" : JSON.stringify({ pageState });
      const res = await client.command(
        target,
        "find",
        `{"find":{"filter":{"_id":{"$in":[${inList}]}},"projection":{"*":true},"options":${options}}}`,
        { signal },
      );
      for (const doc of res.documents ?? []) {
        const id = doc.id ? decoder.decode(doc.id) : undefined;
        const sent = id === undefined ? undefined : sentById.get(id);
        if (id === undefined || !sent) continue;
        out.found.add(id);
        if (equalBytes(sent, doc.bytes)) out.identical.add(id);
      }
      pageState = res.nextPageState || null;
    } while (pageState !== null);
  }
  return out;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

interface DocumentResponse {
  status: string;
  errorsIdx?: number;
}

function documentResponses(
  res: CommandResponse,
  expected: number,
  target: { keyspace: string; collection: string },
): DocumentResponse[] {
  const list = res.status?.documentResponses;
  if (!Array.isArray(list) || list.length !== expected) {
    throw protocolError(
      "insertMany",
      `insertMany on ${target.keyspace}.${target.collection} answered ${
        Array.isArray(list) ? list.length : "no"
      } document responses for ${expected} documents`,
    );
  }
  return list as DocumentResponse[];
}
