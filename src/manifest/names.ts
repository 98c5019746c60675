/** File name of the manifest at the root of every snapshot. */
export const MANIFEST_FILE = "manifest.json";

/**
 * Longest JSON Lines line of a data file: the Data API caps a document at 4 000 000 characters,
 * at most 24 MB of UTF-8 or escaped bytes.
 */
export const MAX_LINE_BYTES = 24_000_000;

/** Name of a collection's data file inside a snapshot (FORMAT.md, "Data files"). */
export function dataFileName(keyspace: string, collection: string, compressed: boolean): string {
  return `${keyspace}.${collection}.jsonl${compressed ? ".gz" : ""}`;
}
