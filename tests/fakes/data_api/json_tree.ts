/**
 * @module
 * The fake Data API's own JSON model: a tree that keeps every number's exact text and every
 * object's key order, like the real server's Jackson tree with BigDecimal numbers. It is written
 * independently of astrabak's byte scanner so a bug in one cannot hide a bug in the other.
 */

/** A JSON value with numbers kept as text and objects as ordered member lists. */
export type JNode =
  | { t: "obj"; m: Array<[string, JNode]> }
  | { t: "arr"; a: JNode[] }
  | { t: "str"; v: string }
  | { t: "num"; raw: string }
  | { t: "bool"; v: boolean }
  | { t: "null" };

/** Thrown for input that is not JSON. */
export class TreeSyntaxError extends Error {}

const NUM = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const WS = /[ \t\n\r]*/y;

/** Parses JSON text into a {@linkcode JNode}. */
export function parseTree(text: string, maxDepth = 64): JNode {
  let i = 0;
  const ws = () => {
    WS.lastIndex = i;
    WS.test(text);
    i = WS.lastIndex;
  };
  const fail = (what: string): never => {
    throw new TreeSyntaxError(`${what} at position ${i}`);
  };
  const str = (): string => {
    // Find the closing quote, honouring escapes, then let JSON.parse decode the token.
    let j = i + 1;
    for (;;) {
      const c = text.charCodeAt(j);
      if (Number.isNaN(c)) fail("unterminated string");
      if (c === 0x22) break;
      if (c === 0x5c) j += 2;
      else j++;
    }
    const token = text.slice(i, j + 1);
    i = j + 1;
    try {
      return JSON.parse(token) as string;
    } catch {
      return fail("invalid string");
    }
  };
  const value = (depth: number): JNode => {
    if (depth > maxDepth) fail("too deep");
    ws();
    const c = text[i];
    if (c === "{") {
      i++;
      const m: Array<[string, JNode]> = [];
      ws();
      if (text[i] === "}") {
        i++;
        return { t: "obj", m };
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail("expected key");
        const k = str();
        ws();
        if (text[i++] !== ":") fail("expected ':'");
        m.push([k, value(depth + 1)]);
        ws();
        const d = text[i++];
        if (d === "}") return { t: "obj", m };
        if (d !== ",") fail("expected ',' or '}'");
      }
    }
    if (c === "[") {
      i++;
      const a: JNode[] = [];
      ws();
      if (text[i] === "]") {
        i++;
        return { t: "arr", a };
      }
      for (;;) {
        a.push(value(depth + 1));
        ws();
        const d = text[i++];
        if (d === "]") return { t: "arr", a };
        if (d !== ",") fail("expected ',' or ']'");
      }
    }
    if (c === '"') return { t: "str", v: str() };
    if (text.startsWith("true", i)) {
      i += 4;
      return { t: "bool", v: true };
    }
    if (text.startsWith("false", i)) {
      i += 5;
      return { t: "bool", v: false };
    }
    if (text.startsWith("null", i)) {
      i += 4;
      return { t: "null" };
    }
    NUM.lastIndex = i;
    const mm = NUM.exec(text);
    if (!mm) return fail("unexpected character");
    i = NUM.lastIndex;
    return { t: "num", raw: mm[0] };
  };
  const root = value(0);
  ws();
  if (i !== text.length) fail("trailing data");
  return root;
}

/** Serialises compactly (strings re-escaped as the server's JSON writer would; numbers verbatim). */
export function stringifyTree(n: JNode): string {
  switch (n.t) {
    case "obj":
      return "{" + n.m.map(([k, v]) => JSON.stringify(k) + ":" + stringifyTree(v)).join(",") + "}";
    case "arr":
      return "[" + n.a.map(stringifyTree).join(",") + "]";
    case "str":
      return JSON.stringify(n.v);
    case "num":
      return n.raw;
    case "bool":
      return n.v ? "true" : "false";
    case "null":
      return "null";
  }
}

/** Member `key` of an object node. */
export function get(n: JNode | undefined, key: string): JNode | undefined {
  if (!n || n.t !== "obj") return undefined;
  for (const [k, v] of n.m) if (k === key) return v;
  return undefined;
}

/** Converts a tree to a plain JS value (numbers via Number: only for options, never documents). */
export function toPlain(n: JNode): unknown {
  switch (n.t) {
    case "obj":
      return Object.fromEntries(n.m.map(([k, v]) => [k, toPlain(v)]));
    case "arr":
      return n.a.map(toPlain);
    case "str":
      return n.v;
    case "num":
      return Number(n.raw);
    case "bool":
      return n.v;
    case "null":
      return null;
  }
}

/** Builds an object node from plain key/value pairs (values already nodes). */
export function obj(members: Array<[string, JNode]>): JNode {
  return { t: "obj", m: members };
}
