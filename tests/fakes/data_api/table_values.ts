/**
 * @module
 * Column types and cell values of the fake Data API's tables: how a JSON value sent in a row is
 * checked and converted to the value the database would store, and how a stored value is written
 * back as JSON. It follows stargate/data-api's JSONCodecs, MapCodecs, CollectionCodecs, UDTCodecs,
 * VectorCodecs and CqlDurationConverter, plus the Java formatting those rely on
 * (`BigDecimal.toString`, `Float.toString`, `Instant.toString`, `LocalTime.toString`), because a
 * backup tool sees exactly those bytes.
 */

import { type JNode, stringifyTree } from "./json_tree.ts";

/** The primitive type names of the Data API (`ApiTypeName`; note `blob`, not `binary`). */
export const PRIMITIVES = [
  "ascii",
  "bigint",
  "blob",
  "boolean",
  "date",
  "decimal",
  "double",
  "duration",
  "float",
  "inet",
  "int",
  "smallint",
  "text",
  "time",
  "timestamp",
  "tinyint",
  "uuid",
  "timeuuid",
  "varint",
  "counter",
] as const;

/** A primitive type name. */
export type PrimName = typeof PRIMITIVES[number];

/** A column (or UDT field, or collection element) type. */
export type ColType =
  | { kind: "prim"; name: PrimName }
  | { kind: "list" | "set"; value: ColType }
  | { kind: "map"; key: ColType; value: ColType }
  | { kind: "vector"; dimension: number; service?: JNode }
  | { kind: "udt"; name: string; frozen: boolean };

/** A user-defined type: its fields in declaration order (primitives only). */
export interface UdtDef {
  name: string;
  fields: Array<[string, ColType]>;
}

/** A stored cell value, already converted the way the database keeps it. */
export type CqlValue =
  | { k: "int"; v: bigint }
  | { k: "dec"; u: bigint; s: number }
  | { k: "fp"; v: number }
  | { k: "bool"; v: boolean }
  | { k: "str"; v: string }
  | { k: "blob"; v: Uint8Array }
  | { k: "ts"; v: number }
  | { k: "date"; y: number; m: number; d: number }
  | { k: "time"; v: bigint }
  | { k: "dur"; months: number; days: number; nanos: bigint }
  | { k: "list"; v: CqlValue[] }
  | { k: "vec"; v: number[] }
  | { k: "map"; v: Array<[CqlValue, CqlValue]> }
  | { k: "udt"; v: Array<[string, CqlValue]> };

/**
 * A value that cannot be converted (the server's ToCQLCodecException); `rootCause` becomes the
 * `<col>(<type>) - Cause: <rootCause>` part of INVALID_COLUMN_VALUES.
 */
export class CodecError extends Error {
  constructor(readonly rootCause: string) {
    super(rootCause);
  }
}

/** A string sent for a vector column: the server embeds it (vectorize) instead of decoding it. */
export class VectorizeRequest {
  constructor(readonly text: string) {}
}

const INT_RANGES: Record<string, [bigint, bigint]> = {
  tinyint: [-128n, 127n],
  smallint: [-32768n, 32767n],
  int: [-2147483648n, 2147483647n],
  bigint: [-9223372036854775808n, 9223372036854775807n],
  counter: [-9223372036854775808n, 9223372036854775807n],
};
const JAVA_RANGE_NAME: Record<string, string> = {
  tinyint: "byte",
  smallint: "short",
  int: "int",
  bigint: "long",
  counter: "long",
};
const LONG_MIN = -9223372036854775808n;
const LONG_MAX = 9223372036854775807n;

/** The CQL spelling of a type, as `DataType.toString()` prints it in codec messages. */
export function cqlTypeName(t: ColType): string {
  switch (t.kind) {
    case "prim":
      return t.name.toUpperCase();
    case "list":
    case "set":
      return `${t.kind}<${cqlTypeName(t.value)}>`;
    case "map":
      return `map<${cqlTypeName(t.key)}, ${cqlTypeName(t.value)}>`;
    case "vector":
      return `vector<float, ${t.dimension}>`;
    case "udt":
      return t.name;
  }
}

/** The API type name (`ApiTypeName.apiName`), as error messages print it: `intMap(map)`. */
export function apiTypeName(t: ColType): string {
  return t.kind === "prim" ? t.name : t.kind === "udt" ? "userDefined" : t.kind;
}

// ---------------------------------------------------------------------------------------------
// Decoding JSON into cell values

/** Java class names the server prints for decoded JSON values. */
function javaClassOf(n: JNode): string {
  switch (n.t) {
    case "str":
      return "java.lang.String";
    case "bool":
      return "java.lang.Boolean";
    case "num":
      if (!isIntegralToken(n.raw)) return "java.math.BigDecimal";
      return fitsLong(BigInt(n.raw)) ? "java.lang.Long" : "java.math.BigInteger";
    case "arr":
      return isTupleMap(n) ? "java.util.HashMap" : "java.util.ArrayList";
    case "obj":
      return ejsonOf(n)
        ? "io.stargate.sgv2.jsonapi.service.shredding.EJSONWrapper"
        : "java.util.HashMap";
    case "null":
      return "null";
  }
}

function isIntegralToken(raw: string): boolean {
  return !/[.eE]/.test(raw);
}

function fitsLong(v: bigint): boolean {
  return v >= LONG_MIN && v <= LONG_MAX;
}

/**
 * The server's decoder treats any non-empty array whose items are all two-item arrays as a map in
 * tuple form (JsonNodeDecoder.tupleToObject), whatever the column type.
 */
export function isTupleMap(n: JNode): boolean {
  return tuplePairs(n) !== undefined;
}

/** The `[key, value]` pairs of a tuple-form map, or undefined if `n` is not one. */
function tuplePairs(n: JNode): Array<[JNode, JNode]> | undefined {
  if (n.t !== "arr" || n.a.length === 0) return undefined;
  const out: Array<[JNode, JNode]> = [];
  for (const e of n.a) {
    if (e.t !== "arr" || e.a.length !== 2) return undefined;
    out.push([e.a[0]!, e.a[1]!]);
  }
  return out;
}

/** `{"$binary": …}` or `{"$date": …}`: the only EJSON wrappers tables know (EJSONWrapper). */
function ejsonOf(n: JNode): { type: "$binary" | "$date"; value: JNode } | undefined {
  if (n.t !== "obj" || n.m.length !== 1) return undefined;
  const [k, v] = n.m[0]!;
  return k === "$binary" || k === "$date" ? { type: k, value: v } : undefined;
}

const NO_CODEC = "no codec matching value type";

/** Exact decimal value of a JSON number token: unscaled digits and scale, like `BigDecimal`. */
export function parseDecimal(raw: string): { u: bigint; s: number } {
  const m = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(raw);
  if (!m) throw new CodecError(`Character array is missing "exponent" mark 'e' or 'E'.`);
  const frac = m[3] ?? "";
  const exp = m[4] ? Number(m[4]) : 0;
  return { u: BigInt(`${m[1]}${m[2]}${frac}`), s: frac.length - exp };
}

/** `BigDecimal.toString()`: plain, or scientific when the scale is negative or the value tiny. */
export function bigDecimalToString(u: bigint, s: number): string {
  const neg = u < 0n;
  const coeff = (neg ? -u : u).toString();
  const adjusted = -s + (coeff.length - 1);
  let out: string;
  if (s >= 0 && adjusted >= -6) {
    if (s === 0) out = coeff;
    else if (coeff.length > s) out = `${coeff.slice(0, coeff.length - s)}.${coeff.slice(-s)}`;
    else out = `0.${"0".repeat(s - coeff.length)}${coeff}`;
  } else {
    out = coeff.length > 1 ? `${coeff[0]}.${coeff.slice(1)}` : coeff;
    out += `E${adjusted >= 0 ? "+" : ""}${adjusted}`;
  }
  return neg ? `-${out}` : out;
}

/** The integer value of an exact decimal, or undefined when it has a fraction. */
function decimalToBigInt(d: { u: bigint; s: number }): bigint | undefined {
  if (d.s <= 0) return d.u * 10n ** BigInt(-d.s);
  const div = 10n ** BigInt(d.s);
  return d.u % div === 0n ? d.u / div : undefined;
}

function decodeInteger(name: PrimName, n: JNode): CqlValue {
  if (n.t !== "num") throw new CodecError(NO_CODEC);
  let v: bigint;
  if (isIntegralToken(n.raw)) {
    v = BigInt(n.raw);
    const range = INT_RANGES[name];
    if (range && (v < range[0] || v > range[1])) {
      if (!fitsLong(v)) {
        throw new CodecError(`BigInteger out of ${JAVA_RANGE_NAME[name]} range`);
      }
      throw new CodecError(
        v < range[0]
          ? `Underflow, value too small for ${name.toUpperCase()}`
          : `Overflow, value too big for ${name.toUpperCase()}`,
      );
    }
  } else {
    const whole = decimalToBigInt(parseDecimal(n.raw));
    if (whole === undefined) throw new CodecError("Rounding necessary");
    const range = INT_RANGES[name];
    if (range && (whole < range[0] || whole > range[1])) throw new CodecError("Overflow");
    v = whole;
  }
  return { k: "int", v };
}

function decodeFloating(name: "float" | "double", n: JNode): CqlValue {
  if (n.t === "str") {
    const special: Record<string, number> = {
      "NaN": NaN,
      "Infinity": Infinity,
      "-Infinity": -Infinity,
    };
    const v = special[n.v];
    if (v === undefined) {
      throw new CodecError(
        'Unsupported String value: only "NaN", "Infinity" and "-Infinity" supported',
      );
    }
    return { k: "fp", v };
  }
  if (n.t !== "num") throw new CodecError(NO_CODEC);
  const d = Number(n.raw);
  return { k: "fp", v: name === "float" ? Math.fround(d) : d };
}

function decodeString(
  name: PrimName,
  n: JNode,
): CqlValue {
  if (n.t !== "str") throw new CodecError(NO_CODEC);
  const s = n.v;
  const invalid = (problem: string) =>
    new CodecError(`Invalid String value for type \`${name.toUpperCase()}\`; problem: ${problem}`);
  switch (name) {
    case "text":
      return { k: "str", v: s };
    case "ascii":
      for (let i = 0; i < s.length; i++) {
        if (s.charCodeAt(i) > 0x7f) {
          throw new CodecError(
            `String contains non-ASCII character at index #${i} (length=${s.length}): \\u${
              s.charCodeAt(i).toString(16).toUpperCase().padStart(4, "0")
            }`,
          );
        }
      }
      return { k: "str", v: s };
    case "uuid":
    case "timeuuid": {
      const u = parseUuid(s);
      if (u === undefined) throw invalid(`Invalid UUID string: ${s}`);
      if (name === "timeuuid" && u[14] !== "1") {
        throw invalid(`Invalid UUID string: ${s}`);
      }
      return { k: "str", v: u };
    }
    case "inet": {
      const a = parseInet(s);
      if (a === undefined) throw invalid(`Invalid IP address value '${s}'`);
      return { k: "str", v: a };
    }
    case "timestamp": {
      const ms = parseInstant(s);
      if (ms === undefined) throw invalid(`Text '${s}' could not be parsed at index 0`);
      return { k: "ts", v: ms };
    }
    case "date": {
      const d = parseLocalDate(s);
      if (d === undefined) throw invalid(`Text '${s}' could not be parsed at index 0`);
      return d;
    }
    case "time": {
      const t = parseLocalTime(s);
      if (t === undefined) throw invalid(`Text '${s}' could not be parsed at index 0`);
      return { k: "time", v: t };
    }
    case "duration":
      try {
        return parseDuration(s);
      } catch (e) {
        if (e instanceof CodecError) throw invalid(e.rootCause);
        throw e;
      }
    default:
      throw new CodecError(NO_CODEC);
  }
}

function decodePrimitive(name: PrimName, n: JNode): CqlValue {
  switch (name) {
    case "tinyint":
    case "smallint":
    case "int":
    case "bigint":
    case "varint":
    case "counter":
      return decodeInteger(name, n);
    case "decimal": {
      if (n.t !== "num") throw new CodecError(NO_CODEC);
      const d = parseDecimal(n.raw);
      return { k: "dec", u: d.u, s: d.s };
    }
    case "float":
    case "double":
      return decodeFloating(name, n);
    case "boolean":
      if (n.t !== "bool") throw new CodecError(NO_CODEC);
      return { k: "bool", v: n.v };
    case "blob": {
      const w = ejsonOf(n);
      if (!w) throw new CodecError(NO_CODEC);
      return { k: "blob", v: binaryFromEjson(w) };
    }
    case "timestamp": {
      const w = ejsonOf(n);
      if (w) {
        if (w.type !== "$date") {
          throw new CodecError(`Unsupported EJSON type '${w.type}': only '$date' supported`);
        }
        if (w.value.t !== "num") {
          throw new CodecError(
            `Unsupported JSON value type in EJSON $date wrapper (${
              nodeTypeName(w.value)
            }): only NUMBER allowed`,
          );
        }
        return { k: "ts", v: Math.trunc(Number(w.value.raw)) };
      }
      return decodeString(name, n);
    }
    default:
      return decodeString(name, n);
  }
}

function nodeTypeName(n: JNode): string {
  return {
    obj: "OBJECT",
    arr: "ARRAY",
    str: "STRING",
    num: "NUMBER",
    bool: "BOOLEAN",
    null: "NULL",
  }[
    n.t
  ];
}

function binaryFromEjson(w: { type: string; value: JNode }): Uint8Array {
  if (w.type !== "$binary") {
    throw new CodecError(`Unsupported EJSON type '${w.type}': only '$binary' supported`);
  }
  if (w.value.t !== "str") {
    throw new CodecError(
      `Unsupported JSON value type in EJSON $binary wrapper (${
        nodeTypeName(w.value)
      }): only STRING allowed`,
    );
  }
  const bytes = decodeMimeBase64(w.value.v);
  if (!bytes) {
    throw new CodecError(
      "Unsupported JSON value in EJSON $binary wrapper: String not valid Base64-encoded content, problem: Input byte array has incorrect ending byte",
    );
  }
  return bytes;
}

/** Lenient (MIME) Base64 decoding: characters outside the alphabet are ignored. */
export function decodeMimeBase64(s: string): Uint8Array | undefined {
  let clean = s.replace(/[^A-Za-z0-9+/=]/g, "");
  const eq = clean.indexOf("=");
  if (eq >= 0) {
    if (!/^=*$/.test(clean.slice(eq))) return undefined;
    clean = clean.slice(0, eq);
  }
  if (clean.length % 4 === 1) return undefined;
  try {
    const bin = atob(clean + "=".repeat((4 - clean.length % 4) % 4));
    return Uint8Array.from(bin, (c) => c.charCodeAt(0));
  } catch {
    return undefined;
  }
}

/** Standard padded Base64 (what the server writes for blobs). */
export function encodeBase64(bytes: Uint8Array): string {
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin);
}

/** Options for {@linkcode decodeValue}. */
export interface DecodeContext {
  udt: (name: string) => UdtDef | undefined;
}

/**
 * Converts a JSON value to the stored value of type `t`; `null` for JSON null. Throws
 * {@linkcode CodecError} like the server's codecs, or returns a {@linkcode VectorizeRequest} for
 * a string sent to a vector column.
 */
export function decodeValue(
  t: ColType,
  n: JNode,
  ctx: DecodeContext,
): CqlValue | null | VectorizeRequest {
  if (n.t === "null") return null;
  if (t.kind === "vector" && n.t === "str") return new VectorizeRequest(n.v);
  return decodeNonNull(t, n, ctx);
}

function decodeNonNull(t: ColType, n: JNode, ctx: DecodeContext): CqlValue {
  switch (t.kind) {
    case "prim":
      return decodePrimitive(t.name, n);
    case "list":
    case "set": {
      if (n.t !== "arr" || isTupleMap(n)) throw new CodecError(NO_CODEC);
      const items: CqlValue[] = [];
      for (const e of n.a) {
        if (e.t === "null") {
          throw new CodecError(`null values are not allowed in ${t.kind} column`);
        }
        items.push(decodeElement(t.value, e, ctx, t.kind));
      }
      return { k: "list", v: t.kind === "set" ? sortUnique(t.value, items) : items };
    }
    case "map": {
      const entries = mapEntries(n);
      if (!entries) throw new CodecError(NO_CODEC);
      const out: Array<[CqlValue, CqlValue]> = [];
      for (const [kn, vn] of entries) {
        if (kn.t === "null" || vn.t === "null") {
          throw new CodecError("null keys/values are not allowed in map column");
        }
        out.push([
          decodeMapPart(t.key, kn, ctx, "key"),
          decodeMapPart(t.value, vn, ctx, "value"),
        ]);
      }
      return { k: "map", v: sortUniqueEntries(t.key, out) };
    }
    case "vector":
      return decodeVector(t.dimension, n);
    case "udt":
      return decodeUdt(t, n, ctx);
  }
}

/** Map entries in object form (string keys) or tuple form; undefined for anything else. */
function mapEntries(n: JNode): Array<[JNode, JNode]> | undefined {
  if (n.t === "obj") {
    if (ejsonOf(n)) return undefined;
    const byKey = new Map<string, JNode>();
    for (const [k, v] of n.m) byKey.set(k, v);
    return [...byKey].map(([k, v]) => [{ t: "str", v: k }, v]);
  }
  return tuplePairs(n);
}

function decodeElement(t: ColType, n: JNode, ctx: DecodeContext, kind: string): CqlValue {
  try {
    return decodeNonNull(t, n, ctx);
  } catch (e) {
    if (e instanceof CodecError && e.rootCause === NO_CODEC) {
      throw new CodecError(
        `no codec matching (${kind}) declared element type \`${
          cqlTypeName(t)
        }\`, actual value type \`${javaClassOf(n)}\``,
      );
    }
    throw e;
  }
}

function decodeMapPart(t: ColType, n: JNode, ctx: DecodeContext, part: string): CqlValue {
  try {
    return decodeNonNull(t, n, ctx);
  } catch (e) {
    if (e instanceof CodecError && e.rootCause === NO_CODEC) {
      throw new CodecError(
        `no codec matching map declared ${part} type \`${cqlTypeName(t)}\`, actual type \`${
          javaClassOf(n)
        }\``,
      );
    }
    throw e;
  }
}

function decodeVector(dimension: number, n: JNode): CqlValue {
  const w = ejsonOf(n);
  let floats: number[];
  if (w) {
    const bytes = binaryFromEjson(w);
    if (bytes.length % 4 !== 0) {
      throw new CodecError(
        `failed to decode Base64-encoded packed Vector value: binary value to decode is not a multiple of 4 bytes long (${bytes.length})`,
      );
    }
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    floats = [];
    for (let i = 0; i < bytes.length; i += 4) floats.push(view.getFloat32(i, false));
  } else if (n.t === "arr" && !isTupleMap(n)) {
    floats = n.a.map((e, i) => {
      if (e.t !== "num") {
        throw new CodecError(
          `expected JSON Number value as Vector element at position #${i} (of ${n.a.length}), instead have: ${
            stringifyTree(e)
          }`,
        );
      }
      return Math.fround(Number(e.raw));
    });
  } else {
    throw new CodecError(NO_CODEC);
  }
  if (floats.length !== dimension) {
    throw new CodecError(
      `expected vector of length ${dimension}, got one with ${floats.length} elements`,
    );
  }
  return { k: "vec", v: floats };
}

function decodeUdt(t: { name: string }, n: JNode, ctx: DecodeContext): CqlValue {
  const def = ctx.udt(t.name);
  if (!def) throw new CodecError(`no codec matching value type`);
  const entries = n.t === "obj" && !ejsonOf(n)
    ? n.m.map(([k, v]) => [{ t: "str", v: k } as JNode, v] as [JNode, JNode])
    : tuplePairs(n);
  if (!entries) throw new CodecError(NO_CODEC);
  const values = new Map<string, CqlValue | null>();
  for (const [kn, vn] of entries) {
    if (kn.t !== "str") {
      throw new CodecError(
        `UDT field name must be a string, but got: ${javaClassOf(kn)}`,
      );
    }
    const field = def.fields.find(([f]) => f === kn.v);
    if (!field) throw new CodecError(`Missing field '${kn.v}' in UDT '${def.name}'.`);
    if (vn.t === "null") {
      values.set(kn.v, null);
      continue;
    }
    try {
      values.set(kn.v, decodeNonNull(field[1], vn, ctx));
    } catch (e) {
      if (e instanceof CodecError && e.rootCause === NO_CODEC) {
        throw new CodecError(
          `no codec matching in UDT ${def.name} for field ${kn.v}, declared type \`${
            javaClassOf(vn)
          }\`, actual type \`${cqlTypeName(field[1])}\``,
        );
      }
      throw e;
    }
  }
  const v: Array<[string, CqlValue]> = [];
  for (const [f] of def.fields) {
    const fv = values.get(f);
    if (fv) v.push([f, fv]);
  }
  return { k: "udt", v };
}

/** True for a value the server leaves out of a row: an empty collection or an all-null UDT. */
export function isEmptyValue(v: CqlValue): boolean {
  return (v.k === "list" || v.k === "map" || v.k === "udt") && v.v.length === 0;
}

// ---------------------------------------------------------------------------------------------
// Ordering (sets and map keys are kept in CQL order; clustering columns sort rows)

/** Compares two values of type `t` in CQL order. */
export function compareValues(t: ColType, a: CqlValue, b: CqlValue): number {
  switch (a.k) {
    case "int":
      return cmp(a.v, (b as typeof a).v);
    case "dec":
      return compareDecimal(a, b as typeof a);
    case "fp":
      return compareJavaDouble(a.v, (b as typeof a).v);
    case "bool":
      return cmp(Number(a.v), Number((b as typeof a).v));
    case "str": {
      const bv = (b as typeof a).v;
      if (t.kind === "prim" && (t.name === "uuid" || t.name === "timeuuid")) {
        return compareUuid(a.v, bv);
      }
      if (t.kind === "prim" && t.name === "inet") {
        return compareBytes(inetBytes(a.v), inetBytes(bv));
      }
      return compareBytes(utf8(a.v), utf8(bv));
    }
    case "blob":
      return compareBytes(a.v, (b as typeof a).v);
    case "ts":
      return cmp(a.v, (b as typeof a).v);
    case "date": {
      const o = b as typeof a;
      return cmp(a.y, o.y) || cmp(a.m, o.m) || cmp(a.d, o.d);
    }
    case "time":
      return cmp(a.v, (b as typeof a).v);
    case "dur": {
      const o = b as typeof a;
      return cmp(a.months, o.months) || cmp(a.days, o.days) || cmp(a.nanos, o.nanos);
    }
    case "vec": {
      const o = b as typeof a;
      for (let i = 0; i < Math.min(a.v.length, o.v.length); i++) {
        const c = compareJavaDouble(a.v[i]!, o.v[i]!);
        if (c) return c;
      }
      return a.v.length - o.v.length;
    }
    case "list": {
      const o = b as typeof a;
      const et = t.kind === "list" || t.kind === "set" ? t.value : t;
      for (let i = 0; i < Math.min(a.v.length, o.v.length); i++) {
        const c = compareValues(et, a.v[i]!, o.v[i]!);
        if (c) return c;
      }
      return a.v.length - o.v.length;
    }
    case "map": {
      const o = b as typeof a;
      const mt = t as { key: ColType; value: ColType };
      for (let i = 0; i < Math.min(a.v.length, o.v.length); i++) {
        const c = compareValues(mt.key, a.v[i]![0], o.v[i]![0]) ||
          compareValues(mt.value, a.v[i]![1], o.v[i]![1]);
        if (c) return c;
      }
      return a.v.length - o.v.length;
    }
    case "udt": {
      // Only frozen UDTs inside sets/map keys reach here; an approximate but stable order.
      const s = (x: Array<[string, CqlValue]>) =>
        JSON.stringify(x, (_k, val) => typeof val === "bigint" ? val.toString() : val);
      const sa = s(a.v);
      const sb = s((b as typeof a).v);
      return sa < sb ? -1 : sa > sb ? 1 : 0;
    }
  }
}

function cmp<T extends number | bigint>(a: T, b: T): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function compareDecimal(a: { u: bigint; s: number }, b: { u: bigint; s: number }): number {
  const s = Math.max(a.s, b.s);
  const ua = a.u * 10n ** BigInt(s - a.s);
  const ub = b.u * 10n ** BigInt(s - b.s);
  return cmp(ua, ub);
}

/** `Double.compare`: -0.0 before 0.0, NaN after everything. */
function compareJavaDouble(a: number, b: number): number {
  if (Number.isNaN(a)) return Number.isNaN(b) ? 0 : 1;
  if (Number.isNaN(b)) return -1;
  if (a !== b) return a < b ? -1 : 1;
  if (a === 0) return Object.is(a, -0) === Object.is(b, -0) ? 0 : Object.is(a, -0) ? -1 : 1;
  return 0;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (a[i] !== b[i]) return a[i]! - b[i]!;
  }
  return a.length - b.length;
}

const encoder = new TextEncoder();
function utf8(s: string): Uint8Array {
  return encoder.encode(s);
}

/** Cassandra's UUIDType order, simplified: version first, then time for v1, then the bytes. */
function compareUuid(a: string, b: string): number {
  const va = parseInt(a[14]!, 16);
  const vb = parseInt(b[14]!, 16);
  if (va !== vb) return va - vb;
  if (va === 1) {
    const ts = (u: string) => BigInt(`0x${u.slice(15, 18)}${u.slice(9, 13)}${u.slice(0, 8)}`);
    const c = cmp(ts(a), ts(b));
    if (c) return c;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

function sortUnique(t: ColType, items: CqlValue[]): CqlValue[] {
  const sorted = items.map((v, i) => ({ v, i })).sort((x, y) =>
    compareValues(t, x.v, y.v) || x.i - y.i
  );
  const out: CqlValue[] = [];
  for (const { v } of sorted) {
    // Equal elements are one cell; the later write wins.
    if (out.length > 0 && compareValues(t, out[out.length - 1]!, v) === 0) out.pop();
    out.push(v);
  }
  return out;
}

function sortUniqueEntries(
  kt: ColType,
  entries: Array<[CqlValue, CqlValue]>,
): Array<[CqlValue, CqlValue]> {
  const sorted = entries.map((e, i) => ({ e, i })).sort((x, y) =>
    compareValues(kt, x.e[0], y.e[0]) || x.i - y.i
  );
  const out: Array<[CqlValue, CqlValue]> = [];
  for (const { e } of sorted) {
    if (out.length > 0 && compareValues(kt, out[out.length - 1]![0], e[0]) === 0) out.pop();
    out.push(e);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Encoding stored values as the server writes them

/** Serialises a stored value as compact JSON text, exactly as a `find` returns it. */
export function encodeValue(t: ColType, v: CqlValue, ctx: DecodeContext): string {
  switch (v.k) {
    case "int":
      return v.v.toString();
    case "dec":
      return bigDecimalToString(v.u, v.s);
    case "fp": {
      if (!Number.isFinite(v.v)) return JSON.stringify(String(v.v));
      const isFloat = t.kind === "prim" && t.name === "float";
      return isFloat ? javaFloatToString(v.v) : javaDoubleToString(v.v);
    }
    case "bool":
      return v.v ? "true" : "false";
    case "str":
      return JSON.stringify(v.v);
    case "blob":
      return `{"$binary":${JSON.stringify(encodeBase64(v.v))}}`;
    case "ts":
      return JSON.stringify(instantToString(v.v));
    case "date":
      return JSON.stringify(localDateToString(v));
    case "time":
      return JSON.stringify(localTimeToString(v.v));
    case "dur":
      return JSON.stringify(durationToIso(v));
    case "vec":
      return `[${v.v.map((f) => Number.isFinite(f) ? javaFloatToString(f) : `"${f}"`).join(",")}]`;
    case "list": {
      const et = (t as { value: ColType }).value;
      return `[${v.v.map((e) => encodeValue(et, e, ctx)).join(",")}]`;
    }
    case "map": {
      const mt = t as { key: ColType; value: ColType };
      const textKeys = mt.key.kind === "prim" &&
        (mt.key.name === "text" || mt.key.name === "ascii");
      if (textKeys) {
        return `{${
          v.v.map(([k, val]) =>
            `${JSON.stringify((k as { v: string }).v)}:${encodeValue(mt.value, val, ctx)}`
          ).join(",")
        }}`;
      }
      return `[${
        v.v.map(([k, val]) => `[${encodeValue(mt.key, k, ctx)},${encodeValue(mt.value, val, ctx)}]`)
          .join(",")
      }]`;
    }
    case "udt": {
      const def = ctx.udt((t as { name: string }).name);
      const types = new Map(def?.fields ?? []);
      const byName = new Map(v.v);
      // The server walks a HashMap of all the type's fields and skips the null ones.
      const order = javaHashMapOrder((def?.fields ?? []).map(([f]) => f)).filter((f) =>
        byName.has(f)
      );
      return `{${
        order.map((f) => `${JSON.stringify(f)}:${encodeValue(types.get(f)!, byName.get(f)!, ctx)}`)
          .join(",")
      }}`;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Java formatting

/** `Double.toString(d)` (JDK 19+: shortest digits) for finite values. */
export function javaDoubleToString(d: number): string {
  return javaFloatingLayout(d, shortestDigits(d, 17, (x) => x));
}

/** `Float.toString(f)` for a finite float32 value. */
export function javaFloatToString(f: number): string {
  return javaFloatingLayout(f, shortestDigits(f, 9, Math.fround));
}

/** Shortest decimal digits (and exponent) that round back to `x` under `round`. */
function shortestDigits(
  x: number,
  maxDigits: number,
  round: (v: number) => number,
): { digits: string; exp: number } {
  if (x === 0) return { digits: "0", exp: 0 };
  const a = Math.abs(x);
  for (let p = 1; p <= maxDigits; p++) {
    const s = a.toExponential(p - 1);
    if (round(Number(s)) === a) {
      // JDK 19+: when one digit suffices, the closest of the 1- or 2-digit decimals is used
      // (Float.MIN_VALUE prints as 1.4E-45, not 1.0E-45).
      const two = p === 1 ? a.toExponential(1) : s;
      return splitExponential(round(Number(two)) === a ? two : s);
    }
  }
  return splitExponential(a.toExponential(maxDigits - 1));
}

function splitExponential(s: string): { digits: string; exp: number } {
  const [mant, e] = s.split("e") as [string, string];
  const digits = mant.replace(".", "").replace(/0+$/, "") || "0";
  return { digits, exp: Number(e) };
}

/** Java's layout: plain for 1e-3 <= |x| < 1e7 (at least one fraction digit), else `d.dddE±n`. */
function javaFloatingLayout(x: number, { digits, exp }: { digits: string; exp: number }): string {
  const sign = x < 0 || Object.is(x, -0) ? "-" : "";
  if (x === 0) return `${sign}0.0`;
  const a = Math.abs(x);
  if (a >= 1e-3 && a < 1e7) {
    if (exp >= 0) {
      const intPart = digits.slice(0, exp + 1).padEnd(exp + 1, "0");
      const frac = digits.slice(exp + 1) || "0";
      return `${sign}${intPart}.${frac}`;
    }
    return `${sign}0.${"0".repeat(-exp - 1)}${digits}`;
  }
  return `${sign}${digits[0]}.${digits.slice(1) || "0"}E${exp}`;
}

/** `Instant.toString()` for epoch milliseconds: UTC, `Z`, fraction only when non-zero. */
export function instantToString(ms: number): string {
  const d = new Date(ms);
  const y = d.getUTCFullYear();
  const year = y > 9999 ? `+${y}` : y < 0 ? `-${String(-y).padStart(4, "0")}` : String(y).padStart(
    4,
    "0",
  );
  const p2 = (n: number) => String(n).padStart(2, "0");
  const frac = d.getUTCMilliseconds() === 0
    ? ""
    : `.${String(d.getUTCMilliseconds()).padStart(3, "0")}`;
  return `${year}-${p2(d.getUTCMonth() + 1)}-${p2(d.getUTCDate())}T${p2(d.getUTCHours())}:${
    p2(d.getUTCMinutes())
  }:${p2(d.getUTCSeconds())}${frac}Z`;
}

/** `Instant.parse` (ISO_INSTANT, offsets allowed), truncated to milliseconds like CQL. */
export function parseInstant(s: string): number | undefined {
  const m =
    /^(\d{4}|[+-]\d{4,9})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{0,9}))?([Zz]|[+-]\d{2}(?::?\d{2}(?::?\d{2})?)?)$/
      .exec(s);
  if (!m) return undefined;
  const [y, mo, d, h, mi, se] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(Number) as number[];
  if (!validDate(y!, mo!, d!) || h! > 23 || mi! > 59 || se! > 60) return undefined;
  const date = new Date(0);
  date.setUTCFullYear(y!, mo! - 1, d!);
  date.setUTCHours(h!, mi!, Math.min(se!, 59), 0);
  let ms = date.getTime() + (se === 60 ? 1000 : 0);
  if (Number.isNaN(ms)) return undefined;
  ms += Math.floor(Number(`0.${m[7] ?? ""}0`) * 1000);
  const off = m[8]!;
  if (off !== "Z" && off !== "z") {
    const om = /^([+-])(\d{2}):?(\d{2})?:?(\d{2})?$/.exec(off)!;
    const secs = Number(om[2]) * 3600 + Number(om[3] ?? 0) * 60 + Number(om[4] ?? 0);
    if (Number(om[2]) > 18) return undefined;
    ms -= (om[1] === "-" ? -1 : 1) * secs * 1000;
  }
  return ms;
}

function validDate(y: number, m: number, d: number): boolean {
  if (m < 1 || m > 12 || d < 1) return false;
  const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1]!;
  return d <= days;
}

/** `LocalDate.parse` (ISO_LOCAL_DATE). */
export function parseLocalDate(s: string): CqlValue | undefined {
  const m = /^(\d{4}|-\d{4,9}|\+\d{5,9})-(\d{2})-(\d{2})$/.exec(s);
  if (!m) return undefined;
  const y = Number(m[1]);
  const mo = Number(m[2]);
  const d = Number(m[3]);
  if (!validDate(y, mo, d)) return undefined;
  return { k: "date", y, m: mo, d };
}

function localDateToString(v: { y: number; m: number; d: number }): string {
  const year = v.y > 9999 ? `+${v.y}` : v.y < 0 ? `-${String(-v.y).padStart(4, "0")}` : String(
    v.y,
  ).padStart(4, "0");
  return `${year}-${String(v.m).padStart(2, "0")}-${String(v.d).padStart(2, "0")}`;
}

/** `LocalTime.parse` (ISO_LOCAL_TIME) as nanoseconds of the day. */
export function parseLocalTime(s: string): bigint | undefined {
  const m = /^(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{0,9}))?)?$/.exec(s);
  if (!m) return undefined;
  const h = Number(m[1]);
  const mi = Number(m[2]);
  const se = Number(m[3] ?? 0);
  if (h > 23 || mi > 59 || se > 59) return undefined;
  const nanos = BigInt((m[4] ?? "").padEnd(9, "0") || "0");
  return (BigInt(h * 3600 + mi * 60 + se)) * 1_000_000_000n + nanos;
}

/** `LocalTime.toString()`: seconds left out when zero, fraction in groups of three digits. */
export function localTimeToString(nanosOfDay: bigint): string {
  const secs = Number(nanosOfDay / 1_000_000_000n);
  const nano = Number(nanosOfDay % 1_000_000_000n);
  const p2 = (n: number) => String(n).padStart(2, "0");
  let out = `${p2(Math.floor(secs / 3600))}:${p2(Math.floor(secs / 60) % 60)}`;
  if (secs % 60 > 0 || nano > 0) {
    out += `:${p2(secs % 60)}`;
    if (nano > 0) {
      if (nano % 1_000_000 === 0) out += `.${String(nano / 1_000_000).padStart(3, "0")}`;
      else if (nano % 1000 === 0) out += `.${String(nano / 1000).padStart(6, "0")}`;
      else out += `.${String(nano).padStart(9, "0")}`;
    }
  }
  return out;
}

const NANOS = {
  h: 3_600_000_000_000n,
  m: 60_000_000_000n,
  s: 1_000_000_000n,
  ms: 1_000_000n,
  us: 1000n,
  ns: 1n,
};

/**
 * `CqlDuration.from`: compact (`1h30m`, `1s500ms`), ISO-8601 with designators and whole seconds
 * only (`PT1H30M`), `P<n>W`, or `P0001-02-03T04:05:06`; a leading `-` negates.
 */
export function parseDuration(input: string): CqlValue {
  const negative = input.startsWith("-");
  const source = negative ? input.slice(1) : input;
  const fail = () => new CodecError(`Unable to convert '${source}' to a duration`);
  let months = 0;
  let days = 0;
  let nanos = 0n;
  let lastUnit = 0;
  const order = (unit: number, name: string) => {
    if (unit === lastUnit) {
      throw new CodecError(`Invalid duration. The ${name} are specified multiple times`);
    }
    if (unit < lastUnit) throw new CodecError(`Invalid duration. The units are out of order`);
    lastUnit = unit;
  };
  const add = (unit: string, n: bigint) => {
    switch (unit) {
      case "y":
        order(1, "years");
        months += Number(n) * 12;
        break;
      case "mo":
        order(2, "months");
        months += Number(n);
        break;
      case "w":
        order(3, "weeks");
        days += Number(n) * 7;
        break;
      case "d":
        order(4, "days");
        days += Number(n);
        break;
      case "h":
      case "m":
      case "s":
      case "ms":
      case "us":
      case "ns":
        order({ h: 5, m: 6, s: 7, ms: 8, us: 9, ns: 10 }[unit], unit);
        nanos += n * NANOS[unit];
        break;
      default:
        throw new CodecError(`Unknown duration symbol '${unit}'`);
    }
  };
  if (source.startsWith("P")) {
    if (source.endsWith("W")) {
      const m = /^P(\d+)W$/.exec(source);
      if (!m) throw fail();
      add("w", BigInt(m[1]!));
    } else if (source.includes("-")) {
      const m = /^P(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})$/.exec(source);
      if (!m) throw fail();
      ["y", "mo", "d", "h", "m", "s"].forEach((u, i) => add(u, BigInt(m[i + 1]!)));
    } else {
      const m = /^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/.exec(
        source,
      );
      if (!m) throw fail();
      ["y", "mo", "d", "h", "m", "s"].forEach((u, i) => {
        if (m[i + 1] !== undefined) add(u, BigInt(m[i + 1]!));
      });
    }
  } else {
    const re = /(\d+)(y|mo|w|d|h|s|ms|us|µs|ns|m)/iy;
    let pos = 0;
    let any = false;
    while (pos < source.length) {
      re.lastIndex = pos;
      const m = re.exec(source);
      if (!m) throw fail();
      any = true;
      add(m[2]!.toLowerCase().replace("µs", "us"), BigInt(m[1]!));
      pos = re.lastIndex;
    }
    if (!any) throw fail();
  }
  if (months > 2147483647 || days > 2147483647 || nanos > LONG_MAX) {
    throw new CodecError(
      "Invalid duration. The total number of months must be less or equal to 2147483647",
    );
  }
  return negative
    ? { k: "dur", months: -months, days: -days, nanos: -nanos }
    : { k: "dur", months, days, nanos };
}

/** CqlDurationConverter.toISO8601Duration: may print fractional seconds (`PT1.5S`). */
export function durationToIso(v: { months: number; days: number; nanos: bigint }): string {
  let { months, days, nanos } = v;
  const negative = months < 0 || days < 0 || nanos < 0n;
  let out = negative ? "-P" : "P";
  if (negative) {
    months = -months;
    days = -days;
    nanos = -nanos;
  }
  if (months > 0 || days > 0) {
    const years = Math.floor(months / 12);
    months %= 12;
    if (years > 0) out += `${years}Y`;
    if (months > 0) out += `${months}M`;
    if (days > 0) out += `${days}D`;
  }
  if (nanos === 0n) return out.length === 1 ? "PT0S" : out;
  out += "T";
  const hours = nanos / NANOS.h;
  if (hours > 0n) {
    out += `${hours}H`;
    nanos -= hours * NANOS.h;
  }
  const minutes = nanos / NANOS.m;
  if (minutes > 0n) {
    out += `${minutes}M`;
    nanos -= minutes * NANOS.m;
  }
  if (nanos > 0n) {
    const seconds = nanos / NANOS.s;
    out += String(seconds);
    const frac = nanos - seconds * NANOS.s;
    if (frac > 0n) out += `.${String(frac).padStart(9, "0").replace(/0+$/, "")}`;
    out += "S";
  }
  return out;
}

/** Canonical lowercase UUID text (`UUID.fromString` then `toString`). */
export function parseUuid(s: string): string | undefined {
  if (s.length > 36) return undefined;
  const parts = s.split("-");
  const widths = [8, 4, 4, 4, 12];
  if (parts.length !== 5) return undefined;
  const out: string[] = [];
  for (let i = 0; i < 5; i++) {
    const p = parts[i]!;
    if (!/^[0-9a-fA-F]+$/.test(p) || p.length > widths[i]!) return undefined;
    out.push(p.toLowerCase().padStart(widths[i]!, "0"));
  }
  return out.join("-");
}

/**
 * An IP address literal as `InetAddress.getHostAddress()` prints it. Host names are refused
 * (the real server would resolve them through DNS).
 */
export function parseInet(s: string): string | undefined {
  // The server decodes with java.net.InetAddress.getByName (stargate/data-api
  // service/operation/filters/table/codecs/JSONCodec.java inetAddressFromString): IPv4 in one to
  // four decimal parts, the last filling the remaining bytes ("127.1", "192.168.36095"), and a
  // host name it resolves; the only name a test can rely on is localhost.
  if (s === "localhost") return "127.0.0.1";
  if (/^\d+(\.\d+){0,3}$/.test(s)) {
    const parts = s.split(".").map(Number);
    const last = parts.pop()!;
    const lastBytes = 4 - parts.length;
    if (parts.some((p) => p > 255) || last >= 2 ** (8 * lastBytes)) return undefined;
    const bytes = [...parts];
    for (let i = lastBytes - 1; i >= 0; i--) bytes.push(Math.floor(last / 2 ** (8 * i)) % 256);
    return bytes.join(".");
  }
  const groups = parseIpv6(s.startsWith("[") && s.endsWith("]") ? s.slice(1, -1) : s);
  if (!groups) return undefined;
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return [groups[6]! >> 8, groups[6]! & 255, groups[7]! >> 8, groups[7]! & 255].join(".");
  }
  return groups.map((g) => g.toString(16)).join(":");
}

function parseIpv6(s: string): number[] | undefined {
  if (!/^[0-9a-fA-F:.]+$/.test(s)) return undefined;
  let tail: number[] = [];
  const v4 = /^(.*:)(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (v4) {
    const b = v4.slice(2).map(Number);
    if (b.some((x) => x > 255)) return undefined;
    tail = [(b[0]! << 8) | b[1]!, (b[2]! << 8) | b[3]!];
    s = v4[1]!.endsWith("::") ? v4[1]! : v4[1]!.slice(0, -1);
  }
  const halves = s.split("::");
  if (halves.length > 2) return undefined;
  const parse = (h: string) => (h === "" ? [] : h.split(":"));
  const head = parse(halves[0]!);
  const rest = halves.length === 2 ? parse(halves[1]!) : [];
  if ([...head, ...rest].some((g) => !/^[0-9a-fA-F]{1,4}$/.test(g))) return undefined;
  const nums = (a: string[]) => a.map((g) => parseInt(g, 16));
  const total = head.length + rest.length + tail.length;
  if (halves.length === 1) {
    return total === 8 ? [...nums(head), ...tail] : undefined;
  }
  if (total > 7) return undefined;
  return [...nums(head), ...new Array<number>(8 - total).fill(0), ...nums(rest), ...tail];
}

function inetBytes(text: string): Uint8Array {
  if (text.includes(".")) return Uint8Array.from(text.split(".").map(Number));
  const out = new Uint8Array(16);
  text.split(":").forEach((g, i) => {
    const n = parseInt(g, 16);
    out[i * 2] = n >> 8;
    out[i * 2 + 1] = n & 255;
  });
  return out;
}

/** Java `String.hashCode()`. */
export function javaStringHash(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(h, 31) + s.charCodeAt(i)) | 0;
  return h;
}

/**
 * Iteration order of a `java.util.HashMap` with default capacity after inserting `keys` in order:
 * the server builds rows (and UDT values) through such maps, so it is neither definition order
 * nor sorted.
 */
export function javaHashMapOrder(keys: string[]): string[] {
  let cap = 16;
  while (keys.length > cap * 0.75) cap *= 2;
  return keys.map((k, i) => {
    const h = javaStringHash(k);
    return { k, i, b: (h ^ (h >>> 16)) & (cap - 1) };
  }).sort((a, b) => a.b - b.b || a.i - b.i).map((e) => e.k);
}
