/**
 * @module
 * Fault injection for the fake Data API: each rule matches requests by command and target and
 * changes what the next N of them get.
 */

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

/** The ordered list of active rules; the first matching rule with budget left applies. */
export class FaultPlan {
  #rules: Array<FaultRule & { seen: number; used: number }> = [];

  /** Adds a rule; returns a function that removes it. */
  add(rule: FaultRule): () => void {
    const r = { ...rule, seen: 0, used: 0 };
    this.#rules.push(r);
    return () => {
      this.#rules = this.#rules.filter((x) => x !== r);
    };
  }

  clear(): void {
    this.#rules = [];
  }

  /** How many requests each rule has affected so far (in insertion order). */
  usage(): number[] {
    return this.#rules.map((r) => r.used);
  }

  /** The action for a request, consuming budget; undefined for a normal answer. */
  take(key: RequestKey): FaultAction | undefined {
    for (const r of this.#rules) {
      if (r.command !== undefined && r.command !== key.command) continue;
      if (r.keyspace !== undefined && r.keyspace !== key.keyspace) continue;
      if (r.collection !== undefined && r.collection !== key.collection) continue;
      r.seen++;
      if (r.seen <= (r.after ?? 0)) continue;
      if (r.used >= (r.times ?? 1)) continue;
      r.used++;
      return r.action;
    }
    return undefined;
  }
}
