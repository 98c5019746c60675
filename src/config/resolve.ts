/**
 * @module
 * Turns flags and environment into a frozen connection configuration, once. Flags win over the
 * environment, the environment over defaults. Secrets come only from the environment or a file.
 */

import { ConfigError, ioReason } from "../errors.ts";
import type { Env } from "./env.ts";
import { base64Utf8, registerSecret } from "./secrets.ts";

/** Data API deployment kinds, as astra-db-ts names them; they decide the URL prefix. */
export const ENVIRONMENTS = ["astra", "hcd", "dse", "cassandra", "other"] as const;
/** One of {@linkcode ENVIRONMENTS}. */
export type Environment = typeof ENVIRONMENTS[number];

/** Connection flags shared by every command that talks to the Data API. */
export interface ConnectionFlags {
  endpoint?: string | undefined;
  environment?: string | undefined;
  /** Repeatable `--keyspace`; each value may also be comma-separated. */
  keyspace?: string[] | undefined;
  tokenFile?: string | undefined;
}

/** Resolved connection settings. `token` is registered as a secret before this is returned. */
export interface ConnectionConfig {
  /** Endpoint without trailing slash, as used for requests. */
  readonly endpoint: string;
  readonly environment: Environment;
  readonly keyspaces: readonly string[];
  /** Value of the `Token` header. Secret. */
  readonly token: string;
  /** Where the token came from, for logs (never the token itself). */
  readonly tokenSource: string;
  /** The embedding provider key (restore only; see {@linkcode resolveEmbeddingApiKey}). */
  readonly embeddingApiKey?: EmbeddingApiKey | null;
}

/** Names of keyspaces, collections and tables: the Data API allows letters, digits, underscore. */
/** Where snapshots are written and looked for unless --out/--from or ASTRABAK_OUT say otherwise. */
export const DEFAULT_SNAPSHOT_DIR = "./backups";

/** Retries per failed request (Data API and Box) unless --retries/--box-retries say otherwise. */
export const DEFAULT_RETRIES = 5;

/** Seconds per Data API request unless --request-timeout says otherwise. */
export const DEFAULT_REQUEST_TIMEOUT_SECONDS = 30;

/** The snapshot directory: the flag (`--out`/`--from`), else ASTRABAK_OUT, else the default. */
export function snapshotDir(flag: string | undefined, env: Env): string {
  return flag ?? env.ASTRABAK_OUT ?? DEFAULT_SNAPSHOT_DIR;
}

export const NAME_PATTERN = /^[A-Za-z0-9_]{1,48}$/;

/** Reads a token file; injected so resolution stays testable. */
export type ReadTextFile = (path: string) => Promise<string>;

/**
 * Resolves connection settings, reading a token file if one is named. With
 * `keyspaces: "flag-only"` (restore) keyspaces come only from `--keyspace` and may be empty:
 * restore's default is each collection's own keyspace, not an environment-wide one.
 */
export async function resolveConnection(
  flags: ConnectionFlags,
  env: Env,
  readTextFile: ReadTextFile,
  options: { keyspaces?: "required" | "flag-only" } = {},
): Promise<ConnectionConfig> {
  const endpoint = resolveEndpoint(flags.endpoint ?? env.ASTRA_DB_API_ENDPOINT);
  const rawEnvironment = flags.environment ?? env.ASTRA_DB_ENVIRONMENT;
  // Flags are checked before the token is read; the environment may then depend on the token.
  if (rawEnvironment !== undefined) resolveEnvironment(rawEnvironment, endpoint);
  parseNameList(flags.keyspace, "keyspace");
  const { token, tokenSource, userPassword } = await resolveToken(flags, env, readTextFile);
  registerSecret(token);
  const environment = resolveEnvironment(rawEnvironment, endpoint, token);
  if (environment === "astra" && userPassword) {
    throw new ConfigError("Cannot authenticate to Astra with a username and password", {
      hint: "set ASTRA_DB_APPLICATION_TOKEN to an AstraCS:… application token",
    });
  }
  const keyspaces = options.keyspaces === "flag-only"
    ? parseNameList(flags.keyspace, "keyspace")
    : resolveKeyspaces(flags.keyspace, env.ASTRA_DB_KEYSPACE, environment);
  return Object.freeze({
    endpoint,
    environment,
    keyspaces: Object.freeze(keyspaces),
    token,
    tokenSource,
  });
}

function resolveEndpoint(raw: string | undefined): string {
  if (!raw) {
    throw new ConfigError("Cannot connect: no Data API endpoint given", {
      hint:
        "pass --endpoint https://<db-id>-<region>.apps.astra.datastax.com or set ASTRA_DB_API_ENDPOINT",
    });
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`Cannot parse endpoint "${raw}": not a URL`, {
      hint:
        "use the API endpoint shown in the Astra portal, e.g. https://<db-id>-<region>.apps.astra.datastax.com",
    });
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new ConfigError(`Cannot use endpoint "${url.origin}": only http and https are supported`);
  }
  if (url.username || url.password) {
    throw new ConfigError("Cannot use an endpoint URL that contains credentials", {
      hint: "put the token in ASTRA_DB_APPLICATION_TOKEN or --token-file, not in the URL",
    });
  }
  if (url.search || url.hash) {
    throw new ConfigError(
      `Cannot use endpoint "${url.origin}${url.pathname}" with a query or fragment`,
    );
  }
  return `${url.origin}${url.pathname}`.replace(/\/+$/, "");
}

/**
 * Astra Data API hosts as astra-db-ts 2.3.0 tells them apart (src/administration/utils.ts
 * `extractAstraEnvironment`: apps.astra-dev / apps.astra-test / apps.astra .datastax.com, matched
 * anywhere in the endpoint, so a private-link name like `<db>-<region>.private.apps.astra…` counts
 * too).
 */
const ASTRA_HOST = /(^|\.)apps\.astra(-dev|-test)?\.datastax\.com$/i;

/**
 * The deployment kind: `--environment`/ASTRA_DB_ENVIRONMENT when given; otherwise Astra for an
 * Astra host or an `AstraCS:` application token (Astra's token format; HCD/DSE use
 * `Cassandra:…` or their own), else hcd.
 */
export function resolveEnvironment(
  raw: string | undefined,
  endpoint: string,
  token = "",
): Environment {
  if (raw !== undefined) {
    const value = raw.toLowerCase();
    if (!(ENVIRONMENTS as readonly string[]).includes(value)) {
      throw new ConfigError(
        `Cannot use environment "${raw}": expected one of ${ENVIRONMENTS.join(", ")}`,
      );
    }
    return value as Environment;
  }
  return ASTRA_HOST.test(new URL(endpoint).hostname) || token.startsWith("AstraCS:")
    ? "astra"
    : "hcd";
}

function resolveKeyspaces(
  flag: string[] | undefined,
  envValue: string | undefined,
  environment: Environment,
): string[] {
  const names = parseNameList(
    flag && flag.length > 0 ? flag : envValue ? [envValue] : [],
    "keyspace",
  );
  if (names.length === 0) {
    if (environment === "astra") return ["default_keyspace"];
    throw new ConfigError(
      `Cannot choose a keyspace: environment "${environment}" has no default keyspace`,
      {
        hint: "pass --keyspace NAME or set ASTRA_DB_KEYSPACE",
      },
    );
  }
  return names;
}

async function resolveToken(
  flags: ConnectionFlags,
  env: Env,
  readTextFile: ReadTextFile,
): Promise<{ token: string; tokenSource: string; userPassword?: boolean }> {
  const file = flags.tokenFile ?? env.ASTRABAK_TOKEN_FILE;
  if (file) {
    const source = flags.tokenFile !== undefined
      ? `--token-file ${file}`
      : `ASTRABAK_TOKEN_FILE (${file})`;
    const token = await readSecretFile(file, readTextFile, TOKEN_SECRET);
    return { token, tokenSource: source };
  }
  if (env.ASTRA_DB_APPLICATION_TOKEN) {
    checkHeaderValue(env.ASTRA_DB_APPLICATION_TOKEN, "ASTRA_DB_APPLICATION_TOKEN", TOKEN_SECRET);
    return { token: env.ASTRA_DB_APPLICATION_TOKEN, tokenSource: "ASTRA_DB_APPLICATION_TOKEN" };
  }
  if (env.ASTRA_DB_USERNAME || env.ASTRA_DB_PASSWORD) {
    if (!env.ASTRA_DB_USERNAME || !env.ASTRA_DB_PASSWORD) {
      throw new ConfigError(
        "Cannot authenticate: ASTRA_DB_USERNAME and ASTRA_DB_PASSWORD must be set together",
      );
    }
    registerSecret(env.ASTRA_DB_PASSWORD);
    return {
      token: `Cassandra:${base64Utf8(env.ASTRA_DB_USERNAME)}:${base64Utf8(env.ASTRA_DB_PASSWORD)}`,
      tokenSource: "ASTRA_DB_USERNAME/ASTRA_DB_PASSWORD",
      userPassword: true,
    };
  }
  throw new ConfigError("Cannot authenticate: no token given", {
    hint:
      "set ASTRA_DB_APPLICATION_TOKEN (or ASTRA_DB_USERNAME + ASTRA_DB_PASSWORD for non-Astra servers), or pass --token-file PATH",
  });
}

/** How one kind of secret is named in messages, and how to fix it. */
interface SecretKind {
  /** "token", "embedding API key". */
  noun: string;
  /** Where a file of it is named: "--token-file (or ASTRABAK_TOKEN_FILE)". */
  fileFlag: string;
  /** What the file or value should hold. */
  shape: string;
}

const TOKEN_SECRET: SecretKind = {
  noun: "token",
  fileFlag: "--token-file (or ASTRABAK_TOKEN_FILE)",
  shape: "a token is one line of visible ASCII characters, e.g. AstraCS:…; copy it again",
};

const EMBEDDING_KEY_SECRET: SecretKind = {
  noun: "embedding API key",
  fileFlag: "--embedding-api-key-file",
  shape:
    "an embedding API key is one line of visible ASCII characters (the provider's key); copy it again",
};

/**
 * Reads a file holding one secret on one line (a token, an embedding API key), registering it
 * for redaction before any message could quote it. Messages name the file, never the secret.
 */
async function readSecretFile(
  file: string,
  readTextFile: ReadTextFile,
  kind: SecretKind,
): Promise<string> {
  let text: string;
  try {
    text = await readTextFile(file);
  } catch (e) {
    if (e instanceof Deno.errors.NotCapable) {
      throw new ConfigError(
        `Cannot read ${kind.noun} file "${file}": the permission sandbox does not allow it`,
        {
          hint:
            `rebuild with ASTRABAK_ALLOW_READ=${file} deno task compile (or run with --allow-read=${file})`,
        },
      );
    }
    throw new ConfigError(`Cannot read ${kind.noun} file "${file}": ${ioReason(e)}`, {
      hint: `check the path given to ${kind.fileFlag} and its permissions`,
    });
  }
  const value = text.trim();
  if (!value) throw new ConfigError(`Cannot use ${kind.noun} file "${file}": it is empty`);
  const lines = value.split(/\r\n|\r|\n/).length;
  if (lines > 1) {
    registerSecret(value);
    throw new ConfigError(
      `Cannot use ${kind.noun} file "${file}": it has ${lines} lines, but holds one ${kind.noun} on one line`,
      {
        hint: `put only the ${kind.noun}${kind === TOKEN_SECRET ? " (AstraCS:…)" : ""} in the file`,
      },
    );
  }
  checkHeaderValue(value, `${kind.noun} file "${file}"`, kind);
  return value;
}

/**
 * Refuses a secret that cannot be sent as an HTTP header value: a line break or control character
 * (fetch would throw, or the request fail as if the network did), or a character outside visible
 * ASCII (application tokens are `AstraCS:` plus letters, digits and `:`). Names the position,
 * never the secret.
 */
function checkHeaderValue(value: string, source: string, kind: SecretKind): void {
  const at = [...value].findIndex((c) => !/^[\x21-\x7e]$/.test(c));
  if (at < 0) return;
  registerSecret(value);
  const c = [...value][at]!;
  const what = /[\r\n]/.test(c)
    ? "a line break"
    : c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f
    ? "a control character"
    : /\s/.test(c)
    ? "a space"
    : "a character that is not plain ASCII";
  throw new ConfigError(
    `Cannot use the ${kind.noun} from ${source}: it contains ${what} at position ${at + 1}`,
    { hint: kind.shape },
  );
}

/** The embedding provider key restore sends as `x-embedding-api-key`, and where it came from. */
export interface EmbeddingApiKey {
  /** Secret: registered for redaction before this is returned. */
  readonly key: string;
  /** `--embedding-api-key-file PATH` or `ASTRABAK_EMBEDDING_API_KEY`, for messages. */
  readonly source: string;
}

/**
 * The embedding provider key for `--vectorize reembed` into a collection whose provider
 * authenticates by header: `--embedding-api-key-file` wins over ASTRABAK_EMBEDDING_API_KEY; null
 * when neither is given. Never from argv: only the file's path is.
 */
export async function resolveEmbeddingApiKey(
  file: string | undefined,
  env: Env,
  readTextFile: ReadTextFile,
): Promise<EmbeddingApiKey | null> {
  if (file !== undefined) {
    const key = await readSecretFile(file, readTextFile, EMBEDDING_KEY_SECRET);
    registerSecret(key);
    return Object.freeze({ key, source: `--embedding-api-key-file ${file}` });
  }
  const key = env.ASTRABAK_EMBEDDING_API_KEY;
  if (key === undefined) return null;
  // Registered first: even a refused key never reaches a message.
  registerSecret(key);
  checkHeaderValue(key, "ASTRABAK_EMBEDDING_API_KEY", EMBEDDING_KEY_SECRET);
  return Object.freeze({ key, source: "ASTRABAK_EMBEDDING_API_KEY" });
}

/** Splits repeatable, comma-separated name flags into a clean list, validating each name. */
export function parseNameList(values: readonly string[] | undefined, flag: string): string[] {
  const names = [
    ...new Set((values ?? []).flatMap((v) => v.split(",")).map((v) => v.trim()).filter(Boolean)),
  ];
  for (const n of names) {
    if (!NAME_PATTERN.test(n)) {
      throw new ConfigError(
        `Cannot use ${flag} "${n}": names are 1-48 letters, digits or underscores`,
      );
    }
  }
  return names;
}

/**
 * A collection or table named on the command line: `name` means that name in every keyspace,
 * `keyspace.name` (the form astrabak prints) only the one in that keyspace.
 */
export interface NameRef {
  readonly keyspace: string | null;
  readonly name: string;
}

/** `keyspace.name`, or `name` when the reference covers every keyspace. */
export function formatNameRef(ref: NameRef): string {
  return ref.keyspace === null ? ref.name : `${ref.keyspace}.${ref.name}`;
}

/** Whether `ref` names the collection `c`. */
export function nameRefMatches(ref: NameRef, c: { keyspace: string; name: string }): boolean {
  return ref.name === c.name && (ref.keyspace === null || ref.keyspace === c.keyspace);
}

/** Parses one `name` or `keyspace.name`, validating both parts. */
export function parseNameRef(raw: string, flag: string): NameRef {
  const parts = raw.trim().split(".");
  if (parts.length > 2 || parts.some((p) => !NAME_PATTERN.test(p))) {
    throw new ConfigError(
      `Cannot use ${flag} "${raw.trim()}": expected name or keyspace.name, each 1-48 letters, digits or underscores`,
    );
  }
  return parts.length === 2
    ? { keyspace: parts[0]!, name: parts[1]! }
    : { keyspace: null, name: parts[0]! };
}

/**
 * Splits repeatable, comma-separated collection flags (`--collections`, `--exclude`) into
 * references, de-duplicated; see {@linkcode NameRef}.
 */
export function parseNameRefs(values: readonly string[] | undefined, flag: string): NameRef[] {
  const raw = [
    ...new Set((values ?? []).flatMap((v) => v.split(",")).map((v) => v.trim()).filter(Boolean)),
  ];
  return raw.map((r) => parseNameRef(r, flag));
}

/** Box settings for off-host copies. `clientSecret` is registered as a secret. */
export interface BoxConfig {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly enterpriseId?: string;
  readonly userId?: string;
  readonly folderId: string;
  readonly apiBaseUrl: string;
  readonly uploadBaseUrl: string;
  /** Retries per Box request (429, 5xx, network errors), before giving up. */
  readonly retries: number;
}

/**
 * Box settings when a folder is given (`--box-folder` or BOX_FOLDER_ID), else null. Credentials
 * come only from the environment. Base URLs may point elsewhere only over HTTPS, or over HTTP to
 * this machine (the test fakes).
 */
export function resolveBox(
  flags: { boxFolder?: string | undefined; boxRetries?: number | undefined },
  env: Env,
): BoxConfig | null {
  const folderId = flags.boxFolder ?? env.BOX_FOLDER_ID;
  if (folderId === undefined) return null;
  if (!/^\d+$/.test(folderId)) {
    throw new ConfigError(
      `Cannot use Box folder "${folderId}": a folder id is a number (0 is the root)`,
    );
  }
  if (!env.BOX_CLIENT_ID || !env.BOX_CLIENT_SECRET) {
    throw new ConfigError(
      "Cannot connect to Box: BOX_CLIENT_ID and BOX_CLIENT_SECRET must be set",
      {
        hint: "create a Box app with Client Credentials Grant and export its credentials",
      },
    );
  }
  if (!env.BOX_ENTERPRISE_ID && !env.BOX_USER_ID) {
    throw new ConfigError(
      "Cannot connect to Box: set BOX_ENTERPRISE_ID (service account) or BOX_USER_ID",
    );
  }
  registerSecret(env.BOX_CLIENT_SECRET);
  return Object.freeze({
    clientId: env.BOX_CLIENT_ID,
    clientSecret: env.BOX_CLIENT_SECRET,
    ...(env.BOX_USER_ID ? { userId: env.BOX_USER_ID } : { enterpriseId: env.BOX_ENTERPRISE_ID! }),
    folderId,
    apiBaseUrl: boxBaseUrl(env.BOX_API_BASE_URL, "https://api.box.com", "BOX_API_BASE_URL"),
    uploadBaseUrl: boxBaseUrl(
      env.BOX_UPLOAD_BASE_URL,
      "https://upload.box.com/api",
      "BOX_UPLOAD_BASE_URL",
    ),
    retries: flags.boxRetries ?? DEFAULT_RETRIES,
  });
}

function boxBaseUrl(raw: string | undefined, fallback: string, name: string): string {
  if (!raw) return fallback;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`Cannot use ${name} "${raw}": not a URL`);
  }
  const local = ["127.0.0.1", "localhost", "[::1]"].includes(url.hostname);
  if (url.protocol !== "https:" && !(url.protocol === "http:" && local)) {
    throw new ConfigError(`Cannot use ${name}: only https (or http to this machine) is allowed`);
  }
  return raw.replace(/\/+$/, "");
}
