/**
 * @module
 * A fake Data API over real HTTP, faithful to shared/docs/data-api-facts.md where astrabak depends
 * on it: both path prefixes, the `Token` header, errors inside HTTP 200 in the documented shape,
 * the projection defaults (`$vector` only with `{"*": true}` or when named), opaque page states
 * and a configurable page size, the 100-document insertMany limit, and numbers kept exactly.
 * The unmodified astra-db-ts client talks to it (tests/fakes/data_api/server_test.ts).
 *
 * Deliberate limits (it refuses rather than pretends): filters only on `_id`, no sort, no
 * dotted projection paths.
 *
 * Tables (table_commands.ts, tables.ts, table_values.ts) follow stargate/data-api: DDL and its
 * listings, row validation and the server's value encodings, `projectionSchema`, warnings and
 * 50-row pages.
 */

import { apiError, FakeApiError, type FakeError } from "./errors.ts";
import { type FaultAction, FaultPlan } from "./faults.ts";
import { HeldRequests } from "../fault_plan.ts";
import {
  get,
  type JNode,
  parseTree,
  stringifyTree,
  toPlain,
  TreeSyntaxError,
} from "./json_tree.ts";
import { type FakeCollection, fakeEmbedding, FakeStore, type StoredDoc } from "./store.ts";
import {
  isTableOnlyCommand,
  tableCommand,
  tableKeyspaceCommand,
  unsupportedCollectionCommand,
} from "./table_commands.ts";

/** The token the fake accepts by default (an Astra-style application token). */
export const FAKE_TOKEN =
  "AstraCS:FAKE:0000000000000000000000000000000000000000000000000000000000000000";

/** Settings of {@linkcode FakeDataApi.start}. */
export interface FakeDataApiOptions {
  /** Port to listen on (default 0: any free port). */
  port?: number;
  /** Documents per `find` page (the real server: 20 up to v1.0.46, 50 after). Default 20. */
  pageSize?: number;
  /** Rows per `find` page on tables (the server's table-read profile: 50). Default 50. */
  tablePageSize?: number;
  /** Accepted `Token` header values. Default [FAKE_TOKEN]. */
  tokens?: string[];
  /** Server version; before 1.0.41 a missing collection is COLLECTION_NOT_EXIST. Default 1.0.50. */
  serverVersion?: string;
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
  #documentFault: { errorCode: string; count: number } | undefined;

  private constructor(options: FakeDataApiOptions) {
    this.options = options;
    this.store = options.store ?? new FakeStore();
    this.tokens = new Set(options.tokens ?? [FAKE_TOKEN]);
    this.pageSize = options.pageSize ?? 20;
    this.tablePageSize = options.tablePageSize ?? 50;
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
    if (!(req.headers.get("content-type") ?? "").startsWith("application/json")) {
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
      this.#documentFault = fault?.kind === "documentError" ? fault : undefined;
      body = this.#dispatch(command, get(root, command)!, keyspace, collection);
    } catch (e) {
      if (!(e instanceof FakeApiError)) throw e;
      return errorResponse(e.descriptor, e.httpStatus);
    }
    if (fault?.kind === "truncate") return jsonResponse(body.slice(0, Math.floor(body.length / 2)));
    if (fault?.kind === "drop") return droppedResponse(body);
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
          200,
        );
      case "run":
        fault.fn();
        return undefined;
      default:
        return undefined;
    }
  }

  #dispatch(command: string, args: JNode, keyspace?: string, collection?: string): string {
    if (args.t !== "obj") {
      throw new FakeApiError("REQUEST_NOT_JSON", `Command '${command}' must be an object.`);
    }
    if (keyspace === undefined) return this.#general(command, args);
    if (collection === undefined) return this.#keyspaceCommand(command, args, keyspace);
    const ks = this.store.keyspace(keyspace);
    const coll = ks.get(collection);
    const table = coll ? undefined : this.store.table(keyspace, collection);
    if (table) {
      return tableCommand(
        { pageSize: this.tablePageSize, maxInsertCount: this.options.maxInsertCount ?? 100 },
        command,
        args,
        table,
      );
    }
    if (!coll) {
      const legacy = versionBefore(this.options.serverVersion ?? "1.0.50", "1.0.41");
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
    switch (command) {
      case "findKeyspaces":
        return JSON.stringify({ status: { keyspaces: [...this.store.keyspaces.keys()] } });
      case "createKeyspace": {
        const name = get(args, "name");
        if (name?.t !== "str") {
          throw new FakeApiError(
            "COMMAND_FIELD_VALUE_INVALID",
            "Command field 'name' value not valid.",
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

  #find(args: JNode, c: FakeCollection): string {
    const sort = get(args, "sort");
    if (sort && sort.t === "obj" && sort.m.length > 0) {
      throw new FakeApiError("SORT_CLAUSE_INVALID", "fake Data API: sort is not implemented");
    }
    const options = get(args, "options");
    const limitNode = get(options, "limit");
    const limit = limitNode ? Number((limitNode as { raw?: string }).raw) : undefined;
    if (limit !== undefined && !(Number.isInteger(limit) && limit > 0)) {
      throw new FakeApiError(
        "COMMAND_FIELD_VALUE_INVALID",
        "Command field 'options.limit' value not valid: must be greater than 0.",
      );
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
        if (injected && i < injected.count) {
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

/** The Data API's HTTP body limit (20 MiB). */
const MAX_BODY_BYTES = 20 * 1024 * 1024;

function unknownCommand(command: string): FakeApiError {
  return new FakeApiError("COMMAND_UNKNOWN", `Provided command unknown: "${command}".`);
}

function jsonResponse(body: string, status = 200): Response {
  return new Response(body, { status, headers: { "content-type": "application/json" } });
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
    const v = filter.m[0]![1];
    let ids: JNode[];
    const op = v.t === "obj" && v.m.length === 1 && v.m[0]![0].startsWith("$") ? v.m[0]! : null;
    if (op && op[0] === "$in" && op[1].t === "arr") ids = op[1].a;
    else if (op && op[0] === "$eq") ids = [op[1]];
    else if (op && !["$uuid", "$objectId", "$date"].includes(op[0])) {
      throw new FakeApiError(
        "FILTER_UNSUPPORTED_OPERATOR",
        `fake Data API: filter operator ${op[0]} is not implemented`,
      );
    } else ids = [v];
    return ids.map((id) => c.docs.get(stringifyTree(id))).filter((d): d is StoredDoc =>
      d !== undefined
    );
  }
  throw new FakeApiError(
    "FILTER_UNSUPPORTED_OPERATOR",
    "fake Data API: only filters on _id are implemented",
  );
}

/** Applies a top-level projection like the server's DocumentProjector. */
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
    r: Math.random().toString(36).slice(2, 8),
  });
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
  throw new FakeApiError("INVALID_PAGE_STATE", "fake Data API: invalid pageState");
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

function versionBefore(v: string, than: string): boolean {
  const a = v.split(".").map(Number);
  const b = than.split(".").map(Number);
  for (let i = 0; i < 3; i++) {
    if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) < (b[i] ?? 0);
  }
  return false;
}
