/**
 * JSON with object keys sorted, so that two definitions compare equal whatever order the server
 * printed their members in; except under `partitionSort`, a table's clustering order, where the
 * order is meaning. Members named in `omit` are left out at every depth. One rule for restore's
 * plan, table creation's retry check and the drill's definition comparison.
 */
export function canonicalJson(v: unknown, omit: readonly string[] = []): string {
  return JSON.stringify(
    v,
    (k, x) =>
      x && typeof x === "object" && !Array.isArray(x)
        ? Object.fromEntries(
          Object.entries(x as Record<string, unknown>)
            .filter(([p]) => !omit.includes(p))
            .sort(([p], [q]) => (k === "partitionSort" ? 0 : p < q ? -1 : p > q ? 1 : 0)),
        )
        : x,
  );
}
