/**
 * @module
 * The one manifest module. Backup, verify, restore, zip, list and upload all read and write
 * `manifest.json` through here; no other module parses manifest JSON or decides its validity.
 * The format is specified in docs/FORMAT.md and docs/manifest.schema.json.
 */

export * from "./types.ts";
export * from "./version.ts";
export * from "./definition.ts";
export { dataFileName, MANIFEST_FILE, MAX_LINE_BYTES } from "./names.ts";
export { ManifestError, MAX_MANIFEST_BYTES, parseManifest } from "./read.ts";
export { manifestProblems } from "./validate.ts";
export { serializeManifest, writeManifest } from "./write.ts";
