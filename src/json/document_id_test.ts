import assert from "node:assert/strict";
import { ByteJsonScanner, DATA_API_DOCUMENT_RULES, DocumentRuleError } from "./byte_json.ts";
import { bigDecimalString, documentIdKey } from "./document_id.ts";
import { javaUuid } from "./ejson.ts";
import { indexProjection, pathSegments } from "./indexing.ts";
import { documentKey, KeyHashes } from "./document_key.ts";
import { parseDocumentLine } from "./raw_document.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const key = (id: string) => {
  const k = documentIdKey(enc.encode(id));
  return k === null ? null : `${k[0]}:${dec.decode(k.subarray(1))}`;
};
const refused = (id: string, code: string) =>
  assert.throws(() => documentIdKey(enc.encode(id)), (e) => {
    assert.ok(e instanceof DocumentRuleError, `${id}: ${e}`);
    assert.equal(e.code, code, id);
    return true;
  });

Deno.test("documentIdKey: the ids DocumentId.fromJson accepts, under the key it stores", () => {
  assert.equal(key('"abc"'), "1:abc");
  assert.equal(key('"\\u0061bc"'), "1:abc");
  assert.equal(key("12345678901234567890"), "2:12345678901234567890");
  assert.equal(key("-0"), "2:0");
  assert.equal(key("1e2"), "2:1E+2");
  assert.equal(key("1E+2"), "2:1E+2");
  assert.equal(key("100"), "2:100");
  assert.equal(key("1.50"), "2:1.50");
  assert.equal(key("true"), "3:true");
  assert.equal(key("null"), "4:null");
  assert.equal(key('{"$date":1700000000000}'), "5:1700000000000");
  // A $uuid or $objectId is stored as its canonical string: the same key as that plain string.
  assert.equal(
    key('{"$uuid":"0192F1A2-0000-7000-8000-000000000002"}'),
    "1:0192f1a2-0000-7000-8000-000000000002",
  );
  assert.equal(key('{"$objectId":"65F000000000000000000002"}'), "1:65f000000000000000000002");
  assert.equal(key('{"$binary":"AAEC"}'), null);
});

Deno.test("documentIdKey: refuses what the Data API refuses, with its error code", () => {
  refused('{"a":1}', "SHRED_BAD_DOCID_TYPE");
  refused('{"$a":1,"$b":2}', "SHRED_BAD_DOCID_TYPE");
  refused("[1]", "SHRED_BAD_DOCID_TYPE");
  refused('{"$date":1.5}', "SHRED_BAD_DOCID_TYPE");
  refused('{"$date":"2024-01-01"}', "SHRED_BAD_DOCID_TYPE");
  refused('{"$date":9223372036854775808}', "SHRED_BAD_DOCID_TYPE");
  refused('{"$uuid":"not-a-uuid"}', "SHRED_BAD_DOCID_TYPE");
  refused('{"$objectId":"xyz"}', "SHRED_BAD_DOCID_TYPE");
  refused('{"$binary":"!!"}', "SHRED_BAD_DOCID_TYPE");
  refused('{"$vector":[1]}', "SHRED_BAD_DOCID_TYPE");
  refused('""', "SHRED_BAD_DOCID_VALUE");
});

Deno.test("bigDecimalString and javaUuid follow Java", () => {
  const cases: Array<[string, string]> = [
    ["0", "0"],
    ["-0.0", "0.0"],
    ["123.4500e-3", "0.1234500"],
    ["1e-7", "1E-7"],
    ["0.000001", "0.000001"],
    ["0.0000001", "1E-7"],
    ["-12.5E+3", "-1.25E+4"],
    ["1E+400", "1E+400"],
    ["12e0", "12"],
    ["0e5", "0E+5"],
  ];
  for (const [text, java] of cases) assert.equal(bigDecimalString(text), java, text);
  assert.equal(javaUuid("1-2-3-4-5"), "00000001-0002-0003-0004-000000000005");
  assert.equal(javaUuid("1-2-3-4"), null);
  assert.equal(javaUuid("g-2-3-4-5"), null);
});

Deno.test("documentKey: table rows need every primary-key column; equal keys hash alike", () => {
  const spec = { kind: "table", columns: ["a", "b"] } as const;
  const row = (t: string) => parseDocumentLine(enc.encode(t), { watch: ["a", "b"] });
  const k1 = documentKey(row('{"b":"x","a":1,"c":2}'), spec)!;
  const k2 = documentKey(row('{"a":1,"b":"x"}'), spec)!;
  assert.deepEqual(k1, k2);
  assert.throws(() => documentKey(row('{"a":1}'), spec), /no value for primary-key column b/);
  assert.throws(() => documentKey(row('{"a":1,"b":null}'), spec), /MISSING_PRIMARY_KEY_COLUMNS/);
  const hashes = new KeyHashes(2);
  for (let i = 0; i < 5000; i++) hashes.add(enc.encode(`k${i}`));
  hashes.add(enc.encode("k42"));
  assert.equal(hashes.size, 5001);
  assert.equal(hashes.repeated().size, 1);
});

Deno.test("document rules: what FullDocValidator and the parser refuse, and what they let through", () => {
  const check = (text: string) =>
    parseDocumentLine(enc.encode(text), { rules: DATA_API_DOCUMENT_RULES });
  const ok = [
    '{"_id":1,"$vector":[1,2],"$vectorize":"t","$lexical":"l"}',
    '{"_id":1,"a":{"$date":1},"b":{"$uuid":"1-2-3-4-5"},"c":[{"$objectId":"65f000000000000000000002"}],"d":{"$binary":"AA=="}}',
    '{"_id":1,"a.b":1,"ünï":"ok","x":{"_id":{"$date":1}}}',
    `{"_id":1,"n":${"9".repeat(100)},"f":-${"1".repeat(97)}.5}`,
    `{"_id":1,"a":${'{"b":'.repeat(14)}[1]${"}".repeat(14)}}`,
    '{"_id":1,"a":1,"A":2,"b":{"a":1}}',
  ];
  for (const t of ok) check(t);
  const bad: Array<[string, RegExp]> = [
    ['{"_id":1,"$x":1}', /field name "\$x" starts with '\$' \(SHRED_BAD_FIELD_NAME\)/],
    ['{"_id":1,"a":{"$vector":[1]}}', /"\$vector" starts with/],
    ['{"_id":1,"a":{"\\u0024date":1,"b":2}}', /"\$date" starts with/],
    ['{"_id":1,"a":{"$date":{"x":1}}}', /SHRED_BAD_EJSON_VALUE/],
    ['{"_id":1,"a":{"$date":1.5}}', /SHRED_BAD_EJSON_VALUE/],
    ['{"_id":1,"a":{"":1}}', /a field name is empty/],
    [`{"_id":1,"${"a".repeat(1001)}":1}`, /path is 1001 characters long/],
    [`{"_id":1,"${"a".repeat(500)}":{"${"b".repeat(500)}":1}}`, /path is 1001 characters long/],
    [`{"_id":1,"n":${"9".repeat(101)}}`, /a number has 101 characters/],
    [`{"_id":1,"f":1.${"1".repeat(99)}}`, /a number has 101 characters/],
    [`{"_id":1,"a":${'{"b":'.repeat(15)}[1]${"}".repeat(15)}}`, /nested deeper than the 16 levels/],
    ['{"_id":1,"a":1,"a":2}', /Duplicate member name "a"/],
    ['{"_id":1,"a":1,"\\u0061":2}', /Duplicate member name "a"/],
  ];
  for (const [t, pattern] of bad) assert.throws(() => check(t), pattern, t);

  // Limits on indexed values: they apply when everything is indexed (no indexing option).
  const unindexed = { ...DATA_API_DOCUMENT_RULES, indexed: false };
  const props = (n: number, from = 0) =>
    Array.from({ length: n }, (_, i) => `"p${i + from}":0`).join(",");
  const indexedOk = [
    `{"_id":"${"i".repeat(8000)}","s":"${"é".repeat(4000)}","t":"${"\\n".repeat(8000)}"}`,
    `{"_id":1,"$vectorize":"${"v".repeat(9000)}","$lexical":"${"l".repeat(9000)}"}`,
    `{"_id":1,"$vector":[${Array(4096).fill(0.5).join(",")}],"a":[${
      Array(1000).fill(1).join(",")
    }]}`,
    `{"_id":1,"$vector":{"$binary":"${"A".repeat(12000)}"}}`,
    `{"_id":1,"o":{${props(998)}},"q":{${props(998)}}}`,
  ];
  for (const t of indexedOk) check(t);
  const indexedBad: Array<[string, RegExp]> = [
    [`{"_id":1,"s":"${"é".repeat(4001)}"}`, /a string is 8002 bytes long, over the 8000/],
    [`{"_id":1,"a":[["${"x".repeat(8001)}"]]}`, /a string is 8001 bytes/],
    [`{"_id":"${"i".repeat(8001)}"}`, /_id is a string of 8001 bytes/],
    [`{"_id":1,"a":[${Array(1001).fill(1).join(",")}]}`, /an indexed array has 1001 elements/],
    [`{"_id":1,"$vector":[${Array(4097).fill(0.5).join(",")}]}`, /4097 elements, over the 4096/],
    [`{"_id":1,"o":{${props(1001)}}}`, /an indexed object has 1001 properties/],
    [`{"_id":1,"o":{${props(1000)}},"q":{${props(1000)}}}`, /more than 2000 indexed properties/],
    ['{"_id":1,"a":{"$uuid":"x"}}', /\$uuid "x" is not a UUID \(SHRED_BAD_EJSON_VALUE\)/],
    ['{"_id":1,"a":[{"$date":"2024"}]}', /\$date holds a string/],
    ['{"_id":1,"a":{"$objectId":"xyz"}}', /not 24 hexadecimal digits/],
    ['{"_id":1,"a":{"$binary":"!!"}}', /\$binary does not hold a base64 string/],
  ];
  for (const [t, pattern] of indexedBad) {
    assert.throws(() => check(t), pattern, t.slice(0, 60));
    parseDocumentLine(enc.encode(t), { rules: unindexed });
  }
  // Duplicates are refused in any JSON, with or without the document rules, also past the
  // pairwise limit.
  const many = Array.from({ length: 40 }, (_, i) => `"k${i}":${i}`).join(",");
  assert.throws(
    () => parseDocumentLine(enc.encode(`{"_id":1,${many},"k7":0}`)),
    /Duplicate member name "k7"/,
  );
});

Deno.test("ByteJsonScanner refuses invalid UTF-8 in strings, accepts every valid sequence", () => {
  const str = (...bytes: number[]) => new Uint8Array([0x22, ...bytes, 0x22]);
  const valid = [[0xc3, 0xa9], [0xe2, 0x82, 0xac], [0xf0, 0x9f, 0x98, 0x80], [0xef, 0xbf, 0xbf], [
    0xf4,
    0x8f,
    0xbf,
    0xbf,
  ]];
  const invalid = [
    [0xff],
    [0x80],
    [0xc3],
    [0xc3, 0x28],
    [0xc0, 0x80],
    [0xe0, 0x80, 0x80],
    [0xed, 0xa0, 0x80],
    [0xf4, 0x90, 0x80, 0x80],
    [0xf5, 0x80, 0x80, 0x80],
    [0xe2, 0x82],
  ];
  for (const b of valid) {
    const s = new ByteJsonScanner(str(...b));
    s.skipValue();
    s.expectEnd();
  }
  for (const b of invalid) {
    assert.throws(
      () => new ByteJsonScanner(str(...b)).skipValue(),
      /Invalid UTF-8 in string at byte 1/,
      String(b),
    );
  }
});

Deno.test("document rules: indexed-value limits follow the collection's indexing allow or deny list", () => {
  const withIndexing = (indexing: Record<string, string[]>) => ({
    ...DATA_API_DOCUMENT_RULES,
    projection: indexProjection({ indexing }),
  });
  const long = (n = 9000) => `"${"x".repeat(n)}"`;
  const props = (n: number) => Array.from({ length: n }, (_, i) => `"p${i}":0`).join(",");
  const cases: Array<[Record<string, string[]>, string[], Array<[string, RegExp]>]> = [
    [{ deny: ["text"] }, [
      `{"_id":1,"text":${long()}}`,
      `{"_id":1,"text":{"deep":[${long()}],"o":{${props(1001)}}}}`,
    ], [
      [`{"_id":1,"text":"a","other":${long()}}`, /a string is 9000 bytes/],
    ]],
    [{ allow: ["a.b"] }, [
      `{"_id":${long()},"a":{"c":${long()}},"z":[${Array(1001).fill(1).join(",")}]}`,
      `{"_id":1,"d":{"$date":"not indexed"},"a":[{"c":${long()}}]}`,
    ], [
      [`{"_id":1,"a":{"b":${long()}}}`, /a string is 9000 bytes/],
      [`{"_id":1,"a":[{"b":[${long()}]}]}`, /a string is 9000 bytes/],
      [`{"_id":1,"a":{"b":{"$date":"x"}}}`, /\$date holds a string/],
      [`{"_id":1,"$vector":[${Array(4097).fill(1).join(",")}]}`, /over the 4096/],
    ]],
    [{ allow: ["a"] }, [
      `{"_id":1,"b":{${props(1001)}},"a":{${props(999)}}}`,
    ], [
      [`{"_id":1,"a":{${props(1001)}}}`, /an indexed object has 1001 properties/],
    ]],
    [{ deny: ["*"] }, [
      `{"_id":${long()},"s":${long()},"o":{${props(1001)}}}`,
    ], [
      [`{"_id":1,"$vector":[${Array(4097).fill(1).join(",")}]}`, /over the 4096/],
    ]],
    [{ deny: ["a&.b"] }, [
      `{"_id":1,"a.b":${long()}}`,
    ], [
      [`{"_id":1,"a":{"b":${long()}}}`, /a string is 9000 bytes/],
    ]],
  ];
  for (const [indexing, ok, bad] of cases) {
    const rules = withIndexing(indexing);
    for (const t of ok) parseDocumentLine(enc.encode(t), { rules });
    for (const [t, pattern] of bad) {
      assert.throws(
        () => parseDocumentLine(enc.encode(t), { rules }),
        pattern,
        `${JSON.stringify(indexing)} ${t.slice(0, 50)}`,
      );
    }
  }
  assert.deepEqual(pathSegments("a&.b.c&&d"), ["a.b", "c&d"]);
  assert.equal(indexProjection({ indexing: { allow: ["*"] } }), null);
  assert.equal(indexProjection({}), null);
});
