/**
 * Schema and consistency checks for manifests, shared by the reader (untrusted input) and the
 * writer (a self-check before anything is renamed into place).
 */

import Ajv from "ajv";
import schema from "../../docs/manifest.schema.json" with { type: "json" };
import type { Manifest } from "./types.ts";
import { dataFileName, MAX_LINE_BYTES } from "./names.ts";
import { vectorStats } from "./definition.ts";

/** The parts of an ajv error (verbose mode) used to describe it. */
interface SchemaError {
  instancePath: string;
  schemaPath: string;
  keyword: string;
  params: Record<string, unknown>;
  message?: string;
  schema?: unknown;
  data?: unknown;
}

type ValidateFn = ((data: unknown) => boolean) & { errors?: SchemaError[] | null };

let compiled: ValidateFn | undefined;

function validator(): ValidateFn {
  if (!compiled) {
    const AjvClass = (Ajv as unknown as { default?: typeof Ajv }).default ?? Ajv;
    const ajv = new (AjvClass as unknown as new (o: object) => { compile(s: object): ValidateFn })({
      allErrors: true,
      strict: false,
      verbose: true,
    });
    compiled = ajv.compile(schema);
  }
  return compiled;
}

/**
 * Returns the problems found in `data` (empty when it is a valid manifest): schema violations
 * first, then cross-field rules the schema cannot express (unique names and files, file names
 * that match their collection, totals that add up, plausible sizes).
 */
export function manifestProblems(data: unknown): string[] {
  const validate = validator();
  if (!validate(data)) {
    const described = (validate.errors ?? []).map(describeError).filter((d) => d !== null);
    const unique = [...new Set(described)];
    return unique.length > 0 ? unique.slice(0, 5) : ["(the manifest) does not match its schema"];
  }
  const m = data as Manifest;
  const problems: string[] = [];
  const names = new Set<string>();
  const files = new Set<string>();
  let ok = 0;
  let failed = 0;
  let documents = 0;
  if (m.warnings !== undefined && m.backup_format_version < 3) {
    problems.push(`/warnings needs backup_format_version 3, not ${m.backup_format_version}`);
  }
  if (m.encryption !== undefined && m.backup_format_version < 4) {
    problems.push(`/encryption needs backup_format_version 4, not ${m.backup_format_version}`);
  }
  if (m.resumed !== undefined) {
    if (m.backup_format_version < 4) {
      problems.push(`/resumed needs backup_format_version 4, not ${m.backup_format_version}`);
    }
    if (m.resumed.times !== m.resumed.at_utc.length) {
      problems.push(
        `/resumed/times ${m.resumed.times} does not match the ${m.resumed.at_utc.length} times listed`,
      );
    }
  }
  m.collections.forEach((c, i) => {
    const at = `/collections/${i}`;
    const key = `${c.keyspace}.${c.name}`;
    if (names.has(key)) problems.push(`${at} duplicates collection ${key}`);
    if (c.kind === "table" && m.backup_format_version < 2) {
      problems.push(
        `${at} is a table, which backup_format_version ${m.backup_format_version} cannot hold`,
      );
    }
    names.add(key);
    if (c.status === "ok") {
      ok++;
      documents += c.document_count ?? 0;
      const expected = dataFileName(c.keyspace, c.name, c.compressed);
      if (c.data_file !== expected) {
        problems.push(`${at}/data_file must be "${expected}" for ${key}`);
      }
      if (c.data_file !== null) {
        if (files.has(c.data_file)) problems.push(`${at}/data_file ${c.data_file} is listed twice`);
        files.add(c.data_file);
      }
      const count = c.document_count ?? 0;
      const raw = c.uncompressed_size_bytes ?? 0;
      // Smallest possible line is `{"_id":0}\n` (10 bytes).
      if (raw < count * 10 || raw > count * MAX_LINE_BYTES) {
        problems.push(`${at}/uncompressed_size_bytes ${raw} is implausible for ${count} documents`);
      }
      if (!c.compressed && c.data_size_bytes !== raw) {
        problems.push(
          `${at}/data_size_bytes must equal uncompressed_size_bytes when not compressed`,
        );
      }
      for (const v of vectorStats(c)) {
        if (v.documents_with_vector + v.documents_without_vector !== count) {
          problems.push(`${at} vector counts of ${v.field} do not add up to document_count`);
        }
      }
    } else {
      failed++;
    }
  });
  if (m.totals.collections_ok !== ok || m.totals.collections_failed !== failed) {
    problems.push(`/totals do not match the collections listed (${ok} ok, ${failed} failed)`);
  }
  if (m.totals.documents !== documents) {
    problems.push(`/totals/documents ${m.totals.documents} does not match the sum ${documents}`);
  }
  if ((m.status === "complete") !== (failed === 0)) {
    problems.push(`/status "${m.status}" contradicts ${failed} failed collection(s)`);
  }
  return problems;
}

/**
 * One schema violation in words: which field, what it holds, what was expected. ajv's own list
 * repeats each problem once per schema branch (`must match "then" schema`, `must be null`, `must
 * match exactly one schema in oneOf`); those wrappers and the `null` alternatives of optional
 * fields are dropped, since the error inside them says what is wrong. Null when nothing is left.
 */
function describeError(e: SchemaError): string | null {
  const at = e.instancePath || "(the manifest)";
  const p = e.params;
  switch (e.keyword) {
    case "if":
    case "oneOf":
    case "anyOf":
    case "allOf":
      return null;
    case "type":
      if (p.type === "null" && e.schemaPath.includes("/oneOf/")) return null;
      return `${at} is ${shown(e.data)}, expected ${
        p.type === "null" ? "null" : withArticle(String(p.type))
      }`;
    case "required":
      return `${at} is missing the field "${p.missingProperty}"`;
    case "additionalProperties":
      return `${at} has a field this format does not know: "${p.additionalProperty}"`;
    case "enum":
      return `${at} is ${shown(e.data)}, expected one of ${
        (p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(", ")
      }`;
    case "const":
      return `${at} is ${shown(e.data)}, expected ${JSON.stringify(p.allowedValue)}`;
    case "pattern":
      return `${at} is ${shown(e.data)}, expected a string matching ${p.pattern}`;
    case "maximum":
    case "minimum":
    case "exclusiveMaximum":
    case "exclusiveMinimum":
      return `${at} is ${shown(e.data)}, expected a number ${p.comparison} ${p.limit}`;
    case "not":
      return `${at} must not have ${forbidden(e.schema)}${condition(e.schemaPath, e.schema)}`;
    default:
      return `${at} ${e.message ?? "is invalid"}`;
  }
}

/** A value as it appears in the manifest, shortened, with its JSON type. */
function shown(v: unknown): string {
  const text = JSON.stringify(v) ?? String(v);
  const short = text.length > 60 ? `${text.slice(0, 57)}...` : text;
  if (v === null) return "null";
  return `${short} (${Array.isArray(v) ? "an array" : withArticle(typeof v)})`;
}

function withArticle(type: string): string {
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

/** The fields a `not: {required}` (or `not: {anyOf: [{required}…]}`) schema forbids. */
function forbidden(schema: unknown): string {
  const s = schema as { required?: string[]; anyOf?: Array<{ required?: string[] }> } | undefined;
  const names = s?.required ?? s?.anyOf?.flatMap((a) => a.required ?? []) ?? [];
  return names.length > 0 ? names.map((n) => `"${n}"`).join(" or ") : "what it has";
}

/**
 * ` when <field> is <value>` for a `not` inside an if/then/else branch. ajv gives the path relative
 * to the `$ref`'d definition, so the definition is found by the `not` schema it holds.
 */
function condition(schemaPath: string, not: unknown): string {
  const m = /^#(.*)\/(then|else)\/not$/.exec(schemaPath);
  if (!m) return "";
  const parts = m[1]!.split("/").filter(Boolean);
  const at = (node: unknown, path: string[]): unknown =>
    path.reduce<unknown>((n, k) => (n as Record<string, unknown> | undefined)?.[k], node);
  const wanted = JSON.stringify(not);
  const search = (node: unknown): unknown => {
    if (node === null || typeof node !== "object") return undefined;
    if (JSON.stringify(at(node, [...parts, m[2]!, "not"])) === wanted) {
      return at(node, [...parts, "if"]);
    }
    for (const child of Object.values(node)) {
      const found = search(child);
      if (found !== undefined) return found;
    }
    return undefined;
  };
  const props = (search(schema) as { properties?: Record<string, { const?: unknown }> })
    ?.properties ?? {};
  const [field, rule] = Object.entries(props)[0] ?? [];
  if (!field || rule?.const === undefined) return "";
  return ` when ${field} is ${m[2] === "then" ? "" : "not "}${JSON.stringify(rule.const)}`;
}
