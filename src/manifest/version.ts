/**
 * Snapshot format versions (kopia-style: written version and readable range are separate).
 *
 * - 1: collections only (new in astrabak 0.1.0).
 * - 2: tables too: entries with `kind: "table"`, `vector_columns`, `projection_schema`
 *   (new in astrabak 0.2.0). Version 1 snapshots read unchanged.
 * - 3: a top-level `warnings` list: what the server could not offer (e.g. its tables feature
 *   off). Written only when there is such a warning; every other snapshot is still written as
 *   version 2, so astrabak 0.2.0 keeps reading it.
 * - 4: any of: a top-level `encryption` record (the off-host copy is `<ts>.zip.age`, encrypted to
 *   the listed age recipients); data files of several gzip members (one per checkpoint; astrabak
 *   0.2.0 read gzip with DecompressionStream, which stops at the first member); a top-level
 *   `resumed` record. Written only when a snapshot has one of these (others keep 2 or 3).
 */

/** Version written by this astrabak when the snapshot needs all it can express. */
export const FORMAT_VERSION = 4;
/** Version written when the newest thing in a snapshot is top-level `warnings`. */
export const FORMAT_VERSION_WITH_WARNINGS = 3;
/** Version written when a snapshot has no top-level warnings (nothing of version 3 in it). */
export const FORMAT_VERSION_WITHOUT_WARNINGS = 2;
/** Oldest version this astrabak reads. */
export const MIN_READ_VERSION = 1;
/** Newest version this astrabak reads; newer snapshots need a newer astrabak. */
export const MAX_READ_VERSION = 4;

/**
 * The lowest version that holds what a manifest carries, so snapshots without the newer fields
 * stay readable by older astrabak releases.
 */
export function formatVersionFor(
  m: { warnings?: unknown; encryption?: unknown; resumed?: unknown; multiMember?: boolean },
): number {
  if (m.encryption !== undefined || m.resumed !== undefined || m.multiMember) {
    return FORMAT_VERSION;
  }
  return m.warnings !== undefined ? FORMAT_VERSION_WITH_WARNINGS : FORMAT_VERSION_WITHOUT_WARNINGS;
}
