/**
 * @module
 * The fake Data API's storage: keyspaces, collections with normalised options, and documents kept
 * as exact JSON trees (numbers as text, key order as sent, `_id` moved first like the real
 * server's DocumentShredder). Rows are read back in a hash order, like Cassandra's token order,
 * so nothing can rely on insertion order.
 */

import { FakeApiError } from "./errors.ts";
import { SyntheticGenerator } from "./synthetic_docs.ts";
import { get, type JNode, obj, parseTree, stringifyTree, toPlain } from "./json_tree.ts";
import {
  describeIndex,
  describeTable,
  describeUdt,
  FakeTable,
  KeyspaceSchema,
  parseTableDefinition,
  parseTypeDefinition,
  toTree,
} from "./tables.ts";

/** Limits the real server enforces (stargate/data-api DocumentLimitsConfig, OperationsConfig). */
export const LIMITS = {
  maxDocumentChars: 4_000_000,
  maxDepth: 16,
  maxNumberChars: 100,
  maxVectorDimension: 4096,
  // The same at every tag from v1.0.18 to v1.0.51 (DocumentLimitsConfig.java):
  maxPropertyPathLength: 1000,
  maxArrayLength: 1000,
  maxObjectProperties: 1000,
  maxDocProperties: 2000,
  maxStringBytes: 8000,
};

/** A stored document with its two cached serialisations. */
export interface StoredDoc {
  idKey: string;
  /** Sort position (hash of the id), emulating token order. */
  order: number;
  node: JNode;
  /** Compact JSON of the whole document (`{"*": true}` projection). */
  full: string;
  /** Compact JSON without `$vector`, `$vectorize`, `$lexical` (the default projection). */
  plain: string;
}

/** One collection. */
export class FakeCollection {
  readonly keyspace: string;
  readonly name: string;
  /** Normalised options as findCollections (explain) reports them. */
  readonly options: Record<string, unknown>;
  readonly docs = new Map<string, StoredDoc>();
  #sorted: StoredDoc[] | null = null;

  constructor(keyspace: string, name: string, options: Record<string, unknown>) {
    this.keyspace = keyspace;
    this.name = name;
    this.options = options;
  }

  get vector(): { dimension: number; service?: unknown } | undefined {
    return this.options.vector as { dimension: number; service?: unknown } | undefined;
  }

  get lexicalEnabled(): boolean {
    return (this.options.lexical as { enabled?: boolean } | undefined)?.enabled === true;
  }

  /** Documents in read order (hash of `_id`, then `_id` text). */
  sorted(): StoredDoc[] {
    if (!this.#sorted) {
      this.#sorted = [...this.docs.values()].sort((a, b) =>
        a.order - b.order || (a.idKey < b.idKey ? -1 : a.idKey > b.idKey ? 1 : 0)
      );
    }
    return this.#sorted;
  }

  /** Validates and stores one document; throws FakeApiError like the server's shredder. */
  insert(doc: JNode, vectorize: (text: string, dim: number) => JNode): StoredDoc {
    const stored = this.prepare(doc, vectorize);
    if (this.docs.has(stored.idKey)) {
      throw new FakeApiError(
        "DOCUMENT_ALREADY_EXISTS",
        `Cannot insert the document: a document already exists with given '_id' (${stored.idKey}).`,
      );
    }
    this.docs.set(stored.idKey, stored);
    this.#sorted = null;
    return stored;
  }

  /** Forgets the cached read order after documents were added behind the store's back. */
  invalidate(): void {
    this.#sorted = null;
  }

  /** Removes documents; returns how many were removed. */
  delete(idKeys: Iterable<string> | "all"): number {
    let n = 0;
    if (idKeys === "all") {
      n = this.docs.size;
      this.docs.clear();
    } else {
      for (const k of idKeys) if (this.docs.delete(k)) n++;
    }
    this.#sorted = null;
    return n;
  }

  /** Validation and normalisation of an incoming document (no storage). */
  prepare(doc: JNode, vectorize: (text: string, dim: number) => JNode): StoredDoc {
    if (doc.t !== "obj") {
      throw new FakeApiError(
        "SHRED_BAD_DOCUMENT_TYPE",
        "Bad document type to shred: document must be a JSON Object",
      );
    }
    let id = get(doc, "_id");
    let members = doc.m.filter(([k]) => k !== "_id");
    if (id === undefined) id = generateId(this.options.defaultId as { type?: string } | undefined);
    checkId(id);
    for (const [k] of members) {
      if (k === "") {
        throw new FakeApiError("SHRED_BAD_FIELD_NAME", "Document field name invalid: empty name");
      }
      if (k.startsWith("$") && !["$vector", "$vectorize", "$lexical"].includes(k)) {
        throw new FakeApiError("SHRED_BAD_FIELD_NAME", `Document field name invalid: '${k}'`);
      }
    }
    checkLimits(doc, 0);
    const vec = get(doc, "$vector");
    const vz = get(doc, "$vectorize");
    if (vec !== undefined && vec.t !== "null" && vz !== undefined && vz.t !== "null") {
      throw new FakeApiError(
        "INVALID_USAGE_OF_VECTORIZE",
        "'$vector' and '$vectorize' cannot be used together in same document.",
      );
    }
    if (vec !== undefined && vec.t !== "null") this.#checkVector(vec);
    if (vz !== undefined && vz.t !== "null") {
      if (vz.t !== "str") {
        throw new FakeApiError(
          "INVALID_VECTORIZE_VALUE_TYPE",
          "$vectorize value needs to be text value",
        );
      }
      const v = this.vector;
      if (!v?.service) {
        throw new FakeApiError(
          "UNSUPPORTED_VECTORIZE_WHEN_MISSING_VECTORIZE_DEFINITION",
          `The collection ${this.keyspace}.${this.name} has no vectorize service configured.`,
        );
      }
      // The server embeds the text and stores the result as $vector next to $vectorize.
      members = members.filter(([k]) => k !== "$vector");
      members.push(["$vector", vectorize(vz.v, v.dimension)]);
    }
    const lex = get(doc, "$lexical");
    if (lex !== undefined && lex.t !== "null" && !this.lexicalEnabled) {
      throw new FakeApiError(
        "LEXICAL_NOT_ENABLED_FOR_COLLECTION",
        `Lexical search is not enabled for the collection ${this.keyspace}.${this.name}.`,
      );
    }
    const node = obj([["_id", id], ...members]);
    checkPathLengths(node, 0);
    checkIndexable(indexable(node, this.options.indexing));
    const full = stringifyTree(node);
    if (full.length > LIMITS.maxDocumentChars) {
      throw new FakeApiError(
        "SHRED_DOC_LIMIT_VIOLATION",
        `Document size limitation violated: document size (${full.length} chars) exceeds maximum allowed (${LIMITS.maxDocumentChars})`,
      );
    }
    const plainNode = obj(node.t === "obj" ? node.m.filter(([k]) => !k.startsWith("$")) : []);
    const idKey = stringifyTree(id);
    return { idKey, order: hash32(idKey), node, full, plain: stringifyTree(plainNode) };
  }

  #checkVector(vec: JNode): void {
    const v = this.vector;
    if (!v) {
      throw new FakeApiError(
        "VECTOR_SEARCH_NOT_SUPPORTED",
        `Vector search is not enabled for collection: ${this.keyspace}.${this.name}.`,
      );
    }
    let dim: number;
    if (vec.t === "arr") {
      if (vec.a.length === 0) {
        throw new FakeApiError(
          "SHRED_BAD_VECTOR_SIZE",
          "Bad $vector value: cannot be empty Array.",
        );
      }
      if (vec.a.some((x) => x.t !== "num")) {
        throw new FakeApiError(
          "SHRED_BAD_VECTOR_VALUE",
          "Bad $vector value: needs to be array of numbers.",
        );
      }
      dim = vec.a.length;
    } else if (vec.t === "obj") {
      const [k, b] = vec.m[0] ?? ["", { t: "null" } as JNode];
      if (k !== "$binary") {
        throw new FakeApiError(
          "SHRED_BAD_DOCUMENT_VECTOR_TYPE",
          `Bad $vector value to shred: the key for the $vector Object must be '$binary', not '${k}'.`,
        );
      }
      if (b.t !== "str") {
        throw new FakeApiError(
          "SHRED_BAD_BINARY_VECTOR_VALUE",
          "Bad binary vector value to shred: only String allowed.",
        );
      }
      let bytes: Uint8Array;
      try {
        bytes = Uint8Array.from(atob(b.v), (c) => c.charCodeAt(0));
      } catch {
        throw new FakeApiError(
          "SHRED_BAD_BINARY_VECTOR_VALUE",
          "Bad binary vector value to shred: not valid Base64.",
        );
      }
      if (bytes.length % 4 !== 0 || bytes.length === 0) {
        throw new FakeApiError(
          "SHRED_BAD_BINARY_VECTOR_VALUE",
          "Bad binary vector value to shred: not float32 data.",
        );
      }
      dim = bytes.length / 4;
    } else {
      throw new FakeApiError(
        "SHRED_BAD_DOCUMENT_VECTOR_TYPE",
        "Bad $vector value to shred: only JSON Arrays and Objects are supported.",
      );
    }
    if (dim !== v.dimension) {
      throw new FakeApiError(
        "INVALID_VECTOR_LENGTH",
        `The collection was: ${this.keyspace}.${this.name}. The configured vector dimension is: ${v.dimension}.`,
      );
    }
  }
}

/**
 * Server configuration a store plays. Each reproduces stargate/data-api (paths below are in
 * src/main/java/io/stargate/sgv2/jsonapi/ unless said otherwise).
 */
export interface FakeStoreOptions {
  keyspaces?: string[];
  /**
   * `stargate.database.limits.max-collections`: collections per database, counted over every
   * keyspace, tables not counted (service/operation/collections/CreateCollectionOperation.java
   * findTableAndValidateLimits). The code default is 10 (config/DatabaseLimitsConfig.java) but the
   * shipped src/main/resources/application.yaml sets 5 (CONFIGURATION.md). Default here 10.
   */
  maxCollections?: number;
  /** Feature flag `lexical` (config/feature/ApiFeature.java: on by default). Default true. */
  lexicalAvailable?: boolean;
  /**
   * Feature flag `reranking` (ApiFeature.java: off by default on the server; on in Astra).
   * Default true, as the definitions the fake reports have always carried rerank.
   */
  rerankingEnabled?: boolean;
  /** `stargate.jsonapi.operations.vectorize-enabled` (CreateCollectionCommandResolver). Default true. */
  vectorizeAvailable?: boolean;
  /**
   * Embedding or reranking model name → its `apiModelSupport.status` when not SUPPORTED
   * (service/provider/ApiModelSupport.java). Creating with such a model is refused
   * (service/resolver/VectorizeConfigValidator.java, schema/collections/CollectionRerankDef.java).
   */
  modelStatus?: Record<string, "DEPRECATED" | "END_OF_LIFE">;
  /** Server version whose error codes and messages are played. Default 1.0.50. */
  serverVersion?: string;
}

/** Keyspaces and their collections. */
export class FakeStore {
  readonly keyspaces = new Map<string, Map<string, FakeCollection>>();
  /** Tables, types and indexes per keyspace (see {@linkcode FakeStore.schema}). */
  readonly schemas = new Map<string, KeyspaceSchema>();
  /**
   * Makes the collection createCollection creates, when it returns one (synthetic.ts: a restore
   * into a synthetic sink); undefined: an ordinary stored collection.
   */
  collectionFactory?: (
    keyspace: string,
    name: string,
    options: Record<string, unknown>,
  ) => FakeCollection | undefined;
  /** Options that play one server's configuration (see {@linkcode FakeStoreOptions}). */
  readonly features: Required<Omit<FakeStoreOptions, "keyspaces">>;

  constructor(options: FakeStoreOptions = {}) {
    for (const ks of options.keyspaces ?? ["default_keyspace"]) this.keyspaces.set(ks, new Map());
    this.features = {
      maxCollections: options.maxCollections ?? 10,
      lexicalAvailable: options.lexicalAvailable ?? true,
      rerankingEnabled: options.rerankingEnabled ?? true,
      vectorizeAvailable: options.vectorizeAvailable ?? true,
      modelStatus: options.modelStatus ?? {},
      serverVersion: options.serverVersion ?? "1.0.50",
    };
  }

  /** Collections per database (stargate.database.limits.max-collections). */
  get maxCollections(): number {
    return this.features.maxCollections;
  }
  set maxCollections(n: number) {
    this.features.maxCollections = n;
  }

  /** Whether the lexical feature flag is on (stargate.feature.flags.lexical). */
  get lexicalAvailable(): boolean {
    return this.features.lexicalAvailable;
  }
  set lexicalAvailable(on: boolean) {
    this.features.lexicalAvailable = on;
  }

  keyspace(name: string): Map<string, FakeCollection> {
    const ks = this.keyspaces.get(name);
    if (!ks) {
      throw new FakeApiError(
        "UNKNOWN_KEYSPACE",
        `The command tried to use a Keyspace that does not exist in the Database. The keyspace used by the command: ${name}.`,
      );
    }
    return ks;
  }

  /** createCollection semantics: idempotent for equal options, error for different ones. */
  createCollection(keyspace: string, name: string, rawOptions: unknown): FakeCollection {
    const ks = this.keyspace(keyspace);
    if (!/^[A-Za-z0-9_]{1,48}$/.test(name)) {
      throw new FakeApiError(
        "INVALID_CREATE_COLLECTION_FIELD",
        `Invalid collection name '${name}'.`,
      );
    }
    // The resolver validates the options before the operation looks at what exists.
    const options = normaliseOptions(rawOptions, this.features);
    if (this.schemas.get(keyspace)?.tables.has(name)) {
      throw new FakeApiError(
        "EXISTING_TABLE_NOT_DATA_API_COLLECTION",
        `Attempt to create new collection failed: table '${name}' already exists and it is not a valid Data API collection.\n\nRecommend deleting the table and resending the command.`,
      );
    }
    const existing = ks.get(name);
    if (existing) {
      if (JSON.stringify(existing.options) !== JSON.stringify(options)) {
        throw new FakeApiError(
          "EXISTING_COLLECTION_DIFFERENT_SETTINGS",
          `Collection '${name}' already exists but with settings different from ones passed with 'createCollection' command.`,
        );
      }
      return existing;
    }
    const total = [...this.keyspaces.values()].reduce((n, m) => n + m.size, 0);
    if (total >= this.maxCollections) {
      // CreateCollectionOperation.findTableAndValidateLimits; the message is errors.yaml
      // TOO_MANY_COLLECTIONS from v1.0.35, ErrorCodeV1 "Too many collections: …" before.
      throw new FakeApiError(
        "TOO_MANY_COLLECTIONS",
        versionBefore(this.features.serverVersion, "1.0.35")
          ? `Too many collections: number of collections in database cannot exceed ${this.maxCollections}, already have ${total}`
          : `Cannot create collection '${name}': the maximum number of collections per database is ${this.maxCollections}, database already has ${total}.`,
      );
    }
    const c = this.collectionFactory?.(keyspace, name, options) ??
      new FakeCollection(keyspace, name, options);
    ks.set(name, c);
    return c;
  }

  /** deleteCollection (a DROP TABLE IF EXISTS): removes a collection or a table of that name. */
  deleteCollection(keyspace: string, name: string): void {
    this.keyspace(keyspace).delete(name);
    this.schemas.get(keyspace)?.dropTable(name);
  }

  // -------------------------------------------------------------------------------------------
  // Tables. Collections stay in `keyspaces` (other tests read them there); tables, types and
  // indexes live per keyspace in `schemas`. A name is either a collection or a table.

  /** The tables, types and indexes of an existing keyspace (UNKNOWN_KEYSPACE otherwise). */
  schema(keyspace: string): KeyspaceSchema {
    this.keyspace(keyspace);
    let s = this.schemas.get(keyspace);
    if (!s) {
      s = new KeyspaceSchema(keyspace);
      this.schemas.set(keyspace, s);
    }
    return s;
  }

  /** A table, if one of that name exists. */
  table(keyspace: string, name: string): FakeTable | undefined {
    return this.schemas.get(keyspace)?.tables.get(name);
  }

  /**
   * createTable semantics (also a test helper): `definition` is the command's `definition`, as
   * JSON text (keeps `partitionSort` order exact) or a plain object. `cqlTypes` accepts timeuuid
   * and counter columns, as for a table made with CQL.
   */
  createTable(
    keyspace: string,
    name: string,
    definition: string | Record<string, unknown> | JNode,
    options: { ifNotExists?: boolean; cqlTypes?: boolean } = {},
  ): FakeTable {
    const schema = this.schema(keyspace);
    const node = isTree(definition) ? definition : toTree(definition);
    const def = parseTableDefinition(
      name,
      node,
      schema.types,
      options.cqlTypes ? { cqlTypes: true } : {},
    );
    const existing = schema.tables.get(name);
    if (existing || this.keyspace(keyspace).has(name)) {
      // CQL CREATE TABLE IF NOT EXISTS keeps whatever is there, even a collection.
      if (options.ifNotExists && existing) return existing;
      if (options.ifNotExists) return new FakeTable(schema, def, hash32);
      throw new FakeApiError(
        "CANNOT_ADD_EXISTING_TABLE",
        `The command attempted to add a table that already exists in the keyspace schema.\n\nThe command attempted to add the existing table: ${name}.\n\nResend the command using a table name that does not exist in the keyspace.`,
      );
    }
    const table = new FakeTable(schema, def, hash32);
    schema.tables.set(name, table);
    return table;
  }

  /** dropTable: removes a table (or a collection) and its indexes. */
  dropTable(keyspace: string, name: string, ifExists = false): void {
    const schema = this.schema(keyspace);
    const dropped = schema.dropTable(name) || this.keyspace(keyspace).delete(name);
    if (!dropped && !ifExists) {
      throw new FakeApiError(
        "CANNOT_DROP_UNKNOWN_TABLE",
        `The command attempted to drop a table that is not in the keyspace schema.\n\nThe command attempted to drop the unknown table: ${name}.\n\nResend the command using a table that exists in the keyspace.`,
      );
    }
  }

  /** createType semantics (also a test helper); `definition` is `{"fields": {...}}`. */
  createType(
    keyspace: string,
    name: string,
    definition: string | Record<string, unknown> | JNode,
    options: { ifNotExists?: boolean } = {},
  ): void {
    const schema = this.schema(keyspace);
    const def = parseTypeDefinition(
      name,
      isTree(definition) ? definition : toTree(definition),
      schema.types,
    );
    if (schema.types.has(name)) {
      if (options.ifNotExists) return;
      throw new FakeApiError(
        "CANNOT_ADD_EXISTING_TYPE",
        `The command attempted to add a type that already exists in the keyspace schema.\n\nThe command attempted to add the existing type: ${name}.\n\nResend the command using a type name that does not exist in the keyspace.`,
      );
    }
    schema.types.set(name, def);
  }

  /** create*Index semantics (also a test helper); `definition` is `{"column", "options"?}`. */
  createIndex(
    keyspace: string,
    table: string,
    kind: "regular" | "vector" | "text",
    name: string,
    definition: string | Record<string, unknown> | JNode,
    options: { ifNotExists?: boolean } = {},
  ): void {
    const t = this.table(keyspace, table);
    if (!t) throw new Error(`no table ${keyspace}.${table}`);
    t.addIndex(
      kind,
      name,
      isTree(definition) ? definition : toTree(definition),
      options.ifNotExists ?? false,
    );
  }

  /**
   * Upserts rows given as JSON text into a table, with insertMany's validation and conversion
   * (test seeding). Throws the first row's FakeApiError. `allowUnsupported` lets counter values
   * in, as CQL could write them.
   */
  seedRows(
    keyspace: string,
    table: string,
    rowsJson: string[],
    options: { allowUnsupported?: boolean } = {},
  ): void {
    const t = this.table(keyspace, table);
    if (!t) throw new Error(`no table ${keyspace}.${table}`);
    for (const r of rowsJson) t.upsert(t.prepareRow(parseTree(r), fakeEmbedding, options));
  }

  /** All rows of a table exactly as `find` with `{"*": true}` returns them, in read order. */
  tableRows(keyspace: string, table: string): string[] {
    const t = this.table(keyspace, table);
    if (!t) throw new Error(`no table ${keyspace}.${table}`);
    return t.sorted().map((r) => t.rowText(r, t.rowOrder));
  }

  /** A table's listTables (explain) item as JSON text. */
  tableDefinition(keyspace: string, table: string): string {
    const t = this.table(keyspace, table);
    if (!t) throw new Error(`no table ${keyspace}.${table}`);
    return describeTable(t);
  }

  /** A table's listIndexes (explain) items as JSON text. */
  tableIndexes(keyspace: string, table: string): string[] {
    return [...this.schema(keyspace).indexes.values()].filter((ix) => ix.table === table).map(
      describeIndex,
    );
  }

  /** The keyspace's listTypes (explain) items as JSON text. */
  keyspaceTypes(keyspace: string): string[] {
    const schema = this.schema(keyspace);
    return [...schema.types.values()].map((d) => describeUdt(d, keyspace, schema.types));
  }

  /**
   * Adds `count` generated vector documents without parsing them (benchmarks: hundreds of
   * thousands of 1536-dimension documents). Vectors come from a pool of 64 and documents share
   * them, so memory stays small while every response is a full, realistic page.
   */
  seedSynthetic(
    keyspace: string,
    name: string,
    options: { count: number; dimension: number; seed?: number; textBytes?: number },
  ): void {
    const c = this.keyspace(keyspace).get(name);
    if (!c) throw new Error(`no collection ${keyspace}.${name}`);
    const gen = new SyntheticGenerator(options);
    for (let i = 0; i < options.count; i++) {
      const idKey = gen.idKey(i);
      c.docs.set(idKey, {
        idKey,
        order: hash32(idKey),
        node: { t: "obj", m: [["_id", { t: "str", v: `doc-${i}` }]] },
        full: gen.full(i),
        plain: gen.plain(i),
      });
    }
    c.invalidate();
  }

  /** Inserts documents given as JSON text (test seeding; same validation as insertMany). */
  seed(keyspace: string, name: string, docs: string[]): void {
    const c = this.keyspace(keyspace).get(name);
    if (!c) throw new Error(`no collection ${keyspace}.${name}`);
    for (const d of docs) c.insert(parseTree(d), fakeEmbedding);
  }
}

/** Normalises createCollection options the way findCollections (explain) reports them. */
export function normaliseOptions(
  raw: unknown,
  features: Required<Omit<FakeStoreOptions, "keyspaces">>,
): Record<string, unknown> {
  const o = (raw && typeof raw === "object" ? raw : {}) as Record<string, unknown>;
  const known = ["defaultId", "vector", "indexing", "lexical", "rerank"];
  for (const k of Object.keys(o)) {
    if (!known.includes(k)) {
      throw new FakeApiError(
        "INVALID_CREATE_COLLECTION_FIELD",
        `Unrecognized field "${k}" in createCollection options.`,
      );
    }
  }
  const out: Record<string, unknown> = {};
  if (o.defaultId !== undefined) {
    const t = (o.defaultId as { type?: unknown }).type;
    if (!["uuid", "uuidv6", "uuidv7", "objectId"].includes(String(t))) {
      throw new FakeApiError("INVALID_CREATE_COLLECTION_FIELD", `Invalid defaultId type '${t}'.`);
    }
    out.defaultId = { type: t };
  }
  if (o.vector !== undefined) {
    const v = o.vector as Record<string, unknown>;
    const dimension = v.dimension ?? v.size;
    const service = v.service as Record<string, unknown> | undefined;
    if (service && !features.vectorizeAvailable) {
      // service/resolver/CreateCollectionCommandResolver.java validateVectorOptions; errors.yaml.
      throw new FakeApiError(
        "VECTORIZE_FEATURE_NOT_AVAILABLE",
        "Vectorize feature is not available in the environment.",
      );
    }
    if (service) checkModel(features, String(service.modelName));
    if (dimension === undefined && !service) {
      throw new FakeApiError(
        "INVALID_CREATE_COLLECTION_FIELD",
        "The 'dimension' can not be null if 'service' is not provided.",
      );
    }
    const dim = typeof dimension === "number" ? dimension : 1024;
    if (!Number.isInteger(dim) || dim < 1 || dim > LIMITS.maxVectorDimension) {
      throw new FakeApiError(
        "INVALID_CREATE_COLLECTION_FIELD",
        `Invalid vector dimension ${dimension}.`,
      );
    }
    const metric = v.metric ?? v.function ?? "cosine";
    if (!["cosine", "euclidean", "dot_product"].includes(String(metric))) {
      throw new FakeApiError(
        "INVALID_CREATE_COLLECTION_FIELD",
        `Invalid vector metric '${metric}'.`,
      );
    }
    const vec: Record<string, unknown> = {
      dimension: dim,
      metric,
      sourceModel: v.sourceModel ?? "other",
    };
    if (service) vec.service = service;
    out.vector = vec;
  }
  if (o.indexing !== undefined) out.indexing = o.indexing;
  const lexical = o.lexical as { enabled?: boolean; analyzer?: unknown } | undefined;
  const rerank = o.rerank as
    | { enabled?: boolean; service?: { modelName?: unknown } }
    | undefined;
  // The resolver checks lexical, then rerank (CreateCollectionCommandResolver.java).
  if (lexical?.enabled && !features.lexicalAvailable) {
    // schema/collections/CollectionLexicalDefSchemaFactory.java (v1.0.47 on); before:
    // ErrorCodeV1.LEXICAL_NOT_AVAILABLE_FOR_DATABASE (CollectionLexicalConfig.java).
    throw versionBefore(features.serverVersion, "1.0.47")
      ? new FakeApiError(
        "LEXICAL_NOT_AVAILABLE_FOR_DATABASE",
        "Lexical search is not available on this database",
      )
      : new FakeApiError(
        "LEXICAL_FEATURE_NOT_ENABLED",
        "The command attempted to enable lexical search functionality but lexical search is not supported by this database.",
      );
  }
  if (rerank !== undefined && !features.rerankingEnabled) {
    // v1.0.47 on (CollectionRerankDefSchemaFactory via SchemaFactory.checkValidPersistedValue):
    // only a value other than the disabled default {"enabled":false}; before (v1.0.23-v1.0.46,
    // CollectionRerankDef.fromApiDesc): any rerank object.
    if (rerank.enabled !== false || versionBefore(features.serverVersion, "1.0.47")) {
      throw new FakeApiError(
        "RERANKING_FEATURE_NOT_ENABLED",
        "Reranking feature is not enabled for this database.",
      );
    }
  }
  if (rerank?.enabled !== false && rerank?.service?.modelName !== undefined) {
    checkModel(features, String(rerank.service.modelName));
  }
  if (features.lexicalAvailable) {
    out.lexical = lexical?.enabled === false
      ? { enabled: false }
      : { enabled: true, analyzer: lexical?.analyzer ?? "standard" };
  }
  if (features.lexicalAvailable && features.rerankingEnabled) {
    out.rerank = rerank?.enabled === false ? { enabled: false } : {
      enabled: true,
      service: rerank?.service ??
        { provider: "nvidia", modelName: "nvidia/llama-3.2-nv-rerankqa-1b-v2" },
    };
  }
  return out;
}

/**
 * Refuses a model that is not SUPPORTED, as the server does on create: errors.yaml
 * DEPRECATED_AI_MODEL / END_OF_LIFE_AI_MODEL (VectorizeConfigValidator.java, CollectionRerankDef.java).
 */
function checkModel(
  features: Required<Omit<FakeStoreOptions, "keyspaces">>,
  model: string,
): void {
  const status = features.modelStatus[model];
  if (status === undefined) return;
  throw status === "DEPRECATED"
    ? new FakeApiError(
      "DEPRECATED_AI_MODEL",
      `The command attempted to create or alter a collection or table to use a AI Model that has been marked as deprecated. Deprecated models are only supported by the API for existing use and will later be removed.\n\nThe model is: ${model}. It is at ${status} status.\n\nResend the command using supported model.`,
    )
    : new FakeApiError(
      "END_OF_LIFE_AI_MODEL",
      `The command attempted to use an AI Model that has been marked as end of life. End of life models cannot be used in any way. Collections or tables that use the model must be recreated as data such as embeddings is not transferrable.\n\nThe model is: ${model}. It is at ${status} status.\n\nResend the command using supported model.`,
    );
}

/** Whether dotted version `v` is older than `than` (e.g. "1.0.40" < "1.0.41"). */
export function versionBefore(v: string, than: string): boolean {
  const a = v.split(".").map(Number);
  const b = than.split(".").map(Number);
  for (let i = 0; i < 3; i++) {
    if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) < (b[i] ?? 0);
  }
  return false;
}

function checkId(id: JNode): void {
  if (id.t === "str" || id.t === "num" || id.t === "bool" || id.t === "null") return;
  if (id.t === "obj" && id.m.length === 1) {
    const [k, v] = id.m[0]!;
    if (k === "$uuid" && v.t === "str") return;
    if (k === "$objectId" && v.t === "str" && /^[0-9a-fA-F]{24}$/.test(v.v)) return;
    if (k === "$date" && v.t === "num" && /^-?\d+$/.test(v.raw)) return;
  }
  throw new FakeApiError(
    "SHRED_BAD_DOCID_TYPE",
    "Bad type for '_id' property: Document Id must be a JSON String, Number, Boolean, EJSON-Encoded Date Object or NULL",
  );
}

function checkLimits(n: JNode, depth: number): void {
  if (depth > LIMITS.maxDepth) {
    throw new FakeApiError(
      "SHRED_DOC_LIMIT_VIOLATION",
      `Document size limitation violated: document depth exceeds maximum allowed (${LIMITS.maxDepth})`,
    );
  }
  if (n.t === "num" && n.raw.length > LIMITS.maxNumberChars) {
    throw new FakeApiError(
      "SHRED_DOC_LIMIT_VIOLATION",
      `Document size limitation violated: Number value length (${n.raw.length}) exceeds the maximum allowed (${LIMITS.maxNumberChars})`,
    );
  }
  if (n.t === "obj") { for (const [, v] of n.m) checkLimits(v, depth + 1); }
  if (n.t === "arr") { for (const v of n.a) checkLimits(v, depth + 1); }
}

const limitViolation = (what: string) =>
  new FakeApiError(
    "SHRED_DOC_LIMIT_VIOLATION",
    `Document size limitation violated: ${what}.`,
  );

/**
 * Field path lengths, checked on every field (stargate/data-api service/shredding/collections/
 * DocumentShredder.java, validateObjectKey: the dotted path, `_id` skipped).
 */
function checkPathLengths(n: JNode, parent: number): void {
  if (n.t === "arr") { for (const v of n.a) checkPathLengths(v, parent); }
  if (n.t !== "obj") return;
  for (const [k, v] of n.m) {
    if (parent === 0 && k === "_id") continue;
    const total = parent + k.length;
    if (total > LIMITS.maxPropertyPathLength) {
      throw limitViolation(
        `field path length (${total}) exceeds maximum allowed (${LIMITS.maxPropertyPathLength}) (path ends with '${k}')`,
      );
    }
    checkPathLengths(v, total + 1);
  }
}

/**
 * The document as the server validates its sizes: only what the collection indexes
 * (`indexing.allow`/`deny`, with `$vector` and `$vectorize` always kept: IndexingProjector.java).
 */
function indexable(node: JNode, indexing: unknown): JNode {
  const rules = (indexing ?? {}) as { allow?: string[]; deny?: string[] };
  const always = new Set(["_id", "$vector", "$vectorize", "$lexical"]);
  if (!rules.allow && !rules.deny) return node;
  if (rules.allow?.includes("*") || (rules.deny && rules.deny.length === 0)) return node;
  const denyAll = rules.deny?.includes("*") ?? false;
  const keep = (path: string): "all" | "some" | "none" => {
    if (rules.allow) {
      if (rules.allow.some((a) => path === a || path.startsWith(a + "."))) return "all";
      return rules.allow.some((a) => a.startsWith(path + ".")) ? "some" : "none";
    }
    if (denyAll || rules.deny!.some((d) => path === d || path.startsWith(d + "."))) return "none";
    return rules.deny!.some((d) => d.startsWith(path + ".")) ? "some" : "all";
  };
  const prune = (n: JNode, prefix: string): JNode => {
    if (n.t !== "obj") return n;
    const m: Array<[string, JNode]> = [];
    for (const [k, v] of n.m) {
      const path = prefix ? `${prefix}.${k}` : k;
      const how = !prefix && always.has(k) ? "all" : keep(path);
      if (how === "all") m.push([k, v]);
      else if (how === "some") m.push([k, v.t === "obj" ? prune(v, path) : v]);
    }
    return { t: "obj", m };
  };
  return prune(node, "");
}

/**
 * Sizes of indexed values (DocumentShredder.java IndexableValueValidator): objects of at most 1000
 * properties (the document itself included, `_id` counted) and 2000 in all, arrays of at most
 * 1000 elements (`$vector` 4096), strings of at most 8000 UTF-8 bytes (not `$vectorize`,
 * `$binary`, `$lexical`).
 */
function checkIndexable(doc: JNode): void {
  let total = 0;
  const enc = new TextEncoder();
  const visit = (name: string | null, n: JNode): void => {
    if (n.t === "obj") {
      if (n.m.length > LIMITS.maxObjectProperties) {
        throw limitViolation(
          `number of properties an indexable Object (field '${name}') has (${n.m.length}) exceeds maximum allowed (${LIMITS.maxObjectProperties})`,
        );
      }
      total += n.m.length;
      for (const [k, v] of n.m) visit(k, v);
    } else if (n.t === "arr") {
      const max = name === "$vector" ? LIMITS.maxVectorDimension : LIMITS.maxArrayLength;
      if (n.a.length > max) {
        throw limitViolation(
          name === "$vector"
            ? `number of elements Vector embedding (field '${name}') has (${n.a.length}) exceeds maximum allowed (${max})`
            : `number of elements an indexable Array (field '${name}') has (${n.a.length}) exceeds maximum allowed (${max})`,
        );
      }
      for (const v of n.a) visit(name, v);
    } else if (n.t === "str" && !["$vectorize", "$binary", "$lexical"].includes(name ?? "")) {
      if (n.v.length > LIMITS.maxStringBytes / 3) {
        const bytes = enc.encode(n.v).length;
        if (bytes > LIMITS.maxStringBytes) {
          throw limitViolation(
            `indexed String value (field '${name}') length (${bytes} bytes) exceeds maximum allowed (${LIMITS.maxStringBytes} bytes)`,
          );
        }
      }
    }
  };
  visit(null, doc);
  if (total > LIMITS.maxDocProperties) {
    throw limitViolation(
      `total number of indexed properties (${total}) in document exceeds maximum allowed (${LIMITS.maxDocProperties})`,
    );
  }
}

function generateId(defaultId: { type?: string } | undefined): JNode {
  const uuid = crypto.randomUUID();
  switch (defaultId?.type) {
    case undefined:
      return { t: "str", v: uuid };
    case "objectId": {
      const hex = [...crypto.getRandomValues(new Uint8Array(12))].map((b) =>
        b.toString(16).padStart(2, "0")
      ).join("");
      return obj([["$objectId", { t: "str", v: hex }]]);
    }
    default:
      return obj([["$uuid", { t: "str", v: uuid }]]);
  }
}

/** FNV-1a, 32 bit: a stable stand-in for Cassandra's token order. */
export function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Deterministic stand-in for an embedding provider: the same text gives the same vector. */
export function fakeEmbedding(text: string, dim: number): JNode {
  let h = hash32(text) || 1;
  const a: JNode[] = [];
  for (let i = 0; i < dim; i++) {
    h ^= h << 13;
    h ^= h >>> 17;
    h ^= h << 5;
    a.push({ t: "num", raw: String(Math.fround(((h >>> 0) / 0xffffffff) * 2 - 1)) });
  }
  return { t: "arr", a };
}

/** True for a parsed JSON tree (as opposed to JSON text or a plain object). */
function isTree(v: unknown): v is JNode {
  return typeof v === "object" && v !== null && "t" in v &&
    ["obj", "arr", "str", "num", "bool", "null"].includes((v as { t: unknown }).t as string);
}

export { toPlain };
