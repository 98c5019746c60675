/**
 * Schema and consistency checks for manifests, shared by the reader (untrusted input) and the
 * writer (a self-check before anything is renamed into place).
 */

import Ajv from "ajv";
import schema from "../../docs/manifest.schema.json" with { type: "json" };
import type { Manifest } from "./types.ts";
import { dataFileName, MAX_LINE_BYTES } from "./names.ts";
import { vectorStats } from "./definition.ts";

type ValidateFn = ((data: unknown) => boolean) & {
  errors?: Array<{ instancePath: string; message?: string }> | null;
};

let compiled: ValidateFn | undefined;

function validator(): ValidateFn {
  if (!compiled) {
    const AjvClass = (Ajv as unknown as { default?: typeof Ajv }).default ?? Ajv;
    const ajv = new (AjvClass as unknown as new (o: object) => { compile(s: object): ValidateFn })({
      allErrors: true,
      strict: false,
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
    return (validate.errors ?? []).slice(0, 5).map((e) =>
      `${e.instancePath || "(root)"} ${e.message ?? "is invalid"}`
    );
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
