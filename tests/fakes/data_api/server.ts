/**
 * @module
 * A fake Data API over real HTTP, faithful to shared/docs/data-api-facts.md where astrabak depends
 * on it: both path prefixes, the `Token` header, errors inside HTTP 200 in the documented shape,
 * the projection defaults (`$vector` only with `{"*": true}` or when named), opaque page states
 * and a configurable page size, the 100-document insertMany limit, and numbers kept exactly.
 * The unmodified astra-db-ts client talks to it (tests/fakes/data_api/server_test.ts).
 *
 * Deliberate limits (it refuses rather than pretends): filters only on `_id`, no sort except a
 * collection's `$vector` sort (vector_search.ts, `drill`'s probes), no dotted projection paths.
 *
 * Tables (table_commands.ts, tables.ts, table_values.ts) follow stargate/data-api: DDL and its
 * listings, row validation and the server's value encodings, `projectionSchema`, warnings and
 * 50-row pages.
 */

import { apiError, FakeApiError, type FakeError, pageStateRejected } from "./errors.ts";
import { type AlterChange, type FaultAction, FaultPlan, reorderedVector } from "./faults.ts";
import { vectorSearch } from "./vector_search.ts";
import { HeldRequests } from "../fault_plan.ts";
import {
  get,
  type JNode,
  parseTree,
  stringifyTree,
  toPlain,
  TreeSyntaxError,
} from "./json_tree.ts";
import {
  type FakeCollection,
  fakeEmbedding,
  FakeStore,
  type FakeStoreOptions,
  type StoredDoc,
  versionBefore,
} from "./store.ts";
import {
  isTableOnlyCommand,
  tableCommand,
  tableKeyspaceCommand,
  unsupportedCollectionCommand,
} from "./table_commands.ts";
import { SyntheticCollection } from "./synthetic.ts";

/** The token the fake accepts by default (an Astra-style application token). */
export const FAKE_TOKEN =
  "AstraCS:FAKE:0000000000000000000000000000000000000000000000000000000000000000";

/** Settings of {@linkcode FakeDataApi.start}. */
export interface FakeDataApiOptions {
  /** Port to listen on (default 0: any free port). */
  port?: number;
  /**
   * Documents per `find` page. Default: what `serverVersion` has, 20 up to v1.0.46 and 50 from
   * v1.0.47 (stargate/data-api config/OperationsConfig.java defaultPageSize; commit b0715dfa9).
   */
  pageSize?: number;
  /**
   * Rows per `find` page on tables. Default: what `serverVersion` has, 20 up to v1.0.46 and 50
   * from v1.0.47 (src/main/resources/application.conf, profile table-read,
   * basic.request.page-size).
   */
  tablePageSize?: number;
  /** Accepted `Token` header values. Default [FAKE_TOKEN]. */
  tokens?: string[];
  /** Server version; before 1.0.41 a missing collection is COLLECTION_NOT_EXIST. Default 1.0.50. */
  serverVersion?: string;
  /**
   * Commands this server does not have: COMMAND_UNKNOWN (api/configuration/
   * CommandObjectMapperHandler.java handleUnknownTypeId), e.g. listIndexes before v1.0.19 and
   * the type commands before v1.0.30 (api/model/command/CommandName.java at each tag).
   */
  unknownCommands?: readonly string[];
  /**
   * The tables feature flag (v1.0.18–v1.0.34: stargate.jsonapi.feature.flags.tables, off by
   * default, config/feature/ApiFeature.java). When false, table commands and commands on tables
   * answer TABLE_FEATURE_NOT_ENABLED in HTTP 200 (api/v1/KeyspaceResource.java,
   * CollectionResource.java). Default true.
   */
  tablesEnabled?: boolean;
  /**
   * Servers up to v1.0.34 answer with the HTTP status of the first error that has one
   * (CommandResult.toRestResponse; exception/mappers/ThrowableToErrorMapper.java gives driver
   * failures 502/504/500), so one document's driver timeout turns a whole insertMany into an
   * HTTP 504 that still carries documentResponses. Default false (later servers: 200).
   */
  legacyErrorStatus?: boolean;
  /** insertMany document limit (max-document-insert-count). Default 100. */
  maxInsertCount?: number;
  /** Added latency per request in ms (benchmarks). Default 0. */
  latencyMs?: number;
  /** Keep a log of requests (default true). */
  logRequests?: boolean;
  /**
   * The one URL prefix served, as a real server has one: `/v1` (HCD, DSE; the default) or
   * `/api/json/v1` (Astra). Anything else is 404.
   */
  apiPath?: "/v1" | "/api/json/v1";
  /** Leave out `nextPageState` on the last page instead of sending null. Default false. */
  omitNullPageState?: boolean;
  /**
   * Server configuration of a new store (max collections, lexical/reranking/vectorize features,
   * model statuses; see {@linkcode FakeStoreOptions}); `serverVersion` is passed on. Ignored
   * with `store`.
   */
  features?: Omit<FakeStoreOptions, "keyspaces" | "serverVersion">;
  /**
   * Answer gzip-compressed (`Content-Encoding: gzip`, Content-Length of the compressed bytes)
   * whenever the request accepts gzip, as a compressing proxy or ingress in front of the server
   * does (Quarkus itself does not compress: stargate/data-api src/main/resources/application.yaml
   * sets no quarkus.http.enable-compression). Default false.
   */
  gzipResponses?: boolean;
  store?: FakeStore;
}

/** One logged request. */
export interface LoggedRequest {
  path: string;
  command: string;
  keyspace?: string | undefined;
  collection?: string | undefined;
  token: string | null;
  userAgent: string | null;
  /** The `x-embedding-api-key` header (what the server hands a HEADER-authenticated provider). */
  embeddingApiKey: string | null;
  /** Request body size in bytes. */
  size: number;
  /** Request body (first 100 000 characters). */
  body: string;
}

/** A running fake Data API. */
export class FakeDataApi {
  readonly store: FakeStore;
  readonly faults = new FaultPlan();
  readonly requests: LoggedRequest[] = [];
  readonly tokens: Set<string>;
  pageSize: number;
  tablePageSize: number;
  latencyMs: number;
  readonly options: FakeDataApiOptions;
  #server!: Deno.HttpServer<Deno.NetAddr>;
  #held = new HeldRequests();
  /** The documentError fault of the request being dispatched (dispatch is synchronous). */
  #documentFault:
    | { kind: "documentError"; errorCode: string; count: number; applied?: boolean }
    | { kind: "lose"; count: number }
    | { kind: "alter"; every: number; change: AlterChange }
    | undefined;
  /** The `x-embedding-api-key` of the request being dispatched. */
  #embeddingKey: string | null = null;

  private constructor(options: FakeDataApiOptions) {
    this.options = options;
    this.store = options.store ??
      new FakeStore({
        ...options.features,
        ...(options.serverVersion ? { serverVersion: options.serverVersion } : {}),
      });
    this.tokens = new Set(options.tokens ?? [FAKE_TOKEN]);
    const defaultPageSize = versionBefore(options.serverVersion ?? DEFAULT_VERSION, "1.0.47")
      ? 20
      : 50;
    this.pageSize = options.pageSize ?? defaultPageSize;
    this.tablePageSize = options.tablePageSize ?? defaultPageSize;
    this.latencyMs = options.latencyMs ?? 0;
  }

  /** Starts listening on 127.0.0.1. */
  static start(options: FakeDataApiOptions = {}): Promise<FakeDataApi> {
    const api = new FakeDataApi(options);
    return new Promise((resolve) => {
      api.#server = Deno.serve(
        { hostname: "127.0.0.1", port: options.port ?? 0, onListen: () => resolve(api) },
        (req) => api.#handle(req),
      );
    });
  }

  /** Base URL, e.g. `http://127.0.0.1:41234` (use with environment hcd: paths /v1/…). */
  get url(): string {
    return `http://127.0.0.1:${this.#server.addr.port}`;
  }

  get port(): number {
    return this.#server.addr.port;
  }

  /** Requests of one command (optionally for one collection). */
  requestsOf(command: string, collection?: string): LoggedRequest[] {
    return this.requests.filter((r) =>
      r.command === command && (collection === undefined || r.collection === collection)
    );
  }

  async close(): Promise<void> {
    this.#held.releaseAll();
    await this.#server.shutdown();
  }

  async #handle(req: Request): Promise<Response> {
    const url = new URL(req.url);
    const prefix = this.options.apiPath ?? "/v1";
    if (!url.pathname.startsWith(prefix + "/") && url.pathname !== prefix) {
      return new Response("Not Found", { status: 404 });
    }
    const path = url.pathname.slice(prefix.length);
    const segs = path.split("/").filter(Boolean);
    if (segs.length > 2) return new Response("Not Found", { status: 404 });
    if (req.method !== "POST") return new Response("Method Not Allowed", { status: 405 });
    const [keyspace, collection] = segs;

    const token = req.headers.get("token") ?? req.headers.get("x-cassandra-token");
    const raw = new Uint8Array(await req.arrayBuffer());
    // quarkus.http.limits.max-body-size: 20M, enforced before the command is read.
    if (raw.length > MAX_BODY_BYTES) {
      return new Response("Request Entity Too Large", { status: 413 });
    }
    const text = new TextDecoder().decode(raw);
    let command = "";
    let root: JNode | undefined;
    try {
      root = parseTree(text);
      if (root.t === "obj" && root.m.length === 1) command = root.m[0]![0];
    } catch (e) {
      if (!(e instanceof TreeSyntaxError)) throw e;
    }
    if (this.options.logRequests !== false) {
      this.requests.push({
        path: url.pathname,
        command,
        keyspace,
        collection,
        token,
        userAgent: req.headers.get("user-agent"),
        embeddingApiKey: req.headers.get("x-embedding-api-key"),
        size: raw.length,
        body: text.slice(0, 100_000),
      });
    }
    if (token === null) {
      return errorResponse(
        apiError(
          "MISSING_AUTHENTICATION_TOKEN",
          "The command did not include an authorization token in the request headers.",
        ),
        401,
      );
    }
    if (!this.tokens.has(token)) {
      return errorResponse(
        apiError(
          "UNAUTHENTICATED_REQUEST",
          "Authentication failed for request due to invalid token.",
        ),
        401,
      );
    }
    // A request without Content-Type is taken as JSON (what astra-db-ts's own fetch tests send
    // to the real server); a different type is refused with 415.
    const contentType = req.headers.get("content-type");
    if (contentType !== null && !contentType.startsWith("application/json")) {
      return errorResponse(
        apiError(
          "UNSUPPORTED_CONTENT_TYPE",
          "Unsupported content type, expected application/json.",
        ),
        415,
      );
    }

    const fault = this.faults.take({ command, keyspace, collection });
    if (this.latencyMs > 0) await new Promise((r) => setTimeout(r, this.latencyMs));
    if (fault) {
      const early = await this.#applyEarlyFault(fault);
      if (early) return early;
    }

    let body: string;
    try {
      if (!root || !command) {
        throw new FakeApiError(
          "REQUEST_NOT_JSON",
          "Request invalid: the body is not a JSON object with one command.",
        );
      }
      this.#documentFault = fault?.kind === "documentError" || fault?.kind === "lose" ||
          fault?.kind === "alter"
        ? fault
        : undefined;
      this.#embeddingKey = req.headers.get("x-embedding-api-key");
      body = this.#dispatch(command, get(root, command)!, keyspace, collection);
    } catch (e) {
      if (!(e instanceof FakeApiError)) throw e;
      return errorResponse(e.descriptor, e.httpStatus);
    }
    if (fault?.kind === "warning") {
      body = withWarning(body, apiError(fault.errorCode, fault.message));
    }
    if (fault?.kind === "truncate") return jsonResponse(body.slice(0, Math.floor(body.length / 2)));
    if (fault?.kind === "drop") return droppedResponse(body);
    const status = this.options.legacyErrorStatus ? legacyStatus(body) : 200;
    if (status !== 200) return jsonResponse(body, status);
    if (this.options.gzipResponses && /\bgzip\b/i.test(req.headers.get("accept-encoding") ?? "")) {
      return await gzipResponse(body);
    }
    return jsonResponse(body);
  }

  async #applyEarlyFault(fault: FaultAction): Promise<Response | undefined> {
    switch (fault.kind) {
      case "status": {
        const headers = new Headers({ "content-type": "text/plain" });
        if (fault.retryAfter !== undefined) headers.set("retry-after", String(fault.retryAfter));
        return new Response(fault.body ?? `fake upstream error ${fault.status}`, {
          status: fault.status,
          headers,
        });
      }
      case "delay":
        await new Promise((r) => setTimeout(r, fault.ms));
        return undefined;
      case "hang":
        await this.#held.hold();
        return new Response("gone", { status: 504 });
      case "error":
        return errorResponse(
          apiError(fault.errorCode, fault.message ?? `injected ${fault.errorCode}`),
          this.options.legacyErrorStatus ? LEGACY_ERROR_STATUS[fault.errorCode] ?? 200 : 200,
        );
      case "run":
        fault.fn();
        return undefined;
      default:
        return undefined;
    }
  }

  #dispatch(command: string, args: JNode, keyspace?: string, collection?: string): string {
    if (this.options.unknownCommands?.includes(command)) throw unknownCommand(command);
    if (args.t !== "obj") {
      throw new FakeApiError("REQUEST_NOT_JSON", `Command '${command}' must be an object.`);
    }
    if (this.options.tablesEnabled === false) {
      const onTable = collection !== undefined && keyspace !== undefined &&
        !this.store.keyspace(keyspace).has(collection) &&
        this.store.table(keyspace, collection) !== undefined;
      if (onTable || (collection === undefined && TABLE_ONLY_KEYSPACE_COMMANDS.has(command))) {
        throw new FakeApiError("TABLE_FEATURE_NOT_ENABLED", "API Table feature is not enabled");
      }
    }
    if (keyspace === undefined) return this.#general(command, args);
    if (collection === undefined) return this.#keyspaceCommand(command, args, keyspace);
    const ks = this.store.keyspace(keyspace);
    const coll = ks.get(collection);
    const table = coll ? undefined : this.store.table(keyspace, collection);
    if (table) {
      return tableCommand(
        {
          pageSize: this.tablePageSize,
          maxInsertCount: this.options.maxInsertCount ?? 100,
          omitNullPageState: this.options.omitNullPageState ?? false,
          documentFault: this.#documentFault?.kind === "lose" ||
              this.#documentFault?.kind === "alter"
            ? this.#documentFault
            : undefined,
        },
        command,
        args,
        table,
      );
    }
    if (!coll) {
      const legacy = versionBefore(this.options.serverVersion ?? DEFAULT_VERSION, "1.0.41");
      throw legacy
        ? new FakeApiError(
          "COLLECTION_NOT_EXIST",
          `Collection does not exist, collection name: ${collection}`,
        )
        : new FakeApiError(
          "UNKNOWN_COLLECTION_OR_TABLE",
          `The command tried to get a Collection or Table ${collection} that does not exist in the Keyspace ${keyspace}. The keyspace has the existing collections or tables: [${
            [...ks.keys(), ...(this.store.schemas.get(keyspace)?.tables.keys() ?? [])].join(", ")
          }].`,
        );
    }
    return this.#collectionCommand(command, args, coll);
  }

  #general(command: string, args: JNode): string {
    // The old *Namespace* commands still work, with a DEPRECATED_COMMAND warning and, for
    // findNamespaces, `status.namespaces` (api/model/command/DeprecatedCommand.java,
    // operation/keyspaces/FindKeyspacesOperation.java, errors.yaml scope WARNING).
    const renamed = DEPRECATED_NAMESPACE_COMMANDS[command];
    if (renamed !== undefined) {
      const body = command === "findNamespaces"
        ? JSON.stringify({ status: { namespaces: this.#keyspaceNames() } })
        : this.#general(renamed, args);
      return withWarning(
        body,
        apiError(
          "DEPRECATED_COMMAND",
          `A deprecated command was used, it may still be used but will be removed in future releases.\n\nThe deprecated command is: ${command}.\nThe new command to use is: ${renamed}.\n\nPlease check the documentation for the new command and update your code.`,
        ),
      );
    }
    switch (command) {
      case "findEmbeddingProviders":
      case "findRerankingProviders":
        return this.#providers(command, args);
      case "findKeyspaces":
        return JSON.stringify({ status: { keyspaces: this.#keyspaceNames() } });
      case "createKeyspace": {
        const name = get(args, "name");
        if (name?.t !== "str") {
          throw new FakeApiError(
            "COMMAND_FIELD_VALUE_INVALID",
            "Command field 'name' value not valid.",
          );
        }
        // service/schema/naming/SchemaObjectNamingRule.java: \w+, at most 48 characters
        // (servers before v1.0.2x: @Pattern/@Size on CreateKeyspaceCommand.name).
        if (!/^\w{1,48}$/.test(name.v)) {
          throw new FakeApiError(
            "UNSUPPORTED_SCHEMA_NAME",
            `The command attempted to create a keyspace with a name that is not supported.\n\nThe supported keyspace names must not be empty, more than 48 characters long, or contain non-alphanumeric-underscore characters.\nThe command used the unsupported keyspace name: '${name.v}'.\n\nResend the command using a supported keyspace name.`,
            200,
            "SCHEMA",
          );
        }
        if (!this.store.keyspaces.has(name.v)) this.store.keyspaces.set(name.v, new Map());
        return OK;
      }
      case "dropKeyspace": {
        const name = get(args, "name");
        if (name?.t === "str") {
          this.store.keyspaces.delete(name.v);
          this.store.schemas.delete(name.v);
        }
        return OK;
      }
      default:
        throw unknownCommand(command);
    }
  }

  /**
   * What findKeyspaces lists: every keyspace of the driver's metadata, system ones included
   * (stargate/data-api service/operation/keyspaces/FindKeyspacesOperation.java; application.conf
   * `refreshed-keyspaces` drops only dse_*, solr_admin and OpsCenter), the system keyspaces of
   * Cassandra 5 / HCD first as the driver's metadata map has them.
   */
  #keyspaceNames(): string[] {
    return [...SYSTEM_KEYSPACES, ...this.store.keyspaces.keys()];
  }

  /**
   * findEmbeddingProviders / findRerankingProviders (stargate/data-api
   * service/operation/{embeddings/FindEmbeddingProvidersOperation,
   * reranking/FindRerankingProvidersOperation}.java): refused when the feature is off
   * (service/resolver/Find*ProvidersCommandResolver.java); reranking only from v1.0.23; models
   * carry apiModelSupport from v1.0.26, and without options only SUPPORTED ones are listed
   * (`filterModelStatus: ""` lists all). The catalogue is an excerpt of
   * src/main/resources/{embedding,reranking}-providers-config.yaml.
   */
  #providers(command: string, args: JNode): string {
    const f = this.store.features;
    const embedding = command === "findEmbeddingProviders";
    if (!embedding && versionBefore(f.serverVersion, "1.0.23")) throw unknownCommand(command);
    if (embedding && !f.vectorizeAvailable) {
      throw new FakeApiError(
        "VECTORIZE_FEATURE_NOT_AVAILABLE",
        "Vectorize feature is not available in the environment.",
      );
    }
    if (!embedding && !f.rerankingEnabled) {
      throw new FakeApiError(
        "RERANKING_FEATURE_NOT_ENABLED",
        "Reranking feature is not enabled for this database.",
      );
    }
    const withStatus = !versionBefore(f.serverVersion, "1.0.26");
    const filter = get(get(args, "options"), "filterModelStatus");
    const wanted = !withStatus || filter?.t === "null" || (filter?.t === "str" && filter.v === "")
      ? null
      : filter?.t === "str"
      ? filter.v.toUpperCase()
      : "SUPPORTED";
    const catalogue = embedding ? EMBEDDING_PROVIDERS : RERANKING_PROVIDERS;
    const providers = Object.fromEntries(
      Object.entries(catalogue).map(([name, p]) => [name, {
        ...p.about,
        models: p.models
          .map((m) => ({ m, status: f.modelStatus[m.name] ?? "SUPPORTED" }))
          .filter(({ status }) => wanted === null || status === wanted)
          .map(({ m, status }) => withStatus ? { ...m, apiModelSupport: { status } } : m),
      }]),
    );
    return JSON.stringify({
      status: { [embedding ? "embeddingProviders" : "rerankingProviders"]: providers },
    });
  }

  #keyspaceCommand(command: string, args: JNode, keyspace: string): string {
    const ks = this.store.keyspace(keyspace);
    const tableResult = tableKeyspaceCommand(this.store, command, args, keyspace);
    if (tableResult !== undefined) return tableResult;
    switch (command) {
      case "findCollections": {
        const explain = toPlain(get(get(args, "options"), "explain") ?? { t: "bool", v: false });
        const list = [...ks.values()];
        return JSON.stringify({
          status: {
            collections: explain
              ? list.map((c) => ({ name: c.name, options: c.options }))
              : list.map((c) => c.name),
          },
        });
      }
      case "createCollection": {
        const name = get(args, "name");
        if (name?.t !== "str") {
          throw new FakeApiError(
            "COMMAND_FIELD_VALUE_INVALID",
            "Command field 'name' value not valid.",
          );
        }
        const opts = get(args, "options");
        this.store.createCollection(keyspace, name.v, opts ? toPlain(opts) : {});
        return OK;
      }
      case "deleteCollection": {
        const name = get(args, "name");
        if (name?.t !== "str") {
          throw new FakeApiError(
            "COMMAND_FIELD_VALUE_INVALID",
            "Command field 'name' value not valid.",
          );
        }
        this.store.deleteCollection(keyspace, name.v);
        return OK;
      }
      default:
        throw unknownCommand(command);
    }
  }

  #collectionCommand(command: string, args: JNode, c: FakeCollection): string {
    if (c instanceof SyntheticCollection) return this.#syntheticCommand(command, args, c);
    switch (command) {
      case "find":
        return this.#find(args, c);
      case "findOne": {
        const docs = matching(c, get(args, "filter"));
        const d = docs[0];
        return `{"data":{"document":${d ? project(d, get(args, "projection")) : "null"}}}`;
      }
      case "insertOne": {
        const doc = get(args, "document");
        if (!doc) {
          throw new FakeApiError(
            "COMMAND_FIELD_VALUE_INVALID",
            "Command field 'document' value not valid.",
          );
        }
        this.#checkEmbeddingKey(c, [doc]);
        const stored = c.insert(doc, fakeEmbedding);
        return `{"status":{"insertedIds":[${stringifyTree(get(stored.node, "_id")!)}]}}`;
      }
      case "insertMany":
        return this.#insertMany(args, c);
      case "countDocuments": {
        const n = matching(c, get(args, "filter")).length;
        return JSON.stringify({
          status: n > 1000 ? { count: 1000, moreData: true } : { count: n },
        });
      }
      case "estimatedDocumentCount":
        // The real server reads Cassandra's system.size_estimates for the table
        // (stargate/data-api src/main/java/io/stargate/sgv2/jsonapi/service/operation/collections/
        // EstimatedDocumentCountCollectionOperation.java), so its answer is approximate and lags
        // behind writes; the fake answers the exact count, which is one possible estimate.
        return JSON.stringify({ status: { count: c.docs.size } });
      case "deleteMany": {
        const filter = get(args, "filter");
        if (!filter || (filter.t === "obj" && filter.m.length === 0)) {
          c.delete("all");
          return `{"status":{"deletedCount":-1}}`;
        }
        const n = c.delete(matching(c, filter).map((d) => d.idKey));
        return `{"status":{"deletedCount":${n}}}`;
      }
      default:
        if (isTableOnlyCommand(command)) {
          throw unsupportedCollectionCommand(command, c.keyspace, c.name);
        }
        throw unknownCommand(command);
    }
  }

  /**
   * The commands a backup, verify-free restore and its proofs send to a synthetic collection
   * (synthetic.ts), with the same answers as for a stored one: `find` with filter `{}` (pages,
   * `nextPageState`) or on `_id`, `insertMany` (per-document responses), the counts.
   */
  #syntheticCommand(command: string, args: JNode, c: SyntheticCollection): string {
    const key = `${c.keyspace}.${c.name}`;
    const project = (i: number, projection: JNode | undefined): string => {
      const p = projection && projection.t === "obj" ? projection.m : [];
      if (p.length === 1 && p[0]![0] === "*") return c.generator.full(i);
      if (p.length === 1 && p[0]![0] === "_id") return `{"_id":${c.generator.idKey(i)}}`;
      if (p.length === 0) return c.generator.plain(i);
      throw new FakeApiError(
        "UNSUPPORTED_PROJECTION_PARAM",
        'fake Data API: synthetic collections project only {}, {"*": true} or {"_id": 1}',
      );
    };
    switch (command) {
      case "find": {
        const options = get(args, "options");
        if (get(args, "sort") || get(options, "limit") || get(options, "skip")) {
          throw new FakeApiError(
            "UNSUPPORTED_FILTER_OPERATION",
            "fake Data API: synthetic collections take no sort, limit or skip",
          );
        }
        const filter = get(args, "filter");
        const projection = get(args, "projection");
        if (filter && !(filter.t === "obj" && filter.m.length === 0)) {
          // By _id (restore's read-back): one page of the present ones.
          const ids = idsOf(filter).map((id) => c.generator.indexOf(stringifyTree(id)))
            .filter((i): i is number => i !== null && c.has(i));
          return `{"data":{"documents":[${
            ids.map((i) => project(i, projection)).join(",")
          }],"nextPageState":null}}`;
        }
        const stateNode = get(options, "pageState") ?? get(options, "pagingState");
        let from = 0;
        if (stateNode && stateNode.t === "str") {
          from = decodePageState(stateNode.v, key).o;
        }
        const { indexes, next } = c.page(from, this.pageSize);
        const docs = indexes.map((i) => project(i, projection)).join(",");
        const state = next === null ? null : JSON.stringify(encodePosition(key, next));
        if (state === null && this.options.omitNullPageState) {
          return `{"data":{"documents":[${docs}]}}`;
        }
        return `{"data":{"documents":[${docs}],"nextPageState":${state ?? "null"}}}`;
      }
      case "insertMany": {
        const docs = get(args, "documents");
        if (!docs || docs.t !== "arr" || docs.a.length > (this.options.maxInsertCount ?? 100)) {
          throw new FakeApiError(
            "COMMAND_FIELD_VALUE_INVALID",
            "Command field 'documents' value not valid.",
          );
        }
        const errors: FakeError[] = [];
        const responses = docs.a.map((doc) => {
          const id = idTextOf(doc);
          try {
            c.accept(id, stringifyTree(doc));
            return `{"_id":${id},"status":"OK"}`;
          } catch (e) {
            if (!(e instanceof FakeApiError)) throw e;
            errors.push(e.descriptor);
            return `{"_id":${id},"status":"ERROR","errorsIdx":${errors.length - 1}}`;
          }
        });
        const status = `{"documentResponses":[${responses.join(",")}]}`;
        return errors.length > 0
          ? `{"status":${status},"errors":${JSON.stringify(errors)}}`
          : `{"status":${status}}`;
      }
      case "countDocuments":
        return JSON.stringify({
          status: c.size > 1000 ? { count: 1000, moreData: true } : { count: c.size },
        });
      case "estimatedDocumentCount":
        return JSON.stringify({ status: { count: c.size } });
      default:
        throw new FakeApiError(
          "UNSUPPORTED_COLLECTION_COMMAND",
          `fake Data API: ${command} is not implemented on synthetic collections`,
        );
    }
  }

  #find(args: JNode, c: FakeCollection): string {
    const sort = get(args, "sort");
    const options = get(args, "options");
    const limitNode = get(options, "limit");
    const limit = limitNode ? Number((limitNode as { raw?: string }).raw) : undefined;
    if (limit !== undefined && !(Number.isInteger(limit) && limit > 0)) {
      throw new FakeApiError(
        "COMMAND_FIELD_VALUE_INVALID",
        "Command field 'options.limit' value not valid: must be greater than 0.",
      );
    }
    if (sort && sort.t === "obj" && sort.m.length === 1 && sort.m[0]![0] === "$vector") {
      return this.#vectorFind(args, c, sort.m[0]![1], limit);
    }
    if (sort && sort.t === "obj" && sort.m.length > 0) {
      throw new FakeApiError("SORT_CLAUSE_INVALID", "fake Data API: sort is not implemented");
    }
    if (get(options, "skip")) {
      throw new FakeApiError(
        "COMMAND_FIELD_VALUE_INVALID",
        "Command field 'options.skip' value not valid: skip only allowed with sort.",
      );
    }
    const filter = get(args, "filter");
    const isAll = !filter || (filter.t === "obj" && filter.m.length === 0);
    const all = isAll ? c.sorted() : matching(c, filter);
    const stateNode = get(options, "pageState") ?? get(options, "pagingState");
    let start = 0;
    let served = 0;
    if (stateNode && stateNode.t === "str") {
      const st = decodePageState(stateNode.v, `${c.keyspace}.${c.name}`);
      start = lowerBound(all, st.o, st.id);
      served = st.n;
    }
    let size = this.pageSize;
    if (limit !== undefined) size = Math.min(size, limit - served);
    const page = all.slice(start, start + size);
    const last = page[page.length - 1];
    const more = last !== undefined && start + page.length < all.length &&
      (limit === undefined || served + page.length < limit);
    const projection = get(args, "projection");
    const docs = page.map((d) => project(d, projection)).join(",");
    const next = more
      ? JSON.stringify(encodePageState(`${c.keyspace}.${c.name}`, last, served + page.length))
      : null;
    if (next === null && this.options.omitNullPageState) return `{"data":{"documents":[${docs}]}}`;
    return `{"data":{"documents":[${docs}],"nextPageState":${next ?? "null"}}}`;
  }

  /** `find` with a `$vector` sort (vector_search.ts): one page, no `nextPageState`. */
  #vectorFind(args: JNode, c: FakeCollection, sortValue: JNode, limit: number | undefined): string {
    const options = get(args, "options");
    const filter = get(args, "filter");
    if (filter && !(filter.t === "obj" && filter.m.length === 0)) {
      throw new FakeApiError("SORT_CLAUSE_INVALID", "fake Data API: filter with vector sort");
    }
    const found = vectorSearch(c, {
      sortValue,
      limit,
      hasPageState: Boolean(get(options, "pageState") ?? get(options, "pagingState")),
      hasSkip: get(options, "skip") !== undefined,
    });
    const withSimilarity =
      toPlain(get(options, "includeSimilarity") ?? { t: "bool", v: false }) === true;
    const projection = get(args, "projection");
    const docs = found.map(({ doc, similarity }) => {
      const text = project(doc, projection);
      if (!withSimilarity) return text;
      const sim = `"$similarity":${similarity}`;
      return text === "{}" ? `{${sim}}` : `${text.slice(0, -1)},${sim}}`;
    });
    return `{"data":{"documents":[${docs.join(",")}],"nextPageState":null}}`;
  }

  /**
   * The server embeds every `$vectorize` text of a command before it writes any document
   * (service/operation/embeddings/EmbeddingDeferredAction.java), so a provider that
   * authenticates by HEADER without `x-embedding-api-key` fails the whole command, nothing
   * written: EMBEDDING_PROVIDER_AUTHENTICATION_KEYS_NOT_PROVIDED from v1.0.36
   * (service/embedding/operation/EmbeddingProvider.java checkEmbeddingApiKeyHeader, errors.yaml
   * scope EMBEDDING_PROVIDER), EMBEDDING_PROVIDER_API_KEY_MISSING from v1.0.14 to v1.0.35
   * (exception/ErrorCodeV1.java). A collection created with a shared secret
   * (`service.authentication`) needs no header (embedding/operation/
   * SyncServiceCredentialResolvingProvider.java). Any non-empty key is taken as the provider's.
   */
  #checkEmbeddingKey(c: FakeCollection, docs: readonly JNode[]): void {
    if (this.#embeddingKey) return;
    const service = c.vector?.service as
      | { provider?: string; authentication?: Record<string, unknown> }
      | undefined;
    if (!service || Object.keys(service.authentication ?? {}).length > 0) return;
    const ways = (EMBEDDING_PROVIDERS[service.provider ?? ""]?.about.supportedAuthentication ??
      {}) as Record<string, { enabled?: boolean }>;
    if (!ways.HEADER?.enabled || ways.NONE?.enabled) return;
    if (!docs.some((d) => get(d, "$vectorize")?.t === "str")) return;
    const provider = service.provider!;
    throw versionBefore(this.store.features.serverVersion, "1.0.36")
      ? new FakeApiError(
        "EMBEDDING_PROVIDER_API_KEY_MISSING",
        `The Embedding Provider API key is missing: header value \`x-embedding-api-key\` is missing for embedding provider: ${provider}`,
      )
      : new FakeApiError(
        "EMBEDDING_PROVIDER_AUTHENTICATION_KEYS_NOT_PROVIDED",
        `Missing authentication header(s) from embedding request (provider '${provider}'): 'x-embedding-api-key' header is missing').`,
      );
  }

  #insertMany(args: JNode, c: FakeCollection): string {
    const docs = get(args, "documents");
    if (!docs || docs.t !== "arr") {
      throw new FakeApiError(
        "COMMAND_FIELD_VALUE_INVALID",
        "Command field 'documents' value not valid: must be an array.",
      );
    }
    const max = this.options.maxInsertCount ?? 100;
    if (docs.a.length > max) {
      throw new FakeApiError(
        "COMMAND_FIELD_VALUE_INVALID",
        `Command field 'documents' value not valid: amount of documents to insert is over the max limit (${docs.a.length} vs ${max}).`,
      );
    }
    this.#checkEmbeddingKey(c, docs.a);
    const options = get(args, "options");
    const ordered = toPlain(get(options, "ordered") ?? { t: "bool", v: false }) === true;
    const detailed =
      toPlain(get(options, "returnDocumentResponses") ?? { t: "bool", v: false }) === true;
    const results: Array<{ id: string; status: "OK" | "ERROR" | "SKIPPED"; err?: number }> = [];
    const errors: FakeError[] = [];
    const errorIndex = new Map<string, number>();
    let stopped = false;
    const injected = this.#documentFault;
    for (const [i, doc] of docs.a.entries()) {
      const idText = idTextOf(doc);
      if (stopped) {
        results.push({ id: idText, status: "SKIPPED" });
        continue;
      }
      try {
        if (injected?.kind === "lose" && i < injected.count) {
          results.push({ id: idText, status: "OK" });
          continue;
        }
        if (injected?.kind === "alter" && i % injected.every === 0) {
          const stored = c.insert(alterDocument(doc, injected.change), fakeEmbedding);
          results.push({ id: stringifyTree(get(stored.node, "_id")!), status: "OK" });
          continue;
        }
        if (injected?.kind === "documentError" && i < injected.count) {
          if (injected.applied) c.insert(doc, fakeEmbedding);
          throw new FakeApiError(injected.errorCode, `injected ${injected.errorCode}`);
        }
        const stored = c.insert(doc, fakeEmbedding);
        results.push({ id: stringifyTree(get(stored.node, "_id")!), status: "OK" });
      } catch (e) {
        if (!(e instanceof FakeApiError)) throw e;
        const key = `${e.descriptor.errorCode}\u0000${e.message}`;
        let idx = errorIndex.get(key);
        if (idx === undefined) {
          idx = errors.length;
          errors.push(e.descriptor);
          errorIndex.set(key, idx);
        }
        results.push({ id: idText, status: "ERROR", err: idx });
        if (ordered) stopped = true;
      }
    }
    let status: string;
    if (detailed) {
      status = `{"documentResponses":[${
        results.map((r) =>
          `{"_id":${r.id},"status":"${r.status}"${
            r.err === undefined ? "" : `,"errorsIdx":${r.err}`
          }}`
        )
          .join(",")
      }]}`;
    } else {
      status = `{"insertedIds":[${
        results.filter((r) => r.status === "OK").map((r) => r.id).join(",")
      }]}`;
      errors.forEach((e, i) => {
        const ids = results.filter((r) => r.err === i).map((r) => JSON.parse(r.id) as unknown);
        if (ids.length > 0) e.documentIds = ids;
      });
    }
    return errors.length > 0
      ? `{"status":${status},"errors":${JSON.stringify(errors)}}`
      : `{"status":${status}}`;
  }
}

const OK = `{"status":{"ok":1}}`;

/** Keyspaces of Cassandra 5 / HCD that hold no user data; findKeyspaces lists them. */
const SYSTEM_KEYSPACES = [
  "system",
  "system_auth",
  "system_distributed",
  "system_schema",
  "system_traces",
  "system_views",
  "system_virtual_schema",
];

/** Excerpt of stargate/data-api src/main/resources/embedding-providers-config.yaml (as listed). */
const EMBEDDING_PROVIDERS: Record<
  string,
  { about: Record<string, unknown>; models: Array<{ name: string } & Record<string, unknown>> }
> = {
  openai: {
    about: {
      displayName: "OpenAI",
      url: "https://api.openai.com/v1/",
      supportedAuthentication: {
        HEADER: {
          enabled: true,
          tokens: [{ accepted: "x-embedding-api-key", forwarded: "Authorization" }],
        },
      },
      parameters: [],
    },
    models: [
      { name: "text-embedding-3-small", vectorDimension: null, parameters: [] },
      { name: "text-embedding-3-large", vectorDimension: null, parameters: [] },
      { name: "text-embedding-ada-002", vectorDimension: 1536, parameters: [] },
    ],
  },
};

/** stargate/data-api src/main/resources/reranking-providers-config.yaml (as listed). */
const RERANKING_PROVIDERS: typeof EMBEDDING_PROVIDERS = {
  nvidia: {
    about: {
      isDefault: true,
      displayName: "Nvidia",
      supportedAuthentication: { NONE: { enabled: true, tokens: [] } },
    },
    models: [{
      name: "nvidia/llama-3.2-nv-rerankqa-1b-v2",
      isDefault: true,
      url: "https://us-west-2.api-dev.ai.datastax.com/nvidia/v1/ranking",
    }],
  },
};

/** HTTP statuses of the ErrorCodeV1 driver errors (ThrowableToErrorMapper.java, v1.0.18–v1.0.34). */
const LEGACY_ERROR_STATUS: Readonly<Record<string, number>> = {
  SERVER_DRIVER_TIMEOUT: 504,
  SERVER_NO_NODE_AVAILABLE: 502,
  SERVER_CLOSED_CONNECTION: 502,
  SERVER_READ_FAILED: 502,
  SERVER_DRIVER_FAILURE: 500,
  SERVER_COORDINATOR_FAILURE: 500,
  SERVER_QUERY_CONSISTENCY_FAILURE: 500,
  SERVER_QUERY_EXECUTION_FAILURE: 500,
};

/** The status an old server gives a response body: its first error's, else 200. */
function legacyStatus(body: string): number {
  if (!body.includes('"errors":[')) return 200;
  const errors = (JSON.parse(body) as { errors?: Array<{ errorCode?: string }> }).errors ?? [];
  for (const e of errors) {
    const status = LEGACY_ERROR_STATUS[e.errorCode ?? ""];
    if (status !== undefined) return status;
  }
  return 200;
}

/** Deprecated general commands and what replaced them (CommandName.java). */
const DEPRECATED_NAMESPACE_COMMANDS: Readonly<Record<string, string>> = {
  findNamespaces: "findKeyspaces",
  createNamespace: "createKeyspace",
  dropNamespace: "dropKeyspace",
};

/** The version the fake plays unless told otherwise. */
export const DEFAULT_VERSION = "1.0.50";

/**
 * Keyspace-level commands that are table-only (the server's TableOnlyCommand): refused with
 * TABLE_FEATURE_NOT_ENABLED when the tables feature is off.
 */
const TABLE_ONLY_KEYSPACE_COMMANDS = new Set([
  "createTable",
  "dropTable",
  "listTables",
  "alterTable",
  "createType",
  "dropType",
  "listTypes",
  "alterType",
  "dropIndex",
]);

/** The Data API's HTTP body limit (20 MiB). */
const MAX_BODY_BYTES = 20 * 1024 * 1024;

function unknownCommand(command: string): FakeApiError {
  return new FakeApiError("COMMAND_UNKNOWN", `Provided command unknown: "${command}".`);
}

function jsonResponse(body: string, status = 200): Response {
  return new Response(body, { status, headers: { "content-type": "application/json" } });
}

/** `body` with one more entry in `status.warnings` (numbers elsewhere kept verbatim). */
function withWarning(body: string, warning: FakeError): string {
  const root = parseTree(body, 1000) as { t: "obj"; m: Array<[string, JNode]> };
  const w = parseTree(JSON.stringify(warning));
  let status = get(root, "status");
  if (!status) {
    status = { t: "obj", m: [] };
    root.m.push(["status", status]);
  }
  const members = (status as { m: Array<[string, JNode]> }).m;
  const list = get(status, "warnings");
  if (list && list.t === "arr") list.a.push(w);
  else members.push(["warnings", { t: "arr", a: [w] }]);
  return stringifyTree(root);
}

/** A JSON answer as a compressing proxy sends it: gzip bytes, their length as Content-Length. */
async function gzipResponse(body: string): Promise<Response> {
  const gz = new Uint8Array(
    await new Response(
      new Blob([body]).stream().pipeThrough(new CompressionStream("gzip")),
    ).arrayBuffer(),
  );
  return new Response(gz, {
    headers: {
      "content-type": "application/json",
      "content-encoding": "gzip",
      "content-length": String(gz.byteLength),
    },
  });
}

function errorResponse(e: FakeError, status: number): Response {
  return jsonResponse(JSON.stringify({ errors: [e] }), status);
}

/**
 * Sends half of `body` under a Content-Length of the whole, then ends: the client sees the
 * connection close mid-body, as with a proxy or server crash.
 */
function droppedResponse(body: string): Response {
  const bytes = new TextEncoder().encode(body);
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(bytes.subarray(0, bytes.length >> 1));
      controller.close();
    },
  });
  return new Response(stream, {
    status: 200,
    headers: { "content-type": "application/json", "content-length": String(bytes.length) },
  });
}

/** `_id` text of an incoming document, for documentResponses of failed inserts. */
function idTextOf(doc: JNode): string {
  const id = get(doc, "_id");
  return id ? stringifyTree(id) : "null";
}

/** Documents matching a filter: `{}`, `{"_id": v}`, `{"_id": {"$eq": v}}`, `{"_id": {"$in": […]}}`. */
function matching(c: FakeCollection, filter: JNode | undefined): StoredDoc[] {
  if (!filter || (filter.t === "obj" && filter.m.length === 0)) return c.sorted();
  if (filter.t === "obj" && filter.m.length === 1 && filter.m[0]![0] === "_id") {
    return idsOf(filter).map((id) => c.docs.get(stringifyTree(id))).filter((
      d,
    ): d is StoredDoc => d !== undefined);
  }
  throw new FakeApiError(
    "FILTER_UNSUPPORTED_OPERATOR",
    "fake Data API: only filters on _id are implemented",
  );
}

/** The `_id`s a filter on `_id` names: `{"_id": v}`, `{"_id": {"$eq": v}}`, `{"_id": {"$in": […]}}`. */
function idsOf(filter: JNode): JNode[] {
  const v = filter.t === "obj" && filter.m.length === 1 && filter.m[0]![0] === "_id"
    ? filter.m[0]![1]
    : undefined;
  if (v === undefined) {
    throw new FakeApiError(
      "FILTER_UNSUPPORTED_OPERATOR",
      "fake Data API: only filters on _id are implemented",
    );
  }
  const op = v.t === "obj" && v.m.length === 1 && v.m[0]![0].startsWith("$") ? v.m[0]! : null;
  if (op && op[0] === "$in" && op[1].t === "arr") return op[1].a;
  if (op && op[0] === "$eq") return [op[1]];
  if (op && !["$uuid", "$objectId", "$date"].includes(op[0])) {
    throw new FakeApiError(
      "FILTER_UNSUPPORTED_OPERATOR",
      `fake Data API: filter operator ${op[0]} is not implemented`,
    );
  }
  return [v];
}

/** Applies a top-level projection like the server's DocumentProjector. */
/** A document changed as the `alter` fault stores it (faults.ts). */
function alterDocument(doc: JNode, change: AlterChange): JNode {
  if (doc.t !== "obj") return doc;
  if (change === "reorder") {
    const at = doc.m.findIndex(([k, v]) => k === "$vector" && reorderedVector(v) !== null);
    return at < 0
      ? doc
      : { ...doc, m: doc.m.map(([k, v], i) => [k, i === at ? reorderedVector(v)! : v]) };
  }
  if (change === "drop") {
    const last = doc.m.findLastIndex(([k]) => k !== "_id");
    return last < 0 ? doc : { ...doc, m: doc.m.filter((_, i) => i !== last) };
  }
  const at = doc.m.findIndex(([k, v]) => k !== "_id" && v.t === "num");
  if (at < 0) return doc;
  return {
    ...doc,
    m: doc.m.map(([k, v], i): [string, JNode] =>
      i === at
        ? [k, { t: "num", raw: String(Math.round(Number((v as { raw: string }).raw)) + 1) }]
        : [k, v]
    ),
  };
}

function project(d: StoredDoc, projection: JNode | undefined): string {
  if (!projection || projection.t !== "obj" || projection.m.length === 0) return d.plain;
  const star = get(projection, "*");
  if (star) return truthy(star) ? d.full : "{}";
  const rules = projection.m.map(([k, v]) => {
    if (k.includes(".") || (v.t === "obj")) {
      throw new FakeApiError(
        "UNSUPPORTED_PROJECTION_PARAM",
        `fake Data API: projection on '${k}' is not implemented`,
      );
    }
    return [k, truthy(v)] as const;
  });
  const nonId = rules.filter(([k]) => k !== "_id");
  const inclusion = nonId.length > 0 ? nonId[0]![1] : false;
  if (nonId.some(([, inc]) => inc !== inclusion)) {
    throw new FakeApiError(
      "UNSUPPORTED_PROJECTION_PARAM",
      "Unsupported projection parameter: cannot mix inclusions and exclusions",
    );
  }
  const idRule = rules.find(([k]) => k === "_id");
  const named = new Set(nonId.map(([k]) => k));
  const members = (d.node as { m: Array<[string, JNode]> }).m.filter(([k]) => {
    if (k === "_id") return idRule ? idRule[1] : true;
    if (inclusion) return named.has(k);
    return !named.has(k) && !k.startsWith("$");
  });
  return stringifyTree({ t: "obj", m: members });
}

function truthy(n: JNode): boolean {
  return (n.t === "bool" && n.v) || (n.t === "num" && Number(n.raw) !== 0);
}

function encodePageState(coll: string, last: StoredDoc, served: number): string {
  const json = JSON.stringify({
    k: coll,
    o: last.order,
    id: last.idKey,
    n: served,
  });
  return btoa(String.fromCharCode(...new TextEncoder().encode(json)));
}

/** The page state of a synthetic collection: the next read position, in the same envelope. */
function encodePosition(coll: string, position: number): string {
  const json = JSON.stringify({ k: coll, o: position, id: "", n: position });
  return btoa(String.fromCharCode(...new TextEncoder().encode(json)));
}

function decodePageState(state: string, coll: string): { o: number; id: string; n: number } {
  try {
    const json = new TextDecoder().decode(Uint8Array.from(atob(state), (ch) => ch.charCodeAt(0)));
    const st = JSON.parse(json) as { k: string; o: number; id: string; n: number };
    if (st.k === coll && typeof st.o === "number" && typeof st.id === "string") return st;
  } catch {
    // fall through
  }
  throw pageStateRejected(state, coll);
}

/** First index whose (order, idKey) is after the given position. */
function lowerBound(docs: StoredDoc[], order: number, idKey: string): number {
  let lo = 0;
  let hi = docs.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    const d = docs[mid]!;
    const after = d.order > order || (d.order === order && d.idKey > idKey);
    if (after) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}
