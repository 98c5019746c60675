/**
 * @module
 * The tool's name and version, recorded in every manifest and printed by `--version`. The version
 * lives in deno.json only.
 */

import denoJson from "../deno.json" with { type: "json" };

/** Tool name as recorded in manifests. */
export const TOOL_NAME = "astrabak";
/** Tool version (from deno.json). */
export const VERSION: string = denoJson.version;
