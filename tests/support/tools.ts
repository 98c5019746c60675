/**
 * Outside tools some tests need (tmux, promtool): found on PATH, or installed with apt-get when
 * the test runs as root and apt works; otherwise the test is ignored and its name says why.
 */

async function runs(command: string, args: string[]): Promise<boolean> {
  try {
    return (await new Deno.Command(command, { args, stdout: "null", stderr: "null" }).output())
      .success;
  } catch {
    return false;
  }
}

/** Whether a tool is usable, and if not why (for the ignored test's name). */
export interface ToolStatus {
  ok: boolean;
  reason: string;
}

/**
 * Finds `command` (run with `versionArgs`), or installs Debian package `aptPackage` for it when
 * possible (a large package may take a minute; only once per machine).
 */
export async function ensureTool(
  command: string,
  versionArgs: string[],
  aptPackage: string,
): Promise<ToolStatus> {
  if (await runs(command, versionArgs)) return { ok: true, reason: "" };
  if (Deno.uid?.() === 0 && await runs("apt-get", ["--version"])) {
    await runs("apt-get", ["install", "-y", "--no-install-recommends", aptPackage]);
    if (await runs(command, versionArgs)) return { ok: true, reason: "" };
  }
  return {
    ok: false,
    reason: `${command} is not installed and apt-get install ${aptPackage} was not possible`,
  };
}
