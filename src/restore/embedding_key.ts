/**
 * @module
 * `--vectorize reembed` makes the target embed every `$vectorize` text again, through the
 * collection's provider. A provider that authenticates by HEADER needs the caller's key on each
 * insert (`x-embedding-api-key`); without it the server refuses every batch
 * (EMBEDDING_PROVIDER_AUTHENTICATION_KEYS_NOT_PROVIDED). This finds that out in the plan, before
 * anything is created, dropped or written.
 */

import { ConfigError } from "../errors.ts";
import { EMBEDDING_KEY_FIX } from "../source/data_api.ts";
import type { DataApiClient } from "../source/data_api.ts";
import {
  findProviders,
  needsHeaderKey,
  offerRefuses,
  type ProviderOffer,
} from "../source/providers.ts";
import type { PlannedCollection } from "./plan.ts";

/**
 * Refuses a reembed restore that would send `$vectorize` texts to a provider that wants the
 * caller's key when no key was given (ASTRABAK_EMBEDDING_API_KEY / --embedding-api-key-file).
 * Asks `findEmbeddingProviders` (read-only) once, and only when some collection would need it;
 * when the listing cannot tell, the inserts find out (their error names the same fix).
 */
export async function requireEmbeddingKey(
  plan: readonly PlannedCollection[],
  client: DataApiClient,
  signal?: AbortSignal,
): Promise<void> {
  if (client.hasEmbeddingApiKey) return;
  const candidates = plan.filter((p) =>
    p.entry.kind === "collection" && !p.refusal && p.action !== "skip" &&
    (p.entry.document_count ?? 1) > 0 && serviceOf(p.definition) !== undefined
  );
  if (candidates.length === 0) return;
  let offer: ProviderOffer;
  try {
    offer = await findProviders(client, "embedding", signal);
  } catch {
    return; // The listing is a courtesy: the inserts' own error says the same.
  }
  // A model the target does not offer is proveDefinitions' refusal (or adaptation), not ours.
  const missing = candidates.filter((p) => {
    const s = serviceOf(p.definition)!;
    return needsHeaderKey(offer, s) === true &&
      offerRefuses(offer, s.provider, (s as { modelName?: unknown }).modelName) === null;
  });
  if (missing.length === 0) return;
  const names = missing.map((p) =>
    `${p.target.keyspace}.${p.target.name} (provider ${serviceOf(p.definition)!.provider})`
  );
  throw new ConfigError(
    `Cannot restore with --vectorize reembed: ${
      names.join(", ")
    } embed through a provider that authenticates by header, and no embedding API key was given`,
    { hint: `${EMBEDDING_KEY_FIX}, or use --vectorize keep-vector; nothing was written` },
  );
}

function serviceOf(
  definition: Record<string, unknown>,
): { provider?: unknown; authentication?: unknown } | undefined {
  const vector = definition.vector as { service?: unknown } | undefined;
  const s = vector?.service;
  return s && typeof s === "object"
    ? s as { provider?: unknown; authentication?: unknown }
    : undefined;
}
