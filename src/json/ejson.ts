/**
 * @module
 * The values the Data API reads inside its EJSON wrappers (`$date`, `$uuid`, `$objectId`,
 * `$binary`), from stargate/data-api `util/JsonUtil.java` (`tryExtractExtendedFromUnwrapped`,
 * `extractEJsonDate`) and the Java types it hands them to.
 */

/**
 * Why an EJSON value would be refused, or null. `text` is the string's value or the integer's
 * digits (the only two kinds a wrapper may hold at all).
 */
export function ejsonValueProblem(name: string, text: string, isString: boolean): string | null {
  switch (name) {
    case "$date": {
      // isIntegralNumber() && canConvertToLong()
      if (isString) return "$date holds a string, not epoch milliseconds";
      const n = BigInt(text);
      return n < -(2n ** 63n) || n >= 2n ** 63n ? "$date is out of the 64-bit range" : null;
    }
    case "$uuid":
      return javaUuid(text) !== null ? null : `$uuid ${JSON.stringify(text)} is not a UUID`;
    case "$objectId":
      // new ObjectId(value.asText()): an integer token's digits count too.
      return isObjectIdHex(text)
        ? null
        : `$objectId ${JSON.stringify(text)} is not 24 hexadecimal digits`;
    case "$binary":
      return isString && isBase64(text) ? null : "$binary does not hold a base64 string";
    default:
      return null;
  }
}

/**
 * `java.util.UUID.fromString(s).toString()`, or null where Java throws: five dash-separated groups
 * of hex digits (each parsed as a long, then masked to 8-4-4-4-12), at most 36 characters. Java also
 * accepts a `+` sign and non-ASCII digits in a group; those are refused here.
 */
export function javaUuid(s: string): string | null {
  if (s.length > 36) return null;
  const groups = s.split("-");
  if (groups.length !== 5) return null;
  const widths = [8, 4, 4, 4, 12];
  const out: string[] = [];
  for (let i = 0; i < 5; i++) {
    const g = groups[i]!;
    if (!/^[0-9a-fA-F]{1,16}$/.test(g)) return null;
    const n = BigInt(`0x${g}`);
    if (n >= 2n ** 63n) return null;
    const masked = n & ((1n << BigInt(widths[i]! * 4)) - 1n);
    out.push(masked.toString(16).padStart(widths[i]!, "0"));
  }
  return out.join("-");
}

/** `org.bson.types.ObjectId.isValid`: 24 hexadecimal digits. */
export function isObjectIdHex(s: string): boolean {
  return /^[0-9a-fA-F]{24}$/.test(s);
}

/** Standard, padded base64, as Jackson's default variant decodes it (`TextNode.binaryValue`). */
export function isBase64(s: string): boolean {
  return base64DecodedLength(s) >= 0;
}

/** Decoded byte length of a standard base64 string, or -1 when it is not valid base64. */
export function base64DecodedLength(text: string): number {
  const bytes = new TextEncoder().encode(text);
  return bytes.length === text.length ? base64Length(bytes, 0, bytes.length) : -1;
}

/**
 * Decoded length of the standard, padded base64 in `bytes[start, end)`, or -1 when it is not
 * base64. Works on the raw bytes: a `$binary` vector is most of a document's bytes.
 */
export function base64Length(bytes: Uint8Array, start: number, end: number): number {
  const n = end - start;
  if (n % 4 !== 0) return -1;
  let stop = end;
  let pad = 0;
  while (stop > start && bytes[stop - 1] === 0x3d && pad < 2) {
    stop--;
    pad++;
  }
  let bad = 0;
  for (let i = start; i < stop; i++) bad |= NOT_BASE64[bytes[i]!]!;
  return bad === 0 ? (n / 4) * 3 - pad : -1;
}

/** 1 for every byte that is not in the standard base64 alphabet. */
const NOT_BASE64 = new Uint8Array(256).fill(1);
for (const c of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/") {
  NOT_BASE64[c.charCodeAt(0)] = 0;
}
