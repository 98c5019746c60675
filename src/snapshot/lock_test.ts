import assert from "node:assert/strict";
import { join } from "node:path";
import { enclosingSnapshot, lockOutDir } from "./lock.ts";

Deno.test("enclosingSnapshot: a directory holding an astrabak manifest, or a working directory, and what lies inside", async () => {
  const dir = await Deno.makeTempDir({ prefix: "astrabak-lock-" });
  try {
    const snap = join(dir, "renamed");
    await Deno.mkdir(snap);
    await Deno.writeTextFile(join(snap, "manifest.json"), '{"backup_format_version":2}');
    const working = join(dir, ".20261125_000000.inprogress");
    await Deno.mkdir(working);
    const dated = join(dir, "20250101_120000"); // the user's own dated folder, no manifest
    await Deno.mkdir(dated);
    const web = join(dir, "site"); // someone else's manifest.json
    await Deno.mkdir(web);
    await Deno.writeTextFile(join(web, "manifest.json"), '{"name":"app"}');

    assert.equal(await enclosingSnapshot(snap), snap);
    assert.equal(await enclosingSnapshot(join(snap, "a", "b")), snap);
    assert.equal(await enclosingSnapshot(join(working, "x")), working);
    assert.equal(await enclosingSnapshot(join(dated, "astra")), null);
    assert.equal(await enclosingSnapshot(join(web, "backups")), null);
    assert.equal(await enclosingSnapshot(dir), null);

    await assert.rejects(lockOutDir(join(snap, "sub"), { holder: "test", flag: "--out" }), {
      message: new RegExp(`Refusing to write into .*: it lies inside the snapshot ${snap}`),
    });
    assert.equal(await Deno.stat(join(snap, "sub")).then(() => true, () => false), false);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
