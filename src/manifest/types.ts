/**
 * Types of `manifest.json`, mirroring docs/manifest.schema.json (the schema is what readers
 * enforce; these types are what writers build).
 */

import type { Environment } from "../config/resolve.ts";

/** Overall state of a snapshot. */
export type SnapshotStatus = "complete" | "incomplete";

/** Vector counts for the `$vector` field of one collection. */
export interface VectorStatsEntry {
  field: string;
  /** Dimension from the definition (null for vectorize definitions without one). */
  dimension: number | null;
  documents_with_vector: number;
  documents_without_vector: number;
  /** How vectors were represented on the wire, kept verbatim in the data file. */
  representation: { array: number; binary: number };
}

/** One backed-up (or failed) collection. */
export interface CollectionEntry {
  keyspace: string;
  name: string;
  kind: "collection";
  status: "ok" | "failed";
  /** Why the collection failed (absent when ok). */
  error?: string;
  /** The collection's options exactly as findCollections (explain) returned them. */
  definition: Record<string, unknown>;
  /** File name inside the snapshot; null for failed collections (partial data is removed). */
  data_file: string | null;
  compressed: boolean;
  document_count: number | null;
  estimated_document_count_before: number | null;
  estimated_document_count_after: number | null;
  vector: VectorStatsEntry | null;
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
    projection: { "*": true };
  };
  totals: { collections_ok: number; collections_failed: number; documents: number };
  collections: CollectionEntry[];
}
