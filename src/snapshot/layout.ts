/**
 * @module
 * Names on disk. A finished snapshot is `<ts>/` (or `<ts>.INCOMPLETE/`), where `<ts>` is the UTC
 * start time `YYYYMMDD_HHMMSS`; work in progress lives in the hidden `.<ts>.inprogress/`; a packed
 * snapshot is `<ts>.zip`, an encrypted one `<ts>.zip.age` (with its sidecar `<ts>.zip.age.sha256`,
 * which is not a snapshot name). Readers trust only the finished names.
 *
 * The naming rule, applied by every command through {@linkcode snapshotNameProblems}: a snapshot's
 * identity is the timestamp and status in its own manifest, and it must be stored under the name
 * they give. A directory is named `<ts>` (`<ts>.INCOMPLETE` when incomplete); a zip's single
 * top-level folder is named the same way, and a zip file whose name is a snapshot name must be
 * `<ts>.zip`. Any other name (a renamed copy, a symbolic link under another name) is refused by
 * verify, restore, zip and upload, shown as `misnamed` by list, and never taken as `latest`.
 */

/** Suffix of a snapshot in which some collection failed. */
export const INCOMPLETE_SUFFIX = ".INCOMPLETE";
/** Suffix of the hidden directory a backup writes into. */
export const INPROGRESS_SUFFIX = ".inprogress";
/** Lock file that serialises backups into one output directory. */
export const LOCK_FILE = ".astrabak.lock";

const TS = /^\d{8}_\d{6}$/;

/** What a directory entry under the output directory is. */
export type SnapshotNameKind = "complete" | "incomplete" | "inprogress" | "zip" | "zip.age";

/** `YYYYMMDD_HHMMSS` in UTC. */
export function formatTimestamp(d: Date): string {
  const iso = d.toISOString(); // 2026-11-25T23:01:02.345Z
  return `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}_${iso.slice(11, 13)}${
    iso.slice(14, 16)
  }${iso.slice(17, 19)}`;
}

/** Classifies a name under the output directory; null when it is not a snapshot name. */
export function parseSnapshotName(
  name: string,
): { timestamp: string; kind: SnapshotNameKind } | null {
  if (TS.test(name)) return { timestamp: name, kind: "complete" };
  if (name.endsWith(INCOMPLETE_SUFFIX)) {
    const ts = name.slice(0, -INCOMPLETE_SUFFIX.length);
    if (TS.test(ts)) return { timestamp: ts, kind: "incomplete" };
  }
  if (name.startsWith(".") && name.endsWith(INPROGRESS_SUFFIX)) {
    const ts = name.slice(1, -INPROGRESS_SUFFIX.length);
    if (TS.test(ts)) return { timestamp: ts, kind: "inprogress" };
  }
  if (name.endsWith(".zip")) {
    const ts = name.slice(0, -4);
    if (TS.test(ts)) return { timestamp: ts, kind: "zip" };
  }
  if (name.endsWith(".zip.age")) {
    const ts = name.slice(0, -".zip.age".length);
    if (TS.test(ts)) return { timestamp: ts, kind: "zip.age" };
  }
  return null;
}

/** Every name a snapshot with this timestamp may occupy (used to avoid collisions). */
export function namesForTimestamp(ts: string): string[] {
  return [ts, ts + INCOMPLETE_SUFFIX, `.${ts}${INPROGRESS_SUFFIX}`, `${ts}.zip`, `${ts}.zip.age`];
}

/** The name a snapshot with this manifest identity must be stored under (a directory or zip folder). */
export function expectedSnapshotName(m: { snapshot: string; status: string }): string {
  return m.status === "incomplete" ? m.snapshot + INCOMPLETE_SUFFIX : m.snapshot;
}

/**
 * The one naming rule (module doc): what is wrong with the names a snapshot is known by, given
 * its manifest. `rootName` is the directory's name or the zip's top-level folder; `zipFileName`
 * the zip file's own name (null for directories). Empty when the names agree.
 */
export function snapshotNameProblems(
  rootName: string,
  zipFileName: string | null,
  m: { snapshot: string; status: string },
): string[] {
  const expected = expectedSnapshotName(m);
  const says = `its manifest says ${expected} (snapshot ${m.snapshot}, ${m.status})`;
  const problems: string[] = [];
  if (rootName !== expected) {
    problems.push(
      `the snapshot is named ${rootName} but ${says}; a snapshot must keep its own name: rename ${
        zipFileName === null ? "the directory" : "the folder inside the zip"
      } to ${expected}`,
    );
  }
  const zipName = zipFileName === null ? null : parseSnapshotName(zipFileName);
  if (zipName?.kind === "zip" && zipName.timestamp !== m.snapshot) {
    problems.push(
      `the zip is named ${zipFileName} but ${says}; rename it to ${m.snapshot}.zip`,
    );
  }
  return problems;
}
