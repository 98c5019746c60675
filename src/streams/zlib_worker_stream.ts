/** Chunks handed to the worker and not yet acknowledged before transform() waits. */
const MAX_IN_FLIGHT = 4;

/**
 * The worker's code. It is built from this string (a blob URL) rather than loaded from a file,
 * so it needs no read permission and no extra file in the compiled binary: the sandbox stays as
 * it is. Protocol, answered in order: `start {mode, level}`; `chunk {data}` → `out {data}`…
 * then `ack`; `end` → remaining `out`, then `done`; any failure → `error {message}`.
 */
const WORKER_SOURCE = `
import { Buffer } from "node:buffer";
import { createGunzip, createGzip } from "node:zlib";
let z = null;
let failed = false;
const fail = (e) => {
  if (failed) return;
  failed = true;
  self.postMessage({ type: "error", message: e && e.message ? e.message : String(e) });
};
self.onmessage = (ev) => {
  const msg = ev.data;
  if (failed) return;
  try {
    if (msg.type === "start") {
      const chunkSize = 256 * 1024;
      z = msg.mode === "gzip" ? createGzip({ level: msg.level, chunkSize }) : createGunzip({ chunkSize });
      z.on("data", (c) => {
        const out = new Uint8Array(c.byteLength);
        out.set(c);
        self.postMessage({ type: "out", data: out }, [out.buffer]);
      });
      z.on("error", fail);
      z.on("end", () => self.postMessage({ type: "done" }));
    } else if (msg.type === "chunk") {
      const d = msg.data;
      z.write(Buffer.from(d.buffer, d.byteOffset, d.byteLength), () => self.postMessage({ type: "ack" }));
    } else if (msg.type === "end") {
      z.end();
    }
  } catch (e) {
    fail(e);
  }
};
`;

let workerUrl: string | undefined;

function startWorker(): Worker {
  workerUrl ??= URL.createObjectURL(new Blob([WORKER_SOURCE], { type: "application/javascript" }));
  return new Worker(workerUrl, { type: "module" });
}

/**
 * gzip or gunzip on a worker thread, as a TransformStream. node:zlib runs synchronously on the
 * thread that calls it; with compression on its own thread, the main thread keeps fetching,
 * scanning and hashing at the same time (scripts/bench.ts measures the difference). Input chunks
 * are copied to the worker; output order is preserved. A few chunks are
 * kept in flight so both threads stay busy, and no more, so memory stays bounded.
 */
export class ZlibWorkerStream extends TransformStream<Uint8Array, Uint8Array> {
  constructor(mode: "gzip" | "gunzip", level = 6) {
    let worker: Worker | undefined;
    let controller!: TransformStreamDefaultController<Uint8Array>;
    let failure: Error | null = null;
    let inFlight = 0;
    let wake: (() => void) | null = null;
    let done!: () => void;
    const finished = new Promise<void>((res) => (done = res));
    const notify = () => {
      const w = wake;
      wake = null;
      w?.();
    };
    let stopped = false;
    const stop = () => {
      stopped = true;
      worker?.terminate();
      done();
      notify();
    };
    super({
      start(c) {
        controller = c;
        worker = startWorker();
        worker.onmessage = (ev: MessageEvent) => {
          if (stopped) return;
          const msg = ev.data as { type: string; data?: Uint8Array; message?: string };
          if (msg.type === "out") {
            try {
              controller.enqueue(msg.data!);
            } catch {
              // The readable side is gone (the pipeline failed elsewhere): stop quietly.
              stop();
            }
          } else if (msg.type === "ack") inFlight--;
          else if (msg.type === "done") done();
          else if (msg.type === "error") {
            failure = new TypeError(
              `${mode === "gzip" ? "gzip" : "gunzip"} failed: ${msg.message}`,
            );
            controller.error(failure);
            stop();
          }
          notify();
        };
        worker.onerror = (e) => {
          e.preventDefault();
          failure = new Error(`the ${mode} worker failed: ${e.message}`);
          controller.error(failure);
          stop();
        };
        worker.postMessage({ type: "start", mode, level });
      },
      async transform(chunk) {
        if (failure) throw failure;
        // Transfer a copy: the producer (zip.js, a file reader) may still own and reuse its
        // buffer, and a memcpy costs little next to compression.
        const own = chunk.slice();
        inFlight++;
        worker!.postMessage({ type: "chunk", data: own }, [own.buffer as ArrayBuffer]);
        while (inFlight >= MAX_IN_FLIGHT && !failure && !stopped) {
          await new Promise<void>((r) => (wake = r));
        }
        if (failure) throw failure;
      },
      async flush() {
        worker!.postMessage({ type: "end" });
        await finished;
        worker!.terminate();
        if (failure) throw failure;
      },
      cancel() {
        stop();
      },
    });
  }
}
