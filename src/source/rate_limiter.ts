import { sleep } from "./retry.ts";

/** The floor a throttled rate backs off to (requests per second), unless the cap is lower. */
const MIN_RPS = 1;

/** Options of {@linkcode RateLimiter}. */
export interface RateLimiterOptions {
  /** The cap: requests per second never exceeded. */
  maxRps: number;
  /** Called when the effective rate changes by a throttle or a full recovery. */
  onChange?: (rps: number, why: "throttled" | "recovered") => void;
}

/**
 * Spaces Data API requests to at most `maxRps` per second across the process, and adapts:
 * each 429 halves the effective rate (multiplicative decrease), each success adds back 2% of the
 * cap (additive increase), so a busy database gets room quickly and the rate creeps back.
 */
export class RateLimiter {
  readonly maxRps: number;
  #rps: number;
  #nextAt = 0;
  readonly #onChange: RateLimiterOptions["onChange"];

  constructor(options: RateLimiterOptions) {
    if (!(options.maxRps > 0)) throw new RangeError(`maxRps ${options.maxRps}`);
    this.maxRps = options.maxRps;
    this.#rps = options.maxRps;
    this.#onChange = options.onChange;
  }

  /** The current effective rate. */
  get rps(): number {
    return this.#rps;
  }

  /** Waits for the next free slot. */
  async acquire(signal?: AbortSignal): Promise<void> {
    const now = performance.now();
    const at = Math.max(now, this.#nextAt);
    this.#nextAt = at + 1000 / this.#rps;
    if (at > now) await sleep(at - now, signal);
  }

  /** A 429 arrived: halve the rate. */
  throttled(): void {
    const before = this.#rps;
    this.#rps = Math.max(Math.min(MIN_RPS, this.maxRps), this.#rps / 2);
    if (this.#rps !== before) this.#onChange?.(this.#rps, "throttled");
  }

  /** A request succeeded: add back a little of the cap. */
  succeeded(): void {
    if (this.#rps >= this.maxRps) return;
    this.#rps = Math.min(this.maxRps, this.#rps + this.maxRps * 0.02);
    if (this.#rps === this.maxRps) this.#onChange?.(this.#rps, "recovered");
  }
}
