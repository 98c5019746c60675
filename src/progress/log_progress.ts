/**
 * @module
 * Progress off a terminal (cron, pipes, journald): one plain log line per collection in flight
 * every interval, through the Reporter, so the lines carry timestamps and follow --log-format.
 */

import type { Reporter } from "../reporter.ts";
import { describeTask, type Progress, type ProgressPlan, type ProgressTask } from "./progress.ts";

interface LogTask {
  label: string;
  plan: ProgressPlan;
  items: number;
  bytes: number;
  started: number;
}

/** Logs every task in flight each `intervalMs`; the timer runs only while a task does. */
export class LogProgress implements Progress {
  readonly #reporter: Reporter;
  readonly #intervalMs: number;
  readonly #tasks = new Set<LogTask>();
  #timer: ReturnType<typeof setInterval> | null = null;

  constructor(reporter: Reporter, intervalMs: number) {
    this.#reporter = reporter;
    this.#intervalMs = intervalMs;
  }

  start(label: string, plan: ProgressPlan): ProgressTask {
    const t: LogTask = { label, plan, items: 0, bytes: 0, started: performance.now() };
    this.#tasks.add(t);
    if (this.#timer === null) {
      const timer = setInterval(() => this.#tick(), this.#intervalMs);
      // Progress never keeps the process alive on its own.
      Deno.unrefTimer(Number(timer));
      this.#timer = timer;
    }
    return {
      advance: (items, bytes) => {
        t.items += items;
        t.bytes += bytes;
      },
      end: () => {
        this.#tasks.delete(t);
        if (this.#tasks.size === 0) this.#clearTimer();
      },
    };
  }

  stop(): void {
    this.#tasks.clear();
    this.#clearTimer();
  }

  #clearTimer(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }

  #tick(): void {
    const now = performance.now();
    for (const t of this.#tasks) {
      const f = {
        label: t.label,
        plan: t.plan,
        items: t.items,
        bytes: t.bytes,
        elapsedMs: now - t.started,
      };
      this.#reporter.info(describeTask(f));
    }
  }
}
