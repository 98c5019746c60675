/**
 * @module
 * The Data API's rules for a collection document's `_id`, read from stargate/data-api
 * `service/shredding/collections/DocumentId.java` (`fromJson`, unchanged from v1.0.20 to v1.0.51)
 * and `util/JsonUtil.java` (EJSON values): which values it accepts, and which key it stores, so
 * that verify refuses exactly the ids an insert would refuse and recognises two lines that the
 * server would store under one key.
 */

import { ByteJsonScanner, decodeStringBytes, DocumentRuleError } from "./byte_json.ts";
import { ejsonValueProblem, javaUuid } from "./ejson.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** `DocumentConstants.KeyTypeId`: the type part of the stored key. */
const TYPE_STRING = 1;
const TYPE_NUMBER = 2;
const TYPE_BOOLEAN = 3;
const TYPE_NULL = 4;
const TYPE_DATE = 5;

const ACCEPTED =
  'the Data API takes a string, number, boolean, null, {"$date": <integer>}, {"$uuid": "<uuid>"}, {"$objectId": "<24 hex>"} or {"$binary": "<base64>"}';

/**
 * Checks the raw JSON of an `_id` (valid, compact JSON) and returns the key the server would store
 * it under (type byte + `asDBKey()`), or null for a `$binary` id (its stored key is
 * `String.valueOf(byte[])`, an identity hash, so two of them never collide). Throws
 * {@linkcode DocumentRuleError} with the server's error code for an id an insert would refuse.
 */
export function documentIdKey(raw: Uint8Array): Uint8Array | null {
  const c = raw[0];
  if (c === 0x22) {
    const s = new ByteJsonScanner(raw);
    const escaped = s.skipString();
    if (raw.length === 2) {
      throw new DocumentRuleError("_id is an empty string", "SHRED_BAD_DOCID_VALUE");
    }
    return withType(
      TYPE_STRING,
      escaped
        ? encoder.encode(decodeStringBytes(raw, 1, raw.length - 1, true))
        : raw.subarray(1, -1),
    );
  }
  if (c === 0x2d || (c !== undefined && c >= 0x30 && c <= 0x39)) {
    return withType(TYPE_NUMBER, encoder.encode(bigDecimalString(decoder.decode(raw))));
  }
  if (c === 0x74 || c === 0x66 || c === 0x6e) {
    return withType(c === 0x6e ? TYPE_NULL : TYPE_BOOLEAN, raw);
  }
  if (c === 0x7b) return wrappedIdKey(raw);
  throw new DocumentRuleError(
    `_id is an array, which ${ACCEPTED}`,
    "SHRED_BAD_DOCID_TYPE",
  );
}

/** `{"$date"|"$uuid"|"$objectId"|"$binary": …}`, or a refusal. */
function wrappedIdKey(raw: Uint8Array): Uint8Array | null {
  const s = new ByteJsonScanner(raw);
  let name = "";
  let valueStart = 0;
  let valueEnd = 0;
  let members = 0;
  s.walkObject(1, (ks, ke, esc) => {
    members++;
    name = decodeStringBytes(raw, ks, ke, esc);
    valueStart = s.pos;
    s.skipValue(1);
    valueEnd = s.pos;
  });
  const text = decoder.decode(raw);
  const shown = text.length > 80 ? text.slice(0, 77) + "..." : text;
  if (members !== 1 || !name.startsWith("$")) {
    throw new DocumentRuleError(
      `_id ${shown} is an object, which ${ACCEPTED}`,
      "SHRED_BAD_DOCID_TYPE",
    );
  }
  const value = raw.subarray(valueStart, valueEnd);
  const v = decoder.decode(value);
  const str = value[0] === 0x22 ? JSON.parse(v) as string : null;
  const integer = /^-?\d+$/.test(v) ? v : null;
  const bad = (why: string): never => {
    throw new DocumentRuleError(`_id ${shown}: ${why}`, "SHRED_BAD_DOCID_TYPE");
  };
  switch (name) {
    case "$date": {
      // isIntegralNumber() && canConvertToLong(): an integer token within a signed 64-bit range.
      if (integer === null) return bad("$date must hold an integer (epoch milliseconds)");
      const n = BigInt(integer);
      if (n < -(2n ** 63n) || n >= 2n ** 63n) return bad("$date is out of the 64-bit range");
      return withType(TYPE_DATE, encoder.encode(n.toString()));
    }
    case "$uuid": {
      const uuid = str === null ? null : javaUuid(str);
      if (uuid === null) return bad("$uuid must hold a UUID string");
      return withType(TYPE_STRING, encoder.encode(uuid));
    }
    case "$objectId": {
      const hex = str ?? integer;
      if (hex === null || ejsonValueProblem(name, hex, str !== null)) {
        return bad("$objectId must hold 24 hexadecimal digits");
      }
      return withType(TYPE_STRING, encoder.encode(hex.toLowerCase()));
    }
    case "$binary":
      if (str === null || ejsonValueProblem(name, str, true)) {
        return bad("$binary must hold a base64 string");
      }
      return null;
    default:
      return bad(`unrecognized JSON extension type '${name}'`);
  }
}

function withType(type: number, key: Uint8Array): Uint8Array {
  const out = new Uint8Array(key.length + 1);
  out[0] = type;
  out.set(key, 1);
  return out;
}

/**
 * Java's `BigDecimal.toString()` of a JSON number as Jackson reads it for an `_id`
 * (`node.decimalValue()`: integers with scale 0, other numbers `new BigDecimal(text)`), which is
 * the stored key: `1E+2`, `1e2` and `100.0e0`… are keys of their own unless Java spells them alike.
 */
export function bigDecimalString(text: string): string {
  const m = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(text);
  if (!m) throw new RangeError(`not a JSON number: ${text}`);
  const [, sign, int, frac = "", exp = "0"] = m;
  let digits = (int! + frac).replace(/^0+/, "");
  if (digits === "") digits = "0";
  const scale = frac.length - Number(exp);
  const negative = sign === "-" && digits !== "0";
  const adjusted = -scale + (digits.length - 1);
  let body: string;
  if (scale === 0) body = digits;
  else if (scale > 0 && adjusted >= -6) {
    body = digits.length > scale
      ? `${digits.slice(0, digits.length - scale)}.${digits.slice(digits.length - scale)}`
      : `0.${"0".repeat(scale - digits.length)}${digits}`;
  } else {
    body = `${digits[0]}${digits.length > 1 ? "." + digits.slice(1) : ""}E${
      adjusted > 0 ? "+" : ""
    }${adjusted}`;
  }
  return negative ? `-${body}` : body;
}
