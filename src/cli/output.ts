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
  #pending: { json: unknown; lines: string[] } | undefined;
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

  /**
   * Records the command's result: `json` with --json, otherwise the human `lines`. It is printed
   * by {@linkcode flushResult} once main.ts knows the exit code, so that every JSON report
   * carries `exit_code` and stdout never holds two objects (a report, then an error).
   */
  result(json: unknown, lines: string[]): void {
    this.progress.stop();
    this.lastResult = json;
    this.#pending = { json, lines };
  }

  /** Prints the recorded result, the JSON one with `exit_code` added; at most once. */
  flushResult(exitCode: number): void {
    const r = this.#pending;
    this.#pending = undefined;
    if (!r) return;
    const json = r.json !== null && typeof r.json === "object" && !Array.isArray(r.json)
      ? { ...r.json, exit_code: exitCode }
      : r.json;
    this.#writeResult(json, r.lines);
  }

  #writeResult(json: unknown, lines: string[]): void {
    this.progress.stop();
    const text = this.options.json ? JSON.stringify(json, null, 2) : lines.join("\n");
    writeAll(this.#stdout, redactSecrets(text) + "\n");
  }

  /**
   * Reports a failure as the run's result: with --json, one object on stdout
   * (`status`, `error`, `message`, `hint`, `exit_code`); the message and hint also go to the log.
   */
  failure(
    error: string,
    message: string,
    hint: string | undefined,
    exitCode: number,
    /** What the log line says instead of `message` (e.g. with a stack trace). */
    logged = message,
  ): void {
    this.error(logged);
    if (hint) this.error(`hint: ${hint}`);
    this.#pending = undefined;
    if (this.options.json) {
      this.#writeResult({
        status: "error",
        error,
        message,
        ...(hint ? { hint } : {}),
        exit_code: exitCode,
      }, []);
    }
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

/**
 * Writes all of `text`. A terminal or pipe that has gone away (an SSH session that dropped: the
 * SIGHUP case) swallows the rest instead of throwing, so the run still cleans up and exits with
 * its own code (130) rather than failing on its own log line.
 */
function writeAll(w: SyncWriter, text: string): void {
  const bytes = encoder.encode(text);
  let off = 0;
  try {
    while (off < bytes.byteLength) off += w.writeSync(bytes.subarray(off));
  } catch (e) {
    if (!readerGone(e)) throw e;
  }
}

/** EPIPE (the reading end closed) or EIO (the terminal hung up). */
function readerGone(e: unknown): boolean {
  return e instanceof Deno.errors.BrokenPipe ||
    (e instanceof Error &&
      /\bEIO\b|os error 5\b/.test(`${(e as { code?: string }).code} ${e.message}`));
}
