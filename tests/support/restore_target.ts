/**
 * The target side of restore tests: an empty fake Data API and a temporary directory, the CLI's
 * `restore` pointed at it (with an unknown ASTRA_DB_KEYSPACE, which restore must ignore), and the
 * documents a collection of the fake holds.
 */

import assert from "node:assert/strict";
import { FakeDataApi } from "../fakes/data_api/server.ts";
import { fakeEnv, NOT_A_KEYSPACE, runCli } from "../e2e/run_cli.ts";

/** A fake target and a temporary directory, both removed by `await using`. */
export interface RestoreTarget {
  target: FakeDataApi;
  dir: string;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Starts an empty fake Data API (with `options`) and a temporary directory named `prefix…`. */
export async function restoreTarget(
  options: Parameters<typeof FakeDataApi.start>[0] = {},
  prefix = "astrabak-restore-",
): Promise<RestoreTarget> {
  const target = await FakeDataApi.start(options);
  const dir = await Deno.makeTempDir({ prefix });
  return {
    target,
    dir,
    async [Symbol.asyncDispose]() {
      await target.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** Runs `astrabak restore …args` against the target. */
export function restoreInto(
  t: { target: FakeDataApi; dir: string },
  args: string[],
  env: Record<string, string> = {},
): ReturnType<typeof runCli> {
  return runCli(["restore", ...args], {
    dir: t.dir,
    env: fakeEnv(t.target, { ASTRA_DB_KEYSPACE: NOT_A_KEYSPACE, ...env }),
  });
}

/** Every stored document of a collection, as the server would return it with {"*": true}. */
export function docsOf(
  api: FakeDataApi,
  collection: string,
  keyspace = "default_keyspace",
): string[] {
  const c = api.store.keyspace(keyspace).get(collection);
  assert.ok(c, `${keyspace}.${collection} exists`);
  return [...c.docs.values()].map((d) => d.full).sort();
}
