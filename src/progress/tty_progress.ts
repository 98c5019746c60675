/**
 * @module
 * The live display on a terminal: one line per collection in flight, redrawn a few times a
 * second on stderr by cli-progress's MultiBar, cleared before anything else is written below it.
 */

// @ts-types="@types/cli-progress"
import cliProgress from "cli-progress";
import type { SyncWriter } from "../cli/output.ts";
import {
  describeTask,
  type Progress,
  type ProgressPlan,
  type ProgressTask,
  type TaskFigures,
  taskRates,
} from "./progress.ts";

interface LiveTask {
  label: string;
  plan: ProgressPlan;
  items: number;
  bytes: number;
  started: number;
}

/** Options of {@linkcode TtyProgress}. */
export interface TtyProgressOptions {
  /** Terminal width in columns (default: Deno.consoleSize of stderr, else 80). */
  columns?: () => number;
  /** Redraws per second (default 5). */
  fps?: number;
}

const BAR_WIDTH = 20;
const encoder = new TextEncoder();

/**
 * Draws every task in flight on `stderr`. Log lines written meanwhile go through
 * {@linkcode TtyProgress.printAbove}, which clears the display, writes the line and redraws below
 * it, so the two never tear each other; {@linkcode TtyProgress.stop} leaves the screen as it was
 * before the display appeared.
 */
export class TtyProgress implements Progress {
  readonly #stream: {
    isTTY: true;
    readonly columns: number;
    write(s: string, cb?: () => void): boolean;
  };
  readonly #fps: number;
  #bars: cliProgress.MultiBar | null = null;
  readonly #tasks = new Map<LiveTask, cliProgress.SingleBar>();
  #logPending = false;

  constructor(stderr: SyncWriter, options: TtyProgressOptions = {}) {
    const columns = options.columns ?? consoleColumns;
    this.#fps = options.fps ?? 5;
    this.#stream = {
      isTTY: true,
      get columns() {
        return columns();
      },
      write(s: string, cb?: () => void) {
        const bytes = encoder.encode(s);
        let off = 0;
        while (off < bytes.byteLength) off += stderr.writeSync(bytes.subarray(off));
        cb?.();
        return true;
      },
    };
  }

  start(label: string, plan: ProgressPlan): ProgressTask {
    const t: LiveTask = { label, plan, items: 0, bytes: 0, started: performance.now() };
    const bars = this.#bars ?? this.#open();
    this.#tasks.set(t, bars.create(1, 0, { task: t }));
    return {
      advance: (items, bytes) => {
        t.items += items;
        t.bytes += bytes;
      },
      end: () => {
        const bar = this.#tasks.get(t);
        if (!bar) return;
        this.#tasks.delete(t);
        if (this.#tasks.size === 0) this.stop();
        else this.#bars?.remove(bar);
      },
    };
  }

  printAbove(line: string): boolean {
    if (this.#bars === null) return false;
    this.#logPending = true;
    this.#bars.log(line.endsWith("\n") ? line : line + "\n");
    this.#bars.update();
    return true;
  }

  stop(): void {
    this.#tasks.clear();
    this.#bars?.stop();
    this.#bars = null;
  }

  #open(): cliProgress.MultiBar {
    const bars = new cliProgress.MultiBar({
      stream: this.#stream as unknown as NodeJS.WritableStream,
      fps: this.#fps,
      // Rates and ETAs change with time even when no document arrived.
      forceRedraw: true,
      clearOnComplete: true,
      hideCursor: false,
      linewrap: true,
      gracefulExit: false,
      format: (_options, params, payload: { task: LiveTask }) =>
        renderLine(figures(payload.task), params.maxWidth),
    });
    // A log line longer than the terminal wraps over the lines below it: clear them all before
    // the buffered lines are written (MultiBar has just moved the cursor to the display's top).
    bars.on("redraw-pre", () => {
      if (!this.#logPending) return;
      this.#logPending = false;
      this.#stream.write("\r\x1b[J");
    });
    this.#bars = bars;
    return bars;
  }
}

function figures(t: LiveTask): TaskFigures {
  return {
    label: t.label,
    plan: t.plan,
    items: t.items,
    bytes: t.bytes,
    elapsedMs: performance.now() - t.started,
  };
}

/** `[#####---------------] backup ks.c: …`, without the bar when narrow, cut to the width. */
export function renderLine(f: TaskFigures, width: number): string {
  const fraction = taskRates(f).fraction;
  const filled = fraction === null ? 0 : Math.min(BAR_WIDTH, Math.floor(fraction * BAR_WIDTH));
  const bar = fraction === null
    ? `[${"?".repeat(BAR_WIDTH)}]`
    : `[${"#".repeat(filled)}${"-".repeat(BAR_WIDTH - filled)}]`;
  const text = describeTask(f);
  // One column spare: a line that fills the last column makes some terminals wrap early. On a
  // narrow terminal the figures matter more than the bar.
  const line = text.length + bar.length + 1 < width ? `${bar} ${text}` : text;
  return line.length >= width ? line.slice(0, Math.max(1, width - 1)) : line;
}

function consoleColumns(): number {
  try {
    return Deno.consoleSize().columns || 80;
  } catch {
    return 80;
  }
}
