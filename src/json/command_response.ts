/**
 * @module
 * Parses a Data API command response (`{"data":…, "status":…, "errors":[…]}`) from raw bytes.
 * Documents under `data.documents` are sliced out verbatim and inspected; `status` and `errors`
 * are small and decoded normally.
 */

import { ByteJsonScanner } from "./byte_json.ts";
import { inspectDocument, type InspectOptions, type RawDocument } from "./raw_document.ts";

/** One entry of a response's `errors` array (fields as the Data API sends them). */
export interface ErrorDescriptor {
  errorCode?: string;
  message?: string;
  family?: string;
  scope?: string;
  title?: string;
  id?: string;
  [key: string]: unknown;
}

/** A decoded command response. */
export interface CommandResponse {
  /** `data.documents` when present (find), each sliced out of the response bytes. */
  documents: RawDocument[] | null;
  /** `data.nextPageState`; null when absent or null (the last page). */
  nextPageState: string | null;
  /** `status`, decoded with JSON.parse (it never carries document values). */
  status: Record<string, unknown> | null;
  /** `errors`, empty when absent. */
  errors: ErrorDescriptor[];
}

const decoder = new TextDecoder();

/**
 * Parses and validates a whole response body. Throws `JsonSyntaxError` when the body is not one
 * complete JSON object (for example a truncated page), which callers treat as a transient fault.
 */
export function parseCommandResponse(
  body: Uint8Array,
  options: InspectOptions = {},
): CommandResponse {
  const s = new ByteJsonScanner(body);
  const out: CommandResponse = { documents: null, nextPageState: null, status: null, errors: [] };
  if (s.peekKind() !== "object") s.fail("Response is not a JSON object");
  s.walkObject(1, (ks, ke) => {
    const key = decoder.decode(body.subarray(ks, ke));
    if (key === "data" && s.peekKind() === "object") {
      s.walkObject(2, (dks, dke) => {
        const dkey = decoder.decode(body.subarray(dks, dke));
        if (dkey === "documents" && s.peekKind() === "array") {
          const docs: RawDocument[] = [];
          s.walkArray(3, () => {
            docs.push(inspectDocument(s, options));
          });
          out.documents = docs;
        } else if (dkey === "nextPageState" && s.peekKind() === "string") {
          out.nextPageState = s.readString();
        } else {
          s.skipValue(2);
        }
      });
    } else if (key === "status" || key === "errors") {
      const start = s.pos;
      s.skipValue(1);
      const value: unknown = JSON.parse(decoder.decode(body.subarray(start, s.pos)));
      if (key === "status" && isRecord(value)) out.status = value;
      if (key === "errors" && Array.isArray(value)) {
        out.errors = value.filter(isRecord) as ErrorDescriptor[];
      }
    } else {
      s.skipValue(1);
    }
  });
  s.expectEnd();
  return out;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
