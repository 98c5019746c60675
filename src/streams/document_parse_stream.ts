import { JsonSyntaxError } from "../json/byte_json.ts";
import { type InspectOptions, parseDocumentLine, type RawDocument } from "../json/raw_document.ts";

/** A line of a data file that is not one JSON object. */
export class LineParseError extends SyntaxError {
  override readonly name: string = "LineParseError";
}

/**
 * Parses JSON Lines (already split) into raw documents with the same inspector the backup used,
 * failing on the first line that is not exactly one JSON object.
 */
export class DocumentParseStream extends TransformStream<Uint8Array[], RawDocument[]> {
  constructor(inspect: InspectOptions) {
    let lineNo = 0;
    super({
      transform(lines, controller) {
        const docs: RawDocument[] = [];
        for (const line of lines) {
          lineNo++;
          try {
            docs.push(parseDocumentLine(line, inspect));
          } catch (e) {
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
