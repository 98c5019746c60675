/**
 * Snapshot format versions (kopia-style: written version and readable range are separate).
 *
 * - 1: collections only (new in astrabak 0.1.0).
 * - 2: tables too: entries with `kind: "table"`, `vector_columns`, `projection_schema`
 *   (new in astrabak 0.2.0). Version 1 snapshots read unchanged.
 */

/** Version written by this astrabak. */
export const FORMAT_VERSION = 2;
/** Oldest version this astrabak reads. */
export const MIN_READ_VERSION = 1;
/** Newest version this astrabak reads; newer snapshots need a newer astrabak. */
export const MAX_READ_VERSION = 2;
