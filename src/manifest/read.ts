import { VerificationError } from "../errors.ts";
import { manifestProblems } from "./validate.ts";
import type { Manifest } from "./types.ts";
import { MAX_READ_VERSION, MIN_READ_VERSION } from "./version.ts";

/** Largest manifest accepted (a manifest for 100 000 collections is well under this). */
export const MAX_MANIFEST_BYTES = 64 * 1024 * 1024;

/** A manifest that cannot be trusted: not JSON, wrong shape, unknown version, inconsistent. */
export class ManifestError extends VerificationError {
  override readonly name: string = "ManifestError";
}

const decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * Parses and validates manifest bytes read from `where` (a path or zip entry, for messages).
 * Checks run in order: size, UTF-8 and JSON, format version (so a newer snapshot gets a clear
 * "upgrade" message rather than schema noise), schema, then cross-field consistency.
 */
export function parseManifest(bytes: Uint8Array, where: string): Manifest {
  if (bytes.byteLength > MAX_MANIFEST_BYTES) {
    throw new ManifestError(
      `Cannot read ${where}: ${bytes.byteLength} bytes is too large for a manifest`,
    );
  }
  let data: unknown;
  try {
    data = JSON.parse(decoder.decode(bytes));
  } catch (e) {
    const why = e instanceof SyntaxError ? e.message.split("\n")[0] : "not UTF-8 text";
    throw new ManifestError(`Cannot read ${where}: not valid JSON (${why})`);
  }
  if (typeof data !== "object" || data === null || Array.isArray(data)) {
    throw new ManifestError(`Cannot read ${where}: not a JSON object`);
  }
  const version = (data as { backup_format_version?: unknown }).backup_format_version;
  if (typeof version !== "number" || !Number.isInteger(version)) {
    throw new ManifestError(
      `Cannot read ${where}: backup_format_version is missing or not an integer`,
    );
  }
  if (version > MAX_READ_VERSION || version < MIN_READ_VERSION) {
    throw new ManifestError(
      `Cannot read ${where}: backup_format_version ${version} is not supported (this astrabak reads ${MIN_READ_VERSION}-${MAX_READ_VERSION})`,
      {
        hint: version > MAX_READ_VERSION
          ? "upgrade astrabak to read snapshots from a newer version"
          : undefined,
      },
    );
  }
  const problems = manifestProblems(data);
  if (problems.length > 0) {
    throw new ManifestError(`Invalid manifest ${where}: ${problems.join("; ")}`);
  }
  return data as Manifest;
}
