/**
 * @module
 * The exit-code table. Scripts and cron wrappers depend on these numbers; the README, every
 * command's help and the end-to-end tests use this one table. Treat any other code as failure.
 */

/** Process exit codes of astrabak. */
export const ExitCode = {
  /** Everything asked for was done and proven. */
  Ok: 0,
  /** Configuration, usage, authentication or connection error before anything useful was written. */
  Config: 1,
  /** A snapshot is incomplete (a collection failed) or a snapshot failed verification. */
  Incomplete: 2,
  /**
   * The local snapshot is good but packing its zip, the off-host upload, or the prune after it
   * (`backup --keep-*`) failed; it is kept.
   */
  UploadFailed: 3,
  /**
   * Stopped by SIGINT, SIGTERM or SIGHUP; unfinished work (snapshot, zip, download) was removed,
   * a finished snapshot is kept.
   */
  Interrupted: 130,
} as const;

/** One of the {@linkcode ExitCode} values. */
export type ExitCode = typeof ExitCode[keyof typeof ExitCode];

/** The table as shown in help texts and the README. */
export const EXIT_CODE_HELP = `Exit status:
  0    ok: everything asked for was done and proven
  1    configuration, usage, authentication or connection error; nothing was written
  2    incomplete snapshot (a collection failed) or verification failed
  3    local snapshot good, but packing the zip, the upload or the prune after it failed (kept)
  130  interrupted by SIGINT/SIGTERM/SIGHUP (unfinished work removed; a finished snapshot is kept;
       a restore keeps what it wrote: finish it with --if-exists append)`;
