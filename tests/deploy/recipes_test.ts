/**
 * The deployment recipes in deploy/ and the release workflow, checked where a checker exists:
 * `systemd-analyze verify` for the units (when installed), a YAML parser for the Kubernetes
 * manifest and the GitHub Actions workflow, and, for all of them, that the astrabak flags they use
 * exist and that the paths they grant match the sandbox the binary is built with.
 */

import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { parse, parseAllDocuments } from "yaml";
import { buildProgram } from "../../src/cli/program.ts";
import { ExitCode } from "../../src/exit_codes.ts";
import { RunMetrics } from "../../src/metrics/run_metrics.ts";
import { REPO_ROOT } from "../e2e/run_cli.ts";
import { ensureTool } from "../support/tools.ts";

const read = (p: string) => Deno.readTextFile(join(REPO_ROOT, p));

/** The long flags `astrabak <command>` accepts. */
function flagsOf(command: string): Set<string> {
  const program = buildProgram({
    env: {},
    signal: new AbortController().signal,
    exitCode: ExitCode.Ok,
    output: null,
  });
  const cmd = program.commands.find((c) => c.name() === command);
  assert.ok(cmd, `no command ${command}`);
  return new Set(cmd.options.map((o) => o.long!).filter(Boolean));
}

/** Asserts an astrabak argument list names a real command and only its real flags. */
function assertCliArgs(args: string[], where: string): void {
  const [command, ...rest] = args;
  const known = flagsOf(command!);
  for (const a of rest.filter((x) => x.startsWith("--"))) {
    assert.ok(known.has(a.split("=")[0]!), `${where}: astrabak ${command} has no ${a}`);
  }
}

/** `key=value` lines of a systemd unit (every occurrence, comments skipped). */
function unitSettings(text: string): Array<[string, string]> {
  return text.split("\n")
    .filter((l) => /^[A-Za-z]+=/.test(l))
    .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]);
}

/** The largest peak RSS (MB) docs/BENCHMARKS.md reports for an astrabak command. */
async function benchPeakRssMb(): Promise<number> {
  const rows = (await read("docs/BENCHMARKS.md")).split("\n").filter((l) =>
    /\|\s*astrabak (backup|restore|verify)/.test(l)
  );
  const mbs = rows.map((l) => Number(/(\d+) MB \|\s*$/.exec(l)?.[1] ?? NaN)).filter(isFinite);
  assert.ok(mbs.length > 5, "BENCHMARKS.md has peak RSS figures");
  return Math.max(...mbs);
}

async function hasSystemdAnalyze(): Promise<boolean> {
  try {
    return (await new Deno.Command("systemd-analyze", { args: ["--version"], stdout: "null" })
      .output()).success;
  } catch {
    return false;
  }
}

Deno.test("deploy: the systemd service is hardened like the Deno sandbox and its timer is persistent", async () => {
  const service = await read("deploy/systemd/astrabak-backup.service");
  const timer = await read("deploy/systemd/astrabak-backup.timer");
  const s = new Map(unitSettings(service));
  const t = new Map(unitSettings(timer));
  for (
    const [k, v] of [
      ["ProtectSystem", "strict"],
      ["NoNewPrivileges", "yes"],
      ["PrivateTmp", "yes"],
      ["ProtectHome", "yes"],
      ["User", "astrabak"],
      ["Type", "oneshot"],
    ]
  ) assert.equal(s.get(k!), v, k);
  const execStart = s.get("ExecStart")!.split(/\s+/);
  assert.equal(execStart[0], "/usr/local/bin/astrabak");
  assertCliArgs(execStart.slice(1), "ExecStart");
  const out = execStart[execStart.indexOf("--out") + 1]!;
  const metricsDir = dirname(execStart[execStart.indexOf("--metrics-file") + 1]!);
  assert.deepEqual(
    s.get("ReadWritePaths")!.split(/\s+/),
    [out, metricsDir],
    "the writable paths are the backup directory and the metrics file's directory",
  );
  // The token: a credential, named by ASTRABAK_TOKEN_FILE inside $CREDENTIALS_DIRECTORY (%d).
  const [credName, credSource] = s.get("LoadCredential")!.split(":");
  assert.equal(credSource, "/etc/astrabak/token");
  assert.equal(s.get("Environment"), `ASTRABAK_TOKEN_FILE=%d/${credName}`);
  // The build line in the header grants the binary exactly those paths.
  assert.match(service, new RegExp(`ASTRABAK_ALLOW_WRITE=${out},${metricsDir} `));
  assert.match(service, /ASTRABAK_ALLOW_READ=\/run\/credentials\/astrabak-backup\.service /);
  assert.ok(!/MemoryDenyWriteExecute=yes/.test(service), "V8's JIT needs W+X memory");
  assert.equal(t.get("Persistent"), "true");
  assert.ok(t.get("RandomizedDelaySec"));
  assert.ok(t.get("OnCalendar"));
});

const ANALYZE = await hasSystemdAnalyze();

Deno.test({
  name: `deploy: systemd-analyze verify accepts the units with no warning${
    ANALYZE ? "" : " (ignored: systemd-analyze is not installed; apt-get install systemd)"
  }`,
  ignore: !ANALYZE,
  fn: async () => {
    // verify insists that ExecStart exists: point it at a stand-in binary in a scratch copy.
    const dir = await Deno.makeTempDir({ prefix: "astrabak-units-" });
    try {
      const bin = join(dir, "astrabak");
      await Deno.writeTextFile(bin, "#!/bin/sh\nexit 0\n", { mode: 0o755 });
      for (const f of ["astrabak-backup.service", "astrabak-backup.timer"]) {
        const text = await read(`deploy/systemd/${f}`);
        await Deno.writeTextFile(join(dir, f), text.replaceAll("/usr/local/bin/astrabak", bin));
      }
      const r = await new Deno.Command("systemd-analyze", {
        args: [
          "verify",
          "--man=no",
          join(dir, "astrabak-backup.service"),
          join(dir, "astrabak-backup.timer"),
        ],
        env: { SYSTEMD_LOG_LEVEL: "warning" },
      }).output();
      const said = new TextDecoder().decode(r.stdout) + new TextDecoder().decode(r.stderr);
      assert.equal(r.code, 0, said);
      // "Unknown key", "Failed to parse … ignoring" are warnings with exit 0: none is allowed.
      assert.equal(said.trim(), "", said);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("deploy: the Kubernetes CronJob forbids overlap, takes the token from a Secret, mounts a PVC, sized from the bench", async () => {
  const docs = parseAllDocuments(await read("deploy/kubernetes/astrabak-backup.yaml"));
  for (const d of docs) assert.deepEqual(d.errors, []);
  const objects = docs.map((d) => d.toJS());
  const pvc = objects.find((o) => o.kind === "PersistentVolumeClaim");
  const cron = objects.find((o) => o.kind === "CronJob");
  assert.equal(cron.apiVersion, "batch/v1");
  assert.equal(cron.spec.concurrencyPolicy, "Forbid");
  const pod = cron.spec.jobTemplate.spec.template.spec;
  assert.equal(pod.restartPolicy, "Never");
  assert.equal(pod.securityContext.runAsNonRoot, true);
  const [c] = pod.containers;
  assertCliArgs(c.args, "CronJob args");
  const out = c.args[c.args.indexOf("--out") + 1];
  const mount = c.volumeMounts.find((m: { mountPath: string }) => m.mountPath === out);
  assert.ok(mount, `--out ${out} is a mounted volume`);
  const vol = pod.volumes.find((v: { name: string }) => v.name === mount.name);
  assert.equal(vol.persistentVolumeClaim.claimName, pvc.metadata.name);
  const token = c.env.find((e: { name: string }) => e.name === "ASTRA_DB_APPLICATION_TOKEN");
  assert.ok(token.valueFrom.secretKeyRef.name, "the token comes from a Secret");
  assert.equal(token.value, undefined);
  assert.ok(!JSON.stringify(c.args).includes("AstraCS"), "no secret in args");
  assert.equal(c.securityContext.allowPrivilegeEscalation, false);
  assert.equal(c.securityContext.readOnlyRootFilesystem, true);
  // Memory: the request covers the bench's peak RSS, the limit leaves room for a Box upload
  // (up to 50 MB held in memory, shared/docs/box-facts.md §3.3).
  const mib = (q: string) => Number(/^(\d+)Mi$/.exec(q)![1]) * 1.048576; // MB
  const peak = await benchPeakRssMb();
  assert.ok(mib(c.resources.requests.memory) >= peak, `request >= ${peak} MB`);
  assert.ok(mib(c.resources.limits.memory) >= peak + 50 + 100, "limit leaves headroom");
  // The image's binary may write only there (deploy/docker/Dockerfile).
  assert.match(
    await read("deploy/docker/Dockerfile"),
    new RegExp(`ASTRABAK_ALLOW_WRITE=${out}\\b`),
  );
});

Deno.test("deploy: the Dockerfile builds with deno task compile and runs a non-root, minimal image", async () => {
  const text = await read("deploy/docker/Dockerfile");
  const lines = text.split("\n").filter((l) => l.trim() !== "" && !l.startsWith("#"));
  const stages = lines.filter((l) => /^FROM /.test(l));
  assert.equal(stages.length, 2, "multi-stage");
  assert.match(stages[0]!, /^FROM denoland\/deno:(\S+) AS build$/);
  assert.equal(/deno:(\S+) AS/.exec(stages[0]!)![1], Deno.version.deno, "the pinned Deno");
  assert.ok(lines.some((l) => /^RUN deno install --frozen$/.test(l)));
  assert.ok(lines.some((l) => /^RUN deno task compile\b/.test(l)));
  const runtime = lines.slice(lines.indexOf(stages[1]!));
  assert.ok(runtime.some((l) => /^COPY --from=build \/src\/dist\/astrabak /.test(l)));
  const user = runtime.find((l) => l.startsWith("USER "));
  assert.ok(user && !/\broot\b|^USER 0/.test(user), `non-root: ${user}`);
  assert.ok(!runtime.some((l) => /^RUN /.test(l)), "nothing runs in the runtime stage (no shell)");
  assert.match(text, /ASTRABAK_ALLOW_WRITE=\/backups/);
  assert.match(text, /ENV ASTRABAK_OUT=\/backups/);
});

Deno.test("deploy: the release workflow compiles four targets on a version tag and publishes SHA-256 sums", async () => {
  const wf = parse(await read(".github/workflows/release.yml"));
  assert.deepEqual(wf.on.push.tags, ["v*.*.*"]);
  const build = wf.jobs.build;
  const targets: string[] = build.strategy.matrix.target;
  assert.deepEqual(targets.toSorted(), [
    "aarch64-apple-darwin",
    "aarch64-unknown-linux-gnu",
    "x86_64-apple-darwin",
    "x86_64-unknown-linux-gnu",
  ]);
  // Each is a target this Deno can compile for (it lists them when given an unknown one).
  const refused = new TextDecoder().decode(
    (await new Deno.Command(Deno.execPath(), {
      args: ["compile", "--target", "none", "main.ts"],
      env: { NO_COLOR: "1" },
    }).output()).stderr,
  );
  const known = /possible values: ([^\n]+)/.exec(refused)?.[1]?.split(/,\s*/) ?? [];
  for (const t of targets) assert.ok(known.includes(t), `deno compile --target ${t}: ${refused}`);
  const compile = build.steps.find((s: { run?: string }) => s.run === "deno task compile");
  assert.equal(compile.env.ASTRABAK_TARGET, "${{ matrix.target }}");
  assert.ok(build.needs === "test" && /deno task ok/.test(JSON.stringify(wf.jobs.test.steps)));
  const publish = wf.jobs.publish;
  assert.equal(publish.permissions.contents, "write");
  const runs = publish.steps.map((s: { run?: string }) => s.run ?? "").join("\n");
  assert.match(runs, /sha256sum astrabak-\* > SHA256SUMS/);
  assert.match(runs, /gh release create "\$GITHUB_REF_NAME" dist\/\*/);
  for (const job of Object.values(wf.jobs) as Array<{ steps: Array<{ uses?: string }> }>) {
    const setup = job.steps.find((s) => s.uses?.startsWith("denoland/setup-deno")) as
      | { with: { "deno-version": string } }
      | undefined;
    if (setup) assert.equal(setup.with["deno-version"], `v${Deno.version.deno}`);
  }
});

const PROMTOOL = await ensureTool("promtool", ["--version"], "prometheus");

Deno.test({
  name:
    `deploy: the Prometheus alert rules load, use only metrics astrabak writes, and fire when they should${
      PROMTOOL.ok ? "" : ` (ignored: ${PROMTOOL.reason})`
    }`,
  ignore: !PROMTOOL.ok,
  fn: async () => {
    const rulesPath = join(REPO_ROOT, "deploy/prometheus/astrabak.rules.yml");
    const rules = await read("deploy/prometheus/astrabak.rules.yml");
    // Every astrabak_* name in the rules is one --metrics-file writes.
    const dir = await Deno.makeTempDir({ prefix: "astrabak-rules-" });
    try {
      const metrics = await RunMetrics.open("backup", join(dir, "m.prom"));
      const written = metrics.render(
        2,
        {
          documents: 1,
          bytes: 1,
          collections: [{
            keyspace: "k",
            collection: "c",
            status: "failed",
            documents: 1,
            bytes: 1,
          }],
        },
        null,
        new Date(),
      );
      for (const name of new Set(rules.match(/astrabak_[a-z_]+/g))) {
        assert.match(written, new RegExp(`^# TYPE ${name} gauge$`, "m"), name);
      }
      const check = await new Deno.Command("promtool", { args: ["check", "rules", rulesPath] })
        .output();
      assert.ok(check.success, new TextDecoder().decode(check.stderr));
      // "No successful backup for 26 h": quiet at 25 h, firing at 27 h (plus its 15 min `for`).
      const test = join(dir, "astrabak_test.yml");
      await Deno.writeTextFile(
        test,
        `rule_files: [${JSON.stringify(rulesPath)}]
evaluation_interval: 5m
tests:
  - interval: 5m
    input_series:
      - series: 'astrabak_last_success_timestamp_seconds{command="backup",instance="h"}'
        values: '0+0x400'
      - series: 'astrabak_last_run_exit_code{command="backup",instance="h"}'
        values: '3+0x400'
      - series: 'astrabak_last_run_timestamp_seconds{command="backup",instance="h"}'
        values: '0+0x400'
    alert_rule_test:
      - eval_time: 25h
        alertname: AstrabakNoSuccessfulBackup
        exp_alerts: []
      - eval_time: 27h
        alertname: AstrabakNoSuccessfulBackup
        exp_alerts:
          - exp_labels: { severity: critical, command: backup, instance: h }
            exp_annotations:
              summary: "No successful astrabak backup on h for more than 26 h"
              description: "The last backup that exited 0 ended 1d 3h 0m 0s ago. Look at the last run's exit code and the unit's journal."
      - eval_time: 1h
        alertname: AstrabakOffHostCopyFailed
        exp_alerts:
          - exp_labels: { severity: warning, command: backup, instance: h }
            exp_annotations:
              summary: "astrabak backup on h: snapshot complete, but the Box upload or prune failed (exit 3)"
      - eval_time: 1h
        alertname: AstrabakRunFailed
        exp_alerts: []
`,
      );
      const r = await new Deno.Command("promtool", { args: ["test", "rules", test] }).output();
      const said = new TextDecoder().decode(r.stdout) + new TextDecoder().decode(r.stderr);
      assert.ok(r.success, said);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
