/**
 * @module
 * A fake Box API over real HTTP for tests, faithful to shared/docs/box-facts.md §2 where astrabak
 * depends on it. Three listeners stand in for api.box.com (token, preflight, folders, file info,
 * the download 302, delete), upload.box.com/api (direct uploads, new versions, chunked upload
 * sessions) and dl.boxcloud.com (redirect targets, no auth). It rejects what Box rejects —
 * `file` before `attributes`, a wrong `content-md5` SHA-1, misaligned or overlapping parts, wrong
 * part or whole-file `Digest`s, chunked sessions under 20 MB, direct uploads over 50 MB, duplicate
 * names (ignoring case), bad names, stale tokens — because a fake that accepts what the real
 * service rejects makes the tests lie. The unmodified box-node-sdk talks to it
 * (tests/fakes/box/server_test.ts).
 *
 * Choices where Box's behaviour is not documented (see the report / box-facts §5):
 * a part whose `Digest` does not match gets 412 `bad_digest` (the spec lists 412 for part PUTs);
 * a commit whose whole-file `Digest` does not match gets 400 `bad_digest` (as direct uploads);
 * Content-Range violations get 416 `requested_range_not_satisfiable`; `limit` above 1000 is
 * clamped; re-sending an already stored part (even byte-identical) is an overlap — Box's guide
 * says the client must then assume the part was not stored.
 */

import { type BoxOperation, type FaultAction, FaultPlan } from "./faults.ts";
import { HeldRequests } from "../fault_plan.ts";
import { MultipartError, type MultipartPart, parseMultipart } from "./multipart.ts";
import {
  BoxStore,
  type FakeFile,
  type FakeFileVersion,
  type FakeFolder,
  nameProblem,
  sha1Base64,
  sha1Hex,
} from "./store.ts";
import {
  BoxHttpError,
  boxTime,
  clientError,
  defaultCode,
  droppedResponse,
  errorResponse,
  jsonResponse,
  oauthError,
  parseFields,
  Representer,
} from "./wire.ts";

export type { BoxOperation, FaultAction, FaultRule } from "./faults.ts";
export type { FakeFile, FakeFileVersion, FakeFolder } from "./store.ts";

/** Settings of {@linkcode FakeBox.start}. */
export interface FakeBoxOptions {
  /** Accepted CCG client id (default "fake-client-id"). */
  clientId?: string;
  /** Accepted CCG client secret (default "fake-client-secret"). */
  clientSecret?: string;
  /** Accepted `box_subject_id` for `box_subject_type=enterprise` (default "818181" unless only userId is set). */
  enterpriseId?: string;
  /** Accepted `box_subject_id` for `box_subject_type=user` (default: user subjects rejected). */
  userId?: string;
  /** `expires_in` of issued tokens, seconds (default 3600). */
  tokenLifetimeSec?: number;
  /** Part size of upload sessions, or a function of the file size (default 8 MiB = 8388608). */
  partSize?: number | ((fileSize: number) => number);
  /** Smallest file an upload session accepts (default 20 000 000 bytes). */
  minChunkedUploadSize?: number;
  /** Largest direct (multipart) upload (default 50 000 000 bytes). */
  maxSimpleUploadSize?: number;
  /**
   * Shape of `context_info.conflicts` on file 409s: one object (default) or an array of one.
   * Box's live shape is unconfirmed; clients must handle both.
   */
  conflictShape?: "object" | "array";
  /** Status of `range_overlaps_existing_part` (default 409; Box's Android app expects 416). */
  overlapStatus?: 409 | 416;
  /** Lifetime of download URLs in ms (default 15 minutes). */
  downloadUrlTtlMs?: number;
  /** Time zone of returned timestamps in minutes from UTC (default -480, US Pacific standard). */
  timeZoneOffsetMinutes?: number;
  store?: BoxStore;
}

/** Which listener a request reached. */
export type HostKind = "api" | "upload" | "download";

/** One logged request (bodies are not kept, only their size). */
export interface LoggedRequest {
  /** 1-based arrival order. */
  seq: number;
  /** Arrival time, ms since the epoch (sub-ms precision). */
  at: number;
  host: HostKind;
  method: string;
  path: string;
  /** Raw query string without `?` ("" if none). */
  query: string;
  op: BoxOperation;
  /** For `upload_part`: offset / part_size, when the Content-Range parsed. */
  part?: number;
  /** Selected request headers (lower-case names), when present. */
  headers: Record<string, string>;
  bodySize: number;
  /** Response status (0 while the request is still being answered). */
  status: number;
  /** Kind of the fault action applied, if any. */
  fault?: FaultAction["kind"];
}

/** An open chunked upload session, as tests can inspect it. */
export interface FakeUploadSession {
  id: string;
  /** "new" for POST /files/upload_sessions, "version" for POST /files/{id}/upload_sessions. */
  kind: "new" | "version";
  folderId?: string;
  fileId?: string;
  fileName: string;
  fileSize: number;
  partSize: number;
  totalParts: number;
  expiresAt: Date;
  parts: Map<number, StoredPart>;
}

/** A part stored in a session (keyed by offset). */
export interface StoredPart {
  part_id: string;
  offset: number;
  size: number;
  sha1: string;
  bytes: Uint8Array;
}

interface DownloadTicket {
  file: FakeFile;
  version: FakeFileVersion;
  expiresAt: number;
  fault?: "drop" | "corrupt";
}

interface Ctx {
  req: Request;
  url: URL;
  body: Uint8Array;
  params: string[];
  fault?: FaultAction | undefined;
}

type Handler = (ctx: Ctx) => Response | Promise<Response>;

interface Route {
  op: BoxOperation;
  auth: boolean;
  params: string[];
  handler: Handler;
}

const LOGGED_HEADERS = [
  "authorization",
  "content-type",
  "content-length",
  "transfer-encoding",
  "content-range",
  "digest",
  "content-md5",
  "if-match",
  "range",
];

/** A running fake Box (three listeners on 127.0.0.1). */
export class FakeBox {
  readonly store: BoxStore;
  readonly faults = new FaultPlan();
  readonly requests: LoggedRequest[] = [];
  readonly options: FakeBoxOptions;
  readonly repr: Representer;
  #servers = new Map<HostKind, Deno.HttpServer<Deno.NetAddr>>();
  #tokens = new Map<string, { expiresAt: number }>();
  #sessions = new Map<string, FakeUploadSession>();
  #tickets = new Map<string, DownloadTicket>();
  #held = new HeldRequests();

  private constructor(options: FakeBoxOptions) {
    this.options = options;
    this.store = options.store ?? new BoxStore();
    this.repr = new Representer(this.store, options.timeZoneOffsetMinutes ?? -480);
  }

  /** Starts the API, upload and download listeners on random ports of 127.0.0.1. */
  static async start(options: FakeBoxOptions = {}): Promise<FakeBox> {
    const box = new FakeBox(options);
    for (const host of ["api", "upload", "download"] as const) {
      await new Promise<void>((resolve) => {
        box.#servers.set(
          host,
          Deno.serve(
            { hostname: "127.0.0.1", port: 0, onListen: () => resolve() },
            (req) => box.#handle(host, req),
          ),
        );
      });
    }
    return box;
  }

  #origin(host: HostKind): string {
    return `http://127.0.0.1:${this.#servers.get(host)!.addr.port}`;
  }

  /** SDK `baseUrl`: API calls go to `${apiBaseUrl}/2.0/…`, the token to `${apiBaseUrl}/oauth2/token`. */
  get apiBaseUrl(): string {
    return this.#origin("api");
  }

  /** SDK `uploadUrl` (ends in `/api`): uploads go to `${uploadBaseUrl}/2.0/…`. */
  get uploadBaseUrl(): string {
    return `${this.#origin("upload")}/api`;
  }

  /** Origin of the download host (redirect targets, no auth). */
  get downloadBaseUrl(): string {
    return this.#origin("download");
  }

  get clientId(): string {
    return this.options.clientId ?? "fake-client-id";
  }

  get clientSecret(): string {
    return this.options.clientSecret ?? "fake-client-secret";
  }

  /** The accepted enterprise subject id, undefined when only a user subject is configured. */
  get enterpriseId(): string | undefined {
    if (this.options.enterpriseId !== undefined) return this.options.enterpriseId;
    return this.options.userId === undefined ? "818181" : undefined;
  }

  /** Makes every issued token invalid: the next call gets 401 and must fetch a new token. */
  expireTokens(): void {
    for (const t of this.#tokens.values()) t.expiresAt = 0;
  }

  /** Number of issued tokens still valid. */
  validTokens(): number {
    const now = Date.now();
    return [...this.#tokens.values()].filter((t) => t.expiresAt > now).length;
  }

  /** Creates a folder (throws on a bad name, an unknown parent or a name clash). */
  createFolder(name: string, parentId = "0"): FakeFolder {
    this.#checkNewName(parentId, name);
    return this.store.addFolder(name, parentId);
  }

  /** Seeds a file (throws on a bad name, an unknown folder or a name clash). */
  putFile(
    folderId: string,
    name: string,
    bytes: Uint8Array,
    contentModifiedAt?: Date,
  ): FakeFile {
    this.#checkNewName(folderId, name);
    return this.store.addFile(folderId, name, bytes.slice(), contentModifiedAt);
  }

  /** Every stored file. */
  files(): FakeFile[] {
    return [...this.store.files.values()];
  }

  /** Every stored folder, including the root "0". */
  folders(): FakeFolder[] {
    return [...this.store.folders.values()];
  }

  fileById(id: string): FakeFile | undefined {
    return this.store.files.get(id);
  }

  /** The file named `name` (ignoring case, like Box) in a folder. */
  fileByName(folderId: string, name: string): FakeFile | undefined {
    const c = this.store.childByName(folderId, name);
    return c?.type === "file" ? c.item : undefined;
  }

  /** The folder named `name` (ignoring case) in a folder. */
  folderByName(parentId: string, name: string): FakeFolder | undefined {
    const c = this.store.childByName(parentId, name);
    return c?.type === "folder" ? c.item : undefined;
  }

  /** Open (neither committed nor aborted) upload sessions. */
  sessions(): FakeUploadSession[] {
    return [...this.#sessions.values()];
  }

  /** Logged requests of one operation. */
  requestsOf(op: BoxOperation): LoggedRequest[] {
    return this.requests.filter((r) => r.op === op);
  }

  async close(): Promise<void> {
    this.#held.releaseAll();
    await Promise.all([...this.#servers.values()].map((s) => s.shutdown()));
  }

  #checkNewName(folderId: string, name: string): void {
    if (!this.store.folders.has(folderId)) throw new Error(`no folder ${folderId}`);
    const problem = nameProblem(name);
    if (problem) throw new Error(`${problem}: ${JSON.stringify(name)}`);
    if (this.store.childByName(folderId, name)) throw new Error(`name in use: ${name}`);
  }

  // ---------------------------------------------------------------- dispatch

  async #handle(host: HostKind, req: Request): Promise<Response> {
    const at = performance.timeOrigin + performance.now();
    const url = new URL(req.url);
    // Read the whole body before answering, even an error: answering early while the client is
    // still sending makes it see a reset instead of the status.
    const body = new Uint8Array(await req.arrayBuffer());
    const headers: Record<string, string> = {};
    for (const h of LOGGED_HEADERS) {
      const v = req.headers.get(h);
      if (v !== null) headers[h] = v;
    }
    const route = this.#route(host, req.method, url.pathname);
    const entry: LoggedRequest = {
      seq: this.requests.length + 1,
      at,
      host,
      method: req.method,
      path: url.pathname,
      query: url.search.slice(1),
      op: route?.op ?? "unknown",
      headers,
      bodySize: body.length,
      status: 0,
    };
    this.requests.push(entry);
    let res: Response;
    try {
      res = route
        ? await this.#run(route, { req, url, body, params: route.params }, entry)
        : clientError(404, "not_found", "Not Found");
    } catch (e) {
      if (!(e instanceof BoxHttpError)) throw e;
      res = errorResponse(e);
    }
    entry.status = res.status;
    return res;
  }

  async #run(route: Route, ctx: Ctx, entry: LoggedRequest): Promise<Response> {
    if (route.auth) {
      const denied = this.#checkAuth(ctx.req);
      if (denied) return denied;
    }
    if (route.op === "upload_part") {
      const session = this.#sessions.get(ctx.params[0]!);
      const range = parseContentRange(ctx.req.headers.get("content-range"));
      if (session && range) entry.part = Math.floor(range.start / session.partSize);
    }
    const fault = this.faults.take({ op: route.op, part: entry.part });
    if (fault) entry.fault = fault.kind;
    ctx.fault = fault;
    switch (fault?.kind) {
      case "status":
        if (!fault.applied) return statusFault(fault);
        break;
      case "processing":
        if (route.op !== "commit") return processing(fault.retryAfter);
        break;
      case "delay":
        await new Promise((r) => setTimeout(r, fault.ms));
        break;
      case "hang":
        await this.#held.hold();
        return new Response("gone", { status: 504 });
      case "run":
        fault.fn();
        break;
    }
    let res: Response;
    try {
      res = await route.handler(ctx);
    } catch (e) {
      if (!(e instanceof BoxHttpError)) throw e;
      res = errorResponse(e);
    }
    if (fault?.kind === "status") return statusFault(fault);
    if (fault?.kind === "drop" && route.op !== "download" && route.op !== "download_content") {
      return droppedResponse(new Uint8Array(await res.arrayBuffer()), res.status, res.headers);
    }
    return res;
  }

  #checkAuth(req: Request): Response | undefined {
    const h = req.headers.get("authorization");
    const token = h ? /^Bearer\s+(\S+)\s*$/i.exec(h)?.[1] : undefined;
    const t = token === undefined ? undefined : this.#tokens.get(token);
    if (t && t.expiresAt > Date.now()) return undefined;
    const challenge = token === undefined
      ? 'Bearer realm="Service"'
      : 'Bearer realm="Service", error="invalid_token", error_description="The access token provided is invalid."';
    return clientError(401, "unauthorized", "Unauthorized", undefined, {
      "www-authenticate": challenge,
    });
  }

  #route(host: HostKind, method: string, path: string): Route | undefined {
    const table: Array<[string, RegExp, BoxOperation, boolean, Handler]> = host === "api"
      ? [
        ["POST", /^\/oauth2\/token$/, "token", false, (c) => this.#token(c)],
        ["OPTIONS", /^\/2\.0\/files\/content$/, "preflight", true, (c) => this.#preflight(c)],
        ["POST", /^\/2\.0\/folders$/, "create_folder", true, (c) => this.#createFolder(c)],
        ["GET", /^\/2\.0\/folders\/(\d+)$/, "folder_info", true, (c) => this.#folderInfo(c)],
        ["GET", /^\/2\.0\/folders\/(\d+)\/items$/, "list_items", true, (c) => this.#items(c)],
        ["GET", /^\/2\.0\/files\/(\d+)$/, "file_info", true, (c) => this.#fileInfo(c)],
        ["DELETE", /^\/2\.0\/files\/(\d+)$/, "delete", true, (c) => this.#delete(c)],
        ["GET", /^\/2\.0\/files\/(\d+)\/trash$/, "trash_info", true, (c) => this.#trashInfo(c)],
        ["GET", /^\/2\.0\/files\/(\d+)\/content$/, "download", true, (c) => this.#download(c)],
      ]
      : host === "upload"
      ? [
        ["POST", /^\/api\/2\.0\/files\/content$/, "upload", true, (c) => this.#upload(c)],
        [
          "POST",
          /^\/api\/2\.0\/files\/(\d+)\/content$/,
          "upload_version",
          true,
          (c) => this.#uploadVersion(c),
        ],
        [
          "POST",
          /^\/api\/2\.0\/files\/upload_sessions$/,
          "create_session",
          true,
          (c) => this.#createSession(c),
        ],
        [
          "POST",
          /^\/api\/2\.0\/files\/(\d+)\/upload_sessions$/,
          "create_version_session",
          true,
          (c) => this.#createVersionSession(c),
        ],
        [
          "GET",
          /^\/api\/2\.0\/files\/upload_sessions\/([0-9A-F]+)$/,
          "session_info",
          true,
          (c) => this.#sessionInfo(c),
        ],
        [
          "PUT",
          /^\/api\/2\.0\/files\/upload_sessions\/([0-9A-F]+)$/,
          "upload_part",
          true,
          (c) => this.#uploadPart(c),
        ],
        [
          "DELETE",
          /^\/api\/2\.0\/files\/upload_sessions\/([0-9A-F]+)$/,
          "abort",
          true,
          (c) => this.#abort(c),
        ],
        [
          "GET",
          /^\/api\/2\.0\/files\/upload_sessions\/([0-9A-F]+)\/parts$/,
          "list_parts",
          true,
          (c) => this.#listParts(c),
        ],
        [
          "POST",
          /^\/api\/2\.0\/files\/upload_sessions\/([0-9A-F]+)\/commit$/,
          "commit",
          true,
          (c) => this.#commit(c),
        ],
      ]
      : [[
        "GET",
        /^\/d\/1\/([0-9a-f]+)\/download$/,
        "download_content",
        false,
        (c) => this.#serveContent(c),
      ]];
    let pathMatched: Route | undefined;
    for (const [m, re, op, auth, handler] of table) {
      const match = re.exec(path);
      if (!match) continue;
      const route = { op, auth, params: match.slice(1), handler };
      if (m === method) return route;
      pathMatched ??= {
        ...route,
        handler: () => clientError(405, "method_not_allowed", "Method Not Allowed"),
      };
    }
    return pathMatched;
  }

  // ---------------------------------------------------------------- API host

  /** CCG token: form body, client credentials and subject must match the configuration. */
  #token({ req, body }: Ctx): Response {
    const type = req.headers.get("content-type") ?? "";
    if (!type.toLowerCase().startsWith("application/x-www-form-urlencoded")) {
      return oauthError("invalid_request", "Invalid grant_type parameter or parameter missing");
    }
    const form = new URLSearchParams(new TextDecoder().decode(body));
    if (form.get("grant_type") !== "client_credentials") {
      return oauthError("invalid_request", "Invalid grant_type parameter or parameter missing");
    }
    const subjectType = form.get("box_subject_type");
    const subjectId = form.get("box_subject_id");
    const subjectOk = (subjectType === "enterprise" && subjectId !== null &&
      subjectId === this.enterpriseId) ||
      (subjectType === "user" && subjectId !== null && subjectId === this.options.userId);
    if (
      form.get("client_id") !== this.clientId || form.get("client_secret") !== this.clientSecret ||
      !subjectOk
    ) {
      return oauthError("invalid_grant", "Grant credentials are invalid");
    }
    const token = randomHex(16);
    const lifetime = this.options.tokenLifetimeSec ?? 3600;
    this.#tokens.set(token, { expiresAt: Date.now() + lifetime * 1000 });
    return jsonResponse(
      { access_token: token, expires_in: lifetime, restricted_to: [], token_type: "bearer" },
      200,
      { "cache-control": "no-store" },
    );
  }

  /** OPTIONS /files/content: the checks of an upload without the content. */
  #preflight({ body }: Ctx): Response {
    const json = parseJsonObject(body);
    const parentId = parentIdOf(json.parent);
    const folder = this.#folder(parentId);
    this.#checkName(json.name);
    if (json.size !== undefined && !isSize(json.size)) {
      throw new BoxHttpError(400, "bad_request", "Invalid value for 'size'");
    }
    this.#checkFree(folder.id, json.name as string);
    const token = randomHex(16);
    return jsonResponse({
      upload_url: `${this.uploadBaseUrl}/2.0/files/content?upload_session_id=${token}`,
      upload_token: token,
    });
  }

  #createFolder({ body, url }: Ctx): Response {
    const json = parseJsonObject(body);
    const parent = this.#folder(parentIdOf(json.parent));
    this.#checkName(json.name);
    const existing = this.store.childByName(parent.id, json.name as string);
    if (existing) {
      const mini = existing.type === "folder"
        ? this.repr.folderMini(existing.item)
        : this.repr.fileMini(existing.item);
      throw new BoxHttpError(409, "item_name_in_use", "Item with the same name already exists", {
        conflicts: [mini],
      });
    }
    const folder = this.store.addFolder(json.name as string, parent.id);
    return jsonResponse(this.#folderJson(folder, parseFields(url)), 201);
  }

  #folderInfo({ params, url }: Ctx): Response {
    return jsonResponse(this.#folderJson(this.#folder(params[0]!), parseFields(url)));
  }

  #folderJson(folder: FakeFolder, fields?: string[]): Record<string, unknown> {
    const out = this.repr.folder(folder, fields);
    if (fields === undefined || fields.includes("item_collection")) {
      const all = this.store.children(folder.id);
      out.item_collection = {
        total_count: all.length,
        entries: all.slice(0, 100).map((c) =>
          c.type === "file" ? this.repr.fileMini(c.item) : this.repr.folderMini(c.item)
        ),
        offset: 0,
        limit: 100,
        order: [{ by: "type", direction: "ASC" }, { by: "name", direction: "ASC" }],
      };
    }
    return out;
  }

  /** Folder items with offset paging (total_count) or marker paging (next_marker). */
  #items({ params, url }: Ctx): Response {
    const folder = this.#folder(params[0]!);
    const q = url.searchParams;
    const fields = parseFields(url);
    const limit = Math.min(intParam(q, "limit", 100), 1000);
    const useMarker = q.get("usemarker") === "true";
    const items = this.store.children(folder.id);
    const sortBy = q.get("sort");
    const direction = (q.get("direction") ?? "ASC").toUpperCase();
    if (direction !== "ASC" && direction !== "DESC") {
      throw invalidParameter("direction", q.get("direction")!);
    }
    if (sortBy !== null) {
      const key: Record<string, (x: FakeFile | FakeFolder) => number | string> = {
        id: (x) => Number(x.id),
        name: (x) => x.name.toLowerCase(),
        date: (x) => x.modifiedAt.getTime(),
        size: (x) => "size" in x ? x.size : 0,
      };
      const k = key[sortBy];
      if (!k) throw invalidParameter("sort", sortBy);
      const sign = direction === "DESC" ? -1 : 1;
      items.sort((a, b) => {
        if (a.type !== b.type) return a.type === "folder" ? -1 : 1;
        const x = k(a.item);
        const y = k(b.item);
        return x < y ? -sign : x > y ? sign : Number(a.item.id) - Number(b.item.id);
      });
    } else if (direction === "DESC") {
      items.reverse();
    }
    const entry = (c: (typeof items)[number]) =>
      c.type === "file"
        ? (fields ? this.repr.file(c.item, fields) : this.repr.fileMini(c.item))
        : (fields ? this.repr.folder(c.item, fields) : this.repr.folderMini(c.item));
    if (useMarker) {
      // The marker names the last item served (and its index, used if it was deleted since).
      const marker = q.get("marker");
      let start = 0;
      if (marker !== null && marker !== "") {
        const m = decodeMarker(marker, folder.id);
        const at = items.findIndex((c) => `${c.type}:${c.item.id}` === m.k);
        start = at >= 0 ? at + 1 : m.i;
      }
      const page = items.slice(start, start + limit);
      const last = page[page.length - 1];
      const more = last !== undefined && start + page.length < items.length;
      return jsonResponse({
        entries: page.map(entry),
        limit,
        next_marker: more
          ? encodeMarker(folder.id, `${last.type}:${last.item.id}`, start + page.length - 1)
          : null,
      });
    }
    if (q.has("marker")) {
      throw new BoxHttpError(400, "bad_request", "'marker' requires 'usemarker=true'");
    }
    const offset = intParam(q, "offset", 0);
    if (offset > 10000) {
      throw new BoxHttpError(400, "bad_request", "Offset exceeds the maximum of 10000");
    }
    return jsonResponse({
      total_count: items.length,
      entries: items.slice(offset, offset + limit).map(entry),
      offset,
      limit,
      order: [{ by: "type", direction: "ASC" }, { by: sortBy ?? "name", direction }],
    });
  }

  #fileInfo({ params, url }: Ctx): Response {
    return jsonResponse(this.repr.file(this.#file(params[0]!), parseFields(url)));
  }

  /**
   * DELETE /2.0/files/{id}: 204 with no body, and the file goes to the trash. Box's reference
   * (developer.box.com/reference/delete-files-id): "Deletes a file, either permanently or by
   * moving it to the trash. The enterprise settings determine whether the item will be
   * permanently deleted from Box or moved to the trash" — the fake models the default, the trash.
   * box-node-sdk 10.12.0 sends it from `files.deleteFileById` (lib/managers/files.js: DELETE
   * `${baseUrl}/2.0/files/{id}`, `responseFormat: 'no_content'`, optional `if-match`). A trashed
   * file is gone from its folder and from GET /files/{id} (404) but readable at
   * GET /files/{id}/trash.
   */
  #delete({ params, req }: Ctx): Response {
    const file = this.#file(params[0]!);
    checkIfMatch(req, file);
    this.store.trashFile(file);
    return new Response(null, { status: 204 });
  }

  /**
   * GET /2.0/files/{id}/trash (developer.box.com/reference/get-files-id-trash): the trashed file
   * with `item_status: "trashed"` and `trashed_at`; 404 when the file is not in the trash.
   */
  #trashInfo({ params, url }: Ctx): Response {
    const t = this.store.trash.get(params[0]!);
    if (!t) throw new BoxHttpError(404, "not_found", "Not Found");
    return jsonResponse({
      ...this.repr.file(t.file, parseFields(url)),
      item_status: "trashed",
      trashed_at: boxTime(t.trashedAt, this.options.timeZoneOffsetMinutes ?? -480),
    });
  }

  /** Files in the trash (deleted through the API). */
  trashed(): FakeFile[] {
    return [...this.store.trash.values()].map((t) => t.file);
  }

  /** 302 to a fresh download-host URL for the current (or `version`) content. */
  #download({ params, url, fault }: Ctx): Response {
    const file = this.#file(params[0]!);
    const versionId = url.searchParams.get("version");
    const version = versionId === null
      ? file.history[file.history.length - 1]!
      : file.history.find((v) => v.id === versionId);
    if (!version) throw new BoxHttpError(404, "not_found", "Not Found");
    const token = randomHex(24);
    const ticket: DownloadTicket = {
      file,
      version,
      expiresAt: Date.now() + (this.options.downloadUrlTtlMs ?? 15 * 60_000),
    };
    if (fault?.kind === "drop" || fault?.kind === "corrupt") ticket.fault = fault.kind;
    this.#tickets.set(token, ticket);
    return new Response(null, {
      status: 302,
      headers: { location: `${this.downloadBaseUrl}/d/1/${token}/download` },
    });
  }

  // ---------------------------------------------------------------- download host

  /** The content behind a download URL; no auth; honours a single `Range: bytes=…`. */
  #serveContent({ params, req, fault }: Ctx): Response {
    const ticket = this.#tickets.get(params[0]!);
    if (!ticket || ticket.expiresAt < Date.now()) {
      return jsonResponse(
        { type: "error", status: 403, code: "forbidden", message: "Forbidden" },
        403,
      );
    }
    const all = ticket.version.content;
    let bytes = all;
    let status = 200;
    const headers = new Headers({
      "content-type": "application/octet-stream",
      "accept-ranges": "bytes",
      "content-disposition": `attachment;filename="${
        encodeURIComponent(ticket.file.name)
      }";filename*=UTF-8''${encodeURIComponent(ticket.file.name)}`,
    });
    const range = req.headers.get("range");
    if (range !== null) {
      const r = parseRange(range, all.length);
      if (r === "unsatisfiable") {
        return new Response(null, {
          status: 416,
          headers: { "content-range": `bytes */${all.length}` },
        });
      }
      if (r) {
        bytes = all.subarray(r.start, r.end + 1);
        status = 206;
        headers.set("content-range", `bytes ${r.start}-${r.end}/${all.length}`);
      }
    }
    const kind = fault?.kind === "drop" || fault?.kind === "corrupt" ? fault.kind : ticket.fault;
    if (ticket.fault) delete ticket.fault;
    if (kind === "drop") return droppedResponse(bytes, status, headers);
    if (kind === "corrupt" && bytes.length > 0) {
      bytes = bytes.slice();
      bytes[bytes.length >> 1]! ^= 0xff;
    }
    headers.set("content-length", String(bytes.length));
    return new Response(bytes.slice(), { status, headers });
  }

  // ---------------------------------------------------------------- upload host

  /** POST /files/content: multipart, `attributes` before `file`, SHA-1 in content-md5. */
  #upload({ req, body, url }: Ctx): Response {
    const { attributes, file } = this.#multipart(req, body, true);
    const parent = this.#folder(parentIdOf(attributes!.parent));
    this.#checkName(attributes!.name);
    this.#checkFree(parent.id, attributes!.name as string);
    const created = this.store.addFile(
      parent.id,
      attributes!.name as string,
      file.slice(),
      dateAttr(attributes!, "content_modified_at"),
      dateAttr(attributes!, "content_created_at"),
    );
    return jsonResponse(
      { total_count: 1, entries: [this.repr.file(created, parseFields(url))] },
      201,
    );
  }

  /** POST /files/{id}/content: a new version; optional rename and If-Match. */
  #uploadVersion({ req, body, url, params }: Ctx): Response {
    const target = this.#file(params[0]!);
    checkIfMatch(req, target);
    const { attributes, file } = this.#multipart(req, body, false);
    let newName: string | undefined;
    if (attributes?.name !== undefined && attributes.name !== target.name) {
      this.#checkName(attributes.name);
      this.#checkFree(target.parentId, attributes.name as string, target.id);
      newName = attributes.name as string;
    }
    const updated = this.store.addVersion(
      target,
      file.slice(),
      newName,
      attributes ? dateAttr(attributes, "content_modified_at") : undefined,
    );
    return jsonResponse({ total_count: 1, entries: [this.repr.file(updated, parseFields(url))] });
  }

  /** Parses and checks a direct-upload body: part order, size cap, content-md5. */
  #multipart(
    req: Request,
    body: Uint8Array,
    attributesRequired: boolean,
  ): { attributes: Record<string, unknown> | undefined; file: Uint8Array } {
    let parts: MultipartPart[];
    try {
      parts = parseMultipart(body, req.headers.get("content-type"));
    } catch (e) {
      if (!(e instanceof MultipartError)) throw e;
      throw new BoxHttpError(400, "bad_request", `Malformed multipart body: ${e.message}`);
    }
    const ai = parts.findIndex((p) => p.name === "attributes");
    const fi = parts.findIndex((p) => p.filename !== undefined || p.name === "file");
    if (fi < 0) throw new BoxHttpError(400, "bad_request", "Missing file part");
    if (ai > fi) {
      throw new BoxHttpError(
        400,
        "metadata_after_file_contents",
        "Metadata must come before file contents",
      );
    }
    if (ai < 0 && attributesRequired) {
      throw new BoxHttpError(400, "bad_request", "Missing attributes part");
    }
    const attributes = ai < 0 ? undefined : parseJsonObject(parts[ai]!.body);
    const file = parts[fi]!.body;
    const max = this.options.maxSimpleUploadSize ?? 50_000_000;
    if (file.length > max) {
      throw new BoxHttpError(
        413,
        "request_entity_too_large",
        `File size exceeds the direct upload limit of ${max} bytes; use chunked upload`,
      );
    }
    const md5 = req.headers.get("content-md5");
    if (md5 !== null && md5.trim().toLowerCase() !== sha1Hex(file)) {
      throw new BoxHttpError(
        400,
        "bad_digest",
        "The specified content-md5 did not match what was received",
      );
    }
    return { attributes, file };
  }

  #createSession({ body }: Ctx): Response {
    const json = parseJsonObject(body);
    if (json.folder_id === undefined) {
      throw new BoxHttpError(400, "missing_destination", "'folder_id' is required");
    }
    const size = this.#checkSessionSize(json.file_size);
    const folder = this.#folder(String(json.folder_id));
    this.#checkName(json.file_name);
    this.#checkFree(folder.id, json.file_name as string);
    return this.#openSession({
      kind: "new",
      folderId: folder.id,
      fileName: json.file_name as string,
      fileSize: size,
    });
  }

  #createVersionSession({ body, params }: Ctx): Response {
    const target = this.#file(params[0]!);
    const json = parseJsonObject(body);
    const size = this.#checkSessionSize(json.file_size);
    let fileName = target.name;
    if (json.file_name !== undefined && json.file_name !== target.name) {
      this.#checkName(json.file_name);
      this.#checkFree(target.parentId, json.file_name as string, target.id);
      fileName = json.file_name as string;
    }
    return this.#openSession({ kind: "version", fileId: target.id, fileName, fileSize: size });
  }

  #checkSessionSize(value: unknown): number {
    if (!isSize(value)) throw invalidParameter("file_size", String(value));
    const min = this.options.minChunkedUploadSize ?? 20_000_000;
    if (value < min) {
      throw new BoxHttpError(
        400,
        "file_size_too_small",
        `File size ${value} less than minimum allowed for this API: ${min}`,
      );
    }
    return value;
  }

  #openSession(
    s: Pick<FakeUploadSession, "kind" | "fileName" | "fileSize"> & {
      folderId?: string;
      fileId?: string;
    },
  ): Response {
    const ps = this.options.partSize ?? 8_388_608;
    const partSize = typeof ps === "function" ? ps(s.fileSize) : ps;
    const session: FakeUploadSession = {
      ...s,
      id: randomHex(16).toUpperCase(),
      partSize,
      totalParts: Math.max(1, Math.ceil(s.fileSize / partSize)),
      expiresAt: new Date(Date.now() + 7 * 24 * 3600_000),
      parts: new Map(),
    };
    this.#sessions.set(session.id, session);
    return jsonResponse(this.#sessionJson(session), 201);
  }

  #sessionJson(s: FakeUploadSession): Record<string, unknown> {
    const base = `${this.uploadBaseUrl}/2.0/files/upload_sessions/${s.id}`;
    return {
      id: s.id,
      type: "upload_session",
      session_expires_at: boxTime(s.expiresAt, this.repr.offsetMinutes),
      part_size: s.partSize,
      total_parts: s.totalParts,
      num_parts_processed: s.parts.size,
      session_endpoints: {
        upload_part: base,
        commit: `${base}/commit`,
        abort: base,
        list_parts: `${base}/parts`,
        status: base,
        log_event: `${base}/log`,
      },
    };
  }

  #session(id: string): FakeUploadSession {
    const s = this.#sessions.get(id);
    if (!s) throw new BoxHttpError(404, "not_found", "Upload session not found");
    if (s.expiresAt.getTime() < Date.now()) {
      throw new BoxHttpError(410, "session_expired", "The upload session has expired");
    }
    return s;
  }

  #sessionInfo({ params }: Ctx): Response {
    return jsonResponse(this.#sessionJson(this.#session(params[0]!)));
  }

  /** PUT a part: aligned Content-Range, exact size, no overlap, matching SHA-1 Digest. */
  #uploadPart({ req, body, params }: Ctx): Response {
    const s = this.#session(params[0]!);
    const rangeHeader = req.headers.get("content-range");
    const range = parseContentRange(rangeHeader);
    if (!range) {
      throw new BoxHttpError(
        400,
        "bad_request",
        `Missing or malformed Content-Range: ${JSON.stringify(rangeHeader)}`,
      );
    }
    const digest = parseDigest(req.headers.get("digest"));
    if (digest === undefined) {
      throw new BoxHttpError(400, "bad_request", "Missing or malformed Digest header (sha=...)");
    }
    const { start, end, total } = range;
    const size = end - start + 1;
    const rangeError = (why: string) =>
      new BoxHttpError(416, "requested_range_not_satisfiable", `${rangeHeader}: ${why}`);
    if (total !== s.fileSize) {
      throw rangeError(`total is not the session's file size ${s.fileSize}`);
    }
    if (end < start || end >= total) throw rangeError("range outside the file");
    if (start % s.partSize !== 0) throw rangeError(`start is not a multiple of ${s.partSize}`);
    if (size !== s.partSize && end !== total - 1) {
      throw rangeError(`only the last part may be smaller than ${s.partSize}`);
    }
    if (size > s.partSize) throw rangeError(`part larger than ${s.partSize}`);
    if (body.length !== size) {
      throw new BoxHttpError(
        400,
        "bad_request",
        `Body has ${body.length} bytes but Content-Range says ${size}`,
      );
    }
    for (const p of s.parts.values()) {
      if (start <= p.offset + p.size - 1 && p.offset <= end) {
        throw new BoxHttpError(
          this.options.overlapStatus ?? 409,
          "range_overlaps_existing_part",
          "Part overlaps with previously uploaded part",
          { conflicts: [{ part_id: p.part_id, offset: p.offset, size: p.size, sha1: p.sha1 }] },
        );
      }
    }
    if (digest !== sha1Base64(body)) {
      throw new BoxHttpError(412, "bad_digest", "The digest of the part does not match");
    }
    const part: StoredPart = {
      part_id: randomHex(4).toUpperCase(),
      offset: start,
      size,
      sha1: sha1Hex(body),
      bytes: body.slice(),
    };
    s.parts.set(start, part);
    return jsonResponse({ part: partJson(part) });
  }

  #listParts({ params, url }: Ctx): Response {
    const s = this.#session(params[0]!);
    const offset = intParam(url.searchParams, "offset", 0);
    if (offset > 10000) {
      throw new BoxHttpError(400, "bad_request", "Offset exceeds the maximum of 10000");
    }
    const limit = Math.min(intParam(url.searchParams, "limit", 1000), 1000);
    const all = [...s.parts.values()].sort((a, b) => a.offset - b.offset);
    return jsonResponse({
      entries: all.slice(offset, offset + limit).map(partJson),
      total_count: all.length,
      limit,
      offset,
    });
  }

  /** Commit: the listed parts must be exactly the stored ones, covering the file; whole Digest. */
  #commit({ req, body, params, fault }: Ctx): Response {
    const s = this.#session(params[0]!);
    const digest = parseDigest(req.headers.get("digest"));
    if (digest === undefined) {
      throw new BoxHttpError(400, "bad_request", "Missing or malformed Digest header (sha=...)");
    }
    const json = parseJsonObject(body);
    if (!Array.isArray(json.parts)) throw invalidParameter("parts", String(json.parts));
    const listed = [...(json.parts as unknown[])];
    const stored = [...s.parts.values()].sort((a, b) => a.offset - b.offset);
    const sameAsStored = (p: unknown, q: StoredPart) => {
      if (typeof p !== "object" || p === null) return false;
      const r = p as Record<string, unknown>;
      return r.part_id === q.part_id && r.offset === q.offset && r.size === q.size &&
        (r.sha1 === undefined || r.sha1 === q.sha1);
    };
    const sorted = listed.slice().sort((a, b) =>
      Number((a as { offset?: unknown }).offset) - Number((b as { offset?: unknown }).offset)
    );
    if (
      sorted.length !== stored.length || !sorted.every((p, i) => sameAsStored(p, stored[i]!))
    ) {
      throw new BoxHttpError(
        400,
        "bad_request",
        "The parts in the commit request do not match the parts uploaded to the session",
      );
    }
    let covered = 0;
    for (const p of stored) {
      if (p.offset !== covered) break;
      covered += p.size;
    }
    if (covered !== s.fileSize) {
      throw new BoxHttpError(
        400,
        "bad_request",
        `The uploaded parts cover ${covered} of ${s.fileSize} bytes`,
      );
    }
    const content = new Uint8Array(s.fileSize);
    for (const p of stored) content.set(p.bytes, p.offset);
    if (digest !== sha1Base64(content)) {
      throw new BoxHttpError(400, "bad_digest", "The digest of the file does not match");
    }
    const attributes = typeof json.attributes === "object" && json.attributes !== null
      ? json.attributes as Record<string, unknown>
      : {};
    const modified = dateAttr(attributes, "content_modified_at");
    if (s.kind === "version") {
      const target = this.#file(s.fileId!);
      checkIfMatch(req, target);
      if (fault?.kind === "processing") return processing(fault.retryAfter);
      if (s.fileName !== target.name) this.#checkFree(target.parentId, s.fileName, target.id);
      const newName = s.fileName !== target.name ? s.fileName : undefined;
      this.store.addVersion(target, content, newName, modified);
      this.#sessions.delete(s.id);
      return jsonResponse({ total_count: 1, entries: [this.repr.file(target)] }, 201);
    }
    const folder = this.#folder(s.folderId!);
    if (fault?.kind === "processing") return processing(fault.retryAfter);
    this.#checkFree(folder.id, s.fileName);
    const file = this.store.addFile(
      folder.id,
      s.fileName,
      content,
      modified,
      dateAttr(attributes, "content_created_at"),
    );
    this.#sessions.delete(s.id);
    return jsonResponse({ total_count: 1, entries: [this.repr.file(file)] }, 201);
  }

  #abort({ params }: Ctx): Response {
    const s = this.#session(params[0]!);
    this.#sessions.delete(s.id);
    return new Response(null, { status: 204 });
  }

  // ---------------------------------------------------------------- checks

  #folder(id: string): FakeFolder {
    const f = this.store.folders.get(id);
    if (!f) {
      throw new BoxHttpError(404, "not_found", "Not Found", {
        errors: [{
          reason: "invalid_parameter",
          name: "folder",
          message: `Invalid value 'd_${id}'. 'folder' with value 'd_${id}' not found`,
        }],
      });
    }
    return f;
  }

  #file(id: string): FakeFile {
    const f = this.store.files.get(id);
    if (!f) {
      throw new BoxHttpError(404, "not_found", "Not Found", {
        errors: [{
          reason: "invalid_parameter",
          name: "item",
          message: `Invalid value 'f_${id}'. 'item' with value 'f_${id}' not found`,
        }],
      });
    }
    return f;
  }

  #checkName(name: unknown): void {
    const problem = nameProblem(name);
    if (problem === "item_name_too_long") {
      throw new BoxHttpError(400, problem, "Item name too long");
    }
    if (problem) throw new BoxHttpError(400, problem, "Item name invalid");
  }

  /** 409 item_name_in_use if `name` is taken in the folder (ignoring case), except by `self`. */
  #checkFree(folderId: string, name: string, self?: string): void {
    const existing = this.store.childByName(folderId, name);
    if (!existing || existing.item.id === self) return;
    const conflict = existing.type === "file"
      ? this.repr.fileMini(existing.item)
      : this.repr.folderMini(existing.item);
    throw new BoxHttpError(409, "item_name_in_use", "Item with the same name already exists", {
      conflicts: this.options.conflictShape === "array" ? [conflict] : conflict,
    });
  }
}

// ---------------------------------------------------------------- helpers

function statusFault(f: Extract<FaultAction, { kind: "status" }>): Response {
  const headers: Record<string, string> = {};
  if (f.retryAfter !== undefined) headers["retry-after"] = String(f.retryAfter);
  if (f.body !== undefined) {
    return new Response(f.body, {
      status: f.status,
      headers: { "content-type": "text/html", ...headers },
    });
  }
  return clientError(
    f.status,
    f.code ?? defaultCode(f.status),
    f.message ?? `Injected ${f.status}`,
    undefined,
    headers,
  );
}

function processing(retryAfter: number): Response {
  return new Response(null, { status: 202, headers: { "retry-after": String(retryAfter) } });
}

function randomHex(bytes: number): string {
  return [...crypto.getRandomValues(new Uint8Array(bytes))]
    .map((b) => b.toString(16).padStart(2, "0"))
    .join("");
}

function partJson(p: StoredPart): Record<string, unknown> {
  return { part_id: p.part_id, offset: p.offset, size: p.size, sha1: p.sha1 };
}

function invalidParameter(name: string, value: string): BoxHttpError {
  return new BoxHttpError(400, "bad_request", `Invalid value for '${name}': ${value}`, {
    errors: [{ reason: "invalid_parameter", name, message: `Invalid value '${value}'.` }],
  });
}

function parseJsonObject(body: Uint8Array): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(new TextDecoder().decode(body));
  } catch {
    throw new BoxHttpError(400, "bad_request", "Could not parse JSON body");
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    throw new BoxHttpError(400, "bad_request", "The body must be a JSON object");
  }
  return v as Record<string, unknown>;
}

function parentIdOf(parent: unknown): string {
  const id = typeof parent === "object" && parent !== null
    ? (parent as Record<string, unknown>).id
    : undefined;
  if (typeof id !== "string" && typeof id !== "number") {
    throw new BoxHttpError(400, "bad_request", "'parent.id' is required");
  }
  return String(id);
}

function isSize(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}

function intParam(q: URLSearchParams, name: string, dflt: number): number {
  const raw = q.get(name);
  if (raw === null || raw === "") return dflt;
  if (!/^\d+$/.test(raw)) throw invalidParameter(name, raw);
  return Number(raw);
}

function dateAttr(attrs: Record<string, unknown>, name: string): Date | undefined {
  const v = attrs[name];
  if (v === undefined || v === null) return undefined;
  const d = typeof v === "string" && /^\d{4}-\d{2}-\d{2}T/.test(v) ? new Date(v) : undefined;
  if (!d || Number.isNaN(d.getTime())) throw invalidParameter(name, String(v));
  return new Date(Math.floor(d.getTime() / 1000) * 1000);
}

function checkIfMatch(req: Request, file: FakeFile): void {
  const ifMatch = req.headers.get("if-match");
  if (ifMatch !== null && ifMatch.replace(/^W\//, "").replace(/"/g, "") !== file.etag) {
    throw new BoxHttpError(412, "precondition_failed", "The resource has been modified.");
  }
}

/** `bytes a-b/total`. */
export function parseContentRange(
  h: string | null,
): { start: number; end: number; total: number } | undefined {
  const m = h === null ? null : /^bytes (\d+)-(\d+)\/(\d+)$/.exec(h.trim());
  if (!m) return undefined;
  return { start: Number(m[1]), end: Number(m[2]), total: Number(m[3]) };
}

/** `sha=<base64>` (RFC 3230; several digests may be comma-separated). */
function parseDigest(h: string | null): string | undefined {
  if (h === null) return undefined;
  for (const item of h.split(",")) {
    const m = /^\s*sha=(.+?)\s*$/i.exec(item);
    if (m) return m[1];
  }
  return undefined;
}

/** A single `bytes=` range; undefined to ignore the header (then 200 with everything). */
function parseRange(
  h: string,
  size: number,
): { start: number; end: number } | "unsatisfiable" | undefined {
  const m = /^bytes=(\d*)-(\d*)$/.exec(h.trim());
  if (!m || (m[1] === "" && m[2] === "")) return undefined;
  if (m[1] === "") {
    const n = Number(m[2]);
    if (n === 0) return "unsatisfiable";
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size || end < start) return "unsatisfiable";
  return { start, end };
}

function encodeMarker(folderId: string, key: string, index: number): string {
  return btoa(JSON.stringify({ f: folderId, k: key, i: index })).replace(/=+$/, "");
}

function decodeMarker(marker: string, folderId: string): { k: string; i: number } {
  try {
    const v = JSON.parse(atob(marker)) as { f?: unknown; k?: unknown; i?: unknown };
    if (v.f === folderId && typeof v.k === "string" && typeof v.i === "number") {
      return { k: v.k, i: v.i };
    }
  } catch {
    // fall through
  }
  throw invalidParameter("marker", marker);
}
