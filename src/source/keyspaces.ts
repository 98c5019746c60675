/**
 * @module
 * The keyspaces a token can see, through the Data API's `findKeyspaces` (every server astrabak
 * meets: stargate/data-api v1.0.18 on, api/model/command/impl/FindKeyspacesCommand.java). The
 * server has no Astra-only gate on it (service/resolver/FindKeyspacesCommandResolver.java), so
 * astrabak asks it on Astra too and needs no DevOps API host; astra-db-ts 2.3.0 asks the DevOps
 * API there (administration/astra-db-admin.ts listKeyspaces) only because its Astra admin is built
 * on that API, and the Data API admin (administration/data-api-db-admin.ts) sends
 * `{"findKeyspaces":{}}` and reads `status.keyspaces`.
 */

import { NAME_PATTERN } from "../config/resolve.ts";
import { SourceError } from "../errors.ts";
import type { DataApiClient } from "./data_api.ts";

/**
 * Keyspaces that hold no user data. The server does *not* leave them out:
 * FindKeyspacesOperation.java lists every keyspace of the driver's metadata, and its
 * src/main/resources/application.conf sets `refreshed-keyspaces = [ "!/^dse_.*\/", "!solr_admin",
 * "!OpsCenter" ]` — the driver's default minus `!system` and `!/^system_.*\/`, so `system` and
 * every `system_*` keyspace come back. astrabak drops those, the server's own exclusions (a DSE
 * server configured otherwise) and Astra's internal `datastax_sla` and `data_endpoint_auth`
 * (not in the sources: the keyspaces Astra's CQL shell lists besides the system ones).
 */
export function isSystemKeyspace(name: string): boolean {
  return name === "system" || name.startsWith("system_") || name.startsWith("dse_") ||
    ["solr_admin", "OpsCenter", "datastax_sla", "data_endpoint_auth"].includes(name);
}

/** What {@linkcode findUserKeyspaces} learnt. */
export interface KeyspaceListing {
  /** User keyspaces, in the server's order. */
  keyspaces: string[];
  /** Names astrabak cannot address (quoted CQL identifiers outside letters, digits, underscore). */
  unaddressable: string[];
}

/**
 * The user keyspaces the token can see (system ones left out, see
 * {@linkcode isSystemKeyspace}); undefined when the server refuses the command (an error answer,
 * an HTTP error from a gateway that does not route it) or answers in another shape.
 */
export async function findUserKeyspaces(
  client: DataApiClient,
  signal?: AbortSignal,
): Promise<KeyspaceListing | undefined> {
  let names: unknown;
  try {
    names = (await client.simple({}, { findKeyspaces: {} }, { signal })).status?.keyspaces;
  } catch (e) {
    if (e instanceof SourceError && (e.kind === "command" || e.kind === "http")) return undefined;
    throw e;
  }
  if (!Array.isArray(names) || names.some((n) => typeof n !== "string")) return undefined;
  const user = (names as string[]).filter((n) => !isSystemKeyspace(n));
  return {
    keyspaces: user.filter((n) => NAME_PATTERN.test(n)),
    unaddressable: user.filter((n) => !NAME_PATTERN.test(n)),
  };
}
