/**
 * @module
 * A strict, binary-safe multipart/form-data parser that keeps the parts in wire order — the fake
 * needs the order because Box rejects a `file` part sent before `attributes`.
 */

/** One part of a multipart body. */
export interface MultipartPart {
  /** `name` from Content-Disposition. */
  name: string;
  /** `filename` from Content-Disposition, if any. */
  filename?: string | undefined;
  /** The part's Content-Type, if any. */
  contentType?: string | undefined;
  body: Uint8Array;
}

/** The body is not well-formed multipart/form-data. */
export class MultipartError extends Error {}

const CRLF = new Uint8Array([13, 10]);
const CRLFCRLF = new Uint8Array([13, 10, 13, 10]);

/** Parses a body given the request's Content-Type header. */
export function parseMultipart(body: Uint8Array, contentType: string | null): MultipartPart[] {
  const m = /^multipart\/form-data\s*;(.*)$/i.exec(contentType ?? "");
  const bm = m ? /(?:^|;)\s*boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(m[1]!) : null;
  const boundary = bm ? (bm[1] ?? bm[2]) : undefined;
  if (!boundary) {
    throw new MultipartError("Content-Type is not multipart/form-data with a boundary");
  }
  const enc = new TextEncoder();
  const dash = enc.encode(`--${boundary}`);
  const delim = enc.encode(`\r\n--${boundary}`);
  let pos: number;
  if (startsWith(body, dash, 0)) pos = dash.length;
  else {
    const at = indexOf(body, delim, 0);
    if (at < 0) throw new MultipartError("no boundary in body");
    pos = at + delim.length;
  }
  const parts: MultipartPart[] = [];
  const dec = new TextDecoder();
  for (;;) {
    if (body[pos] === 45 && body[pos + 1] === 45) return parts; // "--": closing delimiter
    while (body[pos] === 32 || body[pos] === 9) pos++; // transport padding
    if (!startsWith(body, CRLF, pos)) throw new MultipartError("malformed delimiter line");
    pos += 2;
    const headEnd = indexOf(body, CRLFCRLF, pos);
    if (headEnd < 0) throw new MultipartError("unterminated part headers");
    const headers = new Map<string, string>();
    for (const line of dec.decode(body.subarray(pos, headEnd)).split("\r\n")) {
      const colon = line.indexOf(":");
      if (colon > 0) {
        headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
      }
    }
    const start = headEnd + 4;
    const end = indexOf(body, delim, start);
    if (end < 0) throw new MultipartError("missing closing boundary");
    const disposition = headers.get("content-disposition") ?? "";
    const name = /(?:^|;)\s*name="([^"]*)"/i.exec(disposition)?.[1];
    if (!/^form-data\b/i.test(disposition) || name === undefined) {
      throw new MultipartError("part without Content-Disposition: form-data; name=...");
    }
    parts.push({
      name,
      filename: /(?:^|;)\s*filename="([^"]*)"/i.exec(disposition)?.[1],
      contentType: headers.get("content-type"),
      body: body.subarray(start, end),
    });
    pos = end + delim.length;
  }
}

function startsWith(hay: Uint8Array, needle: Uint8Array, at: number): boolean {
  if (at + needle.length > hay.length) return false;
  for (let i = 0; i < needle.length; i++) if (hay[at + i] !== needle[i]) return false;
  return true;
}

function indexOf(hay: Uint8Array, needle: Uint8Array, from: number): number {
  const first = needle[0]!;
  for (let i = hay.indexOf(first, from); i >= 0; i = hay.indexOf(first, i + 1)) {
    if (startsWith(hay, needle, i)) return i;
  }
  return -1;
}
