import assert from "node:assert/strict";
import { ConfigError, VerificationError } from "../errors.ts";
import { clearSecrets, redactSecrets } from "../config/secrets.ts";
import {
  checkRecipient,
  decryptStream,
  encryptStream,
  inspectHeader,
  loadAge,
  parseIdentityFile,
  parseRecipientsFile,
  WrongIdentityError,
} from "./age.ts";

async function keys(hybrid = false) {
  const age = await loadAge();
  const identity = hybrid ? await age.generateHybridIdentity() : await age.generateIdentity();
  return { identity, recipient: await age.identityToRecipient(identity) };
}

const bytesOf = async (s: ReadableStream<Uint8Array>) =>
  new Uint8Array(await new Response(s).arrayBuffer());

/** 200 KiB of varied bytes: more than three 64 KiB age chunks. */
const PLAIN = Uint8Array.from({ length: 200 * 1024 + 7 }, (_, i) => (i * 31 + (i >> 8)) & 0xff);

Deno.test("age: a library-only round trip (X25519 and post-quantum hybrid recipients) gives the bytes back", async () => {
  const x = await keys();
  const pq = await keys(true);
  assert.match(x.recipient, /^age1[0-9a-z]+$/);
  assert.match(pq.recipient, /^age1pq1[0-9a-z]+$/);
  const cipher = await bytesOf(
    await encryptStream(ReadableStream.from([PLAIN]), [x.recipient, pq.recipient]),
  );
  const header = await inspectHeader(ReadableStream.from([cipher]), "t.zip.age");
  assert.deepEqual(header, { recipients: 2, types: ["X25519", "mlkem768x25519"] });
  for (const k of [x, pq]) {
    const ids = await parseIdentityFile(`# a key\n\n${k.identity}\n`, "test");
    const plain = await bytesOf(await decryptStream(ReadableStream.from([cipher]), ids, "t"));
    assert.deepEqual(plain, PLAIN);
  }
  clearSecrets();
});

Deno.test("age: wrong identity, truncation and flipped bytes are typed one-line errors", async () => {
  const k = await keys();
  const other = await keys();
  const cipher = await bytesOf(await encryptStream(ReadableStream.from([PLAIN]), [k.recipient]));
  const ids = await parseIdentityFile(k.identity, "test");
  const read = async (bytes: Uint8Array, with_ = ids) =>
    await bytesOf(await decryptStream(ReadableStream.from([bytes]), with_, "x.zip.age"));
  await assert.rejects(
    read(cipher, await parseIdentityFile(other.identity, "other")),
    WrongIdentityError,
  );
  await assert.rejects(read(cipher.subarray(0, cipher.length - 100)), VerificationError);
  // Cut exactly at a chunk boundary (the whole last chunk gone): its end marker is missing.
  await assert.rejects(
    read(cipher.subarray(0, cipher.length - (8 * 1024 + 7 + 16))),
    VerificationError,
  );
  const payload = cipher.slice();
  payload[payload.length - 5000]! ^= 1;
  await assert.rejects(
    read(payload),
    (e: Error) =>
      e instanceof VerificationError && /damaged/.test(e.message) && !e.message.includes("\n"),
  );
  const mac = cipher.slice();
  const macAt = new TextDecoder().decode(cipher.subarray(0, 300)).indexOf("--- ") + 6;
  mac[macAt] = mac[macAt] === 0x41 ? 0x42 : 0x41; // another base64 letter: a flipped bit might not be one
  await assert.rejects(read(mac), /age header does not parse or verify/);
  clearSecrets();
});

Deno.test("age: recipients files are read as age reads them; a malformed line is named by number", async () => {
  const a = await keys();
  const b = await keys(true);
  assert.deepEqual(
    await parseRecipientsFile(`# team keys\n\n${a.recipient}\n  ${b.recipient}  \n`, "r.txt"),
    [a.recipient, b.recipient],
  );
  await assert.rejects(
    parseRecipientsFile(`# keys\n${a.recipient}\nage1notakey\n`, "r.txt"),
    (e: Error) =>
      e instanceof ConfigError &&
      /recipients file "r.txt" line 3: "age1notakey" is not an age recipient/.test(e.message),
  );
  await assert.rejects(parseRecipientsFile("# nothing\n", "r.txt"), /holds no recipient/);
  await assert.rejects(checkRecipient("ssh-ed25519 AAAA", { where: "--encrypt-to" }), ConfigError);
  await assert.rejects(
    checkRecipient(a.recipient.slice(0, -1) + "q", { where: "--encrypt-to" }),
    /--encrypt-to: "age1/,
  );
});

Deno.test("age: an identity file is a secret: registered for redaction, and a bad line is never quoted", async () => {
  const k = await keys();
  const broken = k.identity.slice(0, -2) + "QQ";
  await assert.rejects(
    parseIdentityFile(`# created\n${k.identity}\n${broken}\n`, "--identity-file k.txt"),
    (e: Error) =>
      e instanceof ConfigError && /line 3 is not an age identity/.test(e.message) &&
      !e.message.includes(broken) && !e.message.includes("AGE-SECRET-KEY-1Q"),
  );
  assert.equal(redactSecrets(`x ${k.identity} y ${broken}`), "x *** y ***");
  clearSecrets();
});
