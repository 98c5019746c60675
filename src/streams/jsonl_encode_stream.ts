import type { RawDocument } from "../json/raw_document.ts";

/** What a {@linkcode JsonlEncodeStream} produced. */
export interface JsonlResult {
  /** Bytes written, newlines included. */
  bytes: number;
}

/**
 * Turns pages of raw documents into JSON Lines bytes: each document's bytes, untouched, followed
 * by `\n`. One output chunk per page keeps downstream stages (gzip, hashing) efficient.
 */
export class JsonlEncodeStream extends TransformStream<RawDocument[], Uint8Array> {
  /** Settles at flush with the totals. */
  readonly result: Promise<JsonlResult>;

  constructor() {
    let bytes = 0;
    let resolve!: (r: JsonlResult) => void;
    const result = new Promise<JsonlResult>((res) => (resolve = res));
    super({
      transform(page, controller) {
        let size = 0;
        for (const d of page) size += d.bytes.byteLength + 1;
        const out = new Uint8Array(size);
        let at = 0;
        for (const d of page) {
          out.set(d.bytes, at);
          at += d.bytes.byteLength;
          out[at++] = 0x0a;
        }
        bytes += size;
        controller.enqueue(out);
      },
      flush() {
        resolve({ bytes });
      },
    });
    this.result = result;
  }
}
