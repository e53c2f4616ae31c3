/**
 * What the standard OTEL_* environment asks of this server's telemetry, read once and decided
 * here, before the SDK starts: which signals are exported, over which OTLP protocol, which
 * resource detectors run, how verbose OTel's own diagnostics are — and what is refused.
 *
 * The rules follow @opentelemetry/sdk-node's own reading of these variables, with three
 * deliberate differences, each for a guarantee of this server:
 * - `console` (any signal) is refused: the console exporters print to stdout, which carries MCP
 *   JSON-RPC only. The request is reported; the rest of the list still applies.
 * - Logs and traces are exported only when asked for: an OTLP endpoint set for the signal
 *   (OTEL_EXPORTER_OTLP_ENDPOINT or the signal's own), or `otlp` named in its OTEL_*_EXPORTER.
 *   With neither, nothing is sent (the SDK alone would send to localhost:4318).
 * - Metrics go over OTLP only with OTEL_METRICS_EXPORTER=otlp; /metrics (--metrics-addr) is
 *   their primary path, and a collector is not sent a signal it was not configured for.
 * The resource detectors are sdk-node's (env, host, os, process, serviceinstance) plus
 * `container` (@opentelemetry/resource-detector-container); the env detector always runs, last,
 * so OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES keep working and win over detected values.
 */
import { DiagLogLevel } from '@opentelemetry/api';

export type OtlpProtocol = 'http/protobuf' | 'http/json' | 'grpc';
export type Signal = 'traces' | 'logs' | 'metrics';
export type DetectorName = 'host' | 'os' | 'process' | 'serviceinstance' | 'container' | 'env';

export interface SignalPlan {
  /** Exported over OTLP; when false the signal stays in-process (spans still give ids). */
  otlp: boolean;
  protocol: OtlpProtocol;
}

export interface OtelPlan {
  disabled: boolean;
  traces: SignalPlan;
  logs: SignalPlan;
  metrics: SignalPlan & { temporality: 'cumulative' | 'delta' };
  detectors: DetectorName[];
  diagLevel: DiagLogLevel;
  /** Requests refused because honouring them would write to stdout. */
  refused: string[];
  /** Values not understood, and what was done instead. */
  warnings: string[];
}

const PROTOCOLS: readonly OtlpProtocol[] = ['http/protobuf', 'http/json', 'grpc'];
const DETECTORS: readonly DetectorName[] = ['host', 'os', 'process', 'serviceinstance', 'container', 'env'];
/** OTEL_NODE_RESOURCE_DETECTORS unset: sdk-node's default set (env, host, process) plus container. */
const DEFAULT_DETECTORS: readonly DetectorName[] = ['host', 'process', 'container', 'env'];
const SIGNAL_UPPER: Record<Signal, string> = { traces: 'TRACES', logs: 'LOGS', metrics: 'METRICS' };

function isSet(value: string | undefined): value is string {
  return value !== undefined && value.trim() !== '';
}

/** A comma-separated OTEL_* list: trimmed, lower-cased, empty entries and duplicates dropped. */
function list(value: string | undefined): string[] {
  if (!isSet(value)) return [];
  return [
    ...new Set(
      value
        .split(',')
        .map((v) => v.trim().toLowerCase())
        .filter((v) => v !== ''),
    ),
  ];
}

function protocolOf(env: NodeJS.ProcessEnv, signal: Signal, warnings: string[]): OtlpProtocol {
  const specific = `OTEL_EXPORTER_OTLP_${SIGNAL_UPPER[signal]}_PROTOCOL`;
  const variable = isSet(env[specific]) ? specific : 'OTEL_EXPORTER_OTLP_PROTOCOL';
  const value = env[variable]?.trim().toLowerCase();
  if (!isSet(value)) return 'http/protobuf';
  if ((PROTOCOLS as readonly string[]).includes(value)) return value as OtlpProtocol;
  warnings.push(`${variable}=${value} is not an OTLP protocol (${PROTOCOLS.join(', ')}); using http/protobuf`);
  return 'http/protobuf';
}

function signalPlan(env: NodeJS.ProcessEnv, signal: Signal, refused: string[], warnings: string[]): SignalPlan {
  const variable = `OTEL_${SIGNAL_UPPER[signal]}_EXPORTER`;
  const names = list(env[variable]);
  const protocol = protocolOf(env, signal, warnings);
  if (names.includes('console')) {
    refused.push(
      `${variable}=${env[variable]?.trim()}: the console exporter is refused, it would print ${signal} to stdout, ` +
        'which carries MCP JSON-RPC only; use otlp (to a collector) or none',
    );
  }
  if (names.includes('none')) {
    if (names.length > 1)
      warnings.push(`${variable} names none with other exporters; none wins: no ${signal} exported`);
    return { otlp: false, protocol };
  }
  for (const name of names) {
    if (name === 'otlp' || name === 'console') continue;
    const hint =
      name === 'prometheus' && signal === 'metrics'
        ? 'serve Prometheus metrics with --metrics-addr (MCP_SSH_METRICS_ADDR)'
        : 'supported here: otlp, none';
    warnings.push(`${variable}: exporter "${name}" is not supported and is ignored; ${hint}`);
  }
  if (names.includes('otlp')) return { otlp: true, protocol };
  if (names.length > 0 || signal === 'metrics') return { otlp: false, protocol };
  // Unset: the signal is exported when a collector was named for it.
  const endpoint =
    isSet(env.OTEL_EXPORTER_OTLP_ENDPOINT) || isSet(env[`OTEL_EXPORTER_OTLP_${SIGNAL_UPPER[signal]}_ENDPOINT`]);
  return { otlp: endpoint, protocol };
}

function detectorsOf(env: NodeJS.ProcessEnv, warnings: string[]): DetectorName[] {
  const names = list(env.OTEL_NODE_RESOURCE_DETECTORS);
  if (names.length === 0) return [...DEFAULT_DETECTORS];
  if (names.includes('all')) return [...DETECTORS];
  if (names.includes('none')) return ['env'];
  const chosen = new Set<DetectorName>();
  for (const name of names) {
    if ((DETECTORS as readonly string[]).includes(name)) chosen.add(name as DetectorName);
    else
      warnings.push(
        `OTEL_NODE_RESOURCE_DETECTORS: unknown detector "${name}" ignored (known: ${DETECTORS.join(', ')}, all, none)`,
      );
  }
  // env last: what the user wrote in OTEL_RESOURCE_ATTRIBUTES / OTEL_SERVICE_NAME wins.
  return [...DETECTORS.filter((d) => d !== 'env' && chosen.has(d)), 'env'];
}

/**
 * OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE for counters and histograms (the only
 * instruments with a choice here): delta and lowmemory both mean delta for them.
 */
function temporalityOf(env: NodeJS.ProcessEnv, warnings: string[]): 'cumulative' | 'delta' {
  const variable = 'OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE';
  const value = env[variable]?.trim().toLowerCase();
  if (!isSet(value) || value === 'cumulative') return 'cumulative';
  if (value === 'delta' || value === 'lowmemory') return 'delta';
  warnings.push(`${variable}=${value} is not a temporality (cumulative, delta, lowmemory); using cumulative`);
  return 'cumulative';
}

const DIAG_LEVELS: Record<string, DiagLogLevel> = {
  none: DiagLogLevel.NONE,
  error: DiagLogLevel.ERROR,
  warn: DiagLogLevel.WARN,
  info: DiagLogLevel.INFO,
  debug: DiagLogLevel.DEBUG,
  verbose: DiagLogLevel.VERBOSE,
  all: DiagLogLevel.ALL,
};

export function otelPlan(env: NodeJS.ProcessEnv): OtelPlan {
  const refused: string[] = [];
  const warnings: string[] = [];
  const level = env.OTEL_LOG_LEVEL?.trim().toLowerCase();
  let diagLevel = DiagLogLevel.WARN;
  if (isSet(level)) {
    const known = DIAG_LEVELS[level];
    if (known === undefined)
      warnings.push(`OTEL_LOG_LEVEL=${level} is not a level (${Object.keys(DIAG_LEVELS).join(', ')}); using warn`);
    else diagLevel = known;
  }
  return {
    disabled: env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true',
    traces: signalPlan(env, 'traces', refused, warnings),
    logs: signalPlan(env, 'logs', refused, warnings),
    metrics: { ...signalPlan(env, 'metrics', refused, warnings), temporality: temporalityOf(env, warnings) },
    detectors: detectorsOf(env, warnings),
    diagLevel,
    refused,
    warnings,
  };
}

/** Whether the seed metrics go over OTLP (the caller then creates the metrics sink even without /metrics). */
export function otlpExportsMetrics(env: NodeJS.ProcessEnv): boolean {
  const plan = otelPlan(env);
  return !plan.disabled && plan.metrics.otlp;
}
