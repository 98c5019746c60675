/**
 * @module
 * A real S3 implementation written by someone else (`npm:s3rver` 3.7, pinned in tools/package.json
 * and installed by `npm ci --prefix tools`) behind a small recording and fault-injecting proxy of
 * ours. s3rver is the truth for what it does (objects, ETags, ListObjectsV2, multipart
 * create/part/complete, Content-MD5 checks); the proxy adds only what s3rver 3.7 cannot show
 * (measured, see the issue): it never returns `x-amz-checksum-*`, answers ListMultipartUploads
 * with 501 and AbortMultipartUpload with 405. With `checksums: true` the proxy answers like AWS S3
 * does (docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html): the
 * SHA-256 of a PutObject or UploadPart body as `x-amz-checksum-sha256`, the COMPOSITE checksum
 * `base64(sha256(part digests))-N` in CompleteMultipartUpload and on HeadObject with
 * `x-amz-checksum-mode: ENABLED`. It emulates AbortMultipartUpload, ListMultipartUploads and
 * ListParts from what it recorded (a part uploaded after an abort is refused NoSuchUpload, as S3
 * does). Faults: an S3 error status (503 SlowDown with or without Retry-After), a part acknowledged
 * but never stored (a dropped part: CompleteMultipartUpload then answers 400 InvalidPart, as S3
 * does; the proxy answers it, because s3rver 3.7 crashes on a missing part file), a wrong checksum
 * in the answer, a delay.
 */

import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { RulePlan } from "./fault_plan.ts";

const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** S3 operations the proxy tells apart. */
export type S3Op =
  | "put_object"
  | "head_object"
  | "get_object"
  | "delete_object"
  | "list_objects"
  | "create_multipart"
  | "upload_part"
  | "complete_multipart"
  | "abort_multipart"
  | "list_multipart_uploads"
  | "list_parts"
  | "other";

/** What a fault does to a matching request. */
export type S3Fault =
  | { kind: "status"; status: number; code: string; retryAfter?: number }
  /** Acknowledge an UploadPart (200, an ETag) without storing it. */
  | { kind: "drop_part" }
  /** Answer normally, but report this checksum instead of the real one. */
  | { kind: "wrong_checksum" }
  /** Answer normally after this many milliseconds (a slow link). */
  | { kind: "delay"; ms: number };

/** A fault rule: which operation (and part), and the budget. */
export interface S3FaultRule {
  op: S3Op;
  part?: number;
  after?: number;
  times?: number;
  action: S3Fault;
}

/** One request as the proxy saw it. */
export interface S3Request {
  op: S3Op;
  method: string;
  key: string;
  part: number | null;
  uploadId: string | null;
  status: number;
  at: number;
  /** The request headers that say how the body was framed and checked, and what was asked. */
  headers: Record<string, string>;
}

/** Request headers recorded per request (integrity, framing, storage options). */
const RECORDED_HEADERS = [
  "content-md5",
  "content-encoding",
  "x-amz-trailer",
  "x-amz-checksum-sha256",
  "x-amz-checksum-crc32",
  "x-amz-sdk-checksum-algorithm",
  "x-amz-checksum-algorithm",
  "x-amz-storage-class",
  "x-amz-server-side-encryption",
  "x-amz-meta-astrabak-sha256",
  "content-type",
];

interface Upload {
  key: string;
  parts: Map<number, Buffer>;
  /** Parts acknowledged but not stored (a drop_part fault). */
  dropped: Set<number>;
  state: "open" | "completed" | "aborted";
}

/** The pinned s3rver, or why it cannot run here. */
export async function findS3rver(): Promise<{ script: string } | { reason: string }> {
  const script = join(REPO_ROOT, "tools/node_modules/s3rver/bin/s3rver.js");
  if (!(await Deno.stat(script).then(() => true, () => false))) {
    return { reason: "s3rver is not installed (run npm ci --prefix tools)" };
  }
  const node = await new Deno.Command("node", {
    args: ["--version"],
    stdout: "null",
    stderr: "null",
  })
    .output().then((o) => o.success, () => false);
  return node ? { script } : { reason: "node is not on PATH (s3rver runs on Node)" };
}

/** s3rver plus the proxy in front of it; `url` is the proxy. */
export class S3Store {
  readonly requests: S3Request[] = [];
  readonly faults = new RulePlan<S3FaultRule, { op: S3Op; part: number | null }>(
    (r, k) => r.op === k.op && (r.part === undefined || r.part === k.part),
  );
  /** Answer checksums as AWS does (s3rver returns none). */
  checksums = false;
  readonly uploads = new Map<string, Upload>();
  readonly #objects = new Map<string, { sha256: string }>();
  readonly #child: Deno.ChildProcess;
  readonly #server: Deno.HttpServer;
  readonly #dir: string;
  readonly upstream: string;
  readonly url: string;

  private constructor(
    child: Deno.ChildProcess,
    server: Deno.HttpServer,
    dir: string,
    upstream: string,
  ) {
    this.#child = child;
    this.#server = server;
    this.#dir = dir;
    this.upstream = upstream;
    this.url = `http://127.0.0.1:${(server.addr as Deno.NetAddr).port}`;
  }

  /** Starts s3rver (with `buckets` created) and the proxy. */
  static async start(script: string, buckets: string[] = ["bkt"]): Promise<S3Store> {
    const dir = await Deno.makeTempDir({ prefix: "astrabak-s3rver-" });
    const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (probe.addr as Deno.NetAddr).port;
    probe.close();
    const child = new Deno.Command("node", {
      args: [
        script,
        "-d",
        dir,
        "-a",
        "127.0.0.1",
        "-p",
        String(port),
        "--silent",
        ...buckets.flatMap((b) => ["--configure-bucket", b]),
      ],
      stdout: "null",
      stderr: "null",
    }).spawn();
    const upstream = `http://127.0.0.1:${port}`;
    for (let i = 0;; i++) {
      const ok = await fetch(upstream).then(
        async (r) => (await r.body?.cancel(), true),
        () => false,
      );
      if (ok) break;
      if (i > 100) throw new Error("s3rver did not start");
      await new Promise((r) => setTimeout(r, 100));
    }
    // The handler needs the store, which needs the server: assigned once, after both exist.
    // deno-lint-ignore prefer-const
    let store: S3Store | undefined;
    const server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      (req) => store!.#handle(req).catch(() => new Response(null, { status: 500 })),
    );
    store = new S3Store(child, server, dir, upstream);
    return store;
  }

  /** Requests of one operation, in order. */
  requestsOf(op: S3Op): S3Request[] {
    return this.requests.filter((r) => r.op === op);
  }

  /** Multipart uploads neither completed nor aborted (what ListMultipartUploads answers). */
  openUploads(): Array<{ key: string; uploadId: string }> {
    return [...this.uploads].filter(([, u]) => u.state === "open").map(([uploadId, u]) => ({
      key: u.key,
      uploadId,
    }));
  }

  /** Puts an object straight into s3rver (bypassing the proxy's records). */
  async putRaw(bucket: string, key: string, bytes: Uint8Array<ArrayBuffer>): Promise<void> {
    const r = await fetch(`${this.upstream}/${bucket}/${key}`, { method: "PUT", body: bytes });
    await r.body?.cancel();
    if (!r.ok) throw new Error(`s3rver PUT ${key}: ${r.status}`);
  }

  /** Reads an object straight from s3rver; null when absent. */
  async getRaw(bucket: string, key: string): Promise<Uint8Array | null> {
    const r = await fetch(`${this.upstream}/${bucket}/${key}`);
    if (r.status === 404) return (await r.body?.cancel(), null);
    return new Uint8Array(await r.arrayBuffer());
  }

  async close(): Promise<void> {
    await this.#server.shutdown();
    try {
      this.#child.kill("SIGTERM");
    } catch { /* gone */ }
    await this.#child.status;
    await Deno.remove(this.#dir, { recursive: true }).catch(() => {});
  }

  async #handle(req: Request): Promise<Response> {
    const u = new URL(req.url);
    const q = u.searchParams;
    const [, bucket = "", ...rest] = u.pathname.split("/");
    const key = decodeURIComponent(rest.join("/"));
    const uploadId = q.get("uploadId");
    const part = q.has("partNumber") ? Number(q.get("partNumber")) : null;
    const op = operation(req.method, key, q);
    const headers: Record<string, string> = {};
    for (const h of RECORDED_HEADERS) {
      const v = req.headers.get(h);
      if (v !== null) headers[h] = v;
    }
    const record = (status: number) => {
      this.requests.push({
        op,
        method: req.method,
        key,
        part,
        uploadId,
        status,
        at: Date.now(),
        headers,
      });
    };
    const fault = this.faults.take({ op, part });
    if (fault?.kind === "status") {
      await req.body?.cancel();
      record(fault.status);
      return s3Error(fault.status, fault.code, fault.retryAfter);
    }
    // What s3rver 3.7 does not implement, emulated from the records.
    if (op === "list_multipart_uploads") {
      record(200);
      const items = this.openUploads().map((o) =>
        `<Upload><Key>${o.key}</Key><UploadId>${o.uploadId}</UploadId></Upload>`
      ).join("");
      return xml(
        `<ListMultipartUploadsResult><Bucket>${bucket}</Bucket>${items}<IsTruncated>false</IsTruncated></ListMultipartUploadsResult>`,
      );
    }
    const upload = uploadId ? this.uploads.get(uploadId) : undefined;
    if (op === "abort_multipart" || op === "list_parts") {
      if (!upload || upload.state !== "open") {
        record(404);
        return s3Error(404, "NoSuchUpload");
      }
      if (op === "abort_multipart") {
        upload.state = "aborted";
        record(204);
        return new Response(null, { status: 204 });
      }
      record(200);
      const parts = [...upload.parts.keys()].sort((a, b) => a - b).map((n) =>
        `<Part><PartNumber>${n}</PartNumber><Size>${upload.parts.get(n)!.byteLength}</Size></Part>`
      ).join("");
      return xml(`<ListPartsResult><UploadId>${uploadId}</UploadId>${parts}</ListPartsResult>`);
    }
    if (op === "upload_part" && (!upload || upload.state !== "open")) {
      await req.body?.cancel();
      record(404);
      return s3Error(404, "NoSuchUpload");
    }
    const body = req.body ? Buffer.from(await req.arrayBuffer()) : null;
    if (fault?.kind === "delay") await new Promise((r) => setTimeout(r, fault.ms));
    if (op === "upload_part" && fault?.kind === "drop_part") {
      upload!.dropped.add(part!);
      record(200);
      return new Response(null, {
        status: 200,
        headers: { etag: `"${createHash("md5").update(body ?? "").digest("hex")}"` },
      });
    }
    // S3 answers InvalidPart for a part it does not hold; s3rver 3.7 crashes instead (ENOENT on
    // the part file, measured), so the proxy answers for it.
    if (op === "complete_multipart" && upload && upload.dropped.size > 0) {
      record(400);
      return s3Error(400, "InvalidPart");
    }
    const forward = new Headers(req.headers);
    forward.delete("host");
    const res = await fetch(`${this.upstream}${u.pathname}${u.search}`, {
      method: req.method,
      headers: forward,
      ...(body ? { body } : {}),
      redirect: "manual",
    });
    const out = new Headers(res.headers);
    let text: string | null = null;
    if (op === "create_multipart" && res.ok) {
      text = await res.text();
      const id = /<UploadId>([^<]+)<\/UploadId>/.exec(text)?.[1];
      if (id) this.uploads.set(id, { key, parts: new Map(), dropped: new Set(), state: "open" });
    }
    const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("base64");
    const wrong = fault?.kind === "wrong_checksum";
    const claim = (value: string) => (wrong ? sha(new TextEncoder().encode(value)) : value);
    if (op === "upload_part" && res.ok && upload && body) {
      upload.parts.set(part!, body);
      if (this.checksums) out.set("x-amz-checksum-sha256", claim(sha(body)));
    }
    if (op === "put_object" && res.ok && body) {
      this.#objects.set(key, { sha256: sha(body) });
      if (this.checksums) out.set("x-amz-checksum-sha256", claim(sha(body)));
    }
    if (op === "complete_multipart" && res.ok && upload) {
      text = await res.text();
      upload.state = "completed";
      const digests = [...upload.parts.keys()].sort((a, b) => a - b).map((n) =>
        createHash("sha256").update(upload.parts.get(n)!).digest()
      );
      const composite = `${
        createHash("sha256").update(Buffer.concat(digests)).digest("base64")
      }-${digests.length}`;
      this.#objects.set(key, { sha256: composite });
      if (this.checksums && !text.includes("<Error>")) {
        text = text.replace(
          "</CompleteMultipartUploadResult>",
          `<ChecksumSHA256>${claim(composite)}</ChecksumSHA256></CompleteMultipartUploadResult>`,
        );
      }
    }
    if (op === "delete_object" && res.ok) this.#objects.delete(key);
    if (
      op === "head_object" && res.ok && this.checksums &&
      req.headers.get("x-amz-checksum-mode") === "ENABLED" && this.#objects.has(key)
    ) {
      out.set("x-amz-checksum-sha256", claim(this.#objects.get(key)!.sha256));
    }
    record(res.status);
    if (text !== null) {
      out.delete("content-length");
      return new Response(text, { status: res.status, headers: out });
    }
    return new Response(res.body, { status: res.status, headers: out });
  }
}

function operation(method: string, key: string, q: URLSearchParams): S3Op {
  if (key === "") {
    if (method === "GET" && q.has("uploads")) return "list_multipart_uploads";
    if (method === "GET") return "list_objects";
    return "other";
  }
  if (method === "POST" && q.has("uploads")) return "create_multipart";
  if (method === "POST" && q.has("uploadId")) return "complete_multipart";
  if (method === "PUT" && q.has("uploadId")) return "upload_part";
  if (method === "DELETE" && q.has("uploadId")) return "abort_multipart";
  if (method === "GET" && q.has("uploadId")) return "list_parts";
  if (method === "PUT") return "put_object";
  if (method === "HEAD") return "head_object";
  if (method === "GET") return "get_object";
  if (method === "DELETE") return "delete_object";
  return "other";
}

function xml(body: string, status = 200): Response {
  return new Response(`<?xml version="1.0" encoding="UTF-8"?>\n${body}`, {
    status,
    headers: { "content-type": "application/xml" },
  });
}

/** An S3 error answer, as S3 sends it (an XML Error body; SlowDown may carry Retry-After). */
function s3Error(status: number, code: string, retryAfter?: number): Response {
  const r = xml(
    `<Error><Code>${code}</Code><Message>${code} (injected by the test proxy)</Message></Error>`,
    status,
  );
  if (retryAfter !== undefined) r.headers.set("retry-after", String(retryAfter));
  return r;
}
