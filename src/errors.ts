/**
 * @module
 * Typed errors. Modules throw these; only `main.ts` turns them into exit codes and one-line
 * messages. Messages name the collection or file and the fix, and never contain a secret.
 */

import { ExitCode } from "./exit_codes.ts";

/** Base of every expected failure: carries its exit code and an optional hint naming the fix. */
export abstract class AstrabakError extends Error {
  abstract readonly exitCode: ExitCode;
  /** The exact flag, variable or command that fixes the problem, when one is known. */
  readonly hint: string | undefined;
  constructor(message: string, options: { hint?: string | undefined; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.hint = options.hint;
  }
}

/** Bad flags, missing settings or unreadable inputs: nothing was done. */
export class ConfigError extends AstrabakError {
  override readonly name: string = "ConfigError";
  readonly exitCode = ExitCode.Config;
}

/**
 * The target cannot create a definition the snapshot holds (restore's capability check, before
 * anything is written): a configuration error for restore, the finding of a failed drill.
 */
export class DefinitionRefusedError extends ConfigError {
  override readonly name: string = "DefinitionRefusedError";
  /** Each refused target (`keyspace.name`) and the server's reason. */
  readonly refused: ReadonlyArray<{ target: string; why: string }>;
  constructor(
    message: string,
    refused: ReadonlyArray<{ target: string; why: string }>,
    options: { hint?: string | undefined; cause?: unknown } = {},
  ) {
    super(message, options);
    this.refused = refused;
  }
}

/** How a Data API request failed. */
export type SourceErrorKind =
  | "auth" // 401: token missing, invalid or revoked
  | "connection" // network failure or connection dropped mid-response
  | "timeout" // no complete answer within the request timeout
  | "http" // non-2xx answer other than 401
  | "protocol" // answer that is not the JSON the Data API sends (for example truncated)
  | "command"; // the Data API answered with an error inside `errors[]`

/** A failed Data API request, after any retries. Keeps the wire details for reports. */
export class SourceError extends AstrabakError {
  override readonly name: string = "SourceError";
  readonly exitCode = ExitCode.Config;
  readonly kind: SourceErrorKind;
  /** The Data API command, e.g. `find`. */
  readonly command: string;
  /** HTTP status when one was received. */
  readonly status: number | undefined;
  /** `errorCode` of the first Data API error descriptor, when present. */
  readonly errorCode: string | undefined;
  /** Whether repeating the same request may succeed. */
  readonly retriable: boolean;
  /** Server-requested delay (`Retry-After`) in milliseconds. */
  readonly retryAfterMs: number | undefined;
  constructor(
    message: string,
    details: {
      kind: SourceErrorKind;
      command: string;
      status?: number | undefined;
      errorCode?: string | undefined;
      retriable: boolean;
      retryAfterMs?: number | undefined;
      hint?: string | undefined;
      cause?: unknown;
    },
  ) {
    super(message, { hint: details.hint, cause: details.cause });
    this.kind = details.kind;
    this.command = details.command;
    this.status = details.status;
    this.errorCode = details.errorCode;
    this.retriable = details.retriable;
    this.retryAfterMs = details.retryAfterMs;
  }
}

/** A snapshot was written but is incomplete (some collection failed). */
export class IncompleteSnapshotError extends AstrabakError {
  override readonly name: string = "IncompleteSnapshotError";
  readonly exitCode = ExitCode.Incomplete;
}

/** A snapshot or manifest failed a check. */
export class VerificationError extends AstrabakError {
  override readonly name: string = "VerificationError";
  readonly exitCode = ExitCode.Incomplete;
}

/** The local disk refused a write (full, read-only, permissions); the partial snapshot was removed. */
export class StorageError extends AstrabakError {
  override readonly name: string = "StorageError";
  readonly exitCode = ExitCode.Incomplete;
}

/** The off-host upload failed after the local snapshot was finished. */
export class UploadError extends AstrabakError {
  override readonly name: string = "UploadError";
  readonly exitCode = ExitCode.UploadFailed;
}

/** The run was stopped by a signal. */
export class InterruptedError extends AstrabakError {
  override readonly name: string = "InterruptedError";
  readonly exitCode = ExitCode.Interrupted;
}

/** The message of any thrown value, for reports (Deno I/O errors in words, see {@linkcode ioReason}). */
export function errorMessage(e: unknown): string {
  if (isDenoIoError(e)) return describeIoError(e);
  return e instanceof Error ? e.message : String(e);
}

/**
 * Deno's I/O error classes in plain words. Their names (`IsADirectory`, `PermissionDenied`…) mean
 * nothing to a user reading cron mail; the sentence around the reason names the file.
 */
const IO_REASONS: ReadonlyArray<[new (...args: never[]) => Error, string]> = [
  [Deno.errors.NotFound, "no such file or directory"],
  [Deno.errors.PermissionDenied, "permission denied"],
  [Deno.errors.NotCapable, "the permission sandbox does not allow it"],
  [Deno.errors.IsADirectory, "it is a directory"],
  [Deno.errors.NotADirectory, "not a directory"],
  [Deno.errors.AlreadyExists, "it already exists"],
  [Deno.errors.InvalidData, "the data is not valid"],
  [Deno.errors.FilesystemLoop, "too many levels of symbolic links"],
  [Deno.errors.UnexpectedEof, "it ended unexpectedly"],
  [Deno.errors.WriteZero, "nothing could be written"],
  [Deno.errors.BrokenPipe, "the other end was closed"],
  [Deno.errors.TimedOut, "timed out"],
  [Deno.errors.ConnectionRefused, "connection refused"],
  [Deno.errors.ConnectionReset, "connection reset"],
  [Deno.errors.Busy, "it is busy"],
  [Deno.errors.NotSupported, "the operation is not supported here"],
];

/** Whether `e` is one of Deno's I/O error classes (`Deno.errors.*`). */
export function isDenoIoError(e: unknown): e is Error {
  return e instanceof Error && Object.values(Deno.errors).some((c) => e instanceof c);
}

/** Why an I/O operation failed, in words and without the path (callers name the file). */
export function ioReason(e: unknown): string {
  for (const [cls, reason] of IO_REASONS) if (e instanceof cls) return reason;
  if (!(e instanceof Error)) return String(e);
  // "No space left on device (os error 28): write '/x'" → "No space left on device"
  const first = e.message.split("\n")[0] ?? e.name;
  return first.replace(/ \(os error \d+\).*$/, "").replace(/^./, (c) => c.toLowerCase());
}

/**
 * A Deno I/O error as one line: the reason in words plus the operation and path Deno names
 * (`is a directory (read '/etc')`).
 */
export function describeIoError(e: Error): string {
  const op = /\(os error \d+\): (.*)$/.exec(e.message.split("\n")[0] ?? "")?.[1] ??
    /^[^:]*: (\w+ '.*')$/.exec(e.message.split("\n")[0] ?? "")?.[1];
  return op ? `${ioReason(e)} (${op})` : ioReason(e);
}

/**
 * The fix for a host outside the binary's `--allow-net` (Data API, Box or S3 alike): one wording,
 * so every "sandbox denied" error tells the user the same two ways out.
 */
export function netSandboxHint(host: string): string {
  return `rebuild with ASTRABAK_ALLOW_NET=${host} deno task compile (or run with --allow-net=${host})`;
}
