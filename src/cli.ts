#!/usr/bin/env node
/**
 * Command line entry. With no command it serves MCP over stdio: stdout is JSON-RPC only,
 * every log line is JSON on stderr.
 */
import { parseArgs } from 'node:util';
import { resolveConfigDirs } from './config/load.js';
import { ConfigError } from './config/errors.js';
import { writeStarterConfig } from './config/init.js';
import { runDemo } from './demo/demo.js';
import { runSetupCommand } from './setup/elasticsearch.js';
import { runReportCommand } from './monitor/report.js';
import { runVerifyCommand } from './monitor/verify.js';
import { runWatchCommand } from './monitor/watch.js';

const MONITOR_COMMANDS = { verify: runVerifyCommand, report: runReportCommand, watch: runWatchCommand } as const;
import { Orchestrator } from './orchestrator.js';
import { createMcpServer, serveStdio } from './server/server.js';
import type { Server } from 'node:http';
import { AuditChain } from './telemetry/audit-chain.js';
import { installProcessGuard } from './telemetry/process-guard.js';
import { TelemetryBus, unixSecondsNow } from './telemetry/bus.js';
import { MetricsSink } from './telemetry/metrics.js';
import { metricsUrlOf, parseMetricsAddress, startMetricsServer } from './telemetry/metrics-server.js';
import { runHealthCheck } from './health-check.js';
import { runKitCommand } from './kit.js';
import { otlpExportsMetrics, startOpenTelemetry } from './telemetry/otel.js';
import { StderrSink } from './telemetry/stderr-sink.js';
import { VERSION } from './version.js';

const HELP = `mcp-ssh-orchestrator ${VERSION}
An MCP server that runs shell commands on a fleet of SSH hosts under a policy,
with a structured audit trail (JSON lines on stderr).

Usage:
  mcp-ssh-orchestrator [serve] [options]   serve MCP over stdio (the default)
  mcp-ssh-orchestrator init [DIR]          write a starter config directory (default ./config);
                                           existing files are never overwritten
  mcp-ssh-orchestrator setup elasticsearch --url URL [--kibana-url URL] [...]
                                           install the Elasticsearch/Kibana kit (templates, ingest
                                           pipelines, ILM policies, saved objects); setup --help
  mcp-ssh-orchestrator kit path | kit export DIR
                                           where this installation's log-pipeline kit is (elk/,
                                           otel-collector/, pipelines/, monitoring/, docs/, the
                                           compose stack), or a copy of it to edit; kit --help
  mcp-ssh-orchestrator verify [FILE...]    check a tamper-evident audit log (--audit-chain); verify --help
  mcp-ssh-orchestrator report --from T --to T [FILE...]
                                           compliance report over audit logs (md, json, csv)
  mcp-ssh-orchestrator watch [FILE...]     anomaly watch over the audit stream with a baseline on disk
  mcp-ssh-orchestrator check [--config-dir DIR] [--metrics-addr H:P]
                                           validate the config (and known_hosts) and, with a
                                           metrics address, that the server answers on /metrics;
                                           exit 0 healthy, 2 not (the container HEALTHCHECK)
  mcp-ssh-orchestrator demo [--otlp URL] [--keep] [--embedded-sshd | --openssh]
                                           a complete scripted session on this machine: a local
                                           SSH server (OpenSSH if installed, else embedded), a
                                           generated fleet, the real MCP client; --keep leaves the
                                           SSH server up for your own MCP client
  mcp-ssh-orchestrator demo --config-dir DIR [--raw-stderr] [--every SECONDS] [--server-arg ARG]...
                                           the same session against an existing fleet (the compose
                                           stack's traffic source): --raw-stderr passes the server's
                                           JSON lines through unchanged, --every repeats until stopped
  mcp-ssh-orchestrator --help | --version

Options:
  --config-dir DIR        config directory with servers.yml, credentials.yml, policy.yml
                          (env MCP_SSH_CONFIG_DIR, default ./config)
  --max-concurrency N     commands running at once across all hosts (env MCP_SSH_MAX_CONCURRENCY, default 32)
  --max-per-host N        commands running at once on one host (env MCP_SSH_MAX_PER_HOST, default 8)
  --idle-timeout SECONDS  close a pooled SSH connection after it sat unused this long
                          (env MCP_SSH_IDLE_TIMEOUT, default 60)
  --metrics-addr H:P      serve Prometheus metrics at http://H:P/metrics, e.g. 127.0.0.1:9464
                          (env MCP_SSH_METRICS_ADDR; off by default)
  --audit-chain           tamper-evident audit: chain policy_decision, audit and security_event
                          lines by hash (env MCP_SSH_AUDIT_CHAIN=1; HMAC key from env
                          MCP_SSH_AUDIT_CHAIN_KEY); check a log with \`mcp-ssh-orchestrator verify\`
  -h, --help              show this help
  -v, --version           print the version

Environment:
  MCP_SSH_KEYS_DIR        private keys (default: keys/ beside the config directory)
  MCP_SSH_SECRETS_DIR     secrets (default: secrets/ beside the config directory)
  <name>, MCP_SSH_SECRET_<NAME>
                          a secret's value; looked up in this order, then the key <name> of
                          <secrets dir>/.env, then the file <secrets dir>/<name>
  OTEL_EXPORTER_OTLP_ENDPOINT   send OTel logs and traces over OTLP (also the _LOGS_/_TRACES_
                          variants); unset: nothing is exported. The standard OTEL_* variables
                          apply: OTEL_EXPORTER_OTLP_PROTOCOL (http/protobuf, http/json, grpc),
                          _HEADERS, _TIMEOUT, _COMPRESSION, OTEL_TRACES_SAMPLER(_ARG),
                          OTEL_PROPAGATORS, OTEL_*_EXPORTER (otlp, none; console is refused),
                          OTEL_METRICS_EXPORTER=otlp, OTEL_NODE_RESOURCE_DETECTORS,
                          OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES, OTEL_SDK_DISABLED=true
                          (README, "OpenTelemetry")

Telemetry: one JSON object per line on stderr (policy_decision, audit, progress, security_event,
trace, error, config_reload); see docs/events.md (\`mcp-ssh-orchestrator kit path\` prints where
docs/ is). stdout carries only MCP JSON-RPC.

Exit status: 0 after a clean shutdown (stdin closed, SIGTERM, SIGINT);
             2 when the configuration is invalid (the error names file, line and field).

Example client config (Claude Desktop, Cursor, ...):
  { "mcpServers": { "ssh": { "command": "mcp-ssh-orchestrator",
      "args": ["--config-dir", "/path/to/config"] } } }
`;

/** `mcp-ssh-orchestrator COMMAND --help`: what that one command does and takes. */
const COMMAND_HELP: Record<string, string> = {
  serve: `Usage: mcp-ssh-orchestrator [serve] [options]

Serves MCP over stdio (the default command): stdout carries only MCP JSON-RPC, stderr one JSON
line per event (docs/events.md). Stops cleanly when stdin closes or on SIGTERM/SIGINT.

Options:
  --config-dir DIR        servers.yml, credentials.yml, policy.yml (env MCP_SSH_CONFIG_DIR, default ./config)
  --max-concurrency N     commands running at once across all hosts (default 32)
  --max-per-host N        commands running at once on one host (default 8)
  --idle-timeout SECONDS  close a pooled SSH connection unused this long (default 60)
  --metrics-addr H:P      serve Prometheus metrics at http://H:P/metrics
  --audit-chain           chain policy_decision, audit and security_event lines by hash

The policy: docs/policy.md. Exit status 0 after a clean shutdown, 2 on an invalid config.
`,
  init: `Usage: mcp-ssh-orchestrator init [DIR]

Writes a commented starter config directory (default ./config): servers.yml, credentials.yml,
policy.yml, with keys/ and secrets/ beside it. Existing files are never overwritten.
`,
  check: `Usage: mcp-ssh-orchestrator check [--config-dir DIR] [--metrics-addr H:P]

Validates the config directory as the server would at start (known_hosts included) and, with
a metrics address, that the running server answers on /metrics. Prints policy warnings too:
rules whose wildcard stands where a program name would be (a wildcard never admits a program
run by another command) and rules that send text unchecked (allow_syntax).
Exit status 0 healthy, 2 not (the container HEALTHCHECK).
`,
  demo: `Usage: mcp-ssh-orchestrator demo [--otlp URL] [--keep] [--embedded-sshd | --openssh]
       mcp-ssh-orchestrator demo --config-dir DIR [--raw-stderr] [--every SECONDS] [--server-arg ARG]...

A complete scripted MCP session on this machine: a local SSH server (OpenSSH when installed,
else one embedded with ssh2), a generated fleet, the official MCP client driving an allowed
command, a dry run, a denied command, a bypass attempt, a timeout and a tag fan-out.

Options:
  --otlp URL          also send OTel logs and traces to a collector
  --keep              leave the SSH server (and its temporary config) up for your own MCP client
  --embedded-sshd     use the embedded ssh2 server; --openssh requires OpenSSH's sshd
  --config-dir DIR    drive an existing fleet instead of a generated one
  --raw-stderr        pass the server's JSON lines through unchanged
  --every SECONDS     repeat the session until stopped (a traffic source)
  --server-arg ARG    an extra argument for the server (repeatable)
`,
};

function positiveInt(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${name} must be a positive integer, got "${value}"`);
  return n;
}

class UsageError extends Error {}

/**
 * The one place plain text goes to stdout: --help, --version, init, check and setup are not MCP
 * sessions, so their output belongs there. The serve path never calls this.
 */
function writeOut(text: string): void {
  // eslint-disable-next-line no-restricted-properties
  process.stdout.write(text);
}

async function main(argv: string[]): Promise<number> {
  // These subcommands have their own options: dispatch before the server's parser.
  const sub = argv[0];
  if (sub === 'setup') {
    return runSetupCommand(argv.slice(1), { out: writeOut, err: (t) => void process.stderr.write(t) });
  }
  if (sub === 'kit') {
    return runKitCommand(argv.slice(1), { out: writeOut, err: (t) => void process.stderr.write(t) });
  }
  if (sub === 'verify' || sub === 'report' || sub === 'watch') {
    return MONITOR_COMMANDS[sub](argv.slice(1), {
      // A CLI subcommand, not an MCP session: stdout is its output.
      // eslint-disable-next-line no-restricted-properties
      stdout: process.stdout,
      stderr: process.stderr,
      stdin: process.stdin,
    });
  }
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      'config-dir': { type: 'string' },
      'max-concurrency': { type: 'string' },
      'max-per-host': { type: 'string' },
      'idle-timeout': { type: 'string' },
      'metrics-addr': { type: 'string' },
      'audit-chain': { type: 'boolean' },
      otlp: { type: 'string' },
      keep: { type: 'boolean' },
      'embedded-sshd': { type: 'boolean' },
      openssh: { type: 'boolean' },
      'raw-stderr': { type: 'boolean' },
      every: { type: 'string' },
      'server-arg': { type: 'string', multiple: true },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean', short: 'v' },
    },
  });
  if (values.help) {
    const command = positionals[0];
    writeOut(command !== undefined && Object.hasOwn(COMMAND_HELP, command) ? (COMMAND_HELP[command] as string) : HELP);
    return 0;
  }
  if (values.version) {
    writeOut(`${VERSION}\n`);
    return 0;
  }
  const command = positionals[0] ?? 'serve';
  if (command === 'init') {
    const dir = positionals[1] ?? values['config-dir'] ?? process.env.MCP_SSH_CONFIG_DIR ?? 'config';
    const created = await writeStarterConfig(dir);
    writeOut(
      created.length ? created.map((f) => `created ${f}\n`).join('') : `${dir} already has a config; nothing written\n`,
    );
    return 0;
  }
  if (command === 'check') {
    const env = process.env;
    const metricsAddr = values['metrics-addr'] ?? env.MCP_SSH_METRICS_ADDR;
    const metricsUrl = metricsAddr ? metricsUrlOf(parseMetricsAddress(metricsAddr)) : undefined;
    // Security events found while checking (a key path escaping its directory, ...) are real: log them.
    const bus = new TelemetryBus([new StderrSink()]);
    const result = await runHealthCheck(resolveConfigDirs({ configDir: values['config-dir'], env }), bus, metricsUrl);
    writeOut(result.lines.join('\n') + '\n');
    await bus.close();
    return result.ok ? 0 : 2;
  }
  if (command === 'demo') {
    return runDemo({
      // The demo is not an MCP session: its narration belongs on stdout.
      // eslint-disable-next-line no-restricted-properties
      out: process.stdout,
      // eslint-disable-next-line no-restricted-properties
      color: process.stdout.isTTY === true,
      ...(values.otlp !== undefined ? { otlp: values.otlp } : {}),
      keep: values.keep === true,
      embedded: values['embedded-sshd'] === true,
      openssh: values.openssh === true,
      ...(values['config-dir'] !== undefined ? { configDir: values['config-dir'] } : {}),
      // Passed through byte for byte so Docker's log driver sees the server's own lines.
      ...(values['raw-stderr'] ? { rawStderr: (line: string) => void process.stderr.write(line + '\n') } : {}),
      ...(values.every !== undefined ? { everySeconds: positiveInt(values.every, 30, '--every') } : {}),
      ...(values['server-arg'] ? { serverArgs: values['server-arg'] } : {}),
    });
  }
  if (command !== 'serve') throw new UsageError(`unknown command "${command}"; run with --help for usage`);

  const env = process.env;
  const metricsAddr = values['metrics-addr'] ?? env.MCP_SSH_METRICS_ADDR;
  const stderr = new StderrSink();
  const chained = values['audit-chain'] === true || /^(1|true|yes)$/i.test(env.MCP_SSH_AUDIT_CHAIN ?? '');
  const chainKey = env.MCP_SSH_AUDIT_CHAIN_KEY === '' ? undefined : env.MCP_SSH_AUDIT_CHAIN_KEY;
  const bus = new TelemetryBus([stderr], chained ? new AuditChain(chainKey) : undefined);
  // From here on every warning and crash is a JSON line too (the exit hook flushes the sink).
  installProcessGuard(bus, { exit: (code) => process.exit(code) });
  let orchestrator: Orchestrator | undefined;
  // The metrics sink feeds /metrics and, with OTEL_METRICS_EXPORTER=otlp, the OTLP metrics exporter.
  const metrics =
    (metricsAddr !== undefined && metricsAddr !== '') || otlpExportsMetrics(env)
      ? new MetricsSink(() => orchestrator?.pool.activeSessions ?? 0)
      : undefined;
  const otel = startOpenTelemetry({
    env,
    version: VERSION,
    // OTel's own complaints go to stderr only, never back into OTel.
    warn: (message) =>
      stderr.write({ type: 'error', level: 'warn', msg: 'otel_warning', error: message, ts: unixSecondsNow() }),
    refused: (message) =>
      stderr.write({
        type: 'error',
        level: 'error',
        msg: 'otel_exporter_refused',
        error: message,
        ts: unixSecondsNow(),
      }),
    dropped: (message) =>
      stderr.write({ type: 'error', level: 'warn', msg: 'otel_records_dropped', error: message, ts: unixSecondsNow() }),
    ...(metrics
      ? { countDropped: (signal, count) => metrics.countOtlpDropped(signal, count), metricsRegistry: metrics.registry }
      : {}),
  });
  if (otel?.logSink) bus.add(otel.logSink);
  if (metrics) bus.add(metrics);
  let metricsServer: Server | undefined;
  if (metrics && metricsAddr) {
    const addr = parseMetricsAddress(metricsAddr);
    try {
      metricsServer = (await startMetricsServer(metrics.registry, addr)).server;
    } catch (err) {
      // MCP keeps serving without /metrics: a busy port must not take the commands down with it.
      bus.emit({
        type: 'error',
        level: 'error',
        msg: 'metrics_unavailable',
        error: `${err instanceof Error ? err.message : String(err)}; serving MCP without /metrics — free the port or change --metrics-addr`,
      });
    }
  }
  const shutdownTelemetry = async (): Promise<void> => {
    metricsServer?.close();
    await otel?.shutdown();
    await bus.close();
  };
  try {
    orchestrator = await Orchestrator.start({
      dirs: resolveConfigDirs({ configDir: values['config-dir'], env }),
      emitter: bus,
      maxConcurrency: positiveInt(values['max-concurrency'] ?? env.MCP_SSH_MAX_CONCURRENCY, 32, '--max-concurrency'),
      maxPerHost: positiveInt(values['max-per-host'] ?? env.MCP_SSH_MAX_PER_HOST, 8, '--max-per-host'),
      idleTimeoutMs: 1000 * positiveInt(values['idle-timeout'] ?? env.MCP_SSH_IDLE_TIMEOUT, 60, '--idle-timeout'),
    });
  } catch (err) {
    if (err instanceof ConfigError) {
      bus.emit({ type: 'error', level: 'error', msg: 'config_invalid', error: err.message, issues: err.issues });
      await shutdownTelemetry();
      return 2;
    }
    throw err;
  }
  const running = orchestrator;
  const server = createMcpServer(running, VERSION);
  await serveStdio(server, {
    flushTelemetry: () => bus.flush(),
    report: (msg, error) => bus.emit({ type: 'error', level: 'error', msg, error }),
    onShutdown: async () => {
      await running.shutdown();
      await shutdownTelemetry();
    },
  });
  // Shutdown is complete and every line written. An exporter request still waiting on a hanging
  // collector, or its retry timers, must not keep the process alive past the bounded flush.
  setTimeout(() => process.exit(process.exitCode ?? 0), 100).unref();
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  async (err: unknown) => {
    const usage = err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
    const bus = new TelemetryBus([new StderrSink()]);
    bus.emit({
      type: 'error',
      level: 'error',
      msg: usage ? 'usage_error' : 'fatal',
      error: err instanceof Error ? err.message : String(err),
    });
    await bus.close();
    process.exitCode = 2;
  },
);
