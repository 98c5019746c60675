/**
 * @module
 * Read-only questions about what a target offers for vectorize and reranking:
 * `findEmbeddingProviders` (every server astrabak meets) and `findRerankingProviders` (v1.0.23
 * on). Without options both list only the models a new collection may use: from v1.0.26 models
 * carry `apiModelSupport.status` and only SUPPORTED ones are listed (stargate/data-api
 * service/operation/{embeddings/FindEmbeddingProvidersOperation,
 * reranking/FindRerankingProvidersOperation}.java). A server with the feature off answers
 * VECTORIZE_FEATURE_NOT_AVAILABLE or RERANKING_FEATURE_NOT_ENABLED
 * (service/resolver/Find*ProvidersCommandResolver.java).
 */

import { SourceError } from "../errors.ts";
import type { DataApiClient } from "./data_api.ts";

/** What a target offers for one kind of service. */
export type ProviderOffer =
  /** The feature is off: the server's errorCode. */
  | { available: false; code: string }
  /**
   * Provider → models usable for new collections (empty: any model the provider accepts), and
   * provider → the ways it authenticates that are enabled (`supportedAuthentication`: NONE,
   * HEADER, SHARED_SECRET; EmbeddingProvidersConfig.java).
   */
  | {
    available: true;
    models: ReadonlyMap<string, ReadonlySet<string>>;
    auth: ReadonlyMap<string, ReadonlySet<string>>;
  }
  /** The server cannot say (command unknown, or an answer of another shape). */
  | undefined;

/** Which providers and models the target offers for `kind`; never writes. */
export async function findProviders(
  client: DataApiClient,
  kind: "embedding" | "reranking",
  signal?: AbortSignal,
): Promise<ProviderOffer> {
  const command = kind === "embedding" ? "findEmbeddingProviders" : "findRerankingProviders";
  let status: Record<string, unknown> | null | undefined;
  try {
    status = (await client.simple({}, { [command]: {} }, { signal })).status;
  } catch (e) {
    if (e instanceof SourceError && e.kind === "http") return undefined;
    if (!(e instanceof SourceError) || e.kind !== "command" || e.retriable) throw e;
    const off = kind === "embedding"
      ? e.errorCode === "VECTORIZE_FEATURE_NOT_AVAILABLE"
      : e.errorCode === "RERANKING_FEATURE_NOT_ENABLED";
    return off ? { available: false, code: e.errorCode! } : undefined;
  }
  const providers = status?.[`${kind}Providers`];
  if (!providers || typeof providers !== "object") return undefined;
  const models = new Map<string, Set<string>>();
  const auth = new Map<string, Set<string>>();
  for (const [name, p] of Object.entries(providers as Record<string, unknown>)) {
    const ways = (p as { supportedAuthentication?: unknown })?.supportedAuthentication;
    auth.set(
      name,
      new Set(
        ways && typeof ways === "object"
          ? Object.entries(ways as Record<string, unknown>)
            .filter(([, w]) => (w as { enabled?: unknown })?.enabled === true)
            .map(([k]) => k)
          : [],
      ),
    );
    const list = (p as { models?: unknown })?.models;
    models.set(
      name,
      new Set(
        Array.isArray(list)
          ? list.map((m) => (m as { name?: unknown })?.name).filter((n): n is string =>
            typeof n === "string"
          )
          : [],
      ),
    );
  }
  return { available: true, models, auth };
}

/**
 * Whether `offer` lets a new collection use `provider`/`model`: undefined when it cannot be
 * told, else the reason it cannot (null when it can).
 */
export function offerRefuses(
  offer: ProviderOffer,
  provider: unknown,
  model: unknown,
): string | null | undefined {
  if (offer === undefined) return undefined;
  if (!offer.available) return offer.code;
  const models = offer.models.get(String(provider));
  if (!models) return `provider ${provider} is not offered by this target`;
  if (models.size > 0 && !models.has(String(model))) {
    return `model ${model} of ${provider} is not offered for new collections here (deprecated, end of life or unknown)`;
  }
  return null;
}

/**
 * Whether inserting `$vectorize` texts into a collection of `service` needs the caller's key in
 * `x-embedding-api-key`: the provider authenticates by HEADER only (no NONE) and the collection
 * names no shared secret (`service.authentication`, e.g. `providerKey`; the server then uses the
 * stored secret). Undefined when the listing cannot tell.
 */
export function needsHeaderKey(
  offer: ProviderOffer,
  service: { provider?: unknown; authentication?: unknown },
): boolean | undefined {
  if (offer === undefined || !offer.available) return undefined;
  const ways = offer.auth.get(String(service.provider));
  if (!ways || ways.size === 0) return undefined;
  const shared = service.authentication !== null && typeof service.authentication === "object" &&
    Object.keys(service.authentication).length > 0;
  return ways.has("HEADER") && !ways.has("NONE") && !shared;
}
