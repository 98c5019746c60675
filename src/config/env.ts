/**
 * @module
 * The only module that reads the process environment. Every variable astrabak honours is listed
 * here, once; the sandbox's `--allow-env` patterns (src/cli/permissions.ts) must cover each of
 * them, which resolve_test.ts checks.
 */

/** Environment variables astrabak reads, with what each is for. */
export const ENV_VARS = {
  ASTRA_DB_API_ENDPOINT: "Data API endpoint URL (same as --endpoint)",
  ASTRA_DB_KEYSPACE: "keyspace to back up (same as --keyspace; comma-separated for several)",
  ASTRA_DB_ENVIRONMENT: "astra | hcd | dse | cassandra | other (same as --environment)",
  ASTRA_DB_APPLICATION_TOKEN: "application token (secret; never accepted on the command line)",
  ASTRA_DB_USERNAME: "username for non-Astra servers (with ASTRA_DB_PASSWORD)",
  ASTRA_DB_PASSWORD: "password for non-Astra servers (secret)",
  ASTRABAK_OUT: "snapshot directory (same as --out; default ./backups)",
  ASTRABAK_TOKEN_FILE: "file holding the token (same as --token-file)",
  ASTRABAK_EMBEDDING_API_KEY:
    "embedding provider API key for restore --vectorize reembed, sent as x-embedding-api-key (secret; or --embedding-api-key-file)",
  ASTRABAK_AGE_RECIPIENTS:
    "age recipients (public keys, comma-separated) to encrypt off-host copies to (same as --encrypt-to)",
  ASTRABAK_AGE_IDENTITY_FILE:
    "age identity file to decrypt .zip.age snapshots with (secret file; same as --identity-file)",
  BOX_CLIENT_ID: "Box app client id (Client Credentials Grant)",
  BOX_CLIENT_SECRET: "Box app client secret (secret; never accepted on the command line)",
  BOX_ENTERPRISE_ID: "Box enterprise id: act as the app's service account",
  BOX_USER_ID: "Box user id: act as this user instead",
  BOX_FOLDER_ID: "Box folder for off-host copies (same as --box-folder)",
  BOX_API_BASE_URL: "Box API base URL (default https://api.box.com; tests only)",
  BOX_UPLOAD_BASE_URL: "Box upload base URL (default https://upload.box.com/api; tests only)",
  ASTRABAK_S3_ENDPOINT:
    "S3-compatible endpoint URL for R2, MinIO, B2, GCS (same as --s3-endpoint; default AWS)",
  AWS_ACCESS_KEY_ID: "S3 access key id",
  AWS_SECRET_ACCESS_KEY: "S3 secret access key (secret; never accepted on the command line)",
  AWS_SESSION_TOKEN: "S3 session token of temporary credentials (secret)",
  AWS_REGION: "S3 region (R2: auto; default us-east-1 with --s3-endpoint)",
  AWS_DEFAULT_REGION: "S3 region when AWS_REGION is unset",
  AWS_PROFILE:
    "profile in the shared AWS files (needs AWS_SHARED_CREDENTIALS_FILE/AWS_CONFIG_FILE)",
  AWS_SHARED_CREDENTIALS_FILE:
    "path of the shared AWS credentials file (the sandbox must allow reading it)",
  AWS_CONFIG_FILE: "path of the shared AWS config file (the sandbox must allow reading it)",
} as const;

/** Name of a variable astrabak reads. */
export type EnvName = keyof typeof ENV_VARS;

/** A snapshot of the variables astrabak reads (unset ones are absent). */
export type Env = Readonly<Partial<Record<EnvName, string>>>;

/** Reads every known variable once; empty values count as unset. */
export function readEnv(): Env {
  const env: Partial<Record<EnvName, string>> = {};
  for (const name of Object.keys(ENV_VARS) as EnvName[]) {
    const value = Deno.env.get(name);
    if (value !== undefined && value !== "") env[name] = value;
  }
  return Object.freeze(env);
}
