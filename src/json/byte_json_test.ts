import assert from "node:assert/strict";
import { ByteJsonScanner, JsonSyntaxError, stripWhitespace } from "./byte_json.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

function valid(text: string): boolean {
  try {
    const s = new ByteJsonScanner(enc.encode(text));
    s.skipValue();
    s.expectEnd();
    return true;
  } catch (e) {
    if (e instanceof JsonSyntaxError) return false;
    throw e;
  }
}

function jsonParseValid(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

Deno.test("ByteJsonScanner accepts valid JSON of every kind", () => {
  for (
    const t of [
      "0",
      "-0",
      "12345678901234567890123",
      "0.12345678901234567890123",
      "-1.5e-300",
      "1E+400",
      '"a\\u00e9\\n\\"\\\\\\/"',
      '"ünïcødé 🎉"',
      "true",
      "false",
      "null",
      "[]",
      "{}",
      ' { "a" : [ 1 , 2 , { "b" : null } ] } ',
      '{"":""}',
    ]
  ) assert.ok(valid(t), t);
});

Deno.test("ByteJsonScanner rejects what JSON.parse rejects", () => {
  for (
    const t of [
      "",
      "01",
      "1.",
      ".5",
      "+1",
      "1e",
      "-",
      "NaN",
      "[1,]",
      "{,}",
      '{"a":1,}',
      '{"a" 1}',
      "[1 2]",
      '"\\x"',
      '"\\u12"',
      '"a\nb"',
      "tru",
      "nul",
      "{} {}",
      '{"a":1',
      "[",
    ]
  ) {
    assert.equal(jsonParseValid(t), false, `JSON.parse should reject ${t}`);
    assert.equal(valid(t), false, t);
  }
});

Deno.test("ByteJsonScanner agrees with JSON.parse on random mutations", () => {
  const base =
    '{"_id":{"$uuid":"0192f1a2-0000-7000-8000-000000000002"},"n":[1,-2.5e3,0,true,false,null],' +
    '"s":"x\\ty\\u0041","o":{"a":{}},"big":12345678901234567890,"$vector":[0.1,0.2,0.3]}';
  const alphabet = '{}[],:"\\ 0123456789.-+eEtrufalsn\t\nx';
  let seed = 42;
  const rnd = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  for (let i = 0; i < 5000; i++) {
    const chars = [...base];
    const edits = 1 + rnd(3);
    for (let k = 0; k < edits; k++) {
      const at = rnd(chars.length);
      const op = rnd(3);
      const ch = alphabet[rnd(alphabet.length)]!;
      if (op === 0) chars.splice(at, 1);
      else if (op === 1) chars.splice(at, 0, ch);
      else chars[at] = ch;
    }
    const t = chars.join("");
    assert.equal(valid(t), jsonParseValid(t), `disagreement on ${t}`);
  }
});

Deno.test("ByteJsonScanner fails on every truncation of a document", () => {
  const t = '{"a":[1,2,{"b":"c"}],"d":-1.5e10,"e":"\\u00e9"}';
  for (let i = 0; i < t.length; i++) assert.equal(valid(t.slice(0, i)), false, t.slice(0, i));
});

Deno.test("ByteJsonScanner refuses absurd nesting without overflowing the stack", () => {
  const deep = "[".repeat(100000) + "]".repeat(100000);
  assert.throws(() => {
    const s = new ByteJsonScanner(enc.encode(deep));
    s.skipValue();
  }, /nested too deeply/);
});

Deno.test("stripWhitespace removes whitespace outside strings only", () => {
  const t = ' {\n "a b" : [ 1 , 2 ],\t"c":" x\\" y " }';
  assert.equal(dec.decode(stripWhitespace(enc.encode(t))), '{"a b":[1,2],"c":" x\\" y "}');
});
