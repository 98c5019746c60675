import assert from "node:assert/strict";
import { pruneLocations } from "./prune.ts";

const BOX_ENV = {
  BOX_CLIENT_ID: "id",
  BOX_CLIENT_SECRET: "prune-test-secret",
  BOX_ENTERPRISE_ID: "1",
};

Deno.test("pruneLocations: the default directory only when no place is named", () => {
  assert.deepEqual(pruneLocations({}, {}), { localDir: "./backups", box: null });
  assert.equal(pruneLocations({ from: "/b" }, {}).localDir, "/b");
  // A Box folder alone prunes Box only; with --from or ASTRABAK_OUT, both.
  const boxOnly = pruneLocations({ boxFolder: "42" }, BOX_ENV);
  assert.equal(boxOnly.localDir, null);
  assert.equal(boxOnly.box?.folderId, "42");
  assert.equal(pruneLocations({ boxFolder: "42", from: "/b" }, BOX_ENV).localDir, "/b");
  const both = pruneLocations({}, { ...BOX_ENV, BOX_FOLDER_ID: "7", ASTRABAK_OUT: "/o" });
  assert.equal(both.localDir, "/o");
  assert.equal(both.box?.folderId, "7");
});
