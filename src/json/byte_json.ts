/**
 * @module
 * A validating JSON scanner over UTF-8 bytes that never converts a value.
 *
 * astrabak must store documents exactly as the Data API sent them: `JSON.parse` rounds integers
 * beyond 2^53 and long decimals, and re-serialising changes key order and number spelling. This
 * scanner walks the bytes, checks the grammar (RFC 8259), and reports where values start and end, so
 * callers can slice documents out of a response without ever decoding them.
 */

/** Thrown when bytes are not valid JSON; `offset` is the byte position of the problem. */
export class JsonSyntaxError extends SyntaxError {
  /** Byte offset (relative to the scanned buffer) where the problem was found. */
  readonly offset: number;
  constructor(message: string, offset: number) {
    super(`${message} at byte ${offset}`);
    this.name = "JsonSyntaxError";
    this.offset = offset;
  }
}

// Byte values used by the grammar.
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;
const LOWER_E = 0x65;
const UPPER_E = 0x45;

/** The kind of the value at the scanner's position. */
export type JsonKind = "object" | "array" | "string" | "number" | "true" | "false" | "null";

/** Nesting depth beyond which input is refused (the Data API itself allows 16 in documents). */
export const MAX_JSON_DEPTH = 128;

/**
 * A cursor over a byte buffer. Every method validates what it passes over and throws
 * {@linkcode JsonSyntaxError} on the first violation. Reads past the end yield `-1`, which no rule
 * accepts, so truncated input always fails.
 */
export class ByteJsonScanner {
  readonly bytes: Uint8Array;
  /** Current byte position. */
  pos = 0;
  /** Set when whitespace was skipped anywhere outside strings since the last reset. */
  sawWhitespace = false;

  constructor(bytes: Uint8Array) {
    this.bytes = bytes;
  }

  /** Byte at `p`, or -1 past the end. */
  at(p: number): number {
    return this.bytes[p] ?? -1;
  }

  fail(message: string, p = this.pos): never {
    throw new JsonSyntaxError(message, p);
  }

  /** Skips insignificant whitespace and returns the next byte (or -1 at the end). */
  skipWs(): number {
    const b = this.bytes;
    let p = this.pos;
    let c = b[p] ?? -1;
    if (isWs(c)) {
      this.sawWhitespace = true;
      do c = b[++p] ?? -1; while (isWs(c));
      this.pos = p;
    }
    return c;
  }

  /** Consumes `byte` after optional whitespace, or fails naming what was expected. */
  expect(byte: number, what: string): void {
    if (this.skipWs() !== byte) this.fail(`Expected ${what}`);
    this.pos++;
  }

  /** The kind of value starting at the next non-whitespace byte. */
  peekKind(): JsonKind {
    const c = this.skipWs();
    switch (c) {
      case LBRACE:
        return "object";
      case LBRACKET:
        return "array";
      case QUOTE:
        return "string";
      case 0x74:
        return "true";
      case 0x66:
        return "false";
      case 0x6e:
        return "null";
      default:
        if (c === MINUS || (c >= ZERO && c <= NINE)) return "number";
        return c === -1 ? this.fail("Unexpected end of input") : this.fail("Unexpected byte");
    }
  }

  /** Skips one complete value of any kind; returns its kind. */
  skipValue(depth = 0): JsonKind {
    const kind = this.peekKind();
    switch (kind) {
      case "object":
        this.#skipObject(depth + 1);
        break;
      case "array":
        this.#skipArray(depth + 1);
        break;
      case "string":
        this.skipString();
        break;
      case "number":
        this.skipNumber();
        break;
      default:
        this.#skipLiteral(kind);
    }
    return kind;
  }

  /**
   * Skips a string whose opening quote is at `pos`; returns true when it contained escapes (then
   * its raw bytes differ from its value).
   */
  skipString(): boolean {
    const b = this.bytes;
    let p = this.pos + 1;
    let escaped = false;
    for (;;) {
      const c = b[p] ?? -1;
      if (c === QUOTE) break;
      if (c === BACKSLASH) {
        escaped = true;
        const e = b[p + 1] ?? -1;
        if (e === 0x75) { // \uXXXX
          for (let i = 2; i < 6; i++) {
            if (!isHex(b[p + i] ?? -1)) this.fail("Invalid \\u escape in string", p);
          }
          p += 6;
        } else if (
          e === QUOTE || e === BACKSLASH || e === 0x2f || e === 0x62 || e === 0x66 || e === 0x6e ||
          e === 0x72 || e === 0x74
        ) {
          p += 2;
        } else {
          this.fail("Invalid escape in string", p);
        }
      } else if (c < 0x20) {
        this.fail(c === -1 ? "Unterminated string" : "Control character in string", p);
      } else {
        p++;
      }
    }
    this.pos = p + 1;
    return escaped;
  }

  /** Skips a number at `pos`, enforcing the JSON number grammar exactly. */
  skipNumber(): void {
    const b = this.bytes;
    let p = this.pos;
    let c = b[p] ?? -1;
    if (c === MINUS) c = b[++p] ?? -1;
    if (c === ZERO) {
      c = b[++p] ?? -1;
    } else if (c > ZERO && c <= NINE) {
      do c = b[++p] ?? -1; while (c >= ZERO && c <= NINE);
    } else {
      this.fail("Invalid number", p);
    }
    if (c === DOT) {
      c = b[++p] ?? -1;
      if (!(c >= ZERO && c <= NINE)) this.fail("Invalid number fraction", p);
      do c = b[++p] ?? -1; while (c >= ZERO && c <= NINE);
    }
    if (c === LOWER_E || c === UPPER_E) {
      c = b[++p] ?? -1;
      if (c === PLUS || c === MINUS) c = b[++p] ?? -1;
      if (!(c >= ZERO && c <= NINE)) this.fail("Invalid number exponent", p);
      do c = b[++p] ?? -1; while (c >= ZERO && c <= NINE);
    }
    this.pos = p;
  }

  /**
   * Walks the members of an object whose `{` is next, calling `onMember(keyStart, keyEnd,
   * keyEscaped)` with the scanner positioned at the member's value; the callback must consume the
   * value. Returns the position just after the closing `}`.
   */
  walkObject(
    depth: number,
    onMember: (keyStart: number, keyEnd: number, keyEscaped: boolean) => void,
  ): number {
    if (depth > MAX_JSON_DEPTH) this.fail("JSON nested too deeply");
    this.expect(LBRACE, "'{'");
    if (this.skipWs() === RBRACE) return ++this.pos;
    for (;;) {
      if (this.skipWs() !== QUOTE) this.fail("Expected a member name");
      const keyStart = this.pos + 1;
      const escaped = this.skipString();
      const keyEnd = this.pos - 1;
      this.expect(COLON, "':'");
      this.skipWs();
      onMember(keyStart, keyEnd, escaped);
      const c = this.skipWs();
      this.pos++;
      if (c === RBRACE) return this.pos;
      if (c !== COMMA) this.fail("Expected ',' or '}'", this.pos - 1);
    }
  }

  /**
   * Walks the elements of an array whose `[` is next, calling `onElement(index)` with the scanner
   * at the element; the callback must consume it. Returns the element count.
   */
  walkArray(depth: number, onElement: (index: number) => void): number {
    if (depth > MAX_JSON_DEPTH) this.fail("JSON nested too deeply");
    this.expect(LBRACKET, "'['");
    if (this.skipWs() === RBRACKET) {
      this.pos++;
      return 0;
    }
    for (let i = 0;; i++) {
      this.skipWs();
      onElement(i);
      const c = this.skipWs();
      this.pos++;
      if (c === RBRACKET) return i + 1;
      if (c !== COMMA) this.fail("Expected ',' or ']'", this.pos - 1);
    }
  }

  /**
   * Consumes an array (`[` next) and returns its length if every element is a number, or -1 if
   * any is not (the array is still fully validated). A tight loop: vectors are most of the bytes.
   */
  numberArrayLength(depth: number): number {
    if (depth > MAX_JSON_DEPTH) this.fail("JSON nested too deeply");
    const b = this.bytes;
    this.expect(LBRACKET, "'['");
    if (this.skipWs() === RBRACKET) {
      this.pos++;
      return 0;
    }
    let n = 0;
    let allNumbers = true;
    for (;;) {
      let c = b[this.pos] ?? -1;
      if (isWs(c)) c = this.skipWs();
      if (c === MINUS || (c >= ZERO && c <= NINE)) this.skipNumber();
      else {
        this.skipValue(depth);
        allNumbers = false;
      }
      n++;
      let d = b[this.pos] ?? -1;
      if (isWs(d)) d = this.skipWs();
      this.pos++;
      if (d === RBRACKET) return allNumbers ? n : -1;
      if (d !== COMMA) this.fail("Expected ',' or ']'", this.pos - 1);
    }
  }

  /** Decodes the string at `pos` (consuming it) into a JS string. */
  readString(): string {
    const start = this.pos;
    const escaped = this.skipString();
    return decodeStringBytes(this.bytes, start + 1, this.pos - 1, escaped);
  }

  /** Requires that only whitespace remains. */
  expectEnd(): void {
    if (this.skipWs() !== -1) this.fail("Unexpected data after the JSON value");
  }

  #skipObject(depth: number): void {
    this.walkObject(depth, () => {
      this.skipValue(depth);
    });
  }

  #skipArray(depth: number): void {
    this.numberArrayLength(depth);
  }

  #skipLiteral(kind: "true" | "false" | "null"): void {
    const b = this.bytes;
    const p = this.pos;
    for (let i = 0; i < kind.length; i++) {
      if (b[p + i] !== kind.charCodeAt(i)) this.fail(`Invalid literal, expected ${kind}`, p);
    }
    this.pos = p + kind.length;
  }
}

function isWs(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

function isHex(c: number): boolean {
  return (c >= ZERO && c <= NINE) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Decodes the raw bytes between a string's quotes into its value. */
export function decodeStringBytes(
  bytes: Uint8Array,
  start: number,
  end: number,
  escaped: boolean,
): string {
  if (!escaped) {
    let ascii = true;
    for (let i = start; i < end; i++) {
      if ((bytes[i] ?? 0) >= 0x80) {
        ascii = false;
        break;
      }
    }
    if (ascii && end - start < 256) {
      return String.fromCharCode(...bytes.subarray(start, end));
    }
    return utf8.decode(bytes.subarray(start, end));
  }
  // Escapes present: let the platform decode the quoted string (it validated already).
  return JSON.parse(utf8.decode(bytes.subarray(start - 1, end + 1))) as string;
}

/** Removes whitespace outside strings from bytes already known to be valid JSON. */
export function stripWhitespace(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.length);
  let n = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i]!;
    if (inString) {
      out[n++] = c;
      if (c === BACKSLASH) out[n++] = bytes[++i]!;
      else if (c === QUOTE) inString = false;
    } else if (isWs(c)) {
      continue;
    } else {
      if (c === QUOTE) inString = true;
      out[n++] = c;
    }
  }
  return out.slice(0, n);
}
