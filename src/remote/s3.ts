/**
 * @module
 * An S3-compatible bucket (AWS S3, Cloudflare R2, MinIO, Backblaze B2, GCS interop) as a
 * {@linkcode Remote}: objects `<prefix>/<ts>.zip` (or `<ts>.zip.age` with its sidecar, each with
 * its own Content-Type), loaded with `@aws-sdk/client-s3` and `@aws-sdk/lib-storage` only when an
 * S3 remote is used.
 *
 * Guarantees, as for Box:
 * - an upload counts only when the stored bytes are proven equal to the local file, and the
 *   report says how: the `x-amz-checksum-sha256` the store returns for our SHA-256 (single part),
 *   or the composite SHA-256 of the parts (multipart); where the store returns none (older MinIO,
 *   R2, some GCS modes, s3rver), the MD5 ETag of a single-part upload (which the store also
 *   checked against our Content-MD5), else a re-read of the object hashed here;
 * - an existing object of the same name is never overwritten: the same bytes mean "already
 *   present, nothing sent"; other bytes refuse the upload (exit 3);
 * - a multipart upload that fails or is interrupted is aborted, and the abort is confirmed
 *   (ListParts answers NoSuchUpload), so no parts are left billing the user.
 *
 * The SDK is configured so that third-party stores work: flexible checksums only WHEN_REQUIRED
 * (the default WHEN_SUPPORTED streams `aws-chunked` bodies with trailing CRC32 that some stores
 * store verbatim), our own SHA-256 sent as a header; it sees only the AWS variables astrabak
 * reads (src/remote/sdk_env.ts); retries follow astrabak's one retry policy
 * (src/source/retry.ts: the store's Retry-After, else exponential back-off with jitter).
 */

import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import { basename, join } from "node:path";
import type * as S3 from "@aws-sdk/client-s3";
import type * as Storage from "@aws-sdk/lib-storage";
import type { S3Settings } from "../config/remote.ts";
import {
  ConfigError,
  ioReason,
  netSandboxHint,
  SourceError,
  UploadError,
  VerificationError,
} from "../errors.ts";
import type { Reporter } from "../reporter.ts";
import { retryDelayMs } from "../source/retry.ts";
import { TOOL_NAME, VERSION } from "../version.ts";
import { DigestStream } from "../streams/digest_stream.ts";
import { fileSink } from "../streams/file_sink.ts";
import { contentTypeOf, groupListing, type ListedFile, type RemoteSpec } from "./names.ts";
import { sdkEnvironment } from "./sdk_env.ts";
import type { Remote, RemoteSnapshot, RemoteUploadResult } from "./types.ts";

/** Files from this size go by multipart upload, in parts of this size (or larger, see below). */
export const MULTIPART_THRESHOLD_BYTES = 16 * 1024 * 1024;
/** Parts in flight at once. */
const QUEUE_SIZE = 4;
/** S3 allows at most 10 000 parts; larger files get larger parts. */
const MAX_PARTS = 10_000;
/** User metadata holding the SHA-256 of the file as uploaded (checks downloads later). */
const SHA256_META = "astrabak-sha256";

interface Sdk {
  s3: typeof S3;
  storage: typeof Storage;
}

let sdkPromise: Promise<Sdk> | undefined;

function loadSdk(env: Readonly<Record<string, string>>): Promise<Sdk> {
  sdkEnvironment(env);
  sdkPromise ??= Promise.all([import("@aws-sdk/client-s3"), import("@aws-sdk/lib-storage")])
    .then(([s3, storage]) => ({ s3, storage }));
  return sdkPromise;
}

/** The part size for a file: the threshold, or larger so that it fits in 10 000 parts. */
export function partSizeFor(size: number): number {
  return Math.max(MULTIPART_THRESHOLD_BYTES, Math.ceil(size / MAX_PARTS));
}

/** Local digests of a file: whole-file SHA-256 and MD5, and each part's SHA-256. */
interface Digests {
  sha256: Buffer;
  md5: Buffer;
  parts: Buffer[];
}

async function fileDigests(path: string, partSize: number): Promise<Digests> {
  const whole = createHash("sha256");
  const md5 = createHash("md5");
  const parts: Buffer[] = [];
  let part = createHash("sha256");
  let inPart = 0;
  const file = await Deno.open(path, { read: true });
  for await (let chunk of file.readable) {
    whole.update(chunk);
    md5.update(chunk);
    while (chunk.byteLength > 0) {
      const take = Math.min(partSize - inPart, chunk.byteLength);
      part.update(chunk.subarray(0, take));
      inPart += take;
      chunk = chunk.subarray(take);
      if (inPart === partSize) {
        parts.push(part.digest());
        part = createHash("sha256");
        inPart = 0;
      }
    }
  }
  if (inPart > 0) parts.push(part.digest());
  return { sha256: whole.digest(), md5: md5.digest(), parts };
}

/** `base64(sha256(part digests…))-N`: the checksum S3 reports for a COMPOSITE multipart upload. */
export function compositeSha256(parts: readonly Uint8Array[]): string {
  const h = createHash("sha256");
  for (const p of parts) h.update(p);
  return `${h.digest("base64")}-${parts.length}`;
}

/**
 * astrabak's one retry policy as an SDK retry strategy: the SDK classifies the error (throttling
 * such as 503 SlowDown, transient such as 500/502/503/504 and dropped connections), this decides
 * the wait: the store's Retry-After when it sent one, else exponential back-off with jitter
 * (src/source/retry.ts), at most `maxAttempts` tries, each retry logged.
 */
class RetryPolicy {
  constructor(
    readonly maxAttempts: number,
    readonly onRetry: (info: { attempt: number; delayMs: number; what: string }) => void,
  ) {}

  acquireInitialRetryToken(): Promise<Token> {
    return Promise.resolve(new Token(0, 0));
  }

  refreshRetryTokenForRetry(
    token: Token,
    info: { errorType: string; error?: unknown; retryAfterHint?: Date },
  ): Promise<Token> {
    const attempt = token.getRetryCount() + 1;
    if (
      attempt >= this.maxAttempts ||
      (info.errorType !== "THROTTLING" && info.errorType !== "TRANSIENT")
    ) {
      return Promise.reject(new Error("no retry left"));
    }
    const requested = info.retryAfterHint instanceof Date
      ? info.retryAfterHint.getTime() - Date.now()
      : undefined;
    const delayMs = retryDelayMs(attempt, requested);
    this.onRetry({ attempt, delayMs, what: describeS3Error(info.error).message });
    return Promise.resolve(new Token(attempt, delayMs));
  }

  recordSuccess(): void {}
}

class Token {
  constructor(readonly count: number, readonly delay: number) {}
  getRetryCount(): number {
    return this.count;
  }
  getRetryDelay(): number {
    return this.delay;
  }
  getRetryCost(): number {
    return 0;
  }
  isLongPoll(): boolean {
    return false;
  }
}

/** Opens the S3 remote for `spec` with `settings`. */
export async function openS3Remote(
  spec: Extract<RemoteSpec, { kind: "s3" }>,
  settings: S3Settings,
  reporter: Reporter,
): Promise<Remote> {
  const sdk = await loadSdk(settings.sdkEnv);
  const client = new sdk.s3.S3Client({
    ...(settings.region ? { region: settings.region } : {}),
    ...(settings.endpoint ? { endpoint: settings.endpoint } : {}),
    forcePathStyle: settings.forcePathStyle,
    followRegionRedirects: true,
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    maxAttempts: settings.retries + 1,
    retryStrategy: new RetryPolicy(
      settings.retries + 1,
      ({ attempt, delayMs, what }) =>
        reporter.warn(
          `S3 ${what} on ${spec.label}; retrying in ${(delayMs / 1000).toFixed(1)} s (attempt ${
            attempt + 1
          })`,
        ),
    ) as unknown as NonNullable<S3.S3ClientConfig["retryStrategy"]>,
    requestHandler: { requestTimeout: 120_000, connectionTimeout: 15_000 },
    // The default user agent reads the OS release (a --allow-sys permission astrabak lacks).
    defaultUserAgentProvider: () => Promise.resolve([[TOOL_NAME, VERSION]]),
  } as S3.S3ClientConfig);
  return new S3Remote(spec, settings, sdk, client);
}

type Head = {
  size: number;
  etag: string | null;
  sha256: string | null;
  metaSha256: string | null;
  kms: boolean;
};

class S3Remote implements Remote {
  readonly label: string;
  readonly kind = "s3";

  constructor(
    readonly spec: Extract<RemoteSpec, { kind: "s3" }>,
    readonly settings: S3Settings,
    readonly sdk: Sdk,
    readonly client: S3.S3Client,
  ) {
    this.label = spec.label;
  }

  /** `host:port` of the store, for sandbox hints. */
  get #host(): string {
    if (!this.settings.endpoint) return `${this.spec.bucket}.s3.amazonaws.com:443`;
    const u = new URL(this.settings.endpoint);
    return `${u.hostname}:${u.port || (u.protocol === "http:" ? "80" : "443")}`;
  }

  #key(name: string): string {
    return this.spec.prefix ? `${this.spec.prefix}/${name}` : name;
  }

  removalMessage(snap: RemoteSnapshot, r: "removed" | "already-gone"): string {
    return r === "removed"
      ? `Deleted ${this.snapshotLabel(snap)} (a versioned bucket keeps it as a non-current version)`
      : `${this.snapshotLabel(snap)} was already gone`;
  }

  snapshotLabel(snap: RemoteSnapshot): string {
    return `${this.label}/${snap.name}`;
  }

  async list(): Promise<RemoteSnapshot[]> {
    const files: ListedFile[] = [];
    const prefix = this.spec.prefix ? `${this.spec.prefix}/` : "";
    let token: string | undefined;
    try {
      do {
        const page = await this.client.send(
          new this.sdk.s3.ListObjectsV2Command({
            Bucket: this.spec.bucket,
            Prefix: prefix,
            Delimiter: "/",
            ...(token ? { ContinuationToken: token } : {}),
          }),
        );
        for (const o of page.Contents ?? []) {
          if (!o.Key) continue;
          files.push({ id: o.Key, name: o.Key.slice(prefix.length), sizeBytes: o.Size ?? null });
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
    } catch (e) {
      throw readError(`list ${this.label}`, e, this.#host);
    }
    return groupListing(files);
  }

  /** HeadObject with checksums; null when there is no such object. */
  async #head(key: string): Promise<Head | null> {
    try {
      const h = await this.client.send(
        new this.sdk.s3.HeadObjectCommand({
          Bucket: this.spec.bucket,
          Key: key,
          ChecksumMode: "ENABLED",
        }),
      );
      return {
        size: h.ContentLength ?? -1,
        etag: h.ETag?.replaceAll('"', "") ?? null,
        sha256: h.ChecksumSHA256 ?? null,
        metaSha256: h.Metadata?.[SHA256_META] ?? null,
        kms: h.ServerSideEncryption === "aws:kms" || h.ServerSideEncryption === "aws:kms:dsse",
      };
    } catch (e) {
      if (describeS3Error(e).status === 404) return null;
      throw e;
    }
  }

  async upload(
    path: string,
    reporter: Reporter,
    signal?: AbortSignal,
  ): Promise<RemoteUploadResult> {
    const name = basename(path);
    const key = this.#key(name);
    const where = `s3://${this.spec.bucket}/${key}`;
    const size = (await Deno.stat(path)).size;
    const partSize = partSizeFor(size);
    const multipart = size >= MULTIPART_THRESHOLD_BYTES;
    const d = await fileDigests(path, partSize);
    const result = (method: RemoteUploadResult["method"], proof: string): RemoteUploadResult => ({
      remote: this.label,
      name,
      sizeBytes: size,
      method,
      proof,
      location: where,
    });
    try {
      const existing = await this.#head(key);
      if (existing) {
        const same = existing.size === size ? await this.#sameBytes(key, existing, d) : null;
        if (!same) {
          throw new UploadError(
            `${where} already exists with other bytes (${existing.size} bytes stored, ${size} here): refusing to overwrite it`,
            {
              hint:
                "compare the two; delete the object (or use another prefix) if this copy should replace it",
            },
          );
        }
        reporter.info(`${where} already holds these bytes (${same}); nothing sent`);
        return result("already-present", same);
      }
      reporter.info(
        `Uploading ${path} to ${where}${
          multipart ? ` in ${Math.ceil(size / partSize)} parts of ${partSize} bytes` : ""
        }`,
      );
      const common = {
        Bucket: this.spec.bucket,
        Key: key,
        ContentType: contentTypeOf(name),
        Metadata: { [SHA256_META]: d.sha256.toString("hex") },
        ...(this.settings.storageClass
          ? { StorageClass: this.settings.storageClass as S3.StorageClass }
          : {}),
        ...(this.settings.sse
          ? { ServerSideEncryption: this.settings.sse as S3.ServerSideEncryption }
          : {}),
        ...(this.settings.sseKmsKeyId ? { SSEKMSKeyId: this.settings.sseKmsKeyId } : {}),
      };
      const proof = multipart
        ? await this.#multipart(path, size, partSize, d, common, signal)
        : await this.#single(path, d, common, signal);
      const r = result(multipart ? "multipart" : "single", proof.proof);
      reporter.info(
        `Uploaded ${name} to ${where}${
          proof.versionId ? ` (version ${proof.versionId})` : ""
        }: ${proof.proof}`,
      );
      return proof.versionId ? { ...r, versionId: proof.versionId } : r;
    } catch (e) {
      if (e instanceof UploadError || e instanceof ConfigError) throw e;
      const err = describeS3Error(e, this.#host);
      throw new UploadError(`Upload of ${name} to ${this.label} failed: ${err.message}`, {
        cause: e,
        hint: err.hint,
      });
    }
  }

  /** How the existing object is proven to hold the local bytes, or null when it does not. */
  async #sameBytes(key: string, h: Head, d: Digests): Promise<string | null> {
    if (h.sha256 && !h.sha256.includes("-")) {
      return h.sha256 === d.sha256.toString("base64") ? "x-amz-checksum-sha256 matches" : null;
    }
    if (h.sha256 && h.sha256 === compositeSha256(d.parts)) {
      return "composite x-amz-checksum-sha256 of the parts matches";
    }
    if (h.etag && /^[0-9a-f]{32}$/.test(h.etag) && !h.kms) {
      return h.etag === d.md5.toString("hex") ? "ETag (MD5) matches" : null;
    }
    return await this.#reread(key, d) ? "re-read: SHA-256 of the stored object matches" : null;
  }

  async #single(
    path: string,
    d: Digests,
    common: Record<string, unknown>,
    signal?: AbortSignal,
  ): Promise<{ proof: string; versionId?: string }> {
    // A buffered body: the SDK retries it (a streamed body is never retried), and the SHA-256 and
    // MD5 headers are ours, so the SDK adds no aws-chunked encoding.
    const body = await Deno.readFile(path);
    const r = await this.client.send(
      new this.sdk.s3.PutObjectCommand({
        ...common,
        Bucket: common.Bucket as string,
        Key: common.Key as string,
        Body: body,
        ContentLength: body.byteLength,
        ChecksumSHA256: d.sha256.toString("base64"),
        ContentMD5: d.md5.toString("base64"),
      }),
      signal ? { abortSignal: signal } : {},
    );
    const key = common.Key as string;
    const versionId = r.VersionId ? { versionId: r.VersionId } : {};
    if (r.ChecksumSHA256) {
      if (r.ChecksumSHA256 !== d.sha256.toString("base64")) {
        throw new UploadError(
          `The store reports SHA-256 ${r.ChecksumSHA256} for ${key}, but the local file has ${
            d.sha256.toString("base64")
          }`,
        );
      }
      return { proof: "x-amz-checksum-sha256 matches", ...versionId };
    }
    const etag = r.ETag?.replaceAll('"', "") ?? "";
    if (/^[0-9a-f]{32}$/.test(etag) && this.settings.sse !== "aws:kms") {
      if (etag !== d.md5.toString("hex")) {
        throw new UploadError(
          `The store reports ETag ${etag} for ${key}, but the local file's MD5 is ${
            d.md5.toString("hex")
          }`,
        );
      }
      return { proof: "no checksum returned; ETag (MD5) matches", ...versionId };
    }
    await this.#requireReread(key, d);
    return { proof: "no checksum returned; re-read: SHA-256 matches", ...versionId };
  }

  async #multipart(
    path: string,
    size: number,
    partSize: number,
    d: Digests,
    common: Record<string, unknown>,
    signal?: AbortSignal,
  ): Promise<{ proof: string; versionId?: string }> {
    const file = await Deno.open(path, { read: true });
    const { Readable } = await import("node:stream");
    const upload = new this.sdk.storage.Upload({
      client: this.client,
      params: {
        ...common,
        Bucket: common.Bucket as string,
        Key: common.Key as string,
        Body: Readable.fromWeb(file.readable as never),
        ContentLength: size,
        ChecksumAlgorithm: "SHA256",
      },
      partSize,
      queueSize: QUEUE_SIZE,
      leavePartsOnError: false,
    });
    const onAbort = () => void upload.abort();
    signal?.addEventListener("abort", onAbort, { once: true });
    const key = common.Key as string;
    let r;
    try {
      r = await upload.done();
    } catch (e) {
      await this.#abandon(key, (upload as unknown as { uploadId?: string }).uploadId, e);
      throw e;
    } finally {
      signal?.removeEventListener("abort", onAbort);
      try {
        file.close();
      } catch { /* already closed by the stream */ }
    }
    const versionId = "VersionId" in r && r.VersionId ? { versionId: r.VersionId } : {};
    const reported = "ChecksumSHA256" in r ? r.ChecksumSHA256 : undefined;
    if (reported) {
      const expected = compositeSha256(d.parts);
      if (reported !== expected && reported !== d.sha256.toString("base64")) {
        throw new UploadError(
          `The store reports SHA-256 ${reported} for ${key}, but the local parts give ${expected}`,
        );
      }
      return { proof: "composite x-amz-checksum-sha256 of the parts matches", ...versionId };
    }
    await this.#requireReread(key, d);
    return { proof: "no checksum returned; re-read: SHA-256 matches", ...versionId };
  }

  /**
   * Aborts a failed multipart upload and confirms it: ListParts must answer NoSuchUpload. Parts
   * still in flight during an abort can land afterwards (AWS documents aborting again), so it is
   * repeated a few times. A failure to confirm is added to the error, never hidden.
   */
  async #abandon(key: string, uploadId: string | undefined, cause: unknown): Promise<void> {
    if (!uploadId) return;
    let why = "";
    for (let i = 0; i < 3; i++) {
      try {
        await this.client.send(
          new this.sdk.s3.AbortMultipartUploadCommand({
            Bucket: this.spec.bucket,
            Key: key,
            UploadId: uploadId,
          }),
        );
      } catch (e) {
        if (describeS3Error(e).status !== 404) why = describeS3Error(e).message;
      }
      try {
        await this.client.send(
          new this.sdk.s3.ListPartsCommand({
            Bucket: this.spec.bucket,
            Key: key,
            UploadId: uploadId,
          }),
        );
      } catch (e) {
        if (describeS3Error(e).status === 404) return;
        why = describeS3Error(e).message;
      }
      await new Promise((r) => setTimeout(r, 500 * (i + 1)));
    }
    if (cause instanceof Error) {
      cause.message +=
        `; the multipart upload ${uploadId} could not be confirmed aborted (${why}): a lifecycle rule AbortIncompleteMultipartUpload removes its parts`;
    }
  }

  async #requireReread(key: string, d: Digests): Promise<void> {
    if (!(await this.#reread(key, d))) {
      throw new UploadError(
        `Re-reading s3://${this.spec.bucket}/${key} gave other bytes than the local file`,
      );
    }
  }

  /** Reads the object back and compares its SHA-256 with the local one. */
  async #reread(key: string, d: Digests): Promise<boolean> {
    const r = await this.client.send(
      new this.sdk.s3.GetObjectCommand({ Bucket: this.spec.bucket, Key: key }),
    );
    const hash = createHash("sha256");
    const body = r.Body?.transformToWebStream();
    if (!body) return false;
    for await (const chunk of body as ReadableStream<Uint8Array>) hash.update(chunk);
    return hash.digest().equals(d.sha256);
  }

  async download(snap: RemoteSnapshot, dir: string): Promise<string> {
    const path = join(dir, `.${snap.name}.${crypto.randomUUID().slice(0, 8)}.download`);
    let head: Head | null;
    try {
      head = await this.#head(snap.id);
    } catch (e) {
      throw readError(`download ${this.snapshotLabel(snap)}`, e, this.#host);
    }
    if (!head) throw readError(`download ${this.snapshotLabel(snap)}`, new Error("it is gone"));
    // What the stored bytes must hash to: the store's full-object SHA-256, else the SHA-256
    // recorded at upload, else (objects put there by other tools) a single-part MD5 ETag.
    const expected = head.sha256 && !head.sha256.includes("-")
      ? {
        algorithm: "sha256" as const,
        value: Buffer.from(head.sha256, "base64").toString("hex"),
        by: "the store's SHA-256",
      }
      : head.metaSha256
      ? {
        algorithm: "sha256" as const,
        value: head.metaSha256,
        by: "the SHA-256 recorded at upload",
      }
      : head.etag && /^[0-9a-f]{32}$/.test(head.etag) && !head.kms
      ? { algorithm: "md5" as const, value: head.etag, by: "its MD5 ETag" }
      : null;
    if (!expected) {
      throw new VerificationError(
        `Cannot prove a download of ${
          this.snapshotLabel(snap)
        }: the store reports no SHA-256 or MD5 for it`,
        { hint: "upload it again with astrabak upload, which records its SHA-256" },
      );
    }
    let file: Deno.FsFile;
    try {
      await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
      file = await Deno.open(path, { write: true, createNew: true, mode: 0o600 });
    } catch (e) {
      throw new ConfigError(`Cannot download into ${dir}: ${ioReason(e)}`, {
        hint: "pass --from DIR with a writable directory",
      });
    }
    const digest = new DigestStream({ algorithm: expected.algorithm });
    try {
      const r = await this.client.send(
        new this.sdk.s3.GetObjectCommand({ Bucket: this.spec.bucket, Key: snap.id }),
      );
      const body = r.Body?.transformToWebStream() as ReadableStream<Uint8Array> | undefined;
      if (!body) throw new Error("the store sent no body");
      await body.pipeThrough(digest).pipeTo(fileSink(file));
    } catch (e) {
      await Deno.remove(path).catch(() => {});
      throw readError(`download ${this.snapshotLabel(snap)}`, e, this.#host);
    }
    const got = (await digest.result).hex;
    if (got !== expected.value) {
      await Deno.remove(path).catch(() => {});
      throw new VerificationError(
        `The download of ${this.snapshotLabel(snap)} does not match ${expected.by}: refusing it`,
        { hint: "try again; if it persists, the stored copy is damaged" },
      );
    }
    return path;
  }

  async remove(snap: RemoteSnapshot): Promise<"removed" | "already-gone"> {
    try {
      if (!(await this.#head(snap.id))) return "already-gone";
      await this.client.send(
        new this.sdk.s3.DeleteObjectCommand({ Bucket: this.spec.bucket, Key: snap.id }),
      );
      return "removed";
    } catch (e) {
      throw new Error(
        `Cannot delete ${this.snapshotLabel(snap)}: ${describeS3Error(e, this.#host).message}`,
        { cause: e },
      );
    }
  }
}

/** A failed S3 read: a connection-class error (exit 1), nothing was written locally. */
function readError(what: string, e: unknown, host?: string): SourceError {
  const d = describeS3Error(e, host);
  return new SourceError(`Cannot ${what}: ${d.message}`, {
    kind: d.status === 401 || d.status === 403
      ? "auth"
      : d.status === undefined
      ? "connection"
      : "http",
    command: "s3",
    status: d.status,
    retriable: false,
    cause: e,
    hint: d.hint,
  });
}

/**
 * Status, S3 error code and message of an SDK failure, never its request (signed headers).
 * A sandbox denial names the host to add; missing credentials name the variables.
 */
export function describeS3Error(
  e: unknown,
  /** The store's `host:port`, to complete a denial that names the host alone. */
  host?: string,
): {
  status: number | undefined;
  code: string | undefined;
  message: string;
  hint: string | undefined;
} {
  let denied = sandboxDenial(e);
  if (denied && !denied.includes(":") && host?.startsWith(`${denied}:`)) denied = host;
  if (denied) {
    return {
      status: undefined,
      code: undefined,
      message: `the permission sandbox (--allow-net) does not include ${denied}`,
      hint: netSandboxHint(denied),
    };
  }
  const err = e as {
    name?: string;
    Code?: string;
    message?: string;
    $metadata?: { httpStatusCode?: number };
  };
  const status = err?.$metadata?.httpStatusCode;
  const code = err?.Code ?? err?.name;
  if (err?.name === "CredentialsProviderError") {
    return {
      status: undefined,
      code,
      message: "no S3 credentials found",
      hint:
        "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE with AWS_SHARED_CREDENTIALS_FILE)",
    };
  }
  const first = typeof err?.message === "string" ? err.message.split("\n")[0]! : String(e);
  const message = status !== undefined
    ? `HTTP ${status}${code && code !== "Error" ? ` ${code}` : ""}${
      first && first !== code && first !== "UnknownError" ? `: ${first}` : ""
    }`
    : first;
  return {
    status,
    code,
    message,
    hint: /region/i.test(first) ? "set AWS_REGION (R2: auto)" : undefined,
  };
}

/** The host a sandbox denial names (Deno's NotCapable, or EPERM from the Node layer). */
function sandboxDenial(e: unknown): string | undefined {
  let c: unknown = e;
  for (let depth = 0; c instanceof Error && depth < 5; depth++) {
    const code = (c as { code?: unknown }).code;
    if (c instanceof Deno.errors.NotCapable && !/net access/.test(c.message)) {
      return `what it asked for (${c.message.split(",")[0]})`;
    }
    if (c instanceof Deno.errors.NotCapable || code === "EPERM" || /\bEPERM\b/.test(c.message)) {
      return /net access to "([^"]+)"/.exec(c.message)?.[1] ??
        /EPERM:? (?:getaddrinfo )?(\S+)/.exec(c.message)?.[1] ?? "the S3 host";
    }
    c = c.cause;
  }
  return undefined;
}
