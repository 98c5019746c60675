/**
 * @module
 * Which parts of a collection document the Data API indexes, from the collection's `indexing`
 * option: stargate/data-api `service/projection/IndexingProjector.java` (`createForIndexing`) and
 * `ProjectionLayer.java` (`buildLayersForIndexing`, `applyInclusions`, `applyExclusions`), paths
 * as `DocumentPath.from` splits them (`&.` is a literal dot, `&&` a literal ampersand). The limits
 * on indexed values apply to that part only.
 */

/** One level of the path tree: a terminal covers everything below it. */
export interface IndexLayer {
  terminal: boolean;
  next: Map<string, IndexLayer>;
}

/** An allow list (inclusion) or a deny list (exclusion) as a path tree. */
export interface IndexProjection {
  inclusion: boolean;
  root: IndexLayer;
}

/** Fields an allow list always includes (`IndexingProjector.createForIndexing`). */
const ALWAYS_INDEXED = ["$vector", "$vectorize", "$lexical"];

/**
 * The projection of a collection definition's `indexing` option, or null when everything is
 * indexed (no option, `allow: ["*"]`, or empty lists).
 */
export function indexProjection(definition: Record<string, unknown>): IndexProjection | null {
  const indexing = definition.indexing as { allow?: unknown; deny?: unknown } | undefined;
  const allow = strings(indexing?.allow);
  const deny = strings(indexing?.deny);
  if (allow.length > 0) {
    if (allow.length === 1 && allow[0] === "*") return null;
    return { inclusion: true, root: layers([...allow, ...ALWAYS_INDEXED]) };
  }
  if (deny.length > 0) {
    if (deny.length === 1 && deny[0] === "*") {
      return { inclusion: true, root: layers(ALWAYS_INDEXED) };
    }
    return { inclusion: false, root: layers(deny) };
  }
  return null;
}

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];
}

function layers(paths: readonly string[]): IndexLayer {
  const root: IndexLayer = { terminal: false, next: new Map() };
  for (const path of paths) {
    const segments = pathSegments(path);
    let layer = root;
    let stopped = false;
    for (const segment of segments.slice(0, -1)) {
      // A shorter path already covers this one.
      if (layer.terminal) {
        stopped = true;
        break;
      }
      let next = layer.next.get(segment);
      if (!next) layer.next.set(segment, next = { terminal: false, next: new Map() });
      layer = next;
    }
    if (stopped || layer.terminal) continue;
    layer.next.set(segments[segments.length - 1]!, { terminal: true, next: new Map() });
  }
  return root;
}

/** `DocumentPath.from`: segments of a dotted path, `&.` and `&&` unescaped. */
export function pathSegments(path: string): string[] {
  const out: string[] = [];
  let current = "";
  for (let i = 0; i < path.length; i++) {
    const c = path[i]!;
    if (c === "&" && (path[i + 1] === "." || path[i + 1] === "&")) {
      current += path[++i];
    } else if (c === ".") {
      out.push(current);
      current = "";
    } else current += c;
  }
  out.push(current);
  return out;
}

/**
 * Whether a member named `name` of an object at `layer` is indexed, and the layer for its value
 * (null: everything below is decided by the returned `included`).
 */
export function memberIndexing(
  projection: IndexProjection,
  layer: IndexLayer,
  name: string,
): { included: boolean; layer: IndexLayer | null } {
  const next = layer.next.get(name);
  if (projection.inclusion) {
    if (!next) return { included: false, layer: null };
    return next.terminal ? { included: true, layer: null } : { included: true, layer: next };
  }
  if (!next) return { included: true, layer: null };
  return next.terminal ? { included: false, layer: null } : { included: true, layer: next };
}
