/**
 * @module
 * Fault injection for the fake Data API: each rule matches requests by command and target and
 * changes what the next N of them get.
 */

import type { JNode } from "./json_tree.ts";

import { RulePlan } from "../fault_plan.ts";

/** What a faulty response looks like. */
export type FaultAction =
  /** An HTTP error status (gateway-style body), optionally with Retry-After seconds. */
  | { kind: "status"; status: number; retryAfter?: number; body?: string }
  /** Answer normally, but only after a delay. */
  | { kind: "delay"; ms: number }
  /** Never answer (until the fake closes). */
  | { kind: "hang" }
  /** Send half of the real response body, then break the connection. */
  | { kind: "drop" }
  /** HTTP 200 whose body is the real response cut in half (invalid JSON). */
  | { kind: "truncate" }
  /** HTTP 200 with a Data API error in `errors[]`. */
  | { kind: "error"; errorCode: string; message?: string }
  /**
   * insertMany only: the first `count` documents of the request fail with `errorCode` (not
   * inserted) in `documentResponses`/`errors[]`, the rest are inserted, as a database timing out
   * on some writes answers. With `applied`, those documents are written all the same, as when a
   * lightweight-transaction write times out after the database applied it (FAILED_COMPARE_AND_SET:
   * "unable to determine if the operation was successful", stargate/data-api errors.yaml).
   */
  | { kind: "documentError"; errorCode: string; count: number; applied?: boolean }
  /**
   * insertMany only (collections and tables): the first `count` documents of the request are answered "OK" but not stored,
   * a write the server confirmed and then lost (what restore's count or sample proof must catch).
   */
  | { kind: "lose"; count: number }
  /**
   * insertMany only (collections and tables): every `every`-th document of the request (1st, 1+every-th, …) is stored
   * changed, answered "OK": `round` stores the first number member rounded plus one (so it always
   * differs), `drop` removes the
   * last member, `reorder` swaps the first two differing components of `$vector` (a table's: of its first
   * column holding a list of numbers; an array or `$binary`) (what a drill's exact read-back
   * must catch).
   */
  | { kind: "alter"; every: number; change: AlterChange }
  /** Answer normally, with this warning added to `status.warnings` (CommandResult.addWarning). */
  | { kind: "warning"; errorCode: string; message: string }
  /** Run a callback (for example drop the collection) before answering normally. */
  | { kind: "run"; fn: () => void };

/** A rule: which requests, how many of them, and what they get. */
export interface FaultRule {
  command?: string;
  keyspace?: string;
  collection?: string;
  /** Let this many matching requests through untouched first (default 0). */
  after?: number;
  /** How many matching requests to affect (default 1; Infinity for all). */
  times?: number;
  action: FaultAction;
}

/** What a request is, for matching. */
export interface RequestKey {
  command: string;
  keyspace?: string | undefined;
  collection?: string | undefined;
}

/** The active rules of this fake (see {@linkcode RulePlan}). */
export class FaultPlan extends RulePlan<FaultRule, RequestKey> {
  constructor() {
    super((r, k) =>
      (r.command === undefined || r.command === k.command) &&
      (r.keyspace === undefined || r.keyspace === k.keyspace) &&
      (r.collection === undefined || r.collection === k.collection)
    );
  }
}

/** How the `alter` fault changes a stored document. */
export type AlterChange = "round" | "drop" | "reorder";

/**
 * A vector value with its first two differing components swapped (`reorder`), or null when `v`
 * is no vector of two differing components. `$binary` holds big-endian float32s.
 */
export function reorderedVector(v: JNode): JNode | null {
  if (v.t === "arr") {
    if (v.a.length < 2 || v.a.some((x) => x.t !== "num")) return null;
    const j = v.a.findIndex((x) => (x as { raw: string }).raw !== (v.a[0] as { raw: string }).raw);
    if (j < 0) return null;
    const a = [...v.a];
    [a[0], a[j]] = [a[j]!, a[0]!];
    return { t: "arr", a };
  }
  if (v.t === "obj" && v.m.length === 1 && v.m[0]![0] === "$binary" && v.m[0]![1].t === "str") {
    const bytes = Uint8Array.from(atob(v.m[0]![1].v), (c) => c.charCodeAt(0));
    const n = bytes.length >> 2;
    const at = (i: number) => bytes.slice(i * 4, i * 4 + 4).join(",");
    let j = 1;
    while (j < n && at(j) === at(0)) j++;
    if (j >= n) return null;
    const first = bytes.slice(0, 4);
    bytes.copyWithin(0, j * 4, j * 4 + 4);
    bytes.set(first, j * 4);
    return { t: "obj", m: [["$binary", { t: "str", v: btoa(String.fromCharCode(...bytes)) }]] };
  }
  return null;
}
