/**
 * @module
 * What the target can create, found out before anything is written. The Data API has no
 * read-only way to ask whether lexical is on (a feature flag), and `findRerankingProviders` only
 * exists from v1.0.23, so restore asks the server itself: a `createCollection` sent under the name
 * of a collection that already exists is validated in full (feature flags, vectorize service,
 * model status, dimension) and then refused as EXISTING_COLLECTION_DIFFERENT_SETTINGS without
 * touching anything (stargate/data-api service/resolver/CreateCollectionCommandResolver.java, then
 * service/operation/collections/CreateCollectionOperation.java). A definition equal to an existing
 * collection's needs no question: the target already holds it.
 *
 * `--if-exists replace` asks under the target's own name, so nothing is dropped before the new
 * definition is known to be creatable. A new collection is created before any document of the
 * restore is written; when the server refuses it, the collections this restore created are
 * dropped again (they are empty) and the restore is refused.
 */

import { ConfigError, DefinitionRefusedError, errorMessage, SourceError } from "../errors.ts";
import { vectorSpec } from "../manifest/mod.ts";
import type { Reporter } from "../reporter.ts";
import {
  type CollectionInfo,
  createCollection,
  deleteCollection,
  listCollections,
} from "../source/collections.ts";
import type { DataApiClient } from "../source/data_api.ts";
import { createTableCommand, createTypesOf } from "../source/tables.ts";
import { findProviders, offerRefuses, type ProviderOffer } from "../source/providers.ts";
import { findUserKeyspaces } from "../source/keyspaces.ts";
import { definitionDifferences, type PlannedCollection } from "./plan.ts";

/** A feature a definition can need that a target may lack. */
export type Feature = "lexical" | "rerank" | "vectorize";

/** Why the target refuses a definition. */
export interface DefinitionRefusal {
  /** The feature to leave out to make it creatable; null when no adaptation helps. */
  feature: Feature | null;
  /** The server's errorCode. */
  code: string;
  /** The server's message (first line). */
  message: string;
  /** Not a refusal of the definition: an append target that holds another one. */
  append?: boolean;
}

/**
 * Error codes of a refused createCollection, by the feature the definition must lose
 * (stargate/data-api src/main/resources/errors.yaml; LEXICAL_NOT_AVAILABLE_FOR_DATABASE is the
 * v1.0.23-v1.0.46 name of LEXICAL_FEATURE_NOT_ENABLED, ErrorCodeV1.java).
 */
const FEATURE_CODES: Record<string, Feature> = {
  LEXICAL_FEATURE_NOT_ENABLED: "lexical",
  LEXICAL_NOT_AVAILABLE_FOR_DATABASE: "lexical",
  RERANKING_FEATURE_NOT_ENABLED: "rerank",
  VECTORIZE_FEATURE_NOT_AVAILABLE: "vectorize",
};

/** Model status codes: the feature is the one whose service names the model. */
const MODEL_CODES = new Set(["DEPRECATED_AI_MODEL", "END_OF_LIFE_AI_MODEL"]);

/** Answers that prove the definition passed validation on an existing name. */
export const VALIDATED_CODES: ReadonlySet<string> = new Set([
  "EXISTING_COLLECTION_DIFFERENT_SETTINGS",
  "EXISTING_TABLE_NOT_DATA_API_COLLECTION",
]);

/**
 * The refusal in a failed createCollection, or undefined when the failure is not the server
 * refusing the definition (network, auth, transient: those are thrown as they are).
 */
export function refusalOf(
  e: unknown,
  definition: Record<string, unknown>,
): DefinitionRefusal | undefined {
  if (!(e instanceof SourceError) || e.kind !== "command" || e.retriable || !e.errorCode) {
    return undefined;
  }
  const code = e.errorCode;
  const message = errorMessage(e).replace(/^Data API \w+ on [^:]+ failed: /, "")
    .replace(`${code}: `, "");
  let feature: Feature | null = FEATURE_CODES[code] ?? null;
  if (MODEL_CODES.has(code)) {
    const rerankModel = serviceOf(definition.rerank)?.modelName;
    feature = typeof rerankModel === "string" && message.includes(rerankModel)
      ? "rerank"
      : vectorSpec(definition)?.vectorize
      ? "vectorize"
      : null;
  }
  return { feature, code, message };
}

function serviceOf(v: unknown): Record<string, unknown> | undefined {
  const s = (v as { service?: unknown } | undefined)?.service;
  return s && typeof s === "object" ? s as Record<string, unknown> : undefined;
}

/** The definition without `feature`, and what was changed, in words. */
export function withoutFeature(
  definition: Record<string, unknown>,
  feature: Feature,
): { definition: Record<string, unknown>; change: string } | undefined {
  const d = structuredClone(definition);
  switch (feature) {
    case "rerank":
      if (d.rerank === undefined) return undefined;
      delete d.rerank;
      return {
        definition: d,
        change: `rerank left out (was ${JSON.stringify(definition.rerank)}): reranking is off`,
      };
    case "lexical":
      if (d.lexical === undefined) return undefined;
      delete d.lexical;
      // A collection without lexical has no rerank either (rerank reranks hybrid results).
      delete d.rerank;
      return {
        definition: d,
        change: `lexical${definition.rerank === undefined ? "" : " and rerank"} left out (was ${
          JSON.stringify(definition.lexical)
        }): lexical search is off; $lexical values are not restored`,
      };
    case "vectorize": {
      const v = d.vector as Record<string, unknown> | undefined;
      if (!v?.service) return undefined;
      const s = v.service as Record<string, unknown>;
      delete v.service;
      return {
        definition: d,
        change:
          `vector.service left out (was ${s.provider}/${s.modelName}): a plain vector collection of dimension ${v.dimension} keeping $vector; $vectorize texts are not restored`,
      };
    }
  }
}

/** What to tell the user to do about a refusal. */
export function fixFor(r: DefinitionRefusal): string {
  switch (r.feature) {
    case "lexical":
      return "enable lexical on the target server, or add --adapt-definitions to create it without lexical";
    case "rerank":
      return "enable reranking on the target server, or add --adapt-definitions to create it without rerank";
    case "vectorize":
      return MODEL_CODES.has(r.code)
        ? "the embedding model is not supported for new collections here; add --adapt-definitions to create a plain vector collection keeping $vector"
        : "vectorize is not available on the target; add --adapt-definitions to create a plain vector collection keeping $vector";
    default:
      return "change the target or restore this collection elsewhere";
  }
}

/**
 * A collection under whose name a definition can be validated without changing anything: one
 * that holds this exact definition (the server validates it, then answers with its idempotent
 * no-op), else one whose definition differs (validated, then refused as
 * EXISTING_COLLECTION_DIFFERENT_SETTINGS), preferably in `keyspace`, else in any keyspace
 * (feature flags are server-wide). An existing equal collection is no proof by itself: its model
 * may have been deprecated since, or a feature switched off.
 */
export function probeNameFor(
  definition: Record<string, unknown>,
  keyspace: string,
  existing: Iterable<CollectionInfo>,
  sameDefinition: (a: Record<string, unknown>, b: Record<string, unknown>) => boolean,
): { keyspace: string; name: string } | undefined {
  let here: CollectionInfo | undefined;
  let other: CollectionInfo | undefined;
  for (const c of existing) {
    if (c.kind === "collection" && sameDefinition(definition, c.definition)) {
      return { keyspace: c.keyspace, name: c.name };
    }
    if (c.keyspace === keyspace) here ??= c;
    else if (c.kind === "collection") other ??= c;
  }
  const pick = here ?? other;
  return pick === undefined ? undefined : { keyspace: pick.keyspace, name: pick.name };
}

/** Settings of {@linkcode proveDefinitions}. */
export interface ProveOptions {
  dryRun: boolean;
  /** `--adapt-definitions`: leave out what the target refuses instead of refusing the restore. */
  adapt: boolean;
  /** `--vectorize`: reembed cannot work once the vectorize service was left out. */
  vectorize: "keep-vector" | "reembed";
  signal?: AbortSignal | undefined;
}

/**
 * Makes sure every collection the plan creates or replaces is creatable on the target, before any
 * document is written and before anything is dropped; adapts definitions with `adapt`. Throws one
 * ConfigError naming each refused collection, option and fix; in the real run, collections it
 * created for the plan are dropped again first, so a refused restore leaves the target as it was.
 */
export async function proveDefinitions(
  plan: PlannedCollection[],
  client: DataApiClient,
  existing: ReadonlyMap<string, CollectionInfo>,
  options: ProveOptions,
  reporter: Reporter,
  /** Collections of other keyspaces (the server's features are the same in every keyspace). */
  elsewhere: readonly CollectionInfo[] = [],
): Promise<void> {
  const problems: string[] = [];
  /** The problems that are a definition the target cannot create (all of them: a typed error). */
  const refused: Array<{ target: string; why: string }> = [];
  const createdHere: PlannedCollection[] = [];
  const signal = options.signal;
  const known = [...existing.values(), ...elsewhere];
  const offers = new Map<string, Promise<ProviderOffer>>();
  const offer = (kind: "embedding" | "reranking") => {
    if (!offers.has(kind)) offers.set(kind, findProviders(client, kind, signal));
    return offers.get(kind)!;
  };
  const same = (a: Record<string, unknown>, b: Record<string, unknown>) =>
    definitionDifferences(a, b).length === 0;

  /** One question to the target about `p.definition`: undefined when it is creatable. */
  const test = async (p: PlannedCollection): Promise<DefinitionRefusal | undefined> => {
    const { keyspace, name } = p.target;
    const current = existing.get(`${keyspace}.${name}`);
    let ask: { keyspace: string; name: string };
    const creates = p.action === "create" && !options.dryRun;
    if (p.action === "replace" || p.action === "append") {
      // Under its own name: nothing can be created, and nothing is dropped until this passes.
      // An equal definition proves only that append can go on: a collection that exists may no
      // longer be creatable (a model deprecated since, a feature switched off), and replace must
      // create it again, so the server is asked (an equal create is its idempotent no-op).
      if (
        p.action === "append" && current?.kind === "collection" &&
        same(p.definition, current.definition)
      ) return;
      ask = p.target;
    } else if (creates) {
      ask = p.target;
    } else {
      const probe = probeNameFor(p.definition, keyspace, known, same);
      if (!probe) return await askProviders(p, offer);
      ask = probe;
    }
    try {
      await createCollection(client, ask.keyspace, ask.name, p.definition, signal);
      if (creates) {
        p.created = true;
        createdHere.push(p);
        known.push({ keyspace, name, kind: "collection", definition: p.definition });
      }
      return;
    } catch (e) {
      if (e instanceof SourceError && e.errorCode && VALIDATED_CODES.has(e.errorCode) && !creates) {
        if (p.action !== "append") return;
        // Creatable, but not what the existing collection holds: append would mix definitions.
        return {
          feature: null,
          code: "EXISTING_COLLECTION_DIFFERENT_SETTINGS",
          message: `exists with a different definition (${
            definitionDifferences(p.definition, current?.definition ?? {}).join("; ")
          }) even where adapted to this target`,
          append: true,
        };
      }
      const refusal = refusalOf(e, p.definition);
      if (refusal) return refusal;
      // An interruption is cleaned up by runRestore, which says so in its message.
      if (!options.dryRun && !signal?.aborted) {
        await dropCreated(createdHere, client, reporter);
      }
      throw e;
    }
  };

  for (const p of plan) {
    if (p.entry.kind === "table" && p.action === "replace" && !p.refusal) {
      const why = await proveTable(p, client, options.dryRun, signal);
      if (why) {
        problems.push(
          `${p.target.keyspace}.${p.target.name}: the target refuses the table's definition (${why.code}: ${why.message}); tables are not adapted: restore it elsewhere (--rename)`,
        );
      }
      continue;
    }
    if (p.entry.kind !== "collection" || p.refusal) continue;
    const append = p.action === "append" && p.appendOnlyIfAdaptedTo !== undefined;
    if (p.action !== "create" && p.action !== "replace" && !append) continue;
    const label = `${p.target.keyspace}.${p.target.name}`;
    for (let round = 0; round < 4; round++) {
      const refusal = await test(p);
      if (!refusal) break;
      const adapted = options.adapt && refusal.feature
        ? withoutFeature(p.definition, refusal.feature)
        : undefined;
      if (refusal.append) {
        problems.push(`${label} ${refusal.message}; only --if-exists replace may change it`);
        break;
      }
      if (!adapted) {
        refused.push({
          target: label,
          why: `the target refuses its definition (${refusal.code}: ${refusal.message})`,
        });
        problems.push(
          `${label}: the target refuses its definition (${refusal.code}: ${refusal.message}); ${
            fixFor(refusal)
          }`,
        );
        break;
      }
      p.definition = adapted.definition;
      p.changes.push(adapted.change);
      reporter.warn(`${label}: --adapt-definitions: ${adapted.change}`);
      if (refusal.feature === "vectorize" && options.vectorize === "reembed") {
        problems.push(
          `${label}: --vectorize reembed needs the vectorize service, which this target cannot create (${refusal.code}); use --vectorize keep-vector`,
        );
        break;
      }
    }
  }
  if (problems.length === 0) return;
  const dropped = options.dryRun ? 0 : await dropCreated(createdHere, client, reporter);
  const message = `Cannot restore: ${problems.join("; ")}`;
  const hint = `nothing was written${
    dropped > 0 ? ` (the ${dropped} empty collection(s) created to test this were dropped)` : ""
  }; nothing existing was dropped`;
  if (refused.length === problems.length) {
    throw new DefinitionRefusedError(message, refused, { hint });
  }
  throw new ConfigError(message, { hint });
}

/**
 * Proves a table creatable before `replace` drops the existing one: `createTable` under the
 * target's own name is validated in full, then refused as CANNOT_ADD_EXISTING_TABLE (stargate/data-api
 * service/operation/tables/CreateTableExceptionHandler.java). The types it uses must exist for
 * the validation: the real run creates missing ones first (ifNotExists, nothing is replaced);
 * the dry-run then says it could not check.
 */
async function proveTable(
  p: PlannedCollection,
  client: DataApiClient,
  dryRun: boolean,
  signal?: AbortSignal,
): Promise<DefinitionRefusal | undefined> {
  const { keyspace, name } = p.target;
  if (!dryRun) await createTypesOf(client, keyspace, p.definition, signal);
  try {
    await client.simple({ keyspace }, createTableCommand(name, p.definition), { signal });
  } catch (e) {
    if (e instanceof SourceError && e.errorCode === "CANNOT_ADD_EXISTING_TABLE") return undefined;
    if (dryRun && e instanceof SourceError && e.errorCode === "UNKNOWN_USER_DEFINED_TYPE") {
      p.unchecked =
        "not checked: it uses user-defined types the target does not have yet; the real run creates them and checks before dropping anything";
      return undefined;
    }
    const refusal = refusalOf(e, p.definition);
    if (refusal) return refusal;
    throw e;
  }
  // Nothing stood under that name after all (dropped meanwhile): it was created, empty.
  return undefined;
}

/**
 * The dry-run's answer when the database holds no collection to test a definition against: the
 * read-only provider listings for vectorize and rerank; lexical stays unchecked (no read-only
 * command tells it), which the plan says.
 */
async function askProviders(
  p: PlannedCollection,
  offer: (kind: "embedding" | "reranking") => Promise<ProviderOffer>,
): Promise<DefinitionRefusal | undefined> {
  const d = p.definition;
  const vector = d.vector as { service?: { provider?: unknown; modelName?: unknown } } | undefined;
  const unchecked: string[] = [];
  if (vector?.service) {
    const why = offerRefuses(
      await offer("embedding"),
      vector.service.provider,
      vector.service.modelName,
    );
    if (why) {
      return { feature: "vectorize", code: codeOf(why, "findEmbeddingProviders"), message: why };
    }
    if (why === undefined) unchecked.push("vectorize");
  }
  const rerank = d.rerank as
    | { enabled?: unknown; service?: { provider?: unknown; modelName?: unknown } }
    | undefined;
  if (rerank?.enabled === true) {
    const why = offerRefuses(
      await offer("reranking"),
      rerank.service?.provider,
      rerank.service?.modelName,
    );
    if (why) {
      return { feature: "rerank", code: codeOf(why, "findRerankingProviders"), message: why };
    }
    if (why === undefined) unchecked.push("rerank");
  }
  if ((d.lexical as { enabled?: unknown } | undefined)?.enabled === true) unchecked.push("lexical");
  if (unchecked.length > 0) {
    p.unchecked = `${
      unchecked.join(", ")
    } not checked: the database holds no collection to test the definition against; the real run creates it before writing any document`;
  }
  return undefined;
}

/** A refusal from a listing: the server's code when the feature is off, else the command. */
function codeOf(why: string, command: string): string {
  return /^[A-Z_]+$/.test(why) ? why : command;
}

/** Drops the collections created by {@linkcode proveDefinitions} (they are empty); returns how many. */
/**
 * Drops the empty collections this restore created before its writes (a refused plan, or an
 * interruption before the first document). It runs on its own 30 s clock: the run's signal may be
 * the very interruption that calls for the cleanup.
 */
export async function dropCreated(
  created: readonly PlannedCollection[],
  client: DataApiClient,
  reporter: Reporter,
): Promise<number> {
  let n = 0;
  for (const p of created) {
    if (!p.created) continue;
    try {
      await deleteCollection(client, p.target.keyspace, p.target.name, AbortSignal.timeout(30_000));
      p.created = false;
      n++;
    } catch (e) {
      reporter.error(
        `${p.target.keyspace}.${p.target.name}: could not drop the empty collection created for this restore: ${
          errorMessage(e)
        }`,
      );
    }
  }
  return n;
}

/**
 * Collections in the whole target database, which is what the server counts against its limit:
 * every keyspace `findKeyspaces` names (or, when it is refused, the ones already listed, and the
 * count is a lower bound). `elsewhere` are the collections of the keyspaces not already listed.
 */
export async function databaseCollections(
  client: DataApiClient,
  listed: ReadonlyMap<string, CollectionInfo>,
  listedKeyspaces: ReadonlySet<string>,
  signal?: AbortSignal,
): Promise<{ count: number; atLeast: boolean; elsewhere: CollectionInfo[] }> {
  const count = [...listed.values()].filter((c) => c.kind === "collection").length;
  // Refused (a gateway may not route the database-level command): count what was listed.
  // System keyspaces hold no collections (and listing them would be refused).
  const keyspaces = (await findUserKeyspaces(client, signal))?.keyspaces;
  if (keyspaces === undefined) return { count, atLeast: true, elsewhere: [] };
  const elsewhere: CollectionInfo[] = [];
  for (const ks of keyspaces) {
    if (listedKeyspaces.has(ks)) continue;
    elsewhere.push(...await listCollections(client, ks, signal));
  }
  return { count: count + elsewhere.length, atLeast: false, elsewhere };
}
