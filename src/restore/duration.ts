/**
 * Table `duration` values: the Data API prints them in ISO-8601 form, with fractional seconds
 * when there are any (`PT1.5S`), but its input parser accepts ISO only with whole seconds. The
 * CQL compact form (`1s500ms`) says the same thing and is accepted, so restore re-spells those.
 */

const ISO =
  /^(-)?P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)(?:\.(\d{1,9}))?S)?)?$/;

/**
 * The compact form of an ISO duration that has fractional seconds, or null when the value needs
 * no change (whole seconds, or not an ISO duration at all).
 */
export function compactDuration(iso: string): string | null {
  const m = ISO.exec(iso);
  if (!m || m[9] === undefined) return null;
  const [, sign, y, mo, w, d, h, mi, s, frac] = m;
  const nanos = (frac ?? "").padEnd(9, "0");
  const parts: Array<[string | undefined, string]> = [
    [y, "y"],
    [mo, "mo"],
    [w, "w"],
    [d, "d"],
    [h, "h"],
    [mi, "m"],
    [s, "s"],
    [String(Number(nanos.slice(0, 3))), "ms"],
    [String(Number(nanos.slice(3, 6))), "us"],
    [String(Number(nanos.slice(6, 9))), "ns"],
  ];
  const body = parts.filter(([v]) => v !== undefined && Number(v) !== 0).map(([v, u]) =>
    `${Number(v)}${u}`
  ).join("");
  return `${sign ?? ""}${body || "0s"}`;
}
