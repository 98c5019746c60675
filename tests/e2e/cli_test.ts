/**
 * The command line itself, end to end under the shipped sandbox: usage errors (redacted, JSON when
 * asked), bad input as one-line errors, failures no retry can cure, bounded flags, help texts,
 * and the exit code in every JSON report.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { FAKE_TOKEN } from "../fakes/data_api/server.ts";
import { seedSample } from "../fakes/data_api/sample_data.ts";
import { type CliResult, fakeEnv, runCli, withFakeDataApi } from "./run_cli.ts";

/** Nothing that looks like a stack trace or a raw Deno error class name. */
function assertOneLineError(r: CliResult, what: string): void {
  const all = r.stdout + r.stderr;
  assert.doesNotMatch(all, /internal error|\n\s+at /, `${what}: no stack trace\n${r.stderr}`);
  assert.doesNotMatch(
    all,
    /\b(IsADirectory|NotADirectory|NotFound|PermissionDenied|NotCapable|AlreadyExists|TypeError)\b/,
    `${what}: no raw error names\n${r.stderr}`,
  );
}

/** A port on 127.0.0.1 where nothing listens. */
function closedPort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

Deno.test("cli: usage errors never print a value given with = or anything that looks like a token", async () => {
  await using t = await withFakeDataApi();
  const cases: string[][] = [
    ["backup", "--token=AstraCS:SECRETVALUE"],
    ["backup", "--token", "AstraCS:SECRETVALUE"],
    ["AstraCS:SECRETVALUE"],
    ["backup", "--kind=SECRETVALUE"],
    ["backup", "--kind", "AstraCS:SECRETVALUE"],
    ["backup", "--parallel=SECRETVALUE"],
    ["verify", "x", "AstraCS:SECRETVALUE"],
    ["backup", "--bogus=SECRETVALUE", "--json"],
    ["backup", "--bogus=SECRETVALUE", "--log-format=json"],
    // Not a usage error, but a token typed into the wrong flag is masked all the same.
    ["backup", "--endpoint", "AstraCS:SECRETVALUE"],
  ];
  for (const args of cases) {
    const r = await runCli(args, { dir: t.dir, env: fakeEnv(t.api) });
    assert.equal(r.code, 1, `${args.join(" ")}: ${r.stderr}`);
    assert.ok(
      !(r.stdout + r.stderr).includes("SECRETVALUE"),
      `${args.join(" ")} printed the secret:\n${r.stdout}${r.stderr}`,
    );
  }
  const unknown = await runCli(["backup", "--token=AstraCS:SECRETVALUE"], { dir: t.dir });
  assert.match(unknown.stderr, /unknown option '--token=\*\*\*'/);
  assert.match(unknown.stderr, /run astrabak backup --help/);
});

Deno.test("cli: with --json stdout is always one JSON object; --log-format json makes errors JSON lines", async () => {
  await using t = await withFakeDataApi();
  const tokenFile = join(t.dir, "token");
  await Deno.writeTextFile(tokenFile, "AstraCS:one\nAstraCS:two\n");
  const cases: Array<[string[], string]> = [
    [["backup", "--json", "--parallel", "0"], "UsageError"],
    [["verify", "--json"], "UsageError"],
    [["--json", "--bogus"], "UsageError"],
    [["restore", "--json", "latest", "extra"], "UsageError"],
    [["backup", "--json", "--out", ""], "UsageError"],
    [["backup", "--json", "--out", t.out, "--token-file", tokenFile], "ConfigError"],
  ];
  for (const [args, error] of cases) {
    for (const logFormat of ["text", "json"]) {
      const r = await runCli([...args, "--log-format", logFormat], {
        dir: t.dir,
        env: fakeEnv(t.api),
      });
      assert.equal(r.code, 1, `${args.join(" ")}: ${r.stderr}`);
      const report = JSON.parse(r.stdout);
      assert.equal(report.status, "error", args.join(" "));
      assert.equal(report.error, error, args.join(" "));
      assert.equal(report.exit_code, 1);
      assert.equal(typeof report.message, "string");
      if (logFormat === "json") {
        const lines = r.stderr.trim().split("\n");
        for (const line of lines) assert.equal(JSON.parse(line).level, "error", line);
      }
    }
  }
  // Without --json: nothing on stdout, and --log-format json alone still gives JSON lines.
  const plain = await runCli(["backup", "--bogus", "--log-format", "json"], { dir: t.dir });
  assert.equal(plain.code, 1);
  assert.equal(plain.stdout, "");
  const first = JSON.parse(plain.stderr.trim().split("\n")[0]!);
  assert.match(first.msg, /unknown option '--bogus'/);
});

Deno.test("cli: bad input is a one-line error with exit 1, never a stack trace", async () => {
  await using t = await withFakeDataApi();
  seedSample(t.api.store, { articles: 3, dimension: 4 });
  const twoLines = join(t.dir, "two-lines");
  await Deno.writeTextFile(twoLines, `${FAKE_TOKEN}\n${FAKE_TOKEN}\n`);
  const cases: Array<[string[], Record<string, string>, RegExp]> = [
    [["backup", "--token-file", twoLines], {}, /token file .*two-lines.*: it has 2 lines/],
    [
      ["backup"],
      { ASTRA_DB_APPLICATION_TOKEN: "AstraCS:abc\ndef" },
      /token from ASTRA_DB_APPLICATION_TOKEN: it contains a line break at position 12/,
    ],
    [["backup", "--token-file", t.dir], {}, /Cannot read token file .*: it is a directory/],
    [["backup", "--out", ""], {}, /option '--out <dir>' is empty/],
    [["backup", "--token-file", ""], {}, /option '--token-file <path>' is empty/],
    [["backup", "--endpoint", ""], {}, /option '--endpoint <url>' is empty/],
    [["backup", "--endpoint", "not a url"], {}, /Cannot parse endpoint "not a url": not a URL/],
    [["backup", "--collections", ""], {}, /option '--collections <names>' is empty/],
    [["list", "--from", ""], {}, /option '--from <dir>' is empty/],
    [["restore", "latest", "--from", ""], {}, /option '--from <dir>' is empty/],
    [["verify", ""], {}, /argument 'path' is empty/],
    [["backup", "--out", twoLines], {}, /Cannot write snapshots into .*: it exists and is not a/],
    [["list", "--from", twoLines], {}, /Cannot list .*two-lines: not a directory/],
    [["zip", ""], {}, /argument 'snapshot-dir' is empty/],
  ];
  for (const [args, env, pattern] of cases) {
    const r = await runCli([...args, "--json"], { dir: t.dir, env: fakeEnv(t.api, env) });
    const what = args.join(" ");
    assert.equal(r.code, 1, `${what}: ${r.stderr}`);
    assert.match(r.stderr, pattern, what);
    assertOneLineError(r, what);
    assert.equal(JSON.parse(r.stdout).exit_code, 1, what);
  }
  assert.equal(
    t.api.requests.filter((q) => q.token !== FAKE_TOKEN).length,
    0,
    "no malformed token reached the Data API",
  );
  assert.deepEqual(await Deno.stat(t.out).then(() => ["exists"], () => []), []);
});

Deno.test("cli: failures no retry can cure fail at once: bad token bytes, a host outside the sandbox, a refused port", async () => {
  await using t = await withFakeDataApi();
  const port = closedPort();
  const cases: Array<[string[], Record<string, string>, RegExp, RegExp | null]> = [
    [
      ["backup"],
      { ASTRA_DB_APPLICATION_TOKEN: "AstraCS:abc\u0001def" },
      /token from ASTRA_DB_APPLICATION_TOKEN: it contains a control character at position 12/,
      null,
    ],
    [
      ["backup"],
      { ASTRA_DB_API_ENDPOINT: `http://127.0.0.2:${port}` },
      new RegExp(`Cannot connect to 127\\.0\\.0\\.2:${port}: the permission sandbox`),
      new RegExp(`ASTRABAK_ALLOW_NET=127\\.0\\.0\\.2:${port} deno task compile`),
    ],
    [
      ["backup"],
      { ASTRA_DB_API_ENDPOINT: `http://127.0.0.1:${port}` },
      new RegExp(`Cannot connect to http://127\\.0\\.0\\.1:${port}: connection refused`),
      /check --endpoint \(or ASTRA_DB_API_ENDPOINT\)/,
    ],
    [
      ["list", "--box-folder", "1", "--box-retries", "2"],
      {
        BOX_CLIENT_ID: "id",
        BOX_CLIENT_SECRET: "box-secret-value",
        BOX_ENTERPRISE_ID: "1",
        BOX_API_BASE_URL: `http://localhost:${port}`,
        BOX_UPLOAD_BASE_URL: `http://localhost:${port}`,
      },
      new RegExp(`permission sandbox \\(--allow-net\\) does not include localhost:${port}`),
      new RegExp(`ASTRABAK_ALLOW_NET=localhost:${port} deno task compile`),
    ],
  ];
  for (const [args, env, pattern, hint] of cases) {
    // Default --retries (5): before, each of these was retried with back-off for 10 s or more.
    const full = args[0] === "backup" ? [...args, "--out", t.out] : args;
    const r = await runCli(full, {
      dir: t.dir,
      env: fakeEnv(t.api, env),
    });
    const what = `${args.join(" ")} ${JSON.stringify(env)}`;
    assert.equal(r.code, 1, `${what}: ${r.stderr}`);
    assert.match(r.stderr, pattern, what);
    if (hint) assert.match(r.stderr, hint, what);
    assert.doesNotMatch(r.stderr, /retrying/, `${what}: not retried`);
    assertOneLineError(r, what);
  }
  assert.equal(t.api.requests.length, 0);
});

Deno.test("cli: the 401 hint names where the token actually came from", async () => {
  await using t = await withFakeDataApi();
  seedSample(t.api.store, { articles: 1, dimension: 4 });
  const file = join(t.dir, "token");
  await Deno.writeTextFile(file, "AstraCS:wrong-token-value\n");
  const cases: Array<[string[], Record<string, string>, string]> = [
    [["--token-file", file], {}, `check --token-file ${file}:`],
    [[], { ASTRABAK_TOKEN_FILE: file }, `check ASTRABAK_TOKEN_FILE (${file}):`],
    [
      [],
      { ASTRA_DB_APPLICATION_TOKEN: "AstraCS:wrong-token-value" },
      "check ASTRA_DB_APPLICATION_TOKEN:",
    ],
    [
      [],
      { ASTRA_DB_APPLICATION_TOKEN: "", ASTRA_DB_USERNAME: "u", ASTRA_DB_PASSWORD: "wrong-pw" },
      "check ASTRA_DB_USERNAME/ASTRA_DB_PASSWORD:",
    ],
  ];
  for (const [args, env, hint] of cases) {
    const r = await runCli(["backup", "--out", t.out, ...args], {
      dir: t.dir,
      env: fakeEnv(t.api, env),
    });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /authentication failed \(HTTP 401/);
    assert.ok(r.stderr.includes(`hint: ${hint}`), `${JSON.stringify(env)}: ${r.stderr}`);
  }
});

Deno.test("cli: every duration, rate and count flag is bounded, with the range in --help", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const cases: Array<[string, string, string[], string]> = [
      ["backup", "--request-timeout", ["3000000", "abc"], "a number from 0.1 to 3600"],
      ["backup", "--max-rps", ["0.0000001"], "a number from 0.1 to 10000"],
      ["backup", "--retries", ["101", "1.5"], "a whole number from 0 to 100"],
      ["backup", "--box-retries", ["-1"], "a whole number from 0 to 100"],
      ["backup", "--parallel", ["65"], "a whole number from 1 to 64"],
      ["backup", "--compression-level", ["0", "10"], "a whole number from 1 to 9"],
      ["backup", "--clean-stale", ["400d"], "a duration like 30m, 24h or 7d, from 0s to 365d"],
      ["backup", "--checkpoint-every", ["0", "1.5"], "a whole number from 1 to 1000000"],
      ["restore", "--concurrency", ["0"], "a whole number from 1 to 64"],
      ["restore", "--batch-size", ["101"], "a whole number from 1 to 100"],
      ["upload", "--box-retries", ["1000"], "a whole number from 0 to 100"],
    ];
    const helps = new Map<string, string>();
    for (const [command, flag, values, range] of cases) {
      if (!helps.has(command)) {
        helps.set(command, (await runCli([command, "--help"], { dir })).stdout);
      }
      const help = helps.get(command)!.replace(/\s+/g, " ");
      const stated = /(from )?(\S+ to \S+)$/.exec(range)![2]!;
      const described = new RegExp(`${flag} [<[]\\w+[>\\]][^-]*${stated.replaceAll(".", "\\.")}`);
      assert.match(help, described, `${command} --help states ${stated} for ${flag}`);
      for (const v of values) {
        const args = command === "backup" ? [command] : [command, "x"];
        const r = await runCli([...args, `${flag}=${v}`], { dir });
        assert.equal(r.code, 1, `${command} ${flag} ${v}: ${r.stderr}`);
        assert.match(r.stderr, new RegExp(`expected ${range}`), `${command} ${flag} ${v}`);
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cli: the largest values in range are accepted and work", async () => {
  await using t = await withFakeDataApi();
  seedSample(t.api.store, { articles: 2, dimension: 4 });
  const r = await runCli([
    "backup",
    "--out",
    t.out,
    "--request-timeout",
    "3600",
    "--max-rps",
    "10000",
    "--retries",
    "100",
    "--parallel",
    "64",
    "--clean-stale",
    "365d",
  ], { dir: t.dir, env: fakeEnv(t.api) });
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /TimeoutOverflowWarning|timed out/);
});

Deno.test("cli: no line of any --help is wider than 100 columns", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // Every command the program has, as its own --help lists them (a new one cannot be missed).
    const root = await runCli(["--help"], { dir });
    const listed = root.stdout.slice(root.stdout.indexOf("Commands:"))
      .split("\n").map((l) => /^ {2}([a-z]+) /.exec(l)?.[1]).filter((c) => c && c !== "help");
    assert.ok(listed.includes("prune") && listed.includes("drill"), root.stdout);
    for (const command of ["", ...listed as string[]]) {
      const r = await runCli(command ? [command, "--help"] : ["--help"], { dir });
      assert.equal(r.code, 0);
      const wide = r.stdout.split("\n").filter((l) => l.length > 100);
      assert.deepEqual(wide, [], `astrabak ${command} --help`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cli: every --json report carries exit_code, whatever the exit code", async () => {
  await using t = await withFakeDataApi();
  seedSample(t.api.store, { articles: 3, dimension: 4 });
  const run = (args: string[]) => runCli(args, { dir: t.dir, env: fakeEnv(t.api) });
  const ok = await run(["backup", "--out", t.out, "--json"]);
  assert.equal(ok.code, 0, ok.stderr);
  const snapshot = JSON.parse(ok.stdout);
  assert.equal(snapshot.exit_code, 0);
  for (const args of [["verify", snapshot.snapshot], ["list", "--from", t.out]]) {
    const r = await run([...args, "--json"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).exit_code, 0, args[0]);
  }
  const dry = await run(["restore", snapshot.snapshot, "--dry-run", "--json"]);
  assert.equal(JSON.parse(dry.stdout).exit_code, dry.code);
  t.api.faults.add({
    command: "find",
    collection: "faq",
    times: Infinity,
    action: { kind: "status", status: 500 },
  });
  const incomplete = await run(["backup", "--out", t.out, "--json", "--retries", "0"]);
  assert.equal(incomplete.code, 2, incomplete.stderr);
  const report = JSON.parse(incomplete.stdout);
  assert.equal(report.status, "incomplete");
  assert.equal(report.exit_code, 2);
});
