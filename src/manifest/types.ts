/**
 * Types of `manifest.json`, mirroring docs/manifest.schema.json (the schema is what readers
 * enforce; these types are what writers build).
 */

import type { Environment } from "../config/resolve.ts";

/** Overall state of a snapshot. */
export type SnapshotStatus = "complete" | "incomplete";

/** Vector counts for one vector field (`$vector`, or a table's vector column). */
export interface VectorStatsEntry {
  field: string;
  /** Dimension from the definition (null for vectorize definitions without one). */
  dimension: number | null;
  documents_with_vector: number;
  documents_without_vector: number;
  /** How vectors were represented on the wire, kept verbatim in the data file. */
  representation: { array: number; binary: number };
}

/** What kind of Data API object an entry is. */
export type EntryKind = "collection" | "table";

/** One backed-up (or failed) collection or table. */
export interface CollectionEntry {
  keyspace: string;
  name: string;
  kind: EntryKind;
  status: "ok" | "failed";
  /** Why the collection failed (absent when ok). */
  error?: string;
  /**
   * Collections: the options exactly as findCollections (explain) returned them. Tables:
   * `{columns, primaryKey}` as listTables (explain) returned them, plus `indexes` (listIndexes
   * explain items) and `types` (the listTypes explain items of the user-defined types used).
   */
  definition: Record<string, unknown>;
  /** File name inside the snapshot; null for failed collections (partial data is removed). */
  data_file: string | null;
  compressed: boolean;
  document_count: number | null;
  estimated_document_count_before: number | null;
  estimated_document_count_after: number | null;
  /** Collections: the `$vector` counts (null for collections without vectors and for tables). */
  vector: VectorStatsEntry | null;
  /** Tables: counts per vector column. */
  vector_columns?: VectorStatsEntry[];
  /** Tables: `status.projectionSchema` of the scan (column → type), null when no page had one. */
  projection_schema?: Record<string, unknown> | null;
  /** SHA-256 of the data file's bytes as stored (so `sha256sum` can check it). */
  data_sha256: string | null;
  data_size_bytes: number | null;
  /** Size of the JSON Lines before compression (bounds decompression in verify). */
  uncompressed_size_bytes: number | null;
  /** Pages read in the successful (or last) attempt. */
  pages: number;
  /** Attempts made (a retry from the start truncates and rewrites the data file). */
  attempts: number;
  warnings: string[];
}

/** The whole manifest. */
export interface Manifest {
  backup_format_version: number;
  /** Snapshot name: UTC `YYYYMMDD_HHMMSS` of the start. */
  snapshot: string;
  status: SnapshotStatus;
  created_at_utc: string;
  finished_at_utc: string;
  duration_seconds: number;
  tool: { name: "astrabak"; version: string };
  client: { wire: string; deno_version: string };
  source: { api_endpoint: string; environment: Environment; keyspaces: string[] };
  document_format: {
    layout: "jsonl";
    encoding: "utf-8";
    numbers: "verbatim";
    vectors: "verbatim";
    compression: "gzip" | "none";
    /** gzip level (1 fastest … 9 smallest), when compressed. */
    compression_level?: number;
    projection: { "*": true };
  };
  totals: { collections_ok: number; collections_failed: number; documents: number };
  collections: CollectionEntry[];
  /**
   * Snapshot-wide warnings (format 3; absent when none): the source held nothing, or what the
   * server could not offer, e.g. "keyspace ks: tables not backed up: this Data API offers none
   * (…TABLE_FEATURE_NOT_ENABLED…)".
   */
  warnings?: string[];
  /**
   * The off-host copy (`<ts>.zip.age`) is encrypted (format 4; absent when not): the format and
   * the recipients' public keys it was encrypted to. Never an identity (a private key).
   */
  encryption?: ManifestEncryption;
  /**
   * Format 4; absent when the backup ran in one go: it was interrupted and continued with
   * `backup --resume` this many times, each resume starting at the time listed.
   */
  resumed?: { times: number; at_utc: string[] };
}

/** How a snapshot's off-host copy is encrypted (manifest field `encryption`). */
export interface ManifestEncryption {
  format: "age-encryption.org/v1";
  /** Public keys (`age1…`, `age1pq1…`) the copy was encrypted to. */
  recipients: string[];
}
