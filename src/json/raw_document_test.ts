import assert from "node:assert/strict";
import {
  base64DecodedLength,
  parseDocumentLine,
  withMemberValues,
  withoutMember,
} from "./raw_document.ts";
import { parseCommandResponse } from "./command_response.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const text = (b: Uint8Array | null) => (b === null ? null : dec.decode(b));

Deno.test("parseDocumentLine keeps the document bytes exactly", () => {
  const line =
    '{"_id":12345678901234567890,"dec":0.12345678901234567890123,"1":"first?","when":{"$date":1700000000000},"u":"\\ud800 é 🎉","$vector":[0.1,0.2,0.3]}';
  const doc = parseDocumentLine(enc.encode(line));
  assert.equal(text(doc.bytes), line);
  assert.equal(text(doc.id), "12345678901234567890");
  assert.deepEqual(doc.vectors, [{ field: "$vector", kind: "array", dimension: 3 }]);
});

Deno.test("parseDocumentLine measures $binary vectors and flags invalid ones", () => {
  const doc = parseDocumentLine(enc.encode('{"_id":"a","$vector":{"$binary":"PczMzT5MzM0+mZma"}}'));
  assert.deepEqual(doc.vectors, [{ field: "$vector", kind: "binary", dimension: 3 }]);
  for (
    const v of ["[]", '["x"]', '{"$binary":"abc"}', '{"$binary":"PczMzQ==","x":1}', '"s"', "{}"]
  ) {
    const d = parseDocumentLine(enc.encode(`{"_id":1,"$vector":${v}}`));
    assert.equal(d.vectors[0]?.kind, "invalid", v);
  }
  const n = parseDocumentLine(enc.encode('{"_id":1,"$vector":null}'));
  assert.deepEqual(n.vectors, [{ field: "$vector", kind: "null", dimension: 0 }]);
});

Deno.test("parseDocumentLine reports a missing _id and non-object lines", () => {
  assert.equal(parseDocumentLine(enc.encode('{"a":1}')).id, null);
  assert.throws(() => parseDocumentLine(enc.encode("[1]")), /not a JSON object/);
  assert.throws(() => parseDocumentLine(enc.encode('{"a":1} x')), /after the JSON value/);
});

Deno.test("parseDocumentLine measures configured vector columns (tables)", () => {
  const doc = parseDocumentLine(enc.encode('{"id":"a","emb":[1,2],"other":[1,2,3]}'), {
    vectorFields: ["emb", "missing"],
  });
  assert.deepEqual(doc.vectors, [{ field: "emb", kind: "array", dimension: 2 }]);
});

Deno.test("withoutMember cuts a member in any position, leaving valid JSON", () => {
  const cases: Array<[string, string, string]> = [
    ['{"_id":1,"$vector":[1],"$vectorize":"t"}', "$vectorize", '{"_id":1,"$vector":[1]}'],
    ['{"_id":1,"$vectorize":"t","$vector":[1]}', "$vectorize", '{"_id":1,"$vector":[1]}'],
    ['{"$vectorize":"t","_id":1}', "$vectorize", '{"_id":1}'],
    ['{"$vectorize":"t"}', "$vectorize", "{}"],
    ['{"_id":1,"$vector":[1,2],"x":2}', "$vector", '{"_id":1,"x":2}'],
    ['{"_id":1}', "$vectorize", '{"_id":1}'],
  ];
  for (const [input, name, want] of cases) {
    const got = dec.decode(withoutMember(parseDocumentLine(enc.encode(input)), name));
    assert.equal(got, want, input);
    JSON.parse(got);
  }
});

Deno.test("inspection compacts pretty-printed documents and keeps spans consistent", () => {
  const doc = parseDocumentLine(
    enc.encode('{ "_id" : "a" ,\n "$vectorize" : "hi" , "b" : [ 1 ] }'),
  );
  assert.equal(text(doc.bytes), '{"_id":"a","$vectorize":"hi","b":[1]}');
  assert.equal(text(doc.id), '"a"');
  assert.equal(dec.decode(withoutMember(doc, "$vectorize")), '{"_id":"a","b":[1]}');
});

Deno.test("withMemberValues replaces several watched members in one pass, in any order", () => {
  const doc = parseDocumentLine(enc.encode('{"id":1,"d1":"P1D","x":"P1D","d2":"PT1H"}'), {
    vectorFields: [],
    watch: ["d2", "d1"],
  });
  const v = (s: string) => enc.encode(s);
  assert.equal(
    dec.decode(withMemberValues(doc, new Map([["d2", v('"1h"')], ["d1", v('"1d"')]]))),
    '{"id":1,"d1":"1d","x":"P1D","d2":"1h"}',
  );
  assert.equal(withMemberValues(doc, new Map([["nope", v("1")]])), doc.bytes);
});

Deno.test("base64DecodedLength validates and measures", () => {
  assert.equal(base64DecodedLength("PwAAAD6AAAA="), 8);
  assert.equal(base64DecodedLength("AAAA"), 3);
  assert.equal(base64DecodedLength("AA=="), 1);
  assert.equal(base64DecodedLength("A==="), -1);
  assert.equal(base64DecodedLength("AA*A"), -1);
  assert.equal(base64DecodedLength("AAA"), -1);
});

Deno.test("parseCommandResponse slices documents and reads paging and errors", () => {
  const body =
    '{"data":{"documents":[{"_id":1,"n":1.10},{"_id":"b","$vector":[1,2]}],"nextPageState":"abc=="},"status":{"x":1}}';
  const r = parseCommandResponse(enc.encode(body));
  assert.deepEqual(r.documents?.map((d) => text(d.bytes)), [
    '{"_id":1,"n":1.10}',
    '{"_id":"b","$vector":[1,2]}',
  ]);
  assert.equal(r.nextPageState, "abc==");
  assert.deepEqual(r.status, { x: 1 });
  assert.deepEqual(r.errors, []);

  const last = parseCommandResponse(enc.encode('{"data":{"documents":[],"nextPageState":null}}'));
  assert.equal(last.nextPageState, null);
  assert.deepEqual(last.documents, []);

  const err = parseCommandResponse(
    enc.encode('{"errors":[{"errorCode":"UNKNOWN_COLLECTION_OR_TABLE","message":"m"}]}'),
  );
  assert.equal(err.errors[0]?.errorCode, "UNKNOWN_COLLECTION_OR_TABLE");
  assert.equal(err.documents, null);
});

Deno.test("parseCommandResponse refuses a truncated page", () => {
  const body = '{"data":{"documents":[{"_id":1},{"_id":2}],"nextPageState":"x"}}';
  for (let i = 1; i < body.length; i++) {
    assert.throws(() => parseCommandResponse(enc.encode(body.slice(0, i))), SyntaxError);
  }
});
