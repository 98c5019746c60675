/**
 * @module
 * A lossless view of one compact JSON document for the drill: numbers and strings stay as their
 * exact text (digits, escapes), so a table row can be put in a canonical member order and two
 * documents can be compared down to the first differing field path (`meta.price`, `$vector[3]`).
 * Only for documents already parsed once by the read pipeline or received from the server.
 */

/** A JSON value with its exact text span. */
export type JsonNode =
  | { t: "obj"; m: Array<[string, JsonNode]>; start: number; end: number }
  | { t: "arr"; a: JsonNode[]; start: number; end: number }
  | { t: "raw"; start: number; end: number };

const decoder = new TextDecoder();

/** Parses compact JSON text (no whitespace between tokens is required, some is tolerated). */
export function parseJson(text: string): JsonNode {
  let i = 0;
  const ws = () => {
    while (i < text.length && " \t\r\n".includes(text[i]!)) i++;
  };
  const str = (): string => {
    const start = i;
    i++;
    while (text[i] !== '"') i += text[i] === "\\" ? 2 : 1;
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  const value = (): JsonNode => {
    ws();
    const start = i;
    const c = text[i];
    if (c === "{") {
      i++;
      const m: Array<[string, JsonNode]> = [];
      ws();
      if (text[i] === "}") {
        i++;
        return { t: "obj", m, start, end: i };
      }
      for (;;) {
        ws();
        const k = str();
        ws();
        i++; // :
        m.push([k, value()]);
        ws();
        if (text[i++] === "}") return { t: "obj", m, start, end: i };
      }
    }
    if (c === "[") {
      i++;
      const a: JsonNode[] = [];
      ws();
      if (text[i] === "]") {
        i++;
        return { t: "arr", a, start, end: i };
      }
      for (;;) {
        a.push(value());
        ws();
        if (text[i++] === "]") return { t: "arr", a, start, end: i };
      }
    }
    if (c === '"') {
      str();
      return { t: "raw", start, end: i };
    }
    while (i < text.length && !",]} \t\r\n".includes(text[i]!)) i++;
    return { t: "raw", start, end: i };
  };
  return value();
}

/** The document's text and tree. */
export function parseBytes(bytes: Uint8Array): { text: string; node: JsonNode } {
  const text = decoder.decode(bytes);
  return { text, node: parseJson(text) };
}

/**
 * A table row with its top-level members in name order (the server answers a row's columns in
 * its own map order, which carries no meaning), values byte for byte as they are.
 */
export function canonicalRow(bytes: Uint8Array): string {
  const { text, node } = parseBytes(bytes);
  if (node.t !== "obj") return text;
  const members = [...node.m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${
    members.map(([k, v]) => `${JSON.stringify(k)}:${text.slice(v.start, v.end)}`).join(",")
  }}`;
}

/** The primary key of a table row as text, `{"a":…,"b":…}` in key order (values as stored). */
export function rowKey(bytes: Uint8Array, keys: readonly string[]): string {
  const { text, node } = parseBytes(bytes);
  const get = (k: string) => node.t === "obj" ? node.m.find(([n]) => n === k)?.[1] : undefined;
  return `{${
    keys.map((k) => {
      const v = get(k);
      return `${JSON.stringify(k)}:${v ? text.slice(v.start, v.end) : "null"}`;
    }).join(",")
  }}`;
}

/** The raw text of a top-level member, or null. */
export function memberText(bytes: Uint8Array, name: string): string | null {
  const { text, node } = parseBytes(bytes);
  if (node.t !== "obj") return null;
  const v = node.m.find(([n]) => n === name)?.[1];
  return v ? text.slice(v.start, v.end) : null;
}

/** Where two documents first differ, and how. */
export interface FieldDifference {
  /** `meta.price`, `$vector[3]`, `tags[0]`; "" for the document as a whole. */
  path: string;
  detail: string;
}

/**
 * The first field path where `got` differs from `want` (depth first, in `want`'s member order;
 * members only `got` has come after). `orderMatters` false compares top-level members by name
 * only (table rows). Null when equal.
 */
export function firstDifference(
  want: Uint8Array,
  got: Uint8Array,
  orderMatters = true,
): FieldDifference | null {
  const a = parseBytes(want);
  const b = parseBytes(got);
  const text = (side: { text: string }, n: JsonNode) => side.text.slice(n.start, n.end);
  const short = (s: string) => (s.length > 60 ? `${s.slice(0, 57)}…` : s);
  const join = (path: string, k: string) => (path === "" ? k : `${path}.${k}`);
  const walk = (x: JsonNode, y: JsonNode, path: string, top: boolean): FieldDifference | null => {
    if (x.t === "obj" && y.t === "obj") {
      for (const [k, xv] of x.m) {
        const yv = y.m.find(([n]) => n === k)?.[1];
        if (!yv) return { path: join(path, k), detail: "missing in what was read back" };
        const d = walk(xv, yv, join(path, k), false);
        if (d) return d;
      }
      for (const [k] of y.m) {
        if (!x.m.some(([n]) => n === k)) {
          return { path: join(path, k), detail: "read back, not in the snapshot" };
        }
      }
      if ((orderMatters || !top) && x.m.some(([k], i) => y.m[i]?.[0] !== k)) {
        return { path, detail: "members in another order" };
      }
      return null;
    }
    if (x.t === "arr" && y.t === "arr") {
      const n = Math.min(x.a.length, y.a.length);
      for (let i = 0; i < n; i++) {
        const d = walk(x.a[i]!, y.a[i]!, `${path}[${i}]`, false);
        if (d) return d;
      }
      if (x.a.length !== y.a.length) {
        return {
          path: `${path}[${n}]`,
          detail: `${x.a.length} elements in the snapshot, ${y.a.length} read back`,
        };
      }
      return null;
    }
    const xt = text(a, x);
    const yt = text(b, y);
    if (x.t === y.t && xt === yt) return null;
    return { path, detail: `snapshot ${short(xt)}, read back ${short(yt)}` };
  };
  return walk(a.node, b.node, "", true);
}
