/**
 * @module
 * The off-host flags, defined once: `--to REMOTE` (backup, upload), `--from-remote REMOTE` (list,
 * prune, verify, restore, drill), `--box-folder`/`--box-retries` (kept: `--box-folder ID` means
 * `--to box:ID`), and the S3 settings. Settings of a backend are resolved (and its credentials
 * required) only for a remote of that kind.
 */

import { type Command, Option } from "commander";
import type { Env } from "../config/env.ts";
import { resolveS3, S3_SSE, type S3Flags, type S3Settings } from "../config/remote.ts";
import { DEFAULT_RETRIES, resolveBox } from "../config/resolve.ts";
import { ConfigError } from "../errors.ts";
import { parseRemote, type RemoteSettings, type RemoteSpec } from "../remote/mod.ts";
import { addBoxOption, collect, numberIn, rangeText, RETRIES_RANGE } from "./flags.ts";

/** The off-host flags as commander parses them. */
export interface RemoteFlags extends S3Flags {
  to?: string[];
  fromRemote?: string;
  boxFolder?: string;
  boxRetries?: number;
}

/** The remote forms, as help texts say them. */
export const REMOTE_FORMS = "box:FOLDER_ID or s3://BUCKET/PREFIX";

/**
 * Adds `--to` (`upload`: where copies go) or `--from-remote` (`read`: where snapshots are read),
 * then `--box-folder`/`--box-retries` with `boxWhat`, then the S3 settings.
 */
export function addRemoteOptions(cmd: Command, mode: "upload" | "read", boxWhat: string): Command {
  if (mode === "upload") {
    cmd.option(
      "--to <remote>",
      `also copy the zip off-host to ${REMOTE_FORMS} (repeatable; each upload is proven; any failure exits 3, the local copy kept)`,
      collect,
    );
  } else {
    cmd.option(
      "--from-remote <remote>",
      `read snapshots from ${REMOTE_FORMS} (or name one as REMOTE:latest, REMOTE:<name|timestamp>)`,
    );
  }
  addBoxOption(cmd, boxWhat);
  return cmd
    .option(
      "--s3-endpoint <url>",
      "S3-compatible endpoint for R2, MinIO, B2, GCS (env ASTRABAK_S3_ENDPOINT; default AWS; credentials from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE)",
    )
    .option("--s3-path-style", "address buckets as ENDPOINT/BUCKET (MinIO), not BUCKET.ENDPOINT")
    .option("--s3-storage-class <class>", "storage class of uploaded objects, e.g. STANDARD_IA")
    .addOption(
      new Option("--s3-sse <mode>", "server-side encryption of uploaded objects").choices([
        ...S3_SSE,
      ]),
    )
    .option("--s3-sse-kms-key-id <id>", "KMS key for --s3-sse aws:kms (default: the bucket's)")
    .option(
      "--s3-retries <n>",
      `retries of a failed S3 request (503 SlowDown, 5xx, network), ${rangeText(RETRIES_RANGE)}`,
      numberIn(RETRIES_RANGE),
      DEFAULT_RETRIES,
    );
}

/** How to open each backend, from flags and environment; each resolved at most once. */
export function remoteSettings(flags: RemoteFlags, env: Env): RemoteSettings {
  let s3: S3Settings | undefined;
  return {
    box: (folderId) => resolveBox({ boxFolder: folderId, boxRetries: flags.boxRetries }, env)!,
    s3: () => (s3 ??= resolveS3(flags, env)),
  };
}

/**
 * Where backup and upload copy to: every `--to`, plus the Box folder of `--box-folder` (or
 * BOX_FOLDER_ID, as before), each once. Settings are resolved now, so missing credentials fail
 * before any work.
 */
export function uploadTargets(
  flags: RemoteFlags,
  env: Env,
): { specs: RemoteSpec[]; settings: RemoteSettings } {
  const specs = (flags.to ?? []).map((t) => parseRemote(t, "--to"));
  const folder = flags.boxFolder ?? env.BOX_FOLDER_ID;
  if (folder !== undefined) specs.push(parseRemote(`box:${folder}`, "--box-folder"));
  return checked(dedupe(specs), flags, env);
}

/**
 * Where list and prune read: `--from-remote`, plus the Box folder of `--box-folder` (or
 * BOX_FOLDER_ID, as before).
 */
export function readTargets(
  flags: RemoteFlags,
  env: Env,
): { specs: RemoteSpec[]; settings: RemoteSettings } {
  const specs = flags.fromRemote === undefined
    ? []
    : [parseRemote(flags.fromRemote, "--from-remote")];
  const folder = flags.boxFolder ?? env.BOX_FOLDER_ID;
  if (folder !== undefined) specs.push(parseRemote(`box:${folder}`, "--box-folder"));
  return checked(dedupe(specs), flags, env);
}

function dedupe(specs: RemoteSpec[]): RemoteSpec[] {
  return specs.filter((s, i) => specs.findIndex((o) => o.label === s.label) === i);
}

function checked(specs: RemoteSpec[], flags: RemoteFlags, env: Env) {
  const settings = remoteSettings(flags, env);
  for (const s of specs) {
    if (s.kind === "box") settings.box(s.folderId);
    else settings.s3();
  }
  if (
    !specs.some((s) => s.kind === "s3") &&
    (flags.s3Endpoint !== undefined || flags.s3Sse !== undefined ||
      flags.s3StorageClass !== undefined || flags.s3PathStyle)
  ) {
    throw new ConfigError("Cannot use --s3-* flags without an s3:// remote", {
      hint: "add --to s3://BUCKET/PREFIX (or --from-remote), or drop the --s3-* flags",
    });
  }
  return { specs, settings };
}
