import { DocumentRuleError, JsonSyntaxError } from "../json/byte_json.ts";
import { documentKey, type KeyHashes, type KeySpec } from "../json/document_key.ts";
import { type InspectOptions, parseDocumentLine, type RawDocument } from "../json/raw_document.ts";

/** A line of a data file that is not one JSON object, or one the Data API would not insert. */
export class LineParseError extends SyntaxError {
  override readonly name: string = "LineParseError";
}

/** Options of {@linkcode DocumentParseStream}. */
export interface DocumentParseOptions {
  inspect: InspectOptions;
  /** How documents are keyed: each key is checked as an insert would check it. */
  key: KeySpec;
  /** Where to record every key's hash (verify's duplicate search), if anywhere. */
  hashes?: KeyHashes | undefined;
  /**
   * Longest document the Data API stores, in characters of its JSON (`max-size`, 4,000,000;
   * stargate/data-api `DocumentShredder.validateDocumentSize`). Collections only.
   */
  maxDocumentChars?: number | undefined;
}

/** `max-size` of stargate/data-api `DocumentLimitsConfig` (1,000,000 before v1.0.0-BETA-9). */
export const MAX_DOCUMENT_CHARS = 4_000_000;

/**
 * Parses JSON Lines (already split) into raw documents with the same inspector the backup used,
 * failing on the first line that is not exactly one JSON object or that an insert would refuse
 * (document rules, `_id` or primary key), naming the line.
 */
export class DocumentParseStream extends TransformStream<Uint8Array[], RawDocument[]> {
  constructor(options: DocumentParseOptions) {
    let lineNo = 0;
    const { inspect, key, hashes } = options;
    const maxChars = options.maxDocumentChars;
    super({
      transform(lines, controller) {
        const docs: RawDocument[] = [];
        for (const line of lines) {
          lineNo++;
          try {
            const doc = parseDocumentLine(line, inspect);
            // Bytes are at least UTF-16 units, so only long lines need counting.
            if (maxChars !== undefined && doc.bytes.length > maxChars) {
              const chars = decoder.decode(doc.bytes).length;
              if (chars > maxChars) {
                throw new DocumentRuleError(
                  `the document is ${chars} characters long, over the ${maxChars} allowed`,
                  "SHRED_DOC_LIMIT_VIOLATION",
                );
              }
            }
            const k = documentKey(doc, key);
            if (k !== null) hashes?.add(k);
            docs.push(doc);
          } catch (e) {
            if (e instanceof DocumentRuleError) {
              throw new LineParseError(
                `line ${lineNo}: the Data API would refuse this document: ${e.message}`,
              );
            }
            if (e instanceof JsonSyntaxError) {
              throw new LineParseError(
                `line ${lineNo} is not a valid JSON document (${e.message})`,
              );
            }
            throw e;
          }
        }
        controller.enqueue(docs);
      },
    });
  }
}

const decoder = new TextDecoder();
