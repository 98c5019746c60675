/**
 * What this host lets a test provoke: failures of the local disk need either file modes that bind
 * the test's user (not root) or a tmpfs it can mount (root on Linux).
 */

import { join } from "node:path";

/** Whether this process can write into a directory of mode 0500 (root can). */
export async function modesBypassed(): Promise<boolean> {
  const probe = await Deno.makeTempDir();
  try {
    await Deno.chmod(probe, 0o500);
    return await Deno.writeTextFile(join(probe, "x"), "x").then(() => true, () => false);
  } finally {
    await Deno.chmod(probe, 0o700);
    await Deno.remove(probe, { recursive: true });
  }
}

/** Whether this process can mount a tmpfs (to make a full or read-only disk). */
export async function canMountTmpfs(): Promise<boolean> {
  if (Deno.build.os !== "linux") return false;
  const probe = await Deno.makeTempDir();
  try {
    const ok = (await new Deno.Command("mount", {
      args: ["-t", "tmpfs", "-o", "size=64k", "tmpfs", probe],
      stderr: "null",
    }).output()).success;
    if (ok) await new Deno.Command("umount", { args: [probe] }).output();
    return ok;
  } catch {
    return false;
  } finally {
    await Deno.remove(probe).catch(() => {});
  }
}
