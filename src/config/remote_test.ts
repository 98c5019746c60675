import assert from "node:assert/strict";
import { ConfigError } from "../errors.ts";
import { redactSecrets } from "./secrets.ts";
import { resolveS3 } from "./remote.ts";

const KEYS = { AWS_ACCESS_KEY_ID: "AKIAEXAMPLE", AWS_SECRET_ACCESS_KEY: "s3-test-secret-9f8e7d" };

Deno.test("resolveS3: credentials from the environment only, the secret registered; the SDK sees only AWS names", () => {
  const s = resolveS3({}, {
    ...KEYS,
    AWS_SESSION_TOKEN: "s3-test-session-1a2b3c",
    ASTRA_DB_KEYSPACE: "x",
  });
  assert.equal(redactSecrets("s3-test-secret-9f8e7d s3-test-session-1a2b3c"), "*** ***");
  assert.deepEqual(Object.keys(s.sdkEnv).sort(), [
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
  ]);
  assert.equal(s.region, "us-east-1");
  assert.equal(resolveS3({}, { ...KEYS, AWS_REGION: "auto" }).region, "auto");
  assert.throws(() => resolveS3({}, {}), /no credentials given/);
  assert.throws(() => resolveS3({}, { AWS_ACCESS_KEY_ID: "x" }), /must be set together/);
  assert.throws(
    () => resolveS3({}, { AWS_PROFILE: "backup" }),
    /AWS_SHARED_CREDENTIALS_FILE|no credentials/,
  );
  assert.equal(
    resolveS3({}, { AWS_PROFILE: "backup", AWS_SHARED_CREDENTIALS_FILE: "/etc/aws/credentials" })
      .region,
    null,
    "the profile's region, read by the SDK",
  );
});

Deno.test("resolveS3: endpoints are https (or http to this machine), without credentials in them", () => {
  assert.equal(
    resolveS3({ s3Endpoint: "https://x.r2.cloudflarestorage.com/" }, KEYS).endpoint,
    "https://x.r2.cloudflarestorage.com",
  );
  assert.equal(
    resolveS3({}, { ...KEYS, ASTRABAK_S3_ENDPOINT: "http://127.0.0.1:9000" }).endpoint,
    "http://127.0.0.1:9000",
  );
  for (const bad of ["http://minio.internal:9000", "https://u:p@x.example", "not a url"]) {
    assert.throws(() => resolveS3({ s3Endpoint: bad }, KEYS), ConfigError, bad);
  }
  assert.throws(() => resolveS3({ s3SseKmsKeyId: "k" }, KEYS), /--s3-sse aws:kms/);
});
