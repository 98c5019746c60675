/** File name of the manifest at the root of every snapshot. */
export const MANIFEST_FILE = "manifest.json";
