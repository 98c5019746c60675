/**
 * @module
 * The one read pipeline, shared by verify and restore: stored bytes → SHA-256 and size →
 * gunzip → byte cap → lines → documents → counts and vector checks. Restore consumes the
 * documents; verify discards them. Either way the same figures are compared with the manifest by
 * {@link dataFileProblems}, so restore never re-implements verification.
 */

import { DATA_API_DOCUMENT_RULES, type DocumentRules } from "../json/byte_json.ts";
import { documentKey, hashName, keyHash, KeyHashes, type KeySpec } from "../json/document_key.ts";
import { indexProjection } from "../json/indexing.ts";
import type { InspectOptions, RawDocument } from "../json/raw_document.ts";
import {
  type CollectionEntry,
  MAX_LINE_BYTES,
  primaryKeyColumns,
  vectorFields,
  vectorStats,
} from "../manifest/mod.ts";
import { ByteLimitStream } from "../streams/byte_limit_stream.ts";
import { DigestStream } from "../streams/digest_stream.ts";
import { gunzipStream, inlineGunzipStream } from "../streams/gzip_stream.ts";
import { releaseWorkerOutput } from "../streams/zlib_worker_stream.ts";
import { DocumentParseStream, MAX_DOCUMENT_CHARS } from "../streams/document_parse_stream.ts";
import {
  describeId,
  type DocumentStats,
  DocumentStatsStream,
} from "../streams/document_stats_stream.ts";
import { LineSplitStream } from "../streams/line_split_stream.ts";

/** What reading a data file found. */
export interface DataFileFigures {
  sha256: string;
  sizeBytes: number;
  /** Null in quick mode (nothing was decompressed). */
  uncompressedBytes: number | null;
  /** Null in quick mode. */
  stats: DocumentStats | null;
  /**
   * Hashes of keys (`_id`s, primary keys) seen on more than one line: candidates for
   * {@linkcode duplicateKeyProblems}. Null unless asked for (`duplicates`).
   */
  repeatedKeys: Set<string> | null;
}

/**
 * A data file being read. In deep mode the caller consumes `documents`; any failure of any stage
 * (hash input, gunzip, byte cap, line split, parse, vector check) errors that stream. `figures`
 * settles once the stream has been consumed to its end without error (await it only then).
 */
export interface DataFileRead {
  /** Pages of documents (null in quick mode). */
  documents: ReadableStream<RawDocument[]> | null;
  figures: Promise<DataFileFigures>;
  /**
   * With `maxDocuments`: true once the read stopped at the limit with documents left unread (the
   * file was not read to its end, so `figures` never settles: nothing to compare). Read it after
   * `documents` ended.
   */
  readonly cut: boolean;
}

/**
 * Builds the read pipeline over `bytes` (a data file's stored bytes) for `entry`. In quick mode
 * only the hash and size are computed.
 */
export function readDataFile(
  bytes: ReadableStream<Uint8Array>,
  entry: CollectionEntry,
  options: {
    quick: boolean;
    inspect?: Pick<InspectOptions, "watch">;
    /** Record key hashes to find keys that appear twice (deep verify). */
    duplicates?: boolean;
    /**
     * A deliberate partial read (`drill --max-docs`): only the first N documents, then the read
     * stops. Only for a file already verified in full, since the rest is never hashed.
     */
    maxDocuments?: number;
    /**
     * Gunzip on this thread instead of a worker isolate (restore: less memory, and its speed is
     * the server's). Verify keeps the worker, which lets it beat a single-threaded gunzip.
     */
    inlineGunzip?: boolean;
  },
): DataFileRead {
  const label = `${entry.keyspace}.${entry.name}`;
  const digest = new DigestStream();
  const hashed = bytes.pipeThrough(digest);
  if (options.quick) {
    const drained = hashed.pipeTo(new WritableStream());
    return {
      documents: null,
      cut: false,
      figures: drained.then(() => digest.result).then((d) => ({
        sha256: d.hex,
        sizeBytes: d.bytes,
        uncompressedBytes: null,
        stats: null,
        repeatedKeys: null,
      })),
    };
  }
  let plain = hashed;
  if (entry.compressed) {
    plain = plain.pipeThrough(options.inlineGunzip ? inlineGunzipStream() : gunzipStream());
  }
  const declared = entry.uncompressed_size_bytes ?? 0;
  const cap = new ByteLimitStream(
    declared,
    (limit) =>
      `decompressed data exceeds the ${limit} bytes the manifest declares (tampered file or gzip bomb)`,
  );
  const vectors = vectorFields(entry.kind, entry.definition);
  const stats = new DocumentStatsStream({
    label,
    requireId: entry.kind === "collection",
    vectorFields: vectors,
  });
  const hashes = options.duplicates ? new KeyHashes(entry.document_count ?? 0) : undefined;
  const parsed = plain
    .pipeThrough(cap)
    .pipeThrough(new LineSplitStream(Math.min(MAX_LINE_BYTES, Math.max(declared, 1))))
    .pipeThrough(documentParser(entry, options.inspect, hashes))
    .pipeThrough(stats);
  const take = options.maxDocuments === undefined ? null : new TakeDocuments(options.maxDocuments);
  const documents = take ? parsed.pipeThrough(take) : parsed;
  const figures = Promise.all([digest.result, stats.result]).then(([d, st]) => ({
    sha256: d.hex,
    sizeBytes: d.bytes,
    uncompressedBytes: cap.bytes,
    stats: st,
    repeatedKeys: hashes ? hashes.repeated() : null,
  }));
  figures.catch(() => {});
  return {
    documents,
    figures,
    get cut() {
      return take?.cut ?? false;
    },
  };
}

/**
 * A sink for a reader that drops documents once `onPage` has seen them (verify). Documents are
 * views into the gunzip worker's output chunks; once the documents have moved on to another
 * buffer, nothing refers to the previous chunk (the line splitter has copied any line it ended),
 * so it is freed at once ({@linkcode releaseWorkerOutput}) instead of waiting for a full
 * collection. Not for a reader that keeps documents (restore, drill).
 */
export function discardingSink(
  onPage: (page: RawDocument[]) => void,
): WritableStream<RawDocument[]> {
  let current: ArrayBufferLike | null = null;
  return new WritableStream({
    write(page) {
      onPage(page);
      for (const doc of page) {
        if (doc.bytes.buffer === current) continue;
        if (current) releaseWorkerOutput(current);
        current = doc.bytes.buffer;
      }
    },
  });
}

/**
 * Passes the first `limit` documents, then ends the stream and cancels what is upstream, once a
 * document past the limit shows there is more (a file of exactly `limit` documents is read whole).
 */
class TakeDocuments extends TransformStream<RawDocument[], RawDocument[]> {
  cut = false;
  constructor(limit: number) {
    let seen = 0;
    super({
      transform: (page, controller) => {
        if (seen + page.length <= limit) {
          seen += page.length;
          controller.enqueue(page);
          return;
        }
        const rest = limit - seen;
        seen = limit;
        if (rest > 0) controller.enqueue(page.slice(0, rest));
        this.cut = true;
        controller.terminate();
      },
    });
  }
}

/**
 * The parse stage for `entry`: the backup's inspector plus every check an insert of the document
 * would make that can be made offline (document rules for collections, `_id` or primary key).
 */
function documentParser(
  entry: CollectionEntry,
  inspect: Pick<InspectOptions, "watch"> | undefined,
  hashes: KeyHashes | undefined,
): DocumentParseStream {
  const collection = entry.kind === "collection";
  const key = keySpec(entry);
  return new DocumentParseStream({
    inspect: {
      vectorFields: vectorFields(entry.kind, entry.definition).map((v) => v.field),
      watch: [
        ...(inspect?.watch ?? ["$vectorize", "$lexical"]),
        ...(key.kind === "table" ? key.columns : []),
      ],
      rules: collection ? documentRules(entry.definition) : undefined,
    },
    key,
    hashes,
    maxDocumentChars: collection ? MAX_DOCUMENT_CHARS : undefined,
  });
}

/** The document rules for a collection: the limits on indexed values where it indexes. */
function documentRules(definition: Record<string, unknown>): DocumentRules {
  return { ...DATA_API_DOCUMENT_RULES, projection: indexProjection(definition) };
}

function keySpec(entry: CollectionEntry): KeySpec {
  return entry.kind === "collection"
    ? { kind: "collection" }
    : { kind: "table", columns: primaryKeyColumns(entry.definition) };
}

/** Most duplicate lines named in one finding. */
const MAX_DUPLICATES_SHOWN = 5;

/**
 * Second pass of the duplicate search: re-reads the data file (already verified in every other
 * respect) and compares, exactly, the keys whose hashes {@linkcode readDataFile} saw more than
 * once. Returns one finding naming the lines, or nothing when every candidate was a hash
 * collision.
 */
export async function duplicateKeyProblems(
  bytes: ReadableStream<Uint8Array>,
  entry: CollectionEntry,
  candidates: ReadonlySet<string>,
  signal?: AbortSignal,
): Promise<string[]> {
  const read = readDataFile(bytes, entry, { quick: false });
  const key = keySpec(entry);
  const first = new Map<string, number>();
  const repeats: string[] = [];
  let total = 0;
  let line = 0;
  const latin1 = new TextDecoder("latin1");
  await read.documents!.pipeTo(
    new WritableStream({
      write(page) {
        for (const doc of page) {
          line++;
          const k = documentKey(doc, key);
          if (k === null || !candidates.has(hashName(keyHash(k)))) continue;
          const text = latin1.decode(k);
          const seen = first.get(text);
          if (seen === undefined) first.set(text, line);
          else {
            total++;
            if (repeats.length < MAX_DUPLICATES_SHOWN) {
              repeats.push(`line ${line} repeats the ${keyLabel(entry, doc)} of line ${seen}`);
            }
          }
        }
      },
    }),
    signal ? { signal } : {},
  );
  await read.figures;
  if (total === 0) return [];
  const what = entry.kind === "collection" ? "_id" : "primary key";
  return [
    `${total} line(s) repeat the ${what} of an earlier line, which a restore cannot write twice: ${
      repeats.join("; ")
    }${total > repeats.length ? `; and ${total - repeats.length} more` : ""}`,
  ];
}

function keyLabel(entry: CollectionEntry, doc: RawDocument): string {
  if (entry.kind === "collection") return describeId(doc);
  return "primary key";
}

/**
 * Compares what was read with what the manifest promised; empty when they agree. In quick mode
 * only hash and size are compared.
 */
export function dataFileProblems(f: DataFileFigures, entry: CollectionEntry): string[] {
  const problems: string[] = [];
  if (f.sizeBytes !== entry.data_size_bytes) {
    problems.push(`size is ${f.sizeBytes} bytes, the manifest says ${entry.data_size_bytes}`);
  }
  if (f.sha256 !== entry.data_sha256) {
    problems.push(
      `SHA-256 is ${f.sha256.slice(0, 16)}…, the manifest says ${entry.data_sha256?.slice(0, 16)}…`,
    );
  }
  if (f.uncompressedBytes !== null && f.uncompressedBytes !== entry.uncompressed_size_bytes) {
    problems.push(
      `holds ${f.uncompressedBytes} bytes of JSON Lines, the manifest says ${entry.uncompressed_size_bytes}`,
    );
  }
  if (f.stats) {
    if (f.stats.documents !== entry.document_count) {
      problems.push(
        `holds ${f.stats.documents} documents, the manifest says ${entry.document_count}`,
      );
    }
    const declared = vectorStats(entry);
    for (const d of declared) {
      const v = f.stats.vectors.find((x) => x.field === d.field);
      if (v && v.withVector !== d.documents_with_vector) {
        problems.push(
          `${v.withVector} documents have a ${d.field}, the manifest says ${d.documents_with_vector}`,
        );
      }
    }
  }
  return problems;
}
