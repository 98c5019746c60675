/**
 * @module
 * The only writer to the terminal. Logs (timestamped, text or JSON lines) go to stderr; the final
 * result goes to stdout (a human summary, or one JSON object with `--json`). Every string passes
 * through secret redaction on its way out.
 */

import { redactSecrets } from "../config/secrets.ts";
import { noProgress, type Progress } from "../progress/progress.ts";
import type { LogFields, Reporter } from "../reporter.ts";

/** How logs are rendered. */
export type LogFormat = "text" | "json";

/** Options of {@linkcode Output}. */
export interface OutputOptions {
  /** Print the final report as JSON on stdout. */
  json: boolean;
  logFormat: LogFormat;
  /** Also print debug lines. */
  verbose: boolean;
}

/** Something bytes can be written to synchronously (Deno.stdout/stderr, or a test buffer). */
export interface SyncWriter {
  writeSync(p: Uint8Array): number;
}

const encoder = new TextEncoder();

/** Terminal output; also the {@linkcode Reporter} handed to domain modules. */
export class Output implements Reporter {
  readonly options: OutputOptions;
  readonly #stdout: SyncWriter;
  readonly #stderr: SyncWriter;
  /** Per-collection progress (set by openOutput from --progress); log lines are kept above it. */
  progress: Progress = noProgress;
  /** The last final report printed (what --metrics-file describes once the exit code is known). */
  lastResult: unknown = undefined;

  constructor(
    options: OutputOptions,
    stdout: SyncWriter = Deno.stdout,
    stderr: SyncWriter = Deno.stderr,
  ) {
    this.options = options;
    this.#stdout = stdout;
    this.#stderr = stderr;
  }

  info(message: string, fields?: LogFields): void {
    this.#log("info", message, fields);
  }
  warn(message: string, fields?: LogFields): void {
    this.#log("warn", message, fields);
  }
  error(message: string, fields?: LogFields): void {
    this.#log("error", message, fields);
  }
  debug(message: string, fields?: LogFields): void {
    if (this.options.verbose) this.#log("debug", message, fields);
  }

  /** Prints the command's result: `json` with --json, otherwise the human `lines`. */
  result(json: unknown, lines: string[]): void {
    this.progress.stop();
    this.lastResult = json;
    const text = this.options.json ? JSON.stringify(json, null, 2) : lines.join("\n");
    writeAll(this.#stdout, redactSecrets(text) + "\n");
  }

  /** Prints text to stdout unchanged but redacted (help, version). */
  stdout(text: string): void {
    this.progress.stop();
    writeAll(this.#stdout, redactSecrets(text));
  }

  /** Prints text to stderr unchanged but redacted (usage errors). */
  stderr(text: string): void {
    writeAll(this.#stderr, redactSecrets(text));
  }

  #log(level: "info" | "warn" | "error" | "debug", message: string, fields?: LogFields): void {
    const ts = new Date().toISOString();
    let line: string;
    if (this.options.logFormat === "json") {
      line = JSON.stringify({ ts, level, msg: message, ...fields });
    } else {
      const extra = fields
        ? Object.entries(fields).filter(([, v]) => v !== undefined).map(([k, v]) => ` ${k}=${v}`)
          .join("")
        : "";
      line = `${ts} ${level.toUpperCase().padEnd(5)} ${message}${extra}`;
    }
    const text = redactSecrets(line);
    if (!this.progress.printAbove?.(text)) writeAll(this.#stderr, text + "\n");
  }
}

function writeAll(w: SyncWriter, text: string): void {
  const bytes = encoder.encode(text);
  let off = 0;
  while (off < bytes.byteLength) off += w.writeSync(bytes.subarray(off));
}
