/**
 * @module
 * Server profiles: the fake Data API playing one real server. Each profile is a table of option
 * values of {@linkcode FakeDataApiOptions}, taken from stargate/data-api at the named tag (paths
 * below are in that repository) — commands, feature flags, error codes, page sizes — plus what
 * sits in front of it (path prefix, response compression).
 *
 * Feature availability (`features`: lexical, reranking, collection limit) follows the server's
 * defaults: config/feature/ApiFeature.java has reranking off and lexical on (both from v1.0.23;
 * before that a definition naming them is refused), and src/main/resources/application.yaml
 * sets `stargate.database.limits.max-collections: 5`; Astra enables reranking and documents a
 * limit of about 10 collections (docs.datastax.com astra-db-serverless dataapi-limits).
 */

import type { FakeDataApiOptions } from "./server.ts";

/** One row of the profile table. */
export interface ServerProfile {
  /** What it plays, for --help and test names. */
  description: string;
  /** The CLI's --environment for it (decides the URL prefix). */
  environment: "astra" | "hcd";
  options: FakeDataApiOptions;
}

/** Type commands (createType … alterType) and createTextIndex arrived in v1.0.30. */
const TYPE_COMMANDS = ["createType", "dropType", "listTypes", "alterType", "createTextIndex"];

/** The profiles `deno task fake-data-api --profile NAME` and the tests offer. */
export const PROFILES = {
  astra: {
    description:
      "Astra DB serverless: current server, /api/json/v1, tables on, responses gzip-compressed by the gateway",
    environment: "astra",
    options: {
      serverVersion: "1.0.50",
      apiPath: "/api/json/v1",
      // Astra's documented limit (docs.datastax.com astra-db-serverless dataapi-limits: "page
      // size 20"); the open-source default became 50 in v1.0.47 and Astra may override it.
      pageSize: 20,
      tablePageSize: 20,
      // Assumed: a gateway that honours Accept-Encoding (the server itself does not compress:
      // application.yaml has no quarkus.http.enable-compression).
      gzipResponses: true,
      features: { maxCollections: 10, rerankingEnabled: true, lexicalAvailable: true },
    },
  },
  "hcd-1.0.18": {
    description:
      "HCD with Data API v1.0.18: tables flag off (default), no listIndexes or type commands, COLLECTION_NOT_EXIST, 20 per page",
    environment: "hcd",
    options: {
      serverVersion: "1.0.18",
      // config/feature/ApiFeature.java: TABLES("tables", false); the impl/ commands of v1.0.18
      // have no ListIndexesCommand (v1.0.19) and no type commands (v1.0.30).
      tablesEnabled: false,
      unknownCommands: ["listIndexes", ...TYPE_COMMANDS],
      legacyErrorStatus: true,
      features: { maxCollections: 5, rerankingEnabled: false, lexicalAvailable: false },
    },
  },
  "hcd-1.0.25": {
    description:
      "HCD with Data API v1.0.25: tables flag off (default), listIndexes but no listTypes, COLLECTION_NOT_EXIST, 20 per page",
    environment: "hcd",
    options: {
      serverVersion: "1.0.25",
      tablesEnabled: false,
      unknownCommands: TYPE_COMMANDS,
      legacyErrorStatus: true,
      features: { maxCollections: 5, rerankingEnabled: false },
    },
  },
  "hcd-1.0.33": {
    description:
      "HCD with Data API v1.0.33, tables flag switched on by the operator: listTypes present, COLLECTION_NOT_EXIST, 20 per page",
    environment: "hcd",
    options: {
      serverVersion: "1.0.33",
      tablesEnabled: true,
      legacyErrorStatus: true,
      features: { maxCollections: 5, rerankingEnabled: false },
    },
  },
  "hcd-current": {
    description:
      "HCD with the current Data API (v1.0.51): tables always on, reranking off, UNKNOWN_COLLECTION_OR_TABLE, 50 per page",
    environment: "hcd",
    options: { serverVersion: "1.0.51", features: { maxCollections: 5, rerankingEnabled: false } },
  },
} as const satisfies Record<string, ServerProfile>;

/** A profile name. */
export type ProfileName = keyof typeof PROFILES;

/** Every profile name, in table order. */
export const PROFILE_NAMES = Object.keys(PROFILES) as ProfileName[];

/** The options for `name`; throws a clear error for an unknown name. */
export function profile(name: string): ServerProfile {
  if (!(name in PROFILES)) {
    throw new Error(`unknown profile "${name}" (known: ${PROFILE_NAMES.join(", ")})`);
  }
  return PROFILES[name as ProfileName];
}
