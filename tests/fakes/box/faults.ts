/**
 * @module
 * Fault injection for the fake Box API: each rule matches requests by operation (and, for part
 * uploads, by part index) and changes what the next N of them get. Faults only hit requests that
 * passed authentication, so a 401/refresh cycle never eats a rule's budget.
 */

import { RulePlan } from "../fault_plan.ts";

/** The operations the fake distinguishes (one per endpoint). */
export type BoxOperation =
  /** POST /oauth2/token (API host). */
  | "token"
  /** OPTIONS /2.0/files/content (API host). */
  | "preflight"
  /** POST /2.0/folders (API host). */
  | "create_folder"
  /** GET /2.0/folders/{id} (API host). */
  | "folder_info"
  /** GET /2.0/folders/{id}/items (API host). */
  | "list_items"
  /** GET /2.0/files/{id} (API host). */
  | "file_info"
  /** GET /2.0/files/{id}/content, the 302 (API host). */
  | "download"
  /** GET of the redirect target (download host, no auth). */
  | "download_content"
  /** DELETE /2.0/files/{id} (API host): moves the file to the trash. */
  | "delete"
  /** GET /2.0/files/{id}/trash (API host). */
  | "trash_info"
  /** POST /api/2.0/files/content (upload host). */
  | "upload"
  /** POST /api/2.0/files/{id}/content (upload host). */
  | "upload_version"
  /** POST /api/2.0/files/upload_sessions (upload host). */
  | "create_session"
  /** POST /api/2.0/files/{id}/upload_sessions (upload host). */
  | "create_version_session"
  /** GET /api/2.0/files/upload_sessions/{id} (upload host). */
  | "session_info"
  /** PUT /api/2.0/files/upload_sessions/{id} (upload host); rules may name a part index. */
  | "upload_part"
  /** GET /api/2.0/files/upload_sessions/{id}/parts (upload host). */
  | "list_parts"
  /** POST /api/2.0/files/upload_sessions/{id}/commit (upload host). */
  | "commit"
  /** DELETE /api/2.0/files/upload_sessions/{id} (upload host). */
  | "abort"
  /** Anything the fake has no route for. */
  | "unknown";

/** What a faulty response looks like. */
export type FaultAction =
  /**
   * An HTTP error status with a Box ClientError body (code defaults by status: 429
   * rate_limit_exceeded, 500 internal_server_error, 502 bad_gateway, 503 unavailable), optionally
   * with `Retry-After` seconds. `body` replaces the JSON (sent as text/html, like a gateway page).
   * `applied: true` performs the operation first and then answers the error — a write that
   * persisted although the client saw a failure.
   */
  | {
    kind: "status";
    status: number;
    retryAfter?: number;
    code?: string;
    message?: string;
    body?: string;
    applied?: boolean;
  }
  /**
   * 202 Accepted with no body and `Retry-After` seconds: "still processing". On `commit` the
   * request is validated first (a bad commit still fails); on `download` the file is "not ready".
   */
  | { kind: "processing"; retryAfter: number }
  /** Answer normally, but only after a delay. */
  | { kind: "delay"; ms: number }
  /** Never answer (until the fake closes, then 504). */
  | { kind: "hang" }
  /**
   * Perform the operation, then send half of the response body under a Content-Length of the
   * whole: the client sees the connection close mid-body. On `download` the fault is carried by the
   * issued download URL and hits the content request.
   */
  | { kind: "drop" }
  /**
   * Serve the content with one byte flipped, so its SHA-1 differs (`download` /
   * `download_content` only; on `download` it is carried by the issued URL).
   */
  | { kind: "corrupt" }
  /** Run a callback (for example delete a file behind the client's back), then answer normally. */
  | { kind: "run"; fn: () => void };

/** A rule: which requests, how many of them, and what they get. */
export interface FaultRule {
  /** Operation to match (default: every operation). */
  op?: BoxOperation;
  /** For `upload_part`: the 0-based part index (offset / part_size). */
  part?: number;
  /** Let this many matching requests through untouched first (default 0). */
  after?: number;
  /** How many matching requests to affect (default 1; Infinity for all). */
  times?: number;
  action: FaultAction;
}

/** What a request is, for matching. */
export interface FaultKey {
  op: BoxOperation;
  part?: number | undefined;
}

/** The active rules of this fake (see {@linkcode RulePlan}). */
export class FaultPlan extends RulePlan<FaultRule, FaultKey> {
  constructor() {
    super((r, k) =>
      (r.op === undefined || r.op === k.op) && (r.part === undefined || r.part === k.part)
    );
  }
}
