/** Thrown by {@linkcode LineSplitStream} for a line over the limit or a missing final newline. */
export class LineError extends RangeError {
  override readonly name: string = "LineError";
}

/**
 * Splits bytes into `\n`-terminated lines (without the `\n`), emitting one array of lines per
 * input chunk. A line longer than `maxLineBytes` fails the stream before it is buffered whole, so a
 * hostile file cannot exhaust memory; trailing bytes without a final newline (a truncated file)
 * fail it at the end.
 */
export class LineSplitStream extends TransformStream<Uint8Array, Uint8Array[]> {
  constructor(maxLineBytes: number) {
    let pending: Uint8Array[] = [];
    let pendingBytes = 0;
    let lineNo = 0;
    super({
      transform(chunk, controller) {
        const lines: Uint8Array[] = [];
        let start = 0;
        for (;;) {
          const nl = chunk.indexOf(0x0a, start);
          if (nl === -1) break;
          lineNo++;
          let line = chunk.subarray(start, nl);
          if (pendingBytes > 0) {
            line = concat([...pending, line], pendingBytes + line.byteLength);
            pending = [];
            pendingBytes = 0;
          }
          if (line.byteLength > maxLineBytes) {
            throw new LineError(`line ${lineNo} is longer than ${maxLineBytes} bytes`);
          }
          lines.push(line);
          start = nl + 1;
        }
        if (start < chunk.byteLength) {
          const rest = chunk.subarray(start);
          pendingBytes += rest.byteLength;
          if (pendingBytes > maxLineBytes) {
            throw new LineError(`line ${lineNo + 1} is longer than ${maxLineBytes} bytes`);
          }
          pending.push(rest.slice());
        }
        if (lines.length > 0) controller.enqueue(lines);
      },
      flush() {
        if (pendingBytes > 0) {
          throw new LineError(
            `the last line (${lineNo + 1}) has no final newline: the file is truncated`,
          );
        }
      },
    });
  }
}

function concat(parts: Uint8Array[], size: number): Uint8Array {
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}
