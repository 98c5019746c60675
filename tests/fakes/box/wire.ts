/**
 * @module
 * Box wire shapes for the fake: ClientError bodies, the OAuth error body, Box timestamps, and the
 * JSON representations of files and folders (mini, standard, and `fields` selections).
 */

import type { BoxStore, FakeFile, FakeFolder } from "./store.ts";

/** A Box API error to be answered as a ClientError body. */
export class BoxHttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly contextInfo?: Record<string, unknown>,
    readonly headers?: Record<string, string>,
  ) {
    super(message);
  }
}

const HELP_URL = "http://developers.box.com/docs/#errors";

/** Default ClientError `code` for a status (used by status faults). */
export function defaultCode(status: number): string {
  const codes: Record<number, string> = {
    400: "bad_request",
    401: "unauthorized",
    403: "access_denied_insufficient_permissions",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    412: "precondition_failed",
    429: "rate_limit_exceeded",
    500: "internal_server_error",
    502: "bad_gateway",
    503: "unavailable",
    504: "gateway_timeout",
  };
  return codes[status] ?? "fake_error";
}

export function requestId(): string {
  const b = crypto.getRandomValues(new Uint8Array(8));
  return [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
}

export function jsonResponse(
  value: unknown,
  status = 200,
  headers: Record<string, string> = {},
): Response {
  return new Response(JSON.stringify(value), {
    status,
    headers: { "content-type": "application/json", ...headers },
  });
}

/** `{type:"error", status, code, message, context_info?, help_url, request_id}`. */
export function clientError(
  status: number,
  code: string,
  message: string,
  contextInfo?: Record<string, unknown>,
  headers: Record<string, string> = {},
): Response {
  const body: Record<string, unknown> = { type: "error", status, code, message };
  if (contextInfo !== undefined) body.context_info = contextInfo;
  body.help_url = HELP_URL;
  body.request_id = requestId();
  return jsonResponse(body, status, headers);
}

export function errorResponse(e: BoxHttpError): Response {
  return clientError(e.status, e.code, e.message, e.contextInfo, e.headers);
}

/** The OAuth-shaped error of the token endpoint (not a ClientError). */
export function oauthError(error: string, description: string, status = 400): Response {
  return jsonResponse({ error, error_description: description }, status);
}

/**
 * Sends half of `bytes` under a Content-Length of the whole, then ends: the client sees the
 * connection close mid-body (a crash or a proxy cut), and Deno logs nothing.
 */
export function droppedResponse(bytes: Uint8Array, status: number, headers: Headers): Response {
  const claimed = Math.max(bytes.length, 16);
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      if (bytes.length > 1) controller.enqueue(bytes.slice(0, bytes.length >> 1));
      controller.close();
    },
  });
  const h = new Headers(headers);
  h.set("content-length", String(claimed));
  return new Response(stream, { status: status === 204 ? 200 : status, headers: h });
}

/**
 * A Box timestamp: seconds precision with a numeric offset (Box answers in US Pacific time, e.g.
 * `2012-12-12T10:53:43-08:00`), so clients must parse rather than compare strings.
 */
export function boxTime(d: Date, offsetMinutes: number): string {
  const shifted = new Date(d.getTime() + offsetMinutes * 60_000);
  const sign = offsetMinutes < 0 ? "-" : "+";
  const abs = Math.abs(offsetMinutes);
  const off = `${sign}${String(Math.floor(abs / 60)).padStart(2, "0")}:${
    String(abs % 60).padStart(2, "0")
  }`;
  return shifted.toISOString().slice(0, 19) + off;
}

/** Builds the JSON representations; `offsetMinutes` is the time zone of timestamps. */
export class Representer {
  constructor(readonly store: BoxStore, readonly offsetMinutes: number) {}

  readonly user = {
    type: "user",
    id: "9000001",
    name: "Fake Service Account",
    login: "AutomationUser_9000001_fake@boxdevedition.com",
  };

  folderMini(f: FakeFolder): Record<string, unknown> {
    return { type: "folder", id: f.id, sequence_id: f.etag, etag: f.etag, name: f.name };
  }

  fileMini(f: FakeFile): Record<string, unknown> {
    return {
      type: "file",
      id: f.id,
      file_version: { type: "file_version", id: f.versionId, sha1: f.sha1 },
      sequence_id: f.etag,
      etag: f.etag,
      sha1: f.sha1,
      name: f.name,
    };
  }

  #pathCollection(parentId: string): Record<string, unknown> {
    const entries = this.store.pathTo(parentId).map((p) => this.folderMini(p));
    return { total_count: entries.length, entries };
  }

  #t(d: Date | null): string | null {
    return d === null ? null : boxTime(d, this.offsetMinutes);
  }

  /** Every field the fake can give for a file; the standard set is STANDARD_FILE_FIELDS. */
  #fileAll(f: FakeFile): Record<string, unknown> {
    const parent = this.store.folders.get(f.parentId);
    const dot = f.name.lastIndexOf(".");
    return {
      ...this.fileMini(f),
      description: "",
      size: f.size,
      path_collection: this.#pathCollection(f.parentId),
      created_at: this.#t(f.createdAt),
      modified_at: this.#t(f.modifiedAt),
      trashed_at: null,
      purged_at: null,
      content_created_at: this.#t(f.contentCreatedAt),
      content_modified_at: this.#t(f.contentModifiedAt),
      created_by: this.user,
      modified_by: this.user,
      owned_by: this.user,
      shared_link: null,
      parent: parent ? this.folderMini(parent) : null,
      item_status: "active",
      version_number: String(f.versions),
      extension: dot > 0 ? f.name.slice(dot + 1) : "",
      is_package: false,
    };
  }

  /** A file as Box returns it: standard fields, or the mini set plus `fields` if given. */
  file(f: FakeFile, fields?: string[]): Record<string, unknown> {
    return pick(this.#fileAll(f), this.fileMini(f), fields ?? STANDARD_FILE_FIELDS);
  }

  #folderAll(f: FakeFolder): Record<string, unknown> {
    const parent = f.parentId === null ? undefined : this.store.folders.get(f.parentId);
    const children = this.store.children(f.id);
    const size = children.reduce((n, c) => n + (c.type === "file" ? c.item.size : 0), 0);
    return {
      ...this.folderMini(f),
      description: "",
      size,
      path_collection: f.parentId === null
        ? { total_count: 0, entries: [] }
        : this.#pathCollection(f.parentId),
      created_at: f.parentId === null ? null : this.#t(f.createdAt),
      modified_at: f.parentId === null ? null : this.#t(f.modifiedAt),
      trashed_at: null,
      purged_at: null,
      content_created_at: f.parentId === null ? null : this.#t(f.createdAt),
      content_modified_at: f.parentId === null ? null : this.#t(f.modifiedAt),
      created_by: this.user,
      modified_by: this.user,
      owned_by: this.user,
      shared_link: null,
      folder_upload_email: null,
      parent: parent ? this.folderMini(parent) : null,
      item_status: "active",
    };
  }

  /** A folder: standard fields (without item_collection), or mini plus `fields`. */
  folder(f: FakeFolder, fields?: string[]): Record<string, unknown> {
    return pick(this.#folderAll(f), this.folderMini(f), fields ?? STANDARD_FOLDER_FIELDS);
  }
}

const STANDARD_FILE_FIELDS = [
  "description",
  "size",
  "path_collection",
  "created_at",
  "modified_at",
  "trashed_at",
  "purged_at",
  "content_created_at",
  "content_modified_at",
  "created_by",
  "modified_by",
  "owned_by",
  "shared_link",
  "parent",
  "item_status",
];

const STANDARD_FOLDER_FIELDS = [
  ...STANDARD_FILE_FIELDS,
  "folder_upload_email",
];

/** The mini representation plus the requested fields the fake knows (unknown ones are ignored). */
function pick(
  all: Record<string, unknown>,
  mini: Record<string, unknown>,
  fields: string[],
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...mini };
  for (const f of fields) if (f in all) out[f] = all[f];
  return out;
}

/** Parses a `fields` query parameter (comma list); undefined if absent. */
export function parseFields(url: URL): string[] | undefined {
  const raw = url.searchParams.get("fields");
  if (raw === null) return undefined;
  return raw.split(",").map((s) => s.trim()).filter(Boolean);
}
