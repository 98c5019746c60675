/**
 * A WritableStream into an already open file that makes the data durable before it reports
 * success: on close it fsyncs and then closes the file. A snapshot is only renamed to its final
 * name after every sink has closed, so a crash can never leave a finished-looking snapshot with
 * unflushed data. The caller owns opening (and removing) the file.
 */
export function fileSink(file: Deno.FsFile): WritableStream<Uint8Array> {
  let closed = false;
  const closeOnce = () => {
    if (!closed) {
      closed = true;
      file.close();
    }
  };
  return new WritableStream<Uint8Array>({
    async write(chunk) {
      let off = 0;
      while (off < chunk.byteLength) off += await file.write(chunk.subarray(off));
    },
    async close() {
      try {
        await file.sync();
      } finally {
        closeOnce();
      }
    },
    abort() {
      closeOnce();
    },
  });
}
