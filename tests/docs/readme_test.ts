/**
 * The README's set-up is two commands on a fresh machine with Node.js: `npx -y deno@<pinned>
 * task demo` and `… task test`. They must name the Deno that tools/package.json pins (the one CI
 * installs with `npm ci --prefix tools`), and those tasks must exist in deno.json.
 */

import assert from "node:assert/strict";

const root = new URL("../../", import.meta.url);

Deno.test("README: the two set-up commands run the pinned Deno's demo and test tasks", async () => {
  const readme = await Deno.readTextFile(new URL("README.md", root));
  const pinned = JSON.parse(await Deno.readTextFile(new URL("tools/package.json", root)))
    .dependencies.deno as string;
  const tasks = JSON.parse(await Deno.readTextFile(new URL("deno.json", root))).tasks;
  const start = readme.indexOf("## Two commands");
  assert.ok(start >= 0, "README has a Two commands section");
  const setUp = readme.slice(start, readme.indexOf("\n## ", start + 1));
  const commands = [...setUp.matchAll(/^npx -y deno@(\S+) task (\S+)/gm)];
  assert.deepEqual(commands.map((m) => m[2]), ["demo", "test"], setUp);
  for (const m of commands) {
    assert.equal(m[1], pinned, `${m[0]} names the Deno tools/package.json pins`);
    assert.ok(tasks[m[2]!], `deno.json has a ${m[2]} task`);
  }
  // The path for servers and CI: the lockfile-checked install of the same Deno.
  assert.match(setUp, /npm ci --prefix tools/);
  assert.equal(
    await Deno.readTextFile(new URL(".ci/run", root)).then((s) => /npm ci --prefix tools/.test(s)),
    true,
  );
});
