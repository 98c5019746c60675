import assert from "node:assert/strict";
import { SourceError } from "../errors.ts";
import { fixFor, probeNameFor, refusalOf, withoutFeature } from "./capabilities.ts";

const refused = (code: string, message: string, retriable = false) =>
  new SourceError(`Data API createCollection on keyspace ks failed: ${code}: ${message}`, {
    kind: "command",
    command: "createCollection",
    errorCode: code,
    retriable,
  });

const DEF = {
  vector: {
    dimension: 4,
    metric: "cosine",
    sourceModel: "other",
    service: { provider: "openai", modelName: "text-embedding-3-small" },
  },
  lexical: { enabled: true, analyzer: "standard" },
  rerank: {
    enabled: true,
    service: { provider: "nvidia", modelName: "nvidia/llama-3.2-nv-rerankqa-1b-v2" },
  },
};

Deno.test("refusalOf maps the server's codes (current and v1.0.23-v1.0.46 names) to the feature to leave out", () => {
  assert.equal(refusalOf(refused("LEXICAL_FEATURE_NOT_ENABLED", "x"), DEF)?.feature, "lexical");
  assert.equal(
    refusalOf(refused("LEXICAL_NOT_AVAILABLE_FOR_DATABASE", "x"), DEF)?.feature,
    "lexical",
  );
  assert.equal(refusalOf(refused("RERANKING_FEATURE_NOT_ENABLED", "x"), DEF)?.feature, "rerank");
  assert.equal(
    refusalOf(refused("VECTORIZE_FEATURE_NOT_AVAILABLE", "x"), DEF)?.feature,
    "vectorize",
  );
  const eolRerank = refusalOf(
    refused("END_OF_LIFE_AI_MODEL", "The model is: nvidia/llama-3.2-nv-rerankqa-1b-v2. It is"),
    DEF,
  );
  assert.equal(eolRerank?.feature, "rerank");
  assert.equal(
    refusalOf(refused("DEPRECATED_AI_MODEL", "The model is: text-embedding-3-small."), DEF)
      ?.feature,
    "vectorize",
  );
  const limit = refusalOf(refused("TOO_MANY_COLLECTIONS", "Cannot create collection"), DEF);
  assert.deepEqual(limit, {
    feature: null,
    code: "TOO_MANY_COLLECTIONS",
    message: "Cannot create collection",
  });
  assert.match(fixFor(limit!), /elsewhere/);
  // Transient and non-command failures are not the definition's fault: they are rethrown.
  assert.equal(refusalOf(refused("SERVER_UNHANDLED_ERROR", "x", true), DEF), undefined);
  assert.equal(refusalOf(new Error("boom"), DEF), undefined);
});

Deno.test("withoutFeature leaves out exactly one feature and says what it was", () => {
  const r = withoutFeature(DEF, "rerank")!;
  assert.deepEqual(Object.keys(r.definition).sort(), ["lexical", "vector"]);
  assert.match(r.change, /^rerank left out \(was \{"enabled":true/);
  const l = withoutFeature(DEF, "lexical")!;
  assert.deepEqual(Object.keys(l.definition), ["vector"], "no rerank without lexical");
  const v = withoutFeature(DEF, "vectorize")!;
  assert.deepEqual(v.definition.vector, { dimension: 4, metric: "cosine", sourceModel: "other" });
  assert.match(v.change, /plain vector collection of dimension 4 keeping \$vector/);
  assert.ok(DEF.vector.service, "the input is not changed");
  assert.equal(withoutFeature({}, "lexical"), undefined, "nothing to leave out");
});

Deno.test("probeNameFor asks under an equal collection first (an idempotent no-op the server still validates), else a name of the keyspace, else elsewhere", () => {
  const same = (a: Record<string, unknown>, b: Record<string, unknown>) =>
    JSON.stringify(a) === JSON.stringify(b);
  const existing = [
    { keyspace: "other", name: "o", kind: "collection" as const, definition: {} },
    { keyspace: "ks", name: "t", kind: "table" as const, definition: {} },
    { keyspace: "ks", name: "c", kind: "collection" as const, definition: { x: 1 } },
  ];
  assert.deepEqual(probeNameFor({ y: 1 }, "ks", existing, same), { keyspace: "ks", name: "t" });
  assert.deepEqual(probeNameFor({ x: 1 }, "ks", existing, same), { keyspace: "ks", name: "c" });
  assert.deepEqual(probeNameFor({}, "empty", existing, same), { keyspace: "other", name: "o" });
  assert.deepEqual(probeNameFor({ z: 1 }, "empty", existing, same), {
    keyspace: "other",
    name: "o",
  });
  assert.equal(probeNameFor({ z: 1 }, "empty", [existing[1]!], same), undefined);
});
