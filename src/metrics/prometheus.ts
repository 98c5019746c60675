/**
 * @module
 * Prometheus text exposition format (version 0.0.4), as node_exporter's textfile collector reads
 * it: `# HELP` and `# TYPE` once per metric family, then its samples, label values escaped.
 */

/** One sample of a gauge. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A metric family: its help text and samples (all gauges here). */
export interface Family {
  name: string;
  help: string;
  samples: Sample[];
}

/** Escapes a label value: backslash, double quote and newline. */
export function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function escapeHelp(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}

/** Renders families (empty ones are left out: a family needs at least one sample). */
export function renderFamilies(families: readonly Family[]): string {
  const lines: string[] = [];
  for (const f of families) {
    if (f.samples.length === 0) continue;
    lines.push(`# HELP ${f.name} ${escapeHelp(f.help)}`, `# TYPE ${f.name} gauge`);
    for (const s of f.samples) {
      const labels = Object.entries(s.labels).map(([k, v]) => `${k}="${escapeLabelValue(v)}"`);
      lines.push(
        `${s.name}${labels.length ? `{${labels.join(",")}}` : ""} ${formatValue(s.value)}`,
      );
    }
  }
  return lines.join("\n") + "\n";
}

/**
 * The value of `name` with exactly these `labels` in a previously written file, or null. Only
 * what {@linkcode renderFamilies} writes needs to be understood.
 */
export function findSample(
  text: string,
  name: string,
  labels: Record<string, string>,
): number | null {
  for (const line of text.split("\n")) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const found: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      found[l[1]!] = l[2]!.replace(/\\n/g, "\n").replace(/\\(.)/g, "$1");
    }
    const same = Object.keys(found).length === Object.keys(labels).length &&
      Object.entries(labels).every(([k, v]) => found[k] === v);
    const value = Number(m[3]);
    if (same && Number.isFinite(value)) return value;
  }
  return null;
}
