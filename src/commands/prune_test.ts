import assert from "node:assert/strict";
import { pruneLocations } from "./prune.ts";

const BOX_ENV = {
  BOX_CLIENT_ID: "id",
  BOX_CLIENT_SECRET: "prune-test-secret",
  BOX_ENTERPRISE_ID: "1",
};

const labels = (l: ReturnType<typeof pruneLocations>) => l.remotes?.specs.map((s) => s.label);

Deno.test("pruneLocations: the default directory only when no place is named", () => {
  assert.deepEqual(pruneLocations({}, {}), { localDir: "./backups", remotes: null });
  assert.equal(pruneLocations({ from: "/b" }, {}).localDir, "/b");
  // A Box folder alone prunes Box only; with --from or ASTRABAK_OUT, both.
  const boxOnly = pruneLocations({ boxFolder: "42" }, BOX_ENV);
  assert.equal(boxOnly.localDir, null);
  assert.deepEqual(labels(boxOnly), ["box:42"]);
  assert.equal(pruneLocations({ boxFolder: "42", from: "/b" }, BOX_ENV).localDir, "/b");
  const both = pruneLocations({}, { ...BOX_ENV, BOX_FOLDER_ID: "7", ASTRABAK_OUT: "/o" });
  assert.equal(both.localDir, "/o");
  assert.deepEqual(labels(both), ["box:7"]);
  // --from-remote names one more; a remote alone leaves local snapshots alone.
  const s3 = pruneLocations({ fromRemote: "s3://bkt/nightly" }, {
    AWS_ACCESS_KEY_ID: "AKIAEXAMPLE",
    AWS_SECRET_ACCESS_KEY: "prune-test-aws-secret",
  });
  assert.equal(s3.localDir, null);
  assert.deepEqual(labels(s3), ["s3://bkt/nightly"]);
  assert.deepEqual(
    labels(pruneLocations({ fromRemote: "box:7" }, { ...BOX_ENV, BOX_FOLDER_ID: "7" })),
    [
      "box:7",
    ],
  );
});
