/**
 * Reading collection definitions (the `options` of findCollections) for the parts astrabak
 * acts on. Backup, verify and restore all ask these questions the same way.
 */

/** The vector settings of a collection definition. */
export interface VectorSpec {
  /** Declared dimension; null when the definition has none (some vectorize providers). */
  dimension: number | null;
  /** The collection embeds `$vectorize` text server-side (`vector.service` is set). */
  vectorize: boolean;
}

/** The vector settings of a definition, or null for a collection without vectors. */
export function vectorSpec(definition: Record<string, unknown>): VectorSpec | null {
  const v = definition.vector as
    | { dimension?: unknown; size?: unknown; service?: unknown }
    | undefined;
  if (!v || typeof v !== "object") return null;
  const dim = typeof v.dimension === "number"
    ? v.dimension
    : typeof v.size === "number"
    ? v.size
    : null;
  return { dimension: dim, vectorize: v.service !== undefined && v.service !== null };
}
