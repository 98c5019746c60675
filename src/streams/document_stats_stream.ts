import type { RawDocument, VectorKind } from "../json/raw_document.ts";

/** Counts for one vector field across a collection. */
export interface VectorFieldStats {
  field: string;
  /** Dimension the definition declares (null when it declares none). */
  expectedDimension: number | null;
  /** Documents whose field holds a vector. */
  withVector: number;
  /** Documents without the field, or with `null`. */
  withoutVector: number;
  /** How the vectors were represented on the wire. */
  array: number;
  binary: number;
}

/** What a {@linkcode DocumentStatsStream} counted. */
export interface DocumentStats {
  documents: number;
  vectors: VectorFieldStats[];
}

/** Options of {@linkcode DocumentStatsStream}. */
export interface DocumentStatsOptions {
  /** `ks.name`, used in error messages. */
  label: string;
  /** Vector fields to measure, each with its declared dimension. */
  vectorFields: ReadonlyArray<{ field: string; dimension: number | null }>;
  /** Fail on a document without `_id` (collections always have one). */
  requireId: boolean;
}

/** A document that breaks the collection's own rules (wrong vector dimension, missing `_id`). */
export class DocumentCheckError extends Error {
  override readonly name: string = "DocumentCheckError";
}

const decoder = new TextDecoder();

/** Zero counts for each vector field: where counting starts (and a resumed count restarts). */
export function emptyVectorStats(
  vectorFields: DocumentStatsOptions["vectorFields"],
): VectorFieldStats[] {
  return vectorFields.map((v) => ({
    field: v.field,
    expectedDimension: v.dimension,
    withVector: 0,
    withoutVector: 0,
    array: 0,
    binary: 0,
  }));
}

/**
 * Pass-through stage that counts documents and vectors and fails fast on a document whose vector
 * is malformed or has the wrong dimension. Backup and verify both count through this stage, so
 * the manifest's figures and verify's recomputation cannot drift apart.
 */
export class DocumentStatsStream extends TransformStream<RawDocument[], RawDocument[]> {
  /** Settles at flush with the counts. */
  readonly result: Promise<DocumentStats>;

  constructor(options: DocumentStatsOptions) {
    const vectors = emptyVectorStats(options.vectorFields);
    let documents = 0;
    let resolve!: (s: DocumentStats) => void;
    const result = new Promise<DocumentStats>((res) => (resolve = res));
    super({
      transform(page, controller) {
        for (const doc of page) {
          documents++;
          if (options.requireId && doc.id === null) {
            throw new DocumentCheckError(
              `document #${documents} in ${options.label} has no _id`,
            );
          }
          for (const stats of vectors) {
            const v = doc.vectors.find((x) => x.field === stats.field);
            countVector(stats, v?.kind ?? "null", v?.dimension ?? 0, doc, options.label);
          }
        }
        controller.enqueue(page);
      },
      flush() {
        resolve({ documents, vectors });
      },
    });
    this.result = result;
  }
}

function countVector(
  stats: VectorFieldStats,
  kind: VectorKind,
  dimension: number,
  doc: RawDocument,
  label: string,
): void {
  if (kind === "null") {
    stats.withoutVector++;
    return;
  }
  if (kind === "invalid") {
    throw new DocumentCheckError(
      `document ${
        describeId(doc)
      } in ${label} has a malformed ${stats.field} (not an array of numbers or {"$binary": …} of float32)`,
    );
  }
  if (stats.expectedDimension !== null && dimension !== stats.expectedDimension) {
    throw new DocumentCheckError(
      `document ${
        describeId(doc)
      } in ${label} has a ${stats.field} of dimension ${dimension}, but the definition says ${stats.expectedDimension}`,
    );
  }
  stats.withVector++;
  if (kind === "array") stats.array++;
  else stats.binary++;
}

/** `_id=<raw json>`, shortened for messages. */
export function describeId(doc: RawDocument): string {
  if (doc.id === null) return "(no _id)";
  const text = decoder.decode(doc.id);
  return `_id=${text.length > 80 ? text.slice(0, 77) + "..." : text}`;
}
