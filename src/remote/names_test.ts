import assert from "node:assert/strict";
import { ConfigError } from "../errors.ts";
import {
  archiveName,
  contentTypeOf,
  filesToUpload,
  groupListing,
  parseRemote,
  parseRemoteSnapshotArg,
} from "./names.ts";
import { compositeSha256, partSizeFor } from "./s3.ts";
import { createHash } from "node:crypto";
import { Buffer } from "node:buffer";

Deno.test("parseRemote: box:ID and s3://BUCKET/PREFIX, anything else refused naming the forms", () => {
  assert.deepEqual(parseRemote("box:123"), { kind: "box", folderId: "123", label: "box:123" });
  assert.deepEqual(parseRemote("s3://bkt/a/b/"), {
    kind: "s3",
    bucket: "bkt",
    prefix: "a/b",
    label: "s3://bkt/a/b",
  });
  assert.equal(parseRemote("s3://my.bucket-1").label, "s3://my.bucket-1");
  for (const bad of ["box:abc", "s3://B", "s3://bkt/../x", "gs://bkt", "/tmp/x"]) {
    assert.throws(() => parseRemote(bad), ConfigError, bad);
  }
});

Deno.test("parseRemoteSnapshotArg: REMOTE:which, the older box:<which>, and local paths", () => {
  assert.deepEqual(parseRemoteSnapshotArg("s3://bkt/nightly:latest"), {
    remote: parseRemote("s3://bkt/nightly"),
    which: "latest",
  });
  assert.equal(
    parseRemoteSnapshotArg("s3://bkt/n:20261125_021500.zip")?.which,
    "20261125_021500.zip",
  );
  assert.deepEqual(parseRemoteSnapshotArg("box:42:latest"), {
    remote: parseRemote("box:42"),
    which: "latest",
  });
  assert.deepEqual(parseRemoteSnapshotArg("box:latest"), { remote: null, which: "latest" });
  assert.deepEqual(parseRemoteSnapshotArg("box:9876"), { remote: null, which: "9876" });
  assert.equal(parseRemoteSnapshotArg("latest"), null);
  assert.equal(parseRemoteSnapshotArg("./backups/20261125_021500"), null);
  assert.throws(() => parseRemoteSnapshotArg("s3://bkt/nightly"), /say which snapshot/);
});

Deno.test("archiveName: archives only, never directories or work in progress", () => {
  assert.deepEqual(archiveName("20261125_021500.zip"), { timestamp: "20261125_021500" });
  for (
    const n of ["20261125_021500", "20261125_021500.INCOMPLETE", ".20261125_021500.inprogress"]
  ) {
    assert.equal(archiveName(n), null, n);
  }
  assert.equal(archiveName("notes.txt"), null);
  assert.equal(archiveName("2026.zip"), null);
});

Deno.test("groupListing: .zip.age listed like .zip, its sidecar attached and never listed alone", () => {
  const f = (name: string, id = name) => ({ id, name, sizeBytes: 1 });
  const listed = groupListing([
    f("20261125_021500.zip.age.sha256"),
    f("20261126_021500.zip"),
    f("20261125_021500.zip.age"),
    f("20261124_021500.zip.age.sha256"), // a sidecar whose archive is gone: untouched
    f("notes.txt"),
    f("20261126_021500.zip.age"),
  ]);
  assert.deepEqual(listed.map((s) => s.name), [
    "20261125_021500.zip.age",
    "20261126_021500.zip.age",
    "20261126_021500.zip", // the plain zip of a timestamp last: latest takes it, as locally
  ]);
  assert.equal(listed[0]!.sidecar?.name, "20261125_021500.zip.age.sha256");
  assert.equal(listed[0]!.sidecar?.timestamp, "20261125_021500");
  assert.equal(listed[1]!.sidecar, undefined);
  assert.equal(listed[2]!.sidecar, undefined);
});

Deno.test("filesToUpload and contentTypeOf: a .zip.age goes with its sidecar, each typed", () => {
  assert.deepEqual(filesToUpload("/b/20261125_021500.zip"), ["/b/20261125_021500.zip"]);
  assert.deepEqual(filesToUpload("/b/20261125_021500.zip.age"), [
    "/b/20261125_021500.zip.age",
    "/b/20261125_021500.zip.age.sha256",
  ]);
  assert.equal(contentTypeOf("20261125_021500.zip"), "application/zip");
  assert.equal(contentTypeOf("20261125_021500.zip.age"), "application/octet-stream");
  assert.equal(contentTypeOf("20261125_021500.zip.age.sha256"), "text/plain; charset=utf-8");
});

Deno.test("S3 parts: 16 MiB or larger to fit 10 000 parts; the composite checksum is AWS's", () => {
  assert.equal(partSizeFor(1), 16 * 1024 * 1024);
  assert.equal(partSizeFor(500 * 1024 ** 3), Math.ceil(500 * 1024 ** 3 / 10_000));
  const a = createHash("sha256").update("a").digest();
  const b = createHash("sha256").update("b").digest();
  const expected = createHash("sha256").update(Buffer.concat([a, b])).digest("base64");
  assert.equal(compositeSha256([a, b]), `${expected}-2`);
});
