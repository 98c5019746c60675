/**
 * @module
 * What main.ts needs to report a command line it could not parse: how the user asked for output
 * (`--json`, `--log-format json`) although parsing failed, and the error text with anything secret
 * taken out. A usage error quotes what was typed (`unknown option '--token=AstraCS:…'`), and cron
 * mails stderr: values given with `=` and anything that looks like a token never appear.
 */

import { registerSecret } from "../config/secrets.ts";
import type { OutputOptions } from "./output.ts";

/** Application tokens and Cassandra-style tokens, wherever they appear in a text. */
const TOKEN_IN_TEXT = /\b(AstraCS|Cassandra):[^\s'"]+/g;

/**
 * Whether a command-line word looks like a credential: an application token (`AstraCS:…`), a
 * Cassandra-style token, or a long run of letters and digits with no path separator (a client
 * secret or API key).
 */
export function looksLikeSecret(word: string): boolean {
  if (/^(AstraCS|Cassandra):/i.test(word)) return true;
  return word.length >= 24 && /^[A-Za-z0-9+=_.:-]+$/.test(word) && /\d/.test(word) &&
    /[A-Za-z]/.test(word) && !word.startsWith("-");
}

/**
 * Registers every argument (or `--flag=` value) that is a token (`AstraCS:…`, `Cassandra:…`) as a
 * secret, so that no output of this run, usage error or not, can print it. (The wider
 * {@linkcode looksLikeSecret} applies to usage errors only: a long collection name must stay
 * readable in reports.)
 */
export function registerArgSecrets(args: readonly string[]): void {
  for (const a of args) {
    const eq = a.startsWith("-") ? a.indexOf("=") : -1;
    const word = eq > 0 ? a.slice(eq + 1) : a;
    if (/^(AstraCS|Cassandra):/i.test(word)) registerSecret(word);
  }
}

/**
 * A usage error's text with the values of `--flag=value` arguments and token-like words replaced
 * by `***`. The flag names stay, so the message still says what was wrong.
 */
export function redactUsage(text: string, args: readonly string[]): string {
  let out = text;
  for (const a of args) {
    const eq = a.startsWith("-") ? a.indexOf("=") : -1;
    if (eq > 0 && eq < a.length - 1) {
      out = out.split(a).join(`${a.slice(0, eq)}=***`);
      out = out.split(`'${a.slice(eq + 1)}'`).join("'***'");
    } else if (looksLikeSecret(a)) {
      out = out.split(a).join("***");
    }
  }
  return out.replace(TOKEN_IN_TEXT, "$1:***");
}

/**
 * The output options the command line asks for, read without commander (which failed): `--json`,
 * `--log-format json` or `--log-format=json`, and `-v`/`--verbose`, up to a `--`.
 */
export function outputOptionsFromArgs(args: readonly string[]): OutputOptions {
  const end = args.indexOf("--");
  const words = end < 0 ? args : args.slice(0, end);
  let logFormat: OutputOptions["logFormat"] = "text";
  words.forEach((w, i) => {
    if (w === "--log-format=json" || (w === "--log-format" && words[i + 1] === "json")) {
      logFormat = "json";
    }
  });
  return {
    json: words.includes("--json"),
    logFormat,
    verbose: words.includes("--verbose") || words.includes("-v"),
  };
}
