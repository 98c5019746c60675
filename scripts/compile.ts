/**
 * `deno task compile`: builds the single astrabak binary with the permission sandbox of
 * src/cli/permissions.ts baked in.
 *
 * Build-time overrides (comma-separated; the binary can never exceed what it was built with):
 *   ASTRABAK_ALLOW_NET    extra hosts, e.g. `hcd.internal:8181` for a self-hosted Data API
 *   ASTRABAK_ALLOW_WRITE  directories snapshots may be written to (default ./backups)
 *   ASTRABAK_ALLOW_READ   extra paths that may be read (token file, zips to verify); the write
 *                         directories are always readable
 *   ASTRABAK_TARGET       a `deno compile --target` triple
 * `--print` prints the command instead of running it.
 *
 * deno compile downloads its runtime (denort) from dl.deno.land on first use; on a machine
 * without that access, copy `denort-<target>.zip` into `$DENO_DIR/dl/release/v<deno version>/`.
 */

import { DEFAULT_SANDBOX, runFlags, type Sandbox } from "../src/cli/permissions.ts";

function list(name: string): string[] {
  return (Deno.env.get(name) ?? "").split(",").map((s) => s.trim()).filter(Boolean);
}

/** The sandbox a build gets from the defaults plus build-time overrides. */
export function buildSandbox(): Sandbox {
  const write = list("ASTRABAK_ALLOW_WRITE");
  const writePaths = write.length > 0 ? write : [...DEFAULT_SANDBOX.writePaths];
  return {
    netHosts: [...DEFAULT_SANDBOX.netHosts, ...list("ASTRABAK_ALLOW_NET")],
    writePaths,
    readPaths: [...writePaths, ...list("ASTRABAK_ALLOW_READ")],
  };
}

/** The full `deno compile` argument list. */
export function compileArgs(sandbox: Sandbox): string[] {
  const target = Deno.env.get("ASTRABAK_TARGET");
  return [
    "compile",
    "--frozen",
    ...(target ? ["--target", target] : []),
    "--output",
    "dist/astrabak",
    ...runFlags(sandbox),
    "main.ts",
  ];
}

if (import.meta.main) {
  const args = compileArgs(buildSandbox());
  const show = ["deno", ...args].map((a) => (/[*,=]/.test(a) ? `'${a}'` : a)).join(" ");
  const write = (s: string) => Deno.stdout.writeSync(new TextEncoder().encode(s + "\n"));
  if (Deno.args.includes("--print")) {
    write(show);
    Deno.exit(0);
  }
  write(show);
  const status = await new Deno.Command(Deno.execPath(), {
    args,
    stdout: "inherit",
    stderr: "inherit",
  })
    .spawn().status;
  if (!status.success) {
    write(
      "deno compile failed. If it could not download denort (no access to dl.deno.land), copy " +
        "denort-<target>.zip into $DENO_DIR/dl/release/v" + Deno.version.deno + "/ and run again.",
    );
  }
  Deno.exit(status.code);
}
