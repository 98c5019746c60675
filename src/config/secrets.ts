/**
 * @module
 * Keeps secrets out of everything astrabak prints or writes. Secrets are registered once, when
 * configuration is resolved; the terminal writer and the manifest writer pass every string
 * through {@linkcode redactSecrets}.
 */

const secrets = new Set<string>();

/** Registers a secret value (and common encodings of it) so it is masked wherever it appears. */
export function registerSecret(value: string): void {
  if (value.length < 4) return;
  secrets.add(value);
  secrets.add(encodeURIComponent(value));
  secrets.add(base64Utf8(value));
}

/** Base64 of a string's UTF-8 bytes (how Cassandra-style tokens carry a username and password). */
export function base64Utf8(s: string): string {
  return btoa(String.fromCharCode(...new TextEncoder().encode(s)));
}

/** Replaces every registered secret in `text` with `***`. */
export function redactSecrets(text: string): string {
  let out = text;
  // Longest first, so a secret that contains another (a token built from a password) is masked whole.
  for (const s of [...secrets].sort((a, b) => b.length - a.length)) {
    if (out.includes(s)) out = out.split(s).join("***");
  }
  return out;
}

/** Forgets all secrets (tests only). */
export function clearSecrets(): void {
  secrets.clear();
}
