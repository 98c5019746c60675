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
   * Of those, how many were in a request that had to be re-sent after a transient failure: they
   * may have been written by the first attempt (restore settles this with a count).
   */
  alreadyExistingAfterRetry: number;
  failed: InsertFailure[];
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const PREFIX = encoder.encode('{"insertMany":{"documents":[');
const SUFFIX = encoder.encode('],"options":{"ordered":false,"returnDocumentResponses":true}}}');

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
  options: { signal?: AbortSignal | undefined } = {},
): Promise<BatchOutcome> {
  if (docs.length > MAX_INSERT_DOCUMENTS) throw new RangeError(`batch of ${docs.length} documents`);
  const outcome: BatchOutcome = {
    inserted: 0,
    alreadyExisting: 0,
    alreadyExistingAfterRetry: 0,
    failed: [],
  };
  let pending = docs.map((_, i) => i);
  let retried = false;
  for (let round = 0; pending.length > 0; round++) {
    const res = await client.command(
      target,
      "insertMany",
      insertManyBody(pending.map((i) => bodies[i]!)),
      {
        signal: options.signal,
        acceptPartial: (r) => Array.isArray(r.status?.documentResponses),
        onAttempt: (a) => {
          if (a > 1) retried = true;
        },
      },
    );
    const responses = documentResponses(res, pending.length, target);
    const again: number[] = [];
    responses.forEach((r, k) => {
      const i = pending[k]!;
      if (r.status === "OK") {
        outcome.inserted++;
        return;
      }
      const err = r.errorsIdx === undefined ? undefined : res.errors[r.errorsIdx];
      const code = typeof err?.errorCode === "string" ? err.errorCode : r.status;
      if (code === "DOCUMENT_ALREADY_EXISTS") {
        outcome.alreadyExisting++;
        if (retried || round > 0) outcome.alreadyExistingAfterRetry++;
      } else if (RETRIABLE_ERROR_CODES.has(code) && round < DOCUMENT_RETRIES) {
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
  return outcome;
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
