import { releaseBuffer } from "./release_buffer.ts";

/**
 * Pieces handed to the worker and not yet acknowledged before transform() waits: 1 MB, so the
 * worker has about 20 ms of level-6 work queued and a pause of the main thread (a garbage
 * collection, a checkpoint) does not leave it idle. With 4 (256 KB) backup reached 0.88–0.94× the
 * CPU floor instead of 0.98–1.03× (docs/BENCHMARKS.md). Each piece's memory is freed by the
 * worker as soon as zlib has consumed it, so more in flight costs no more than its bytes.
 */
export const MAX_PIECES_IN_FLIGHT = 16;

/**
 * Largest piece handed to the worker: a page of 1536-dimension documents is a 1.5 MB chunk, and
 * posting it whole made the process peak 95 MB higher than posting it in 64 KB pieces at the same
 * speed (docs/BENCHMARKS.md, "Where the memory goes").
 */
export const PIECE_BYTES = 64 * 1024;

/**
 * Output buffers a worker posted to this thread and nobody has freed yet: each was transferred, so
 * it is this thread's alone. Weak, so a buffer left to the garbage collector is not kept.
 */
const posted = new WeakSet<ArrayBufferLike>();

/** Worker output buffers freed by {@linkcode releaseWorkerOutput} (tests). */
let releasedOutputs = 0;

/**
 * Frees a buffer a zlib worker posted, now instead of at this isolate's next full collection, for
 * a reader that knows nothing refers to it any more (verify, once its documents are past it). The
 * worker allocated it on its own thread, whose allocator cannot reuse the memory until it is
 * freed here: left to the collector, a 10^6-document verify peaked about 10 MB higher. A buffer
 * that did not come from a worker is left alone (a file reader or zip.js may still own it).
 */
export function releaseWorkerOutput(buffer: ArrayBufferLike): void {
  if (!posted.delete(buffer)) return;
  releaseBuffer(new Uint8Array(buffer));
  releasedOutputs++;
}

/** How many worker output buffers have been freed early since the last reset (tests). */
export function zlibReleasedOutputs(reset = false): number {
  const n = releasedOutputs;
  if (reset) releasedOutputs = 0;
  return n;
}

/** Most bytes any stream has had at the worker, unacknowledged (tests). */
let inFlightPeak = 0;

/** The most bytes one stream has had in flight to its worker since the last reset (tests). */
export function zlibInFlightPeak(reset = false): number {
  const peak = inFlightPeak;
  if (reset) inFlightPeak = 0;
  return peak;
}

/**
 * Worker threads shared by all zlib streams of the process. Compression is CPU-bound, so more
 * workers than cores only cost memory (a worker isolate is about 25 MB of RSS): with
 * `--parallel 8`, eight streams share these few threads.
 */
const POOL_SIZE = Math.max(1, Math.min(navigator.hardwareConcurrency || 2, 4));

/**
 * The worker's code. It is built from this string (a blob URL) rather than loaded from a file,
 * so it needs no read permission and no extra file in the compiled binary: the sandbox stays as
 * it is. One worker serves several streams, each message carries its stream `id`. Protocol,
 * answered in order per stream: `start {mode, level}`; `chunk {data}` → `out {data}`… then
 * `ack`; `member` (gzip) → the rest of the member's `out`, then `member`, and later chunks go
 * into a new member; `end` → remaining `out`, then `done`; `abort` → nothing more; any failure
 * → `error {message}`. Messages that arrive while a member is ending are held by the worker and
 * handled, in order, once the next member is open, so the main thread never waits for a member
 * to end before sending the next member's chunks.
 */
const WORKER_SOURCE = `
import { Buffer } from "node:buffer";
import { createGunzip, createGzip } from "node:zlib";
const streams = new Map();
// Per stream: messages that came while its member was ending, handled once the next one opens.
const held = new Map();
const fail = (id, e) => {
  const z = streams.get(id);
  held.delete(id);
  if (!z) return;
  streams.delete(id);
  z.destroy();
  self.postMessage({ id, type: "error", message: e && e.message ? e.message : String(e) });
};
const open = (id, mode, level) => {
  const chunkSize = 256 * 1024;
  const z = mode === "gzip" ? createGzip({ level, chunkSize }) : createGunzip({ chunkSize });
  streams.set(id, z);
  z.on("data", (c) => {
    const out = new Uint8Array(c.byteLength);
    out.set(c);
    self.postMessage({ id, type: "out", data: out }, [out.buffer]);
    // zlib writes into one chunkSize buffer and hands out slices of it; a slice that ends at the
    // buffer's end means zlib has moved on to a new buffer (every earlier slice is copied above),
    // so free it now instead of at this isolate's next full collection.
    const b = c.buffer;
    if (c.byteOffset + c.byteLength === b.byteLength && b.byteLength >= chunkSize && !b.detached) {
      b.transfer(0);
    }
  });
  z.on("error", (e) => fail(id, e));
  z.on("end", () => {
    if (z.nextMember) {
      if (streams.get(id) !== z) return;
      open(id, mode, level);
      self.postMessage({ id, type: "member" });
      const waiting = held.get(id) ?? [];
      held.delete(id);
      for (let i = 0; i < waiting.length; i++) {
        const later = held.get(id);
        if (later) {
          // Another member end among them: the rest waits for that one.
          later.push(...waiting.slice(i));
          return;
        }
        handle(waiting[i]);
      }
      return;
    }
    streams.delete(id);
    self.postMessage({ id, type: "done" });
  });
};
const handle = (msg) => {
  const id = msg.id;
  try {
    const z = streams.get(id);
    if (!z) return;
    if (msg.type === "chunk") {
      const d = msg.data;
      z.write(Buffer.from(d.buffer, d.byteOffset, d.byteLength), () => {
        // Consumed: free its memory now rather than at this isolate's next full collection.
        if (!d.buffer.detached) d.buffer.transfer(0);
        self.postMessage({ id, type: "ack" });
      });
    } else if (msg.type === "end") {
      z.end();
    } else if (msg.type === "member") {
      z.nextMember = true;
      held.set(id, []);
      z.end();
    }
  } catch (e) {
    fail(id, e);
  }
};
self.onmessage = (ev) => {
  const msg = ev.data;
  const id = msg.id;
  if (msg.type === "start") {
    try {
      open(id, msg.mode, msg.level);
    } catch (e) {
      fail(id, e);
    }
    return;
  }
  if (msg.type === "abort") {
    held.delete(id);
    const z = streams.get(id);
    streams.delete(id);
    if (z) z.destroy();
    return;
  }
  const waiting = held.get(id);
  if (waiting) waiting.push(msg);
  else handle(msg);
};
`;

/**
 * Written into a gzip {@linkcode ZlibWorkerStream}, this (empty, by identity) chunk ends the
 * current gzip member and starts a new one; it comes out after the member's last byte, so a sink
 * knows where the member ends (backup checkpoints cut data files at member boundaries). A
 * multi-member file is valid gzip that gunzips to the concatenation (RFC 1952 2.2).
 */
export const GZIP_MEMBER_END: Uint8Array = new Uint8Array(0);

interface WorkerMessage {
  id: number;
  type: "out" | "ack" | "done" | "error" | "member";
  data?: Uint8Array;
  message?: string;
}

interface PooledWorker {
  worker: Worker;
  streams: Map<number, (msg: WorkerMessage) => void>;
}

const pool: PooledWorker[] = [];
let nextStreamId = 0;
let workerUrl: string | undefined;

/** A worker for a new stream: a new thread while the pool has room, else the least busy one. */
function acquire(id: number, onMessage: (msg: WorkerMessage) => void): PooledWorker {
  let pw: PooledWorker | undefined = pool.length < POOL_SIZE
    ? undefined
    : pool.reduce((a, b) => (b.streams.size < a.streams.size ? b : a));
  if (!pw) {
    workerUrl ??= URL.createObjectURL(
      new Blob([WORKER_SOURCE], { type: "application/javascript" }),
    );
    const created: PooledWorker = {
      worker: new Worker(workerUrl, { type: "module" }),
      streams: new Map(),
    };
    created.worker.onmessage = (ev: MessageEvent) => {
      const msg = ev.data as WorkerMessage;
      created.streams.get(msg.id)?.(msg);
    };
    created.worker.onerror = (e) => {
      // The thread itself died: every stream on it fails, and it leaves the pool.
      e.preventDefault();
      const handlers = [...created.streams];
      retire(created);
      for (const [id, handler] of handlers) {
        handler({ id, type: "error", message: `the worker thread failed: ${e.message}` });
      }
    };
    pool.push(created);
    pw = created;
  }
  pw.streams.set(id, onMessage);
  return pw;
}

function retire(pw: PooledWorker): void {
  pw.streams.clear();
  pw.worker.terminate();
  const i = pool.indexOf(pw);
  if (i >= 0) pool.splice(i, 1);
}

/** Ends a stream's use of its worker; the last stream out stops the thread (nothing lingers). */
function release(pw: PooledWorker, id: number): void {
  if (!pw.streams.delete(id)) return;
  if (pw.streams.size === 0) retire(pw);
}

/** Worker threads alive now (tests prove the pool is bounded and drains). */
export function zlibWorkerCount(): number {
  return pool.length;
}

/**
 * gzip or gunzip on a worker thread, as a TransformStream. node:zlib runs synchronously on the
 * thread that calls it; with compression on its own thread, the main thread keeps fetching,
 * scanning and hashing at the same time (scripts/bench.ts measures the difference). Input chunks
 * are copied to the worker; output order is preserved. A few chunks are kept in flight so both
 * threads stay busy, and no more, so memory stays bounded.
 */
export class ZlibWorkerStream extends TransformStream<Uint8Array, Uint8Array> {
  constructor(mode: "gzip" | "gunzip", level = 6) {
    const id = nextStreamId++;
    let pw: PooledWorker | undefined;
    let controller!: TransformStreamDefaultController<Uint8Array>;
    let failure: Error | null = null;
    let inFlight = 0;
    /** Sizes of the pieces at the worker, oldest first (acknowledged in order). */
    const pieces: number[] = [];
    let inFlightBytes = 0;
    let wake: (() => void) | null = null;
    let done!: () => void;
    const finished = new Promise<void>((res) => (done = res));
    /** Wakes a transform() waiting for room. */
    const notify = () => {
      const w = wake;
      wake = null;
      w?.();
    };
    let stopped = false;
    const stop = (abort: boolean) => {
      if (stopped) return;
      stopped = true;
      if (abort) pw?.worker.postMessage({ id, type: "abort" });
      if (pw) release(pw, id);
      done();
      notify();
    };
    const onMessage = (msg: WorkerMessage) => {
      if (stopped) return;
      if (msg.type === "out") {
        try {
          posted.add(msg.data!.buffer);
          controller.enqueue(msg.data!);
        } catch {
          // The readable side is gone (the pipeline failed elsewhere): stop quietly.
          stop(true);
        }
      } else if (msg.type === "ack") {
        inFlight--;
        inFlightBytes -= pieces.shift() ?? 0;
      } else if (msg.type === "member") {
        try {
          controller.enqueue(GZIP_MEMBER_END);
        } catch {
          stop(true);
        }
      } else if (msg.type === "done") stop(false);
      else if (msg.type === "error") {
        failure = new TypeError(`${mode} failed: ${msg.message}`);
        controller.error(failure);
        stop(false);
      }
      notify();
    };
    super({
      start(c) {
        controller = c;
        pw = acquire(id, onMessage);
        pw.worker.postMessage({ id, type: "start", mode, level });
      },
      async transform(chunk) {
        if (failure) throw failure;
        if (stopped) return;
        if (chunk === GZIP_MEMBER_END) {
          // In order with the chunks around it; the worker holds what follows until the next
          // member is open, so nothing here waits for the member to end.
          if (mode === "gzip") pw!.worker.postMessage({ id, type: "member" });
          return;
        }
        for (let at = 0; at < chunk.byteLength; at += PIECE_BYTES) {
          while (inFlight >= MAX_PIECES_IN_FLIGHT && !failure && !stopped) {
            await new Promise<void>((r) => (wake = r));
          }
          if (failure) throw failure;
          if (stopped) return;
          // Transfer a copy: the producer (zip.js, a file reader) may still own and reuse its
          // buffer, and a memcpy costs little next to compression.
          const own = chunk.slice(at, at + PIECE_BYTES);
          inFlight++;
          pieces.push(own.byteLength);
          inFlightBytes += own.byteLength;
          if (inFlightBytes > inFlightPeak) inFlightPeak = inFlightBytes;
          pw!.worker.postMessage({ id, type: "chunk", data: own }, [own.buffer as ArrayBuffer]);
        }
      },
      async flush() {
        if (!stopped) pw!.worker.postMessage({ id, type: "end" });
        await finished;
        if (failure) throw failure;
      },
      cancel() {
        stop(true);
      },
    });
  }
}
