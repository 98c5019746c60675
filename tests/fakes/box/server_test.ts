/**
 * Proves the fake Box against the real box-node-sdk 10.12.0 (CCG auth, custom base URLs), and
 * proves with raw HTTP that it rejects what Box rejects.
 */

import process from "node:process";
// box-node-sdk pulls node-fetch → whatwg-url → punycode, which warns once on stderr.
(process as unknown as { noDeprecation: boolean }).noDeprecation = true;

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { BoxCcgAuth, BoxClient, CcgConfig } from "box-node-sdk";
import { BoxApiError } from "box-node-sdk/box";
import {
  BaseUrls,
  BoxRetryStrategy,
  type FetchOptions,
  type FetchResponse,
  NetworkSession,
} from "box-node-sdk/networking";
import { FakeBox, type FakeBoxOptions } from "./server.ts";

const MiB = 1024 * 1024;

/**
 * The SDK's strategy with tiny backoff (10.12.0 waits ~2 s per retry by default) that also
 * honours `retry-after` (the SDK looks for `Retry-After`, but node-fetch lower-cases header names)
 * and retries 202 + retry-after (the SDK would crash on a 202 commit otherwise).
 */
class FastRetry extends BoxRetryStrategy {
  constructor() {
    super({ retryBaseInterval: 0.005 });
  }

  override async shouldRetry(o: FetchOptions, r: FetchResponse, n: number): Promise<boolean> {
    if (r.status === 202 && r.headers["retry-after"] !== undefined) return n < this.maxAttempts;
    return await super.shouldRetry(o, r, n);
  }

  override retryAfter(o: FetchOptions, r: FetchResponse, n: number): number {
    const h = r.headers["retry-after"];
    return h !== undefined ? Number(h) : super.retryAfter(o, r, n);
  }
}

function auth(fake: FakeBox): BoxCcgAuth {
  return new BoxCcgAuth({
    config: new CcgConfig({
      clientId: fake.clientId,
      clientSecret: fake.clientSecret,
      enterpriseId: fake.enterpriseId!,
    }),
  });
}

/** A client on the fake with the fast retry strategy. */
function clientFor(fake: FakeBox): BoxClient {
  const networkSession = new NetworkSession({
    baseUrls: new BaseUrls({
      baseUrl: fake.apiBaseUrl,
      uploadUrl: fake.uploadBaseUrl,
      oauth2Url: fake.apiBaseUrl + "/oauth2",
    }),
    retryStrategy: new FastRetry(),
  });
  return new BoxClient({ auth: auth(fake), networkSession });
}

async function withFake(
  fn: (fake: FakeBox, client: BoxClient) => Promise<void>,
  options: FakeBoxOptions = {},
): Promise<void> {
  const fake = await FakeBox.start(options);
  try {
    await fn(fake, clientFor(fake));
  } finally {
    await fake.close();
  }
}

function randomBytes(n: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(out.subarray(i, i + 65536));
  return out;
}

function sha1(bytes: Uint8Array): string {
  return createHash("sha1").update(bytes).digest("hex");
}

function sha1b64(bytes: Uint8Array): string {
  return createHash("sha1").update(bytes).digest("base64");
}

function stream(bytes: Uint8Array): Readable {
  return Readable.from(Buffer.from(bytes));
}

async function collect(s: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const c of s) chunks.push(c);
  return new Uint8Array(Buffer.concat(chunks));
}

interface ErrorBody {
  code?: string;
  context_info?: { conflicts?: { id?: string } | Array<{ id?: string }> };
}

/** Awaits a rejection with BoxApiError; returns status and parsed body. */
async function apiError(p: Promise<unknown>): Promise<{ status: number; body: ErrorBody }> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof BoxApiError, `expected BoxApiError, got ${e}`);
    return { status: e.responseInfo.statusCode, body: e.responseInfo.body as ErrorBody };
  }
  assert.fail("expected a rejection");
}

Deno.test("token + simple upload: the stored SHA-1 is the local one", async () => {
  const fake = await FakeBox.start();
  try {
    const folder = fake.createFolder("backups");
    // The construction from box-facts §3.1 (default retry strategy; no retries happen here).
    const client = new BoxClient({ auth: auth(fake) }).withCustomBaseUrls({
      baseUrl: fake.apiBaseUrl,
      uploadUrl: fake.uploadBaseUrl,
      oauth2Url: fake.apiBaseUrl + "/oauth2",
    });
    const bytes = randomBytes(2700);
    const files = await client.uploads.uploadFile({
      attributes: { name: "snap-001.zip", parent: { id: folder.id } },
      file: stream(bytes),
      fileFileName: "snap-001.zip",
    });
    const entry = files.entries![0]!;
    assert.equal(entry.sha1, sha1(bytes));
    assert.equal(entry.size, 2700);
    assert.equal(entry.parent?.id, folder.id);
    const stored = fake.fileByName(folder.id, "snap-001.zip")!;
    assert.deepEqual(stored.content, bytes);
    assert.equal(stored.sha1, sha1(bytes));
    assert.deepEqual(fake.requests.map((r) => [r.host, r.op, r.status]), [
      ["api", "token", 200],
      ["upload", "upload", 201],
    ]);
    const upload = fake.requestsOf("upload")[0]!;
    assert.equal(upload.headers["content-md5"], sha1(bytes));
    assert.match(upload.headers.authorization ?? "", /^Bearer [0-9a-f]{32}$/);
  } finally {
    await fake.close();
  }
});

Deno.test("same name (other case) → 409 item_name_in_use with the conflicting id", async () => {
  for (const shape of ["object", "array"] as const) {
    await withFake(async (fake, client) => {
      const existing = fake.putFile("0", "snap-001.zip", randomBytes(10));
      const { status, body } = await apiError(client.uploads.uploadFile({
        attributes: { name: "SNAP-001.ZIP", parent: { id: "0" } },
        file: stream(randomBytes(10)),
      }));
      assert.equal(status, 409);
      assert.equal(body.code, "item_name_in_use");
      const c = body.context_info?.conflicts;
      assert.equal(Array.isArray(c), shape === "array");
      assert.equal(Array.isArray(c) ? c[0]?.id : c?.id, existing.id);
      assert.equal(fake.files().length, 1);
    }, { conflictShape: shape });
  }
});

Deno.test("uploadFileVersion bumps the version, etag and content", async () => {
  await withFake(async (fake, client) => {
    const f = fake.putFile("0", "snap.zip", randomBytes(100));
    const next = randomBytes(300);
    const files = await client.uploads.uploadFileVersion(f.id, {
      attributes: { name: "snap.zip" },
      file: stream(next),
    });
    assert.equal(files.entries![0]!.sha1, sha1(next));
    assert.equal(f.versions, 2);
    assert.equal(f.etag, "1");
    assert.equal(f.size, 300);
    assert.deepEqual(f.content, next);
    assert.equal(fake.requestsOf("upload_version")[0]?.status, 200);
  });
});

Deno.test("getFolderItems: offset and marker paging, limit 2 over 5 files", async () => {
  await withFake(async (fake, client) => {
    const folder = fake.createFolder("f");
    const names = ["a.zip", "b.zip", "c.zip", "d.zip", "e.zip"];
    for (const n of [...names].reverse()) fake.putFile(folder.id, n, randomBytes(7));
    const byOffset: string[] = [];
    for (let offset = 0; offset < 5; offset += 2) {
      const page = await client.folders.getFolderItems(folder.id, {
        queryParams: { fields: ["name", "size", "sha1", "modified_at"], offset, limit: 2 },
      });
      assert.equal(page.totalCount, 5);
      assert.equal(page.offset, offset);
      for (const e of page.entries!) {
        assert.equal(e.type, "file");
        if (e.type === "file") {
          assert.equal(e.size, 7);
          assert.ok(e.modifiedAt);
          byOffset.push(e.name!);
        }
      }
    }
    assert.deepEqual(byOffset, names);

    const byMarker: string[] = [];
    let marker: string | undefined;
    let pages = 0;
    do {
      const page = await client.folders.getFolderItems(folder.id, {
        queryParams: { fields: ["name"], usemarker: true, limit: 2, ...marker ? { marker } : {} },
      });
      pages++;
      assert.equal(page.totalCount, undefined);
      for (const e of page.entries!) if (e.type === "file") byMarker.push(e.name!);
      marker = page.nextMarker ?? undefined;
    } while (marker);
    assert.equal(pages, 3);
    assert.deepEqual(byMarker, names);
    assert.ok(
      fake.requestsOf("list_items").slice(3).every((r) => r.query.includes("usemarker=true")),
    );

    const missing = await apiError(client.folders.getFolderItems("999999"));
    assert.equal(missing.status, 404);
    assert.equal(missing.body.code, "not_found");
  });
});

Deno.test("downloadFile follows the 302; the download host gets no Authorization", async () => {
  await withFake(async (fake, client) => {
    const bytes = randomBytes(300_000);
    const f = fake.putFile("0", "snap.zip", bytes);
    const s = await client.downloads.downloadFile(f.id);
    assert.ok(s);
    assert.deepEqual(await collect(s as AsyncIterable<Uint8Array>), bytes);
    const [redirect] = fake.requestsOf("download");
    const [content] = fake.requestsOf("download_content");
    assert.equal(redirect?.status, 302);
    assert.ok(redirect?.headers.authorization);
    assert.equal(content?.host, "download");
    assert.equal(content?.status, 200);
    assert.equal(content?.headers.authorization, undefined);
  });
});

Deno.test("faults on download: corrupt flips a byte, drop cuts the body", async () => {
  await withFake(async (fake, client) => {
    const bytes = randomBytes(100_000);
    const f = fake.putFile("0", "snap.zip", bytes);
    fake.faults.add({ op: "download", action: { kind: "corrupt" } });
    const bad = await collect(
      (await client.downloads.downloadFile(f.id)) as AsyncIterable<Uint8Array>,
    );
    assert.equal(bad.length, bytes.length);
    assert.notEqual(sha1(bad), sha1(bytes));
    fake.faults.add({ op: "download_content", action: { kind: "drop" } });
    const s = (await client.downloads.downloadFile(f.id)) as Readable;
    // node-fetch v2 inside the SDK pipes the body without forwarding the socket's "aborted"
    // error: after a cut Content-Length body the stream neither ends nor errors. Only a
    // watchdog notices; what matters here is that it never "ends" as if complete.
    const outcome = await Promise.race([
      collect(s).then(() => "ended", () => "error"),
      new Promise((r) => setTimeout(() => r("stalled"), 300)),
    ]);
    s.destroy();
    assert.notEqual(outcome, "ended");
    assert.deepEqual(fake.faults.usage(), [1, 1]);
    const ok = await collect(
      (await client.downloads.downloadFile(f.id)) as AsyncIterable<Uint8Array>,
    );
    assert.equal(sha1(ok), sha1(bytes));
  });
});

Deno.test("uploadBigFile 21 MiB: 3 aligned parts, commit, SHA-1 matches", async () => {
  await withFake(async (fake, client) => {
    const bytes = randomBytes(21 * MiB);
    const file = await client.chunkedUploads.uploadBigFile(
      stream(bytes),
      "big.zip",
      bytes.length,
      "0",
    );
    assert.equal(file.sha1, sha1(bytes));
    assert.deepEqual(fake.fileByName("0", "big.zip")?.content, bytes);
    const parts = fake.requestsOf("upload_part");
    assert.deepEqual(parts.map((r) => r.headers["content-range"]), [
      `bytes 0-8388607/${bytes.length}`,
      `bytes 8388608-16777215/${bytes.length}`,
      `bytes 16777216-${bytes.length - 1}/${bytes.length}`,
    ]);
    assert.equal(parts[0]!.headers.digest, `sha=${sha1b64(bytes.subarray(0, 8388608))}`);
    assert.equal(fake.requestsOf("commit")[0]?.headers.digest, `sha=${sha1b64(bytes)}`);
    assert.equal(fake.requestsOf("commit")[0]?.status, 201);
    assert.equal(fake.sessions().length, 0);
  });
});

Deno.test("uploadBigFile: 500 on part 1 → the SDK resends that part", async () => {
  await withFake(async (fake, client) => {
    const bytes = randomBytes(21 * MiB);
    fake.faults.add({ op: "upload_part", part: 1, action: { kind: "status", status: 500 } });
    const file = await client.chunkedUploads.uploadBigFile(
      stream(bytes),
      "big.zip",
      bytes.length,
      "0",
    );
    assert.equal(file.sha1, sha1(bytes));
    assert.deepEqual(
      fake.requestsOf("upload_part").map((r) => [r.part, r.status]),
      [[0, 200], [1, 500], [1, 200], [2, 200]],
    );
    assert.deepEqual(fake.faults.usage(), [1]);
  });
});

Deno.test("commit 202 + Retry-After: the retry waits the given second", async () => {
  await withFake(async (fake, client) => {
    const bytes = randomBytes(21 * MiB);
    fake.faults.add({ op: "commit", action: { kind: "processing", retryAfter: 1 } });
    const file = await client.chunkedUploads.uploadBigFile(
      stream(bytes),
      "big.zip",
      bytes.length,
      "0",
    );
    assert.equal(file.sha1, sha1(bytes));
    const commits = fake.requestsOf("commit");
    assert.deepEqual(commits.map((r) => r.status), [202, 201]);
    assert.ok(commits[1]!.at - commits[0]!.at >= 990, `${commits[1]!.at - commits[0]!.at} ms`);
  });
});

Deno.test("upload session under 20 MB → 400 file_size_too_small", async () => {
  await withFake(async (fake, client) => {
    const { status, body } = await apiError(
      client.chunkedUploads.uploadBigFile(stream(randomBytes(MiB)), "small.zip", MiB, "0"),
    );
    assert.equal(status, 400);
    assert.equal(body.code, "file_size_too_small");
    assert.equal(fake.files().length, 0);
  });
});

Deno.test("expired token → 401, the SDK fetches a new token and repeats the call", async () => {
  await withFake(async (fake, client) => {
    await client.folders.getFolderItems("0");
    fake.expireTokens();
    assert.equal(fake.validTokens(), 0);
    await client.folders.getFolderItems("0");
    assert.deepEqual(fake.requests.map((r) => [r.op, r.status]), [
      ["token", 200],
      ["list_items", 200],
      ["list_items", 401],
      ["token", 200],
      ["list_items", 200],
    ]);
    assert.equal(fake.validTokens(), 1);
  });
});

Deno.test("token endpoint 503 once → the SDK retries the token request", async () => {
  await withFake(async (fake, client) => {
    fake.faults.add({ op: "token", action: { kind: "status", status: 503 } });
    await client.folders.getFolderItems("0");
    assert.deepEqual(fake.requests.map((r) => [r.op, r.status]), [
      ["token", 503],
      ["token", 200],
      ["list_items", 200],
    ]);
  });
});

Deno.test("preflight, uploadWithPreflightCheck, getFileById, deleteFileById", async () => {
  await withFake(async (fake, client) => {
    const f = fake.putFile("0", "taken.zip", randomBytes(5));
    const conflict = await apiError(client.uploads.preflightFileUploadCheck({
      name: "taken.zip",
      size: 5,
      parent: { id: "0" },
    }));
    assert.equal(conflict.status, 409);
    assert.equal(conflict.body.code, "item_name_in_use");
    const ok = await client.uploads.preflightFileUploadCheck({
      name: "free.zip",
      size: 5,
      parent: { id: "0" },
    });
    assert.ok(ok.uploadUrl?.startsWith(fake.uploadBaseUrl));
    const bytes = randomBytes(5);
    const up = await client.uploads.uploadWithPreflightCheck({
      attributes: { name: "free.zip", parent: { id: "0" }, size: 5 },
      file: stream(bytes),
    });
    assert.equal(up.entries![0]!.sha1, sha1(bytes));

    const info = await client.files.getFileById(f.id, {
      queryParams: { fields: ["sha1", "size"] },
    });
    assert.equal(info.sha1, f.sha1);
    assert.equal(info.size, 5);
    await client.files.deleteFileById(f.id);
    assert.equal(fake.fileById(f.id), undefined);
    assert.equal(fake.requestsOf("delete")[0]?.status, 204);
    assert.equal((await apiError(client.files.getFileById(f.id))).status, 404);
    // Box moves a deleted file to the trash (the enterprise default): readable there, out of
    // its folder, its name free again.
    const trashed = await client.trashedFiles.getTrashedFileById(f.id);
    assert.equal(trashed.itemStatus, "trashed");
    assert.equal(trashed.sha1, f.sha1);
    assert.ok(trashed.trashedAt);
    assert.deepEqual(fake.trashed().map((t) => t.id), [f.id]);
    assert.equal(fake.fileByName("0", "taken.zip"), undefined);
    assert.equal(
      (await apiError(client.trashedFiles.getTrashedFileById(up.entries![0]!.id))).status,
      404,
    );
  });
});

// ---------------------------------------------------------------- raw HTTP: what Box rejects

async function rawToken(fake: FakeBox, secret = fake.clientSecret): Promise<Response> {
  return await fetch(`${fake.apiBaseUrl}/oauth2/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "client_credentials",
      client_id: fake.clientId,
      client_secret: secret,
      box_subject_type: "enterprise",
      box_subject_id: fake.enterpriseId!,
    }),
  });
}

async function json(res: Response): Promise<Record<string, unknown>> {
  return await res.json() as Record<string, unknown>;
}

Deno.test("raw: wrong credentials, missing or stale token", async () => {
  await withFake(async (fake) => {
    const bad = await rawToken(fake, "nope");
    assert.equal(bad.status, 400);
    assert.deepEqual(await json(bad), {
      error: "invalid_grant",
      error_description: "Grant credentials are invalid",
    });
    const none = await fetch(`${fake.apiBaseUrl}/2.0/folders/0/items`);
    assert.equal(none.status, 401);
    assert.ok(none.headers.get("www-authenticate")?.startsWith("Bearer"));
    await none.body?.cancel();
    const stale = await fetch(`${fake.apiBaseUrl}/2.0/folders/0/items`, {
      headers: { authorization: "Bearer 0123" },
    });
    assert.equal(stale.status, 401);
    assert.equal((await json(stale)).code, "unauthorized");
  });
});

Deno.test("raw: multipart order, content-md5, name rules", async () => {
  await withFake(async (fake) => {
    const token = (await json(await rawToken(fake))).access_token as string;
    const upload = async (
      parts: Array<"attributes" | "file">,
      name: string,
      md5?: string,
    ) => {
      const form = new FormData();
      const bytes = new Uint8Array([1, 2, 3]);
      for (const p of parts) {
        if (p === "attributes") {
          form.append("attributes", JSON.stringify({ name, parent: { id: "0" } }));
        } else form.append("file", new Blob([bytes]), "x.bin");
      }
      const headers: Record<string, string> = { authorization: `Bearer ${token}` };
      if (md5 !== undefined) headers["content-md5"] = md5;
      const res = await fetch(`${fake.uploadBaseUrl}/2.0/files/content`, {
        method: "POST",
        headers,
        body: form,
      });
      return { status: res.status, body: await json(res) };
    };
    const after = await upload(["file", "attributes"], "a.bin");
    assert.deepEqual([after.status, after.body.code], [400, "metadata_after_file_contents"]);
    const digest = await upload(["attributes", "file"], "a.bin", sha1(new Uint8Array([9])));
    assert.deepEqual([digest.status, digest.body.code], [400, "bad_digest"]);
    const slash = await upload(["attributes", "file"], "a/b.bin");
    assert.deepEqual([slash.status, slash.body.code], [400, "item_name_invalid"]);
    const trailing = await upload(["attributes", "file"], "a.bin ");
    assert.deepEqual([trailing.status, trailing.body.code], [400, "item_name_invalid"]);
    const good = await upload(["attributes", "file"], "a.bin", sha1(new Uint8Array([1, 2, 3])));
    assert.equal(good.status, 201);
    assert.equal(fake.files().length, 1);
  }, { maxSimpleUploadSize: 10 });
});

Deno.test("raw: upload session rules (alignment, digests, overlap, commit)", async () => {
  await withFake(async (fake) => {
    const token = (await json(await rawToken(fake))).access_token as string;
    const auth = { authorization: `Bearer ${token}` };
    const content = randomBytes(10); // part size 4: parts 0-3, 4-7, 8-9
    const created = await fetch(`${fake.uploadBaseUrl}/2.0/files/upload_sessions`, {
      method: "POST",
      headers: { ...auth, "content-type": "application/json" },
      body: JSON.stringify({ folder_id: "0", file_size: 10, file_name: "s.bin" }),
    });
    assert.equal(created.status, 201);
    const session = await json(created);
    assert.equal(session.total_parts, 3);
    const ep = session.session_endpoints as Record<string, string>;
    const put = async (
      start: number,
      end: number,
      body: Uint8Array<ArrayBuffer>,
      digest = sha1b64(body),
    ) => {
      const res = await fetch(ep.upload_part!, {
        method: "PUT",
        headers: {
          ...auth,
          "content-type": "application/octet-stream",
          "content-range": `bytes ${start}-${end}/10`,
          digest: `sha=${digest}`,
        },
        body,
      });
      return { status: res.status, body: await json(res) };
    };
    const misaligned = await put(2, 5, content.subarray(2, 6));
    assert.deepEqual([misaligned.status, misaligned.body.code], [
      416,
      "requested_range_not_satisfiable",
    ]);
    const short = await put(0, 2, content.subarray(0, 3));
    assert.equal(short.status, 416);
    const badDigest = await put(0, 3, content.subarray(0, 4), sha1b64(new Uint8Array([0])));
    assert.deepEqual([badDigest.status, badDigest.body.code], [412, "bad_digest"]);
    const p0 = await put(0, 3, content.subarray(0, 4));
    assert.equal(p0.status, 200);
    const again = await put(0, 3, content.subarray(0, 4));
    assert.deepEqual([again.status, again.body.code], [409, "range_overlaps_existing_part"]);
    const p1 = await put(4, 7, content.subarray(4, 8));
    const commit = async (parts: unknown[], digest: string) => {
      const res = await fetch(ep.commit!, {
        method: "POST",
        headers: { ...auth, "content-type": "application/json", digest: `sha=${digest}` },
        body: JSON.stringify({ parts }),
      });
      return { status: res.status, body: res.status === 202 ? {} : await json(res) };
    };
    const partsSoFar = [p0.body.part, p1.body.part];
    const incomplete = await commit(partsSoFar, sha1b64(content));
    assert.equal(incomplete.status, 400);
    const p2 = await put(8, 9, content.subarray(8, 10));
    const all = [...partsSoFar, p2.body.part];
    const wrong = await commit(all, sha1b64(new Uint8Array([1])));
    assert.deepEqual([wrong.status, wrong.body.code], [400, "bad_digest"]);
    const listed = await json(await fetch(ep.list_parts!, { headers: auth }));
    assert.equal(listed.total_count, 3);
    const done = await commit(all, sha1b64(content));
    assert.equal(done.status, 201);
    assert.deepEqual(fake.fileByName("0", "s.bin")?.content, content);
    assert.equal(fake.sessions().length, 0);
  }, { partSize: 4, minChunkedUploadSize: 10 });
});
