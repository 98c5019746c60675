import assert from "node:assert/strict";
import {
  describeEntries,
  indexCreateCommand,
  undescribedTypes,
  unrestorableReasons,
} from "./definition.ts";

Deno.test("describeEntries names each kind with its count", () => {
  const c = { kind: "collection" as const };
  const t = { kind: "table" as const };
  assert.equal(describeEntries([]), "0 collections");
  assert.equal(describeEntries([c]), "1 collection");
  assert.equal(describeEntries([t, t]), "2 tables");
  assert.equal(describeEntries([c, t, c, c, t]), "3 collections and 2 tables");
});

Deno.test("unrestorableReasons names columns and indexes the Data API cannot create", () => {
  const table = (indexType: string) => ({
    columns: { id: { type: "text" }, seen: "timeuuid", v: { type: "vector" } },
    primaryKey: { partitionBy: ["id"] },
    indexes: [{ name: "v_idx", indexType }],
  });
  assert.deepEqual(unrestorableReasons({ ...table("vector"), columns: { id: "text" } }), []);
  for (const indexType of ["regular", "vector", "text"]) {
    assert.equal(indexCreateCommand(indexType) !== undefined, true, indexType);
  }
  assert.deepEqual(unrestorableReasons(table("UNKNOWN")), [
    "column seen (timeuuid) cannot be created through the Data API",
    "index v_idx (UNKNOWN) is not one the Data API can create",
  ]);
  assert.deepEqual(
    unrestorableReasons({ columns: {}, indexes: [{ name: "n", indexType: "ngram" }] }),
    [
      "index n (ngram) is not one the Data API can create",
    ],
  );
  assert.equal(indexCreateCommand("toString"), undefined);
});

Deno.test("unrestorableReasons names user-defined types and type fields the Data API cannot create", () => {
  // Shapes of listTypes with explain (stargate/data-api ListTypesIntegrationTest.java).
  const types = [
    {
      type: "userDefined",
      udtName: "addr",
      definition: {
        fields: {
          street: { type: "text" },
          stamp: {
            type: "timeuuid",
            apiSupport: { createTable: false, insert: true, read: true, cqlDefinition: "timeuuid" },
          },
        },
      },
      apiSupport: { createTable: true, insert: true, read: true, filter: false },
    },
    {
      type: "UNSUPPORTED",
      apiSupport: { createTable: false, insert: false, cqlDefinition: '"ks".nested' },
    },
  ];
  assert.deepEqual(unrestorableReasons({ columns: { id: "text" }, types }), [
    "field stamp (timeuuid) of user-defined type addr cannot be created through the Data API",
    'user-defined type "ks".nested cannot be created through the Data API',
  ]);
  assert.deepEqual(
    unrestorableReasons({
      columns: { id: "text" },
      types: [types[0]!].map((t) => ({
        ...t,
        definition: { fields: { street: { type: "text" } } },
      })),
    }),
    [],
  );
});

Deno.test("a user-defined type the columns use but the definition does not describe is unrestorable", () => {
  const def = {
    columns: {
      id: "text",
      a: { type: "userDefined", udtName: "address" },
      m: { type: "map", keyType: "text", valueType: { type: "userDefined", udtName: "pt" } },
    },
    types: [{ udtName: "address", definition: { fields: { street: "text" } } }],
  };
  assert.deepEqual(undescribedTypes(def), ["pt"]);
  assert.deepEqual(unrestorableReasons(def), [
    "user-defined type pt is used but not described in the snapshot",
  ]);
});
