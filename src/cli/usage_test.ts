import assert from "node:assert/strict";
import { describeIoError, ioReason } from "../errors.ts";
import { looksLikeSecret, outputOptionsFromArgs, redactUsage } from "./usage.ts";

Deno.test("redactUsage masks =values and token-like words, keeps flag names", () => {
  const args = ["backup", "--token=AstraCS:abc:123", "--kind=s3cr3t", "Cassandra:dXNlcg==:cHc="];
  assert.equal(
    redactUsage("unknown option '--token=AstraCS:abc:123'", args),
    "unknown option '--token=***'",
  );
  assert.equal(
    redactUsage("option '--kind <kind>' argument 's3cr3t' is invalid.", args),
    "option '--kind <kind>' argument '***' is invalid.",
  );
  assert.equal(
    redactUsage("unknown command 'Cassandra:dXNlcg==:cHc='", args),
    "unknown command '***'",
  );
  assert.equal(redactUsage("saw AstraCS:zzz here", []), "saw AstraCS:*** here");
  assert.equal(
    redactUsage("argument '0' is invalid", ["--parallel", "0"]),
    "argument '0' is invalid",
  );
  assert.ok(looksLikeSecret("Zx9PqR7sT2uV4wX6yA8bC0dE1fG3hJ5k"));
  assert.ok(!looksLikeSecret("/var/backups/astra"));
  assert.ok(!looksLikeSecret("customers"));
});

Deno.test("outputOptionsFromArgs reads --json and --log-format without commander, up to --", () => {
  assert.deepEqual(outputOptionsFromArgs(["backup", "--json", "--log-format", "json"]), {
    json: true,
    logFormat: "json",
    verbose: false,
  });
  assert.equal(outputOptionsFromArgs(["--log-format=json"]).logFormat, "json");
  assert.equal(outputOptionsFromArgs(["verify", "--", "--json"]).json, false);
});

Deno.test("Deno I/O errors are described in words, never by their class name", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const e = await Deno.readTextFile(dir).catch((x) => x);
    assert.equal(ioReason(e), "it is a directory");
    assert.match(describeIoError(e), /^it is a directory \(\w+ '.*'\)$/);
    const missing = await Deno.readTextFile(`${dir}/nope`).catch((x) => x);
    assert.equal(ioReason(missing), "no such file or directory");
    assert.equal(
      ioReason(new Error("No space left on device (os error 28): write '/x'")),
      "no space left on device",
    );
  } finally {
    await Deno.remove(dir);
  }
});
