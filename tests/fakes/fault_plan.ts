/**
 * @module
 * The fault-injection bookkeeping both fakes share: an ordered list of rules, each matching some
 * requests and changing what the next N of them (after letting M through) get.
 */

/** The budget part every rule has. */
export interface FaultBudget<Action> {
  /** Let this many matching requests through untouched first (default 0). */
  after?: number;
  /** How many matching requests to affect (default 1; Infinity for all). */
  times?: number;
  action: Action;
}

/** The ordered list of active rules; the first matching rule with budget left applies. */
export class RulePlan<Rule extends FaultBudget<unknown>, Key> {
  #rules: Array<Rule & { seen: number; used: number }> = [];
  readonly #matches: (rule: Rule, key: Key) => boolean;

  constructor(matches: (rule: Rule, key: Key) => boolean) {
    this.#matches = matches;
  }

  /** Adds a rule; returns a function that removes it. */
  add(rule: Rule): () => void {
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
  take(key: Key): Rule["action"] | undefined {
    for (const r of this.#rules) {
      if (!this.#matches(r, key)) continue;
      r.seen++;
      if (r.seen <= (r.after ?? 0)) continue;
      if (r.used >= (r.times ?? 1)) continue;
      r.used++;
      return r.action;
    }
    return undefined;
  }
}

/**
 * Requests held by a "hang" fault: each waits until the fake closes, which answers them so the
 * server can shut down (the client has usually given up long before).
 */
export class HeldRequests {
  #waiting = new Set<() => void>();

  /** Resolves when {@linkcode releaseAll} is called. */
  hold(): Promise<void> {
    return new Promise<void>((resolve) => {
      const release = () => {
        this.#waiting.delete(release);
        resolve();
      };
      this.#waiting.add(release);
    });
  }

  releaseAll(): void {
    for (const release of this.#waiting) release();
  }
}
