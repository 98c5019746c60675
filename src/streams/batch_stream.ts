import type { RawDocument } from "../json/raw_document.ts";

/**
 * Regroups pages of documents into insert batches of at most `maxDocuments` documents and
 * `maxBytes` bytes of JSON (a single larger document still goes alone), so every request stays
 * under the Data API's per-request document limit and well under its 20 MB body limit.
 */
export class BatchStream extends TransformStream<RawDocument[], RawDocument[]> {
  constructor(maxDocuments: number, maxBytes: number) {
    let batch: RawDocument[] = [];
    let bytes = 0;
    super({
      transform(page, controller) {
        for (const doc of page) {
          const size = doc.bytes.byteLength + 1;
          if (batch.length > 0 && (batch.length >= maxDocuments || bytes + size > maxBytes)) {
            controller.enqueue(batch);
            batch = [];
            bytes = 0;
          }
          batch.push(doc);
          bytes += size;
        }
      },
      flush(controller) {
        if (batch.length > 0) controller.enqueue(batch);
      },
    });
  }
}
