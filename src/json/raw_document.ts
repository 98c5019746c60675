/**
 * @module
 * Inspects one document (or table row) as raw bytes: where its `_id` is, which vector fields it
 * has and their dimensions, and where selected top-level members sit so they can be cut out
 * without re-serialising anything.
 *
 * Backup, verify and restore all look at documents through this one function, so the counts a
 * manifest records are computed exactly the way verify recomputes them.
 */

import {
  ByteJsonScanner,
  decodeStringBytes,
  DocumentRuleError,
  type DocumentRules,
  stripWhitespace,
} from "./byte_json.ts";
import { base64DecodedLength, base64Length } from "./ejson.ts";

/** What a vector-valued field held. */
export type VectorKind = "array" | "binary" | "null" | "invalid";

/** Measurement of one vector field of a document. */
export interface VectorValue {
  /** Top-level field name (`$vector` for collections, the column name for tables). */
  field: string;
  kind: VectorKind;
  /** Number of float components (0 for `null` and `invalid`). */
  dimension: number;
}

/** Byte span of one top-level member, relative to {@linkcode RawDocument.bytes}. */
export interface MemberSpan {
  name: string;
  /** Position of the member name's opening quote. */
  keyStart: number;
  valueStart: number;
  valueEnd: number;
  /** Just after the previous member's value, or just after `{` for the first member. */
  prevEnd: number;
  /** Opening quote of the next member's name, or -1 when this is the last member. */
  nextKeyStart: number;
}

/** One document as bytes plus what inspection found. */
export interface RawDocument {
  /** Compact JSON of the document, exactly as sent by the Data API (whitespace removed). */
  bytes: Uint8Array;
  /** Raw JSON bytes of the `_id` value, or null when the document has none. */
  id: Uint8Array | null;
  /** One entry per requested vector field present in the document. */
  vectors: VectorValue[];
  /** Spans of the watched top-level members that are present. */
  members: MemberSpan[];
}

/** Options for {@linkcode inspectDocument}. */
export interface InspectOptions {
  /** Top-level fields whose values are vectors (default `["$vector"]`). */
  vectorFields?: readonly string[];
  /** Further top-level fields whose spans to report (default `["$vectorize", "$lexical"]`). */
  watch?: readonly string[];
  /** Also enforce these Data API document rules (collections; see {@linkcode DocumentRules}). */
  rules?: DocumentRules | undefined;
}

const DEFAULT_VECTOR_FIELDS = ["$vector"] as const;
const DEFAULT_WATCH = ["$vectorize", "$lexical"] as const;

/**
 * Inspects the object at the scanner's position (which must be `{`), consuming it. The returned
 * document's `bytes` are a zero-copy view into the scanner's buffer unless whitespace had to be
 * removed.
 */
export function inspectDocument(s: ByteJsonScanner, options: InspectOptions = {}): RawDocument {
  const vectorFields = options.vectorFields ?? DEFAULT_VECTOR_FIELDS;
  const watch = options.watch ?? DEFAULT_WATCH;
  if (s.peekKind() !== "object") s.fail("Document is not a JSON object");
  const start = s.pos;
  const hadWhitespace = s.sawWhitespace;
  s.sawWhitespace = false;

  let id: [number, number] | null = null;
  const vectors: VectorValue[] = [];
  const members: MemberSpan[] = [];
  let prevEnd = start + 1;
  let pending: MemberSpan | null = null;

  s.walkObject(1, (keyStart, keyEnd, keyEscaped, childPath) => {
    const valueStart = s.pos;
    if (pending) {
      pending.nextKeyStart = keyStart - 1 - start;
      pending = null;
    }
    const name = keyName(s.bytes, keyStart, keyEnd, keyEscaped);
    if (name === "_id") {
      // The id has rules of its own (document_id.ts), not those of fields; as an indexed value
      // it still counts as one (its wrapper's one property, its string's length).
      s.withoutRules(() => s.skipValue(1));
      id = [valueStart, s.pos];
      if (s.rules?.indexed && s.indexedHere) indexedId(s, valueStart, s.pos, s.rules);
    } else if (vectorFields.includes(name)) {
      vectors.push(measureVector(s, name, childPath));
    } else {
      s.skipValue(1, childPath);
    }
    if (name === "_id" || vectorFields.includes(name) || watch.includes(name)) {
      pending = {
        name,
        keyStart: keyStart - 1 - start,
        valueStart: valueStart - start,
        valueEnd: s.pos - start,
        prevEnd: prevEnd - start,
        nextKeyStart: -1,
      };
      members.push(pending);
    }
    prevEnd = s.pos;
  });

  const sawWhitespace = s.sawWhitespace;
  s.sawWhitespace = hadWhitespace || sawWhitespace;
  if (sawWhitespace) {
    // Rare: the server pretty-printed. Re-inspect a compacted copy so spans refer to it.
    const compact = new ByteJsonScanner(stripWhitespace(s.bytes.subarray(start, s.pos)));
    compact.rules = s.rules;
    return inspectDocument(compact, options);
  }
  const bytes = s.bytes.subarray(start, s.pos);
  const idSpan = id as [number, number] | null;
  return {
    bytes,
    id: idSpan ? s.bytes.subarray(idSpan[0], idSpan[1]) : null,
    vectors,
    members,
  };
}

/** The indexed-value limits, applied to an `_id` (see {@linkcode DocumentRules.indexed}). */
function indexedId(s: ByteJsonScanner, start: number, end: number, rules: DocumentRules): void {
  const b = s.bytes;
  if (b[start] === 0x7b) {
    s.indexedProperties += 1;
    return;
  }
  if (b[start] !== 0x22 || end - start - 2 <= rules.maxStringBytes) return;
  const bytes = new TextEncoder().encode(decodeStringBytes(b, start + 1, end - 1, true)).length;
  if (bytes > rules.maxStringBytes) {
    throw new DocumentRuleError(
      `_id is a string of ${bytes} bytes, over the ${rules.maxStringBytes} bytes an indexed string may have`,
      "SHRED_DOC_LIMIT_VIOLATION",
    );
  }
}

/**
 * Parses one JSON Lines record (without its newline) as a document. Throws
 * {@linkcode JsonSyntaxError} when the line is not exactly one JSON object.
 */
export function parseDocumentLine(line: Uint8Array, options: InspectOptions = {}): RawDocument {
  const s = new ByteJsonScanner(line);
  s.rules = options.rules ?? null;
  const doc = inspectDocument(s, options);
  s.expectEnd();
  return doc;
}

/**
 * Returns a copy of the document's bytes without the named top-level member (and its separating
 * comma). Used by restore to drop `$vectorize` or `$vector`, which the Data API refuses together.
 */
export function withoutMember(doc: RawDocument, name: string): Uint8Array {
  const m = doc.members.find((x) => x.name === name);
  if (!m) return doc.bytes;
  const b = doc.bytes;
  let cutStart: number;
  let cutEnd: number;
  if (m.prevEnd > 0 && b[m.prevEnd] === 0x2c) {
    // Not the first member: remove ",<member>".
    cutStart = m.prevEnd;
    cutEnd = m.valueEnd;
  } else if (m.nextKeyStart >= 0) {
    // First of several: remove "<member>," up to the next name.
    cutStart = m.keyStart;
    cutEnd = m.nextKeyStart;
  } else {
    cutStart = m.keyStart;
    cutEnd = m.valueEnd;
  }
  const out = new Uint8Array(b.length - (cutEnd - cutStart));
  out.set(b.subarray(0, cutStart), 0);
  out.set(b.subarray(cutEnd), cutStart);
  return out;
}

function keyName(bytes: Uint8Array, start: number, end: number, escaped: boolean): string {
  return decodeStringBytes(bytes, start, end, escaped);
}

/** Measures a vector value: a JSON array of numbers or `{"$binary": "<base64 float32>"}`. */
function measureVector(s: ByteJsonScanner, field: string, path: number): VectorValue {
  const kind = s.peekKind();
  if (kind === "null") {
    s.skipValue(1);
    return { field, kind: "null", dimension: 0 };
  }
  if (kind === "array") {
    const n = s.numberArrayLength(2, path);
    return n > 0
      ? { field, kind: "array", dimension: n }
      : { field, kind: "invalid", dimension: 0 };
  }
  if (kind === "object") {
    let members = 0;
    let bytesLen = -1;
    s.walkObject(2, (ks, ke, esc) => {
      members++;
      if (keyName(s.bytes, ks, ke, esc) === "$binary" && s.peekKind() === "string") {
        const start = s.pos + 1;
        const escaped = s.skipString(true);
        // Valid base64 has no escapes (but may be written with "\/"): decode only then.
        bytesLen = escaped
          ? base64DecodedLength(decodeStringBytes(s.bytes, start, s.pos - 1, true))
          : base64Length(s.bytes, start, s.pos - 1);
      } else {
        s.skipValue(2, path);
      }
    });
    if (members === 1 && bytesLen > 0 && bytesLen % 4 === 0) {
      return { field, kind: "binary", dimension: bytesLen / 4 };
    }
    return { field, kind: "invalid", dimension: 0 };
  }
  s.skipValue(1, path);
  return { field, kind: "invalid", dimension: 0 };
}

export { base64DecodedLength };

/**
 * Returns a copy of the document's bytes with the values of watched top-level members replaced,
 * in one pass (restore uses it to re-spell values the Data API prints but does not accept back).
 * Members not in the document are ignored; with nothing to replace the bytes are returned as is.
 */
export function withMemberValues(
  doc: RawDocument,
  values: ReadonlyMap<string, Uint8Array>,
): Uint8Array {
  const spans = doc.members.filter((m) => values.has(m.name))
    .sort((a, b) => a.valueStart - b.valueStart);
  if (spans.length === 0) return doc.bytes;
  const b = doc.bytes;
  let size = b.length;
  for (const m of spans) size += values.get(m.name)!.length - (m.valueEnd - m.valueStart);
  const out = new Uint8Array(size);
  let from = 0;
  let at = 0;
  for (const m of spans) {
    out.set(b.subarray(from, m.valueStart), at);
    at += m.valueStart - from;
    const v = values.get(m.name)!;
    out.set(v, at);
    at += v.length;
    from = m.valueEnd;
  }
  out.set(b.subarray(from), at);
  return out;
}
