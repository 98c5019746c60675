/**
 * @module
 * A validating JSON scanner over UTF-8 bytes that never converts a value.
 *
 * astrabak must store documents exactly as the Data API sent them: `JSON.parse` rounds integers
 * beyond 2^53 and long decimals, and re-serialising changes key order and number spelling. This
 * scanner walks the bytes, checks the grammar (RFC 8259), and reports where values start and end, so
 * callers can slice documents out of a response without ever decoding them.
 */

import { base64Length, ejsonValueProblem } from "./ejson.ts";
import { type IndexLayer, type IndexProjection, memberIndexing } from "./indexing.ts";

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
 * The structural rules the Data API applies to every collection document it is asked to insert,
 * whatever the collection's indexing options (stargate/data-api
 * `service/shredding/collections/DocumentShredder.java` `FullDocValidator`, limits from
 * `config/DocumentLimitsConfig.java`, number length from `api/configuration/
 * ObjectMapperConfiguration.java` `StreamReadConstraints.maxNumberLength`). Each of these limits has
 * only ever been raised since 2023, so a document any server version stored passes them.
 */
export interface DocumentRules {
  /** Nesting depth, the document itself being 1 (`max-depth`, 16; 8 before v1.0.0-BETA-9). */
  maxDepth: number;
  /** Characters of one number: digits for integers, the whole token otherwise (100; 50 before). */
  maxNumberLength: number;
  /** Characters of a dotted property path, `a.b.c` (`max-property-path-length`, 1000; 250 before). */
  maxPathLength: number;
  /**
   * Whether to apply the limits on indexed values below (`DocumentShredder.
   * IndexableValueValidator`, and `WritableShreddedDocument.shredObject` for EJSON values) to the
   * indexed part of the document: all of it, or what `projection` selects.
   */
  indexed: boolean;
  /** The collection's `indexing` allow or deny list (absent or null: everything is indexed). */
  projection?: IndexProjection | null;
  /** UTF-8 bytes of an indexed string (`max-string-length-in-bytes`, 8000; 16,000 chars before). */
  maxStringBytes: number;
  /** Elements of an indexed array (`max-array-length`, 1000), of `$vector` (4096). */
  maxArrayLength: number;
  maxVectorLength: number;
  /** Members of one indexed object (`max-object-properties`, 1000). */
  maxObjectProperties: number;
  /** Members of all indexed objects of a document, itself included (`max-doc-properties`, 2000). */
  maxDocumentProperties: number;
}

/** The Data API's defaults, which Astra and HCD document as their limits. */
export const DATA_API_DOCUMENT_RULES: DocumentRules = {
  maxDepth: 16,
  maxNumberLength: 100,
  maxPathLength: 1000,
  indexed: true,
  maxStringBytes: 8000,
  maxArrayLength: 1000,
  maxVectorLength: 4096,
  maxObjectProperties: 1000,
  maxDocumentProperties: 2000,
};

/**
 * Valid JSON that the Data API would refuse to insert; `code` is the server's error code (or a
 * short description when the server's JSON parser refuses it before any code is assigned).
 */
export class DocumentRuleError extends SyntaxError {
  readonly code: string;
  constructor(message: string, code: string) {
    super(`${message} (${code})`);
    this.name = "DocumentRuleError";
    this.code = code;
  }
}

/** Single-key wrapper objects the Data API reads as typed values (`JsonExtensionType.java`). */
const EJSON_NAMES = new Set(["$date", "$binary", "$objectId", "$uuid"]);
/** Top-level names that may start with `$` (`FullDocValidator.validateObjectKey`). */
const TOP_LEVEL_DOLLAR_NAMES = new Set(["$vector", "$vectorize", "$lexical"]);
/** What the member holding a value is, for the limits on indexed values. */
const PLAIN = 0;
/** `$vectorize`, `$lexical`, `$binary`: strings of any length (`validateStringValue`). */
const UNLIMITED_STRING = 1;
/** `$vector`: a longer array (`validateArrayValue`). */
const VECTOR = 2;
const REFERRERS = new Map([
  ["$vectorize", UNLIMITED_STRING],
  ["$lexical", UNLIMITED_STRING],
  ["$binary", UNLIMITED_STRING],
  ["$vector", VECTOR],
]);
const utf8Encoder = new TextEncoder();

/** Above this many members an object's names are checked for duplicates through a Set. */
const PAIRWISE_KEY_LIMIT = 16;

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
  #rules: DocumentRules | null = null;
  /** Limits of the hot paths, cached from the rules (no rules: the scanner's own). */
  #maxNumberLength = Infinity;
  #maxDepth = MAX_JSON_DEPTH;

  /**
   * When set, also enforce the Data API's document rules (field names, depth, path and number
   * lengths) on everything scanned, failing with {@linkcode DocumentRuleError}.
   */
  get rules(): DocumentRules | null {
    return this.#rules;
  }
  set rules(rules: DocumentRules | null) {
    this.#rules = rules;
    this.#maxNumberLength = rules?.maxNumberLength ?? Infinity;
    this.#maxDepth = Math.min(rules?.maxDepth ?? MAX_JSON_DEPTH, MAX_JSON_DEPTH);
    this.#projection = rules?.projection ?? null;
    this.#layer = this.#projection?.root ?? null;
    this.#included = true;
  }

  /** Runs `scan` with the document rules off (the `_id`, which has rules of its own). */
  withoutRules<T>(scan: () => T): T {
    const rules = this.#rules;
    const maxNumberLength = this.#maxNumberLength;
    const maxDepth = this.#maxDepth;
    this.#rules = null;
    this.#maxNumberLength = Infinity;
    this.#maxDepth = MAX_JSON_DEPTH;
    try {
      return scan();
    } finally {
      this.#rules = rules;
      this.#maxNumberLength = maxNumberLength;
      this.#maxDepth = maxDepth;
    }
  }

  /** Whether the value being scanned is indexed (see {@linkcode DocumentRules.projection}). */
  get indexedHere(): boolean {
    return this.#included;
  }
  /** Name spans (start, end) of the objects being walked, innermost last: duplicate detection. */
  readonly #keys: number[] = [];
  /** Members of indexed objects counted so far (see {@linkcode DocumentRules.indexed}). */
  indexedProperties = 0;
  /** What holds the value being scanned: PLAIN, UNLIMITED_STRING or VECTOR. */
  #referrer = PLAIN;
  /** What the member whose name was just checked is. */
  #nextReferrer = PLAIN;
  #projection: IndexProjection | null = null;
  /** Position in the projection's path tree (null: decided for everything below). */
  #layer: IndexLayer | null = null;
  /** Whether the value being scanned is in the indexed part of the document. */
  #included = true;

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

  /**
   * Skips one complete value of any kind; returns its kind. `path` is the length of the dotted
   * path of the member holding it (for {@linkcode DocumentRules.maxPathLength}).
   */
  skipValue(depth = 0, path = 0): JsonKind {
    const kind = this.peekKind();
    switch (kind) {
      case "object":
        this.#skipObject(depth + 1, path);
        break;
      case "array":
        this.numberArrayLength(depth + 1, path);
        break;
      case "string":
        this.skipString(true);
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
  skipString(value = false): boolean {
    const b = this.bytes;
    const start = this.pos + 1;
    let p = start;
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
      } else if (c < 0x80) {
        p++;
      } else {
        p = this.#skipUtf8(p);
      }
    }
    this.pos = p + 1;
    const rules = this.rules;
    // Escapes only shrink a string, so only long ones need measuring.
    if (
      value && rules?.indexed && p - start > rules.maxStringBytes && this.#referrer === PLAIN &&
      this.#included
    ) {
      const bytes = escaped
        ? utf8Encoder.encode(decodeStringBytes(b, start, p, true)).length
        : p - start;
      if (bytes > rules.maxStringBytes) {
        throw new DocumentRuleError(
          `a string is ${bytes} bytes long, over the ${rules.maxStringBytes} bytes an indexed string may have`,
          "SHRED_DOC_LIMIT_VIOLATION",
        );
      }
    }
    return escaped;
  }

  /**
   * Checks the multi-byte UTF-8 sequence starting at `p` (RFC 3629: no overlong forms, no
   * surrogates, nothing above U+10FFFF) and returns the position after it. The Data API's parser
   * refuses invalid UTF-8, and a manifest promises `encoding: utf-8`.
   */
  #skipUtf8(p: number): number {
    const b = this.bytes;
    const c = b[p]!;
    let n: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) n = 1;
    else if (c >= 0xe0 && c <= 0xef) {
      n = 2;
      if (c === 0xe0) lo = 0xa0;
      else if (c === 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 3;
      if (c === 0xf0) lo = 0x90;
      else if (c === 0xf4) hi = 0x8f;
    } else return this.fail("Invalid UTF-8 in string", p);
    const d = b[p + 1] ?? -1;
    if (d < lo || d > hi) this.fail("Invalid UTF-8 in string", p);
    for (let i = 2; i <= n; i++) {
      const e = b[p + i] ?? -1;
      if (e < 0x80 || e > 0xbf) this.fail("Invalid UTF-8 in string", p);
    }
    return p + n + 1;
  }

  /** Skips a number at `pos`, enforcing the JSON number grammar exactly. */
  skipNumber(): void {
    const b = this.bytes;
    const start = this.pos;
    let p = start;
    let integral = true;
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
      integral = false;
      c = b[++p] ?? -1;
      if (!(c >= ZERO && c <= NINE)) this.fail("Invalid number fraction", p);
      do c = b[++p] ?? -1; while (c >= ZERO && c <= NINE);
    }
    if (c === LOWER_E || c === UPPER_E) {
      integral = false;
      c = b[++p] ?? -1;
      if (c === PLUS || c === MINUS) c = b[++p] ?? -1;
      if (!(c >= ZERO && c <= NINE)) this.fail("Invalid number exponent", p);
      do c = b[++p] ?? -1; while (c >= ZERO && c <= NINE);
    }
    this.pos = p;
    if (p - start > this.#maxNumberLength) this.#checkNumberLength(start, p, integral);
  }

  #checkNumberLength(start: number, end: number, integral: boolean): void {
    // Jackson counts the digits of an integer, the whole token of anything else.
    const length = integral && this.bytes[start] === MINUS ? end - start - 1 : end - start;
    if (length > this.#maxNumberLength) {
      throw new DocumentRuleError(
        `a number has ${length} characters, over the ${this.#maxNumberLength} the Data API's parser accepts`,
        "number too long",
      );
    }
  }

  /**
   * Walks the members of an object whose `{` is next, calling `onMember(keyStart, keyEnd,
   * keyEscaped, childPath)` with the scanner positioned at the member's value; the callback must
   * consume the value (passing `childPath` on to {@linkcode skipValue}). Refuses a name that
   * appears twice (the Data API parses with Jackson's STRICT_DUPLICATE_DETECTION, and which of two
   * values a reader keeps is undefined). Returns the position just after the closing `}`.
   */
  walkObject(
    depth: number,
    onMember: (keyStart: number, keyEnd: number, keyEscaped: boolean, childPath: number) => void,
    path = 0,
  ): number {
    this.#checkDepth(depth);
    this.expect(LBRACE, "'{'");
    if (this.skipWs() === RBRACE) return ++this.pos;
    const keys = this.#keys;
    const base = keys.length;
    const rules = this.rules;
    let names: Set<string> | null = null;
    let count = 0;
    /** A first name starting with `$`: allowed only as a one-member EJSON wrapper. */
    let dollar: string | null = null;
    let firstValue = -1;
    let firstIncluded = true;
    let included = 0;
    try {
      for (;;) {
        if (this.skipWs() !== QUOTE) this.fail("Expected a member name");
        const keyStart = this.pos + 1;
        const escaped = this.skipString();
        const keyEnd = this.pos - 1;
        if (names === null && (escaped || count >= PAIRWISE_KEY_LIMIT)) {
          names = new Set();
          for (let i = base; i < keys.length; i += 2) {
            names.add(decodeStringBytes(this.bytes, keys[i]!, keys[i + 1]!, true));
          }
        }
        if (names !== null) {
          const name = decodeStringBytes(this.bytes, keyStart, keyEnd, escaped);
          if (names.has(name)) this.#duplicate(keyStart);
          names.add(name);
        } else if (this.#seen(base, keyStart, keyEnd)) this.#duplicate(keyStart);
        keys.push(keyStart, keyEnd);
        if (dollar !== null) this.#badFieldName(dollar);
        let childPath = path;
        if (rules) {
          const checked = this.#checkName(depth, path, keyStart, keyEnd, escaped, count === 0);
          if (typeof checked === "string") dollar = checked;
          else childPath = checked;
        }
        this.expect(COLON, "':'");
        this.skipWs();
        if (count === 0) firstValue = this.pos;
        const outer = this.#referrer;
        const outerIncluded = this.#included;
        const outerLayer = this.#layer;
        if (outerLayer !== null) {
          const m = memberIndexing(
            this.#projection!,
            outerLayer,
            decodeStringBytes(this.bytes, keyStart, keyEnd, escaped),
          );
          this.#included = m.included;
          this.#layer = m.layer;
        }
        if (this.#included) included++;
        if (count === 0) firstIncluded = this.#included;
        this.#referrer = this.#nextReferrer;
        this.#nextReferrer = PLAIN;
        onMember(keyStart, keyEnd, escaped, childPath);
        this.#referrer = outer;
        this.#included = outerIncluded;
        this.#layer = outerLayer;
        count++;
        const valueEnd = this.pos;
        const c = this.skipWs();
        this.pos++;
        if (c === RBRACE) {
          if (dollar !== null) this.#checkWrapper(dollar, firstValue, valueEnd, firstIncluded);
          if (rules?.indexed && this.#included) this.#countProperties(included);
          return this.pos;
        }
        if (c !== COMMA) this.fail("Expected ',' or '}'", this.pos - 1);
      }
    } finally {
      keys.length = base;
    }
  }

  /** True when the name at `start..end` equals one of this object's earlier names (raw bytes). */
  #seen(base: number, start: number, end: number): boolean {
    const b = this.bytes;
    const keys = this.#keys;
    const len = end - start;
    for (let i = base; i < keys.length; i += 2) {
      const s = keys[i]!;
      if (keys[i + 1]! - s !== len) continue;
      let j = 0;
      while (j < len && b[s + j] === b[start + j]) j++;
      if (j === len) return true;
    }
    return false;
  }

  #duplicate(keyStart: number): never {
    const name = decodeStringBytes(this.bytes, keyStart, this.pos - 1, true);
    return this.fail(`Duplicate member name ${JSON.stringify(name)}`, keyStart - 1);
  }

  /**
   * Applies the Data API's field-name rules to one member name: not empty, not starting with `$`
   * (except `$vector`, `$vectorize`, `$lexical` at the top and EJSON wrappers), dotted path within
   * the limit. `_id` at the top is exempt (its value is checked as a document id). Returns the
   * path length for the member's value, or the name when it starts with `$` and may still turn
   * out to be a one-member wrapper (`first`).
   */
  #checkName(
    depth: number,
    path: number,
    start: number,
    end: number,
    escaped: boolean,
    first: boolean,
  ): number | string {
    const b = this.bytes;
    let length = end - start;
    let name: string | null = null;
    if (escaped) name = decodeStringBytes(b, start, end, true);
    else {
      for (let i = start; i < end; i++) {
        if (b[i]! >= 0x80) {
          name = decodeStringBytes(b, start, end, false);
          break;
        }
      }
    }
    if (name !== null) length = name.length;
    const firstChar = name !== null ? name.charCodeAt(0) : (b[start] ?? -1);
    if (
      depth === 1 && length === 3 && (name ?? decodeStringBytes(b, start, end, false)) === "_id"
    ) {
      return path;
    }
    if (length === 0) {
      throw new DocumentRuleError("a field name is empty", "SHRED_BAD_FIELD_NAME");
    }
    if (firstChar === 0x24) {
      const text = name ?? decodeStringBytes(b, start, end, false);
      if (!(depth === 1 && TOP_LEVEL_DOLLAR_NAMES.has(text))) {
        if (first && EJSON_NAMES.has(text)) {
          if (this.rules!.indexed) this.#nextReferrer = REFERRERS.get(text) ?? PLAIN;
          return text;
        }
        this.#badFieldName(text);
      }
    }
    const rules = this.rules!;
    if (rules.indexed && firstChar === 0x24) {
      this.#nextReferrer = REFERRERS.get(name ?? decodeStringBytes(b, start, end, false)) ?? PLAIN;
    }
    if (path + length > rules.maxPathLength) {
      throw new DocumentRuleError(
        `a field path is ${path + length} characters long, over the ${rules.maxPathLength} allowed`,
        "SHRED_DOC_LIMIT_VIOLATION",
      );
    }
    return path + 1 + length;
  }

  #badFieldName(name: string): never {
    throw new DocumentRuleError(
      `field name ${JSON.stringify(name)} starts with '$'`,
      "SHRED_BAD_FIELD_NAME",
    );
  }

  /**
   * An EJSON wrapper must hold a string or an integer (`FullDocValidator.validateObjectValue`);
   * when indexed, a value its type can read (`WritableShreddedDocument.shredObject`).
   */
  #checkWrapper(name: string, start: number, end: number, indexed: boolean): void {
    const b = this.bytes;
    const c = b[start];
    let integral = false;
    if (c === MINUS || (c !== undefined && c >= ZERO && c <= NINE)) {
      integral = true;
      for (let i = start; i < end; i++) {
        const d = b[i];
        if (d === DOT || d === LOWER_E || d === UPPER_E) integral = false;
      }
    }
    if (c === QUOTE || integral) {
      if (!this.rules!.indexed || !indexed) return;
      // The common case, a $binary vector, without decoding its (long) string.
      if (name === "$binary" && c === QUOTE && base64Length(b, start + 1, end - 1) >= 0) return;
      const text = c === QUOTE
        ? decodeStringBytes(b, start + 1, end - 1, true)
        : decodeStringBytes(b, start, end, false);
      const problem = ejsonValueProblem(name, text, c === QUOTE);
      if (problem) throw new DocumentRuleError(problem, "SHRED_BAD_EJSON_VALUE");
      return;
    }
    throw new DocumentRuleError(
      `the EJSON wrapper ${name} holds ${
        c === LBRACE ? "an object" : c === LBRACKET ? "an array" : "a value"
      } that is neither a string nor an integer`,
      "SHRED_BAD_EJSON_VALUE",
    );
  }

  /** One more indexed object of `count` members (`IndexableValueValidator.validateObjectValue`). */
  #countProperties(count: number): void {
    const rules = this.rules!;
    if (count > rules.maxObjectProperties) {
      throw new DocumentRuleError(
        `an indexed object has ${count} properties, over the ${rules.maxObjectProperties} allowed`,
        "SHRED_DOC_LIMIT_VIOLATION",
      );
    }
    this.indexedProperties += count;
    if (this.indexedProperties > rules.maxDocumentProperties) {
      throw new DocumentRuleError(
        `the document has more than ${rules.maxDocumentProperties} indexed properties`,
        "SHRED_DOC_LIMIT_VIOLATION",
      );
    }
  }

  /** An indexed array's length against its limit (`IndexableValueValidator.validateArrayValue`). */
  #checkArrayLength(n: number): void {
    const rules = this.rules;
    if (!rules?.indexed || !this.#included) return;
    const limit = this.#referrer === VECTOR ? rules.maxVectorLength : rules.maxArrayLength;
    if (n > limit) {
      throw new DocumentRuleError(
        `an indexed array has ${n} elements, over the ${limit} allowed`,
        "SHRED_DOC_LIMIT_VIOLATION",
      );
    }
  }

  #checkDepth(depth: number): void {
    if (depth <= this.#maxDepth) return;
    if (this.rules && depth > this.rules.maxDepth) {
      throw new DocumentRuleError(
        `the document is nested deeper than the ${this.rules.maxDepth} levels allowed`,
        "SHRED_DOC_LIMIT_VIOLATION",
      );
    }
    this.fail("JSON nested too deeply");
  }

  /**
   * Walks the elements of an array whose `[` is next, calling `onElement(index)` with the scanner
   * at the element; the callback must consume it. Returns the element count.
   */
  walkArray(depth: number, onElement: (index: number) => void): number {
    this.#checkDepth(depth);
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
      if (c === RBRACKET) {
        this.#checkArrayLength(i + 1);
        return i + 1;
      }
      if (c !== COMMA) this.fail("Expected ',' or ']'", this.pos - 1);
    }
  }

  /**
   * Consumes an array (`[` next) and returns its length if every element is a number, or -1 if
   * any is not (the array is still fully validated). A tight loop: vectors are most of the bytes.
   */
  numberArrayLength(depth: number, path = 0): number {
    this.#checkDepth(depth);
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
        this.skipValue(depth, path);
        allNumbers = false;
      }
      n++;
      let d = b[this.pos] ?? -1;
      if (isWs(d)) d = this.skipWs();
      this.pos++;
      if (d === RBRACKET) {
        this.#checkArrayLength(n);
        return allNumbers ? n : -1;
      }
      if (d !== COMMA) this.fail("Expected ',' or ']'", this.pos - 1);
    }
  }

  /** Decodes the string at `pos` (consuming it) into a JS string. */
  readString(): string {
    const start = this.pos;
    const escaped = this.skipString(true);
    return decodeStringBytes(this.bytes, start + 1, this.pos - 1, escaped);
  }

  /** Requires that only whitespace remains. */
  expectEnd(): void {
    if (this.skipWs() !== -1) this.fail("Unexpected data after the JSON value");
  }

  #skipObject(depth: number, path: number): void {
    this.walkObject(depth, (_s, _e, _x, childPath) => {
      this.skipValue(depth, childPath);
    }, path);
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
