import assert from "node:assert/strict";
import { makeSnapshot } from "../../tests/support/snapshots.ts";
import type { Manifest } from "./types.ts";
import { manifestProblems } from "./validate.ts";

Deno.test("manifestProblems: cross-field rules the schema cannot express", async () => {
  const dir = await Deno.makeTempDir({ prefix: "astrabak-manifest-" });
  try {
    const good = (await makeSnapshot(dir, { sample: { articles: 5, dimension: 4 } })).manifest;
    assert.deepEqual(manifestProblems(good), []);
    const cases: Array<[string, (m: Manifest) => void, RegExp]> = [
      [
        "data file of another collection",
        (m) => (m.collections[0]!.data_file = "default_keyspace.other.jsonl.gz"),
        /\/collections\/0\/data_file must be "default_keyspace\.articles\.jsonl\.gz"/,
      ],
      [
        "data file listed twice",
        (m) => (m.collections[1]!.data_file = m.collections[0]!.data_file),
        /\/collections\/1\/data_file default_keyspace\.articles\.jsonl\.gz is listed twice/,
      ],
      [
        "implausibly small uncompressed size",
        (m) => (m.collections[0]!.uncompressed_size_bytes = 1),
        /uncompressed_size_bytes 1 is implausible for 5 documents/,
      ],
      ["uncompressed file whose sizes differ", (m) => {
        const c = m.collections[0]!;
        c.compressed = false;
        c.data_file = "default_keyspace.articles.jsonl";
        c.data_size_bytes = c.uncompressed_size_bytes! + 1;
      }, /data_size_bytes must equal uncompressed_size_bytes when not compressed/],
      [
        "vector counts that do not add up",
        (m) => (m.collections[0]!.vector!.documents_with_vector += 1),
        /vector counts of \$vector do not add up to document_count/,
      ],
      [
        "totals that miss a collection",
        (m) => (m.totals.collections_ok += 1),
        /\/totals do not match the collections listed/,
      ],
      [
        "document total that does not add up",
        (m) => (m.totals.documents += 1),
        /\/totals\/documents \d+ does not match the sum/,
      ],
      [
        "resumed in a format before 4",
        (m) => (m.resumed = { times: 1, at_utc: ["2026-12-06T10:00:00.000Z"] }),
        /\/resumed needs backup_format_version 4, not 2/,
      ],
      [
        "resume times that do not match the times listed",
        (m) => {
          m.backup_format_version = 4;
          m.resumed = { times: 2, at_utc: ["2026-12-06T10:00:00.000Z"] };
        },
        /\/resumed\/times 2 does not match the 1 times listed/,
      ],
      [
        "incomplete status without a failed collection",
        (m) => (m.status = "incomplete"),
        /\/status "incomplete" contradicts 0 failed collection\(s\)/,
      ],
    ];
    for (const [what, edit, pattern] of cases) {
      const m = structuredClone(good);
      edit(m);
      const problems = manifestProblems(m);
      assert.ok(problems.some((p) => pattern.test(p)), `${what}: ${problems.join("; ")}`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("manifestProblems: schema errors name the field, what it holds and what was expected", async () => {
  const dir = await Deno.makeTempDir({ prefix: "astrabak-manifest-" });
  try {
    const good = (await makeSnapshot(dir, { sample: { articles: 5, dimension: 4 } })).manifest;
    // Hostile manifests break the types on purpose.
    // deno-lint-ignore no-explicit-any
    type Edit = (m: any) => void;
    const cases: Array<[string, Edit, string[]]> = [
      ["a count as a string", (m) => (m.collections[0].document_count = "40"), [
        '/collections/0/document_count is "40" (a string), expected an integer',
      ]],
      ["an absurd count", (m) => (m.collections[1].document_count = 1e15), [
        "/collections/1/document_count is 1000000000000000 (a number), expected a number <= 1000000000000",
      ]],
      ["an unknown kind", (m) => (m.collections[0].kind = "view"), [
        '/collections/0/kind is "view" (a string), expected one of "collection", "table"',
      ]],
      ["an error on an ok collection", (m) => (m.collections[0].error = "x"), [
        '/collections/0 must not have "error" when status is "ok"',
      ]],
      ["table fields on a collection", (m) => (m.collections[0].vector_columns = []), [
        '/collections/0 must not have "vector_columns" or "projection_schema" when kind is not "table"',
      ]],
      ["an unknown field", (m) => (m.collections[0].foo = 1), [
        '/collections/0 has a field this format does not know: "foo"',
      ]],
      ["a missing field", (m) => delete m.collections[0].compressed, [
        '/collections/0 is missing the field "compressed"',
      ]],
      ["another encoding", (m) => (m.document_format.encoding = "latin1"), [
        '/document_format/encoding is "latin1" (a string), expected "utf-8"',
      ]],
      ["no hash on an ok collection", (m) => (m.collections[0].data_sha256 = null), [
        "/collections/0/data_sha256 is null, expected a string",
      ]],
    ];
    for (const [what, edit, expected] of cases) {
      const m = structuredClone(good);
      edit(m);
      const problems = manifestProblems(m);
      assert.deepEqual(problems, expected, what);
      for (const p of problems) {
        assert.doesNotMatch(p, /"then"|"else"|oneOf|must NOT be valid/, what);
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
