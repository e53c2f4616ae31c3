/**
 * OpenTelemetry on the Node SDK (@opentelemetry/sdk-node's NodeSDK), configured the standard way
 * from the OTEL_* environment (otel-env.ts decides what it asks for; the README lists it).
 *
 * NodeSDK does the SDK's work: resource detection, the sampler (OTEL_TRACES_SAMPLER/_ARG), span
 * and log record limits, the propagators (OTEL_PROPAGATORS), the context manager, the tracer,
 * logger and meter providers. This file hands it the pieces it would otherwise build from the
 * environment itself, for what this server guarantees:
 * - processors over the OTLP exporter of the protocol asked for (http/protobuf, http/json,
 *   grpc; each exporter reads its own endpoint, headers, timeout and compression variables),
 *   with a self-observability meter that counts what a full queue drops (otel-drops.ts);
 * - never a console exporter (stdout carries MCP JSON-RPC only) and never OTel's console
 *   diagnostics logger: OTel's diagnostics become JSON lines on stderr;
 * - spans always (unless OTEL_SDK_DISABLED=true), exported or not, so stderr lines carry trace
 *   and span ids;
 * - the Prometheus metrics over OTLP too, when OTEL_METRICS_EXPORTER=otlp (otel-metrics.ts);
 * - a bounded shutdown: a hanging collector cannot hold the exit up.
 * Export runs in the SDK's background batch processors: a dead or hanging collector costs a
 * command nothing.
 */
import { context, diag, type DiagLogger, type MeterProvider } from '@opentelemetry/api';
import { logs } from '@opentelemetry/api-logs';
import { OTLPLogExporter as GrpcLogExporter } from '@opentelemetry/exporter-logs-otlp-grpc';
import { OTLPLogExporter as JsonLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPLogExporter as ProtoLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { OTLPMetricExporter as GrpcMetricExporter } from '@opentelemetry/exporter-metrics-otlp-grpc';
import { OTLPMetricExporter as JsonMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as ProtoMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { OTLPTraceExporter as GrpcTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as JsonTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtoTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { containerDetector } from '@opentelemetry/resource-detector-container';
import {
  defaultResource,
  envDetector,
  hostDetector,
  osDetector,
  processDetector,
  resourceFromAttributes,
  serviceInstanceIdDetector,
  type ResourceDetector,
} from '@opentelemetry/resources';
import { BatchLogRecordProcessor, type LogRecordExporter, type LogRecordProcessor } from '@opentelemetry/sdk-logs';
import { PeriodicExportingMetricReader, type IMetricReader, type PushMetricExporter } from '@opentelemetry/sdk-metrics';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { BatchSpanProcessor, NoopSpanProcessor, type SpanExporter, type SpanProcessor } from '@opentelemetry/sdk-trace';
import type { Registry } from 'prom-client';
import type { TelemetrySink } from './bus.js';
import type { StampedEvent } from './events.js';
import { DropReporter, dropCountingMeterProvider, type DropSignal } from './otel-drops.js';
import { otelPlan, type DetectorName, type OtlpProtocol } from './otel-env.js';
import { toLogRecord } from './otel-log-record.js';
import { prometheusProducer } from './otel-metrics.js';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from './semconv.js';

export { otlpExportsMetrics } from './otel-env.js';

export interface OtelRuntime {
  /** Sink turning events into log records; absent when logs are not exported. */
  logSink?: TelemetrySink;
  /** Flushes and stops exporters, bounded so a hanging collector cannot stall shutdown. */
  shutdown(timeoutMs?: number): Promise<void>;
}

export interface OtelOptions {
  /**
   * The environment this server's choices are read from (default process.env). The SDK and
   * its exporters read process.env themselves: pass process.env, or a copy of it.
   */
  env?: NodeJS.ProcessEnv;
  version: string;
  /** Where OTel's own diagnostics go (export failures, values it did not understand). */
  warn: (message: string) => void;
  /** Where a request refused for stdout's sake goes (a console exporter). Default: warn. */
  refused?: (message: string) => void;
  /** Where a count of records dropped before export goes (a full OTLP queue); at most every 10 s. */
  dropped: (message: string) => void;
  /** Told of every drop as it happens (for a counter). */
  countDropped?: (signal: DropSignal, count: number) => void;
  /** The Prometheus registry to export over OTLP when OTEL_METRICS_EXPORTER=otlp. */
  metricsRegistry?: Registry;
}

const NAME = 'mcp-ssh-orchestrator';

function positiveEnvInt(value: string | undefined, fallback: number): number {
  const n = Number(value);
  return value !== undefined && Number.isInteger(n) && n > 0 ? n : fallback;
}

const TRACE_EXPORTERS: Record<OtlpProtocol, () => SpanExporter> = {
  'http/protobuf': () => new ProtoTraceExporter(),
  'http/json': () => new JsonTraceExporter(),
  grpc: () => new GrpcTraceExporter(),
};
const LOG_EXPORTERS: Record<OtlpProtocol, () => LogRecordExporter> = {
  'http/protobuf': () => new ProtoLogExporter(),
  'http/json': () => new JsonLogExporter(),
  grpc: () => new GrpcLogExporter(),
};
const METRIC_EXPORTERS: Record<OtlpProtocol, () => PushMetricExporter> = {
  'http/protobuf': () => new ProtoMetricExporter(),
  'http/json': () => new JsonMetricExporter(),
  grpc: () => new GrpcMetricExporter(),
};
const DETECTORS: Record<DetectorName, ResourceDetector> = {
  host: hostDetector,
  os: osDetector,
  process: processDetector,
  serviceinstance: serviceInstanceIdDetector,
  container: containerDetector,
  env: envDetector,
};

/**
 * Starts OTel from the OTEL_* environment, or returns undefined when OTEL_SDK_DISABLED=true
 * (no SDK started: no spans, no ids, nothing on the command path).
 */
export function startOpenTelemetry({
  env = process.env,
  version,
  warn,
  refused = warn,
  dropped,
  countDropped,
  metricsRegistry,
}: OtelOptions): OtelRuntime | undefined {
  const plan = otelPlan(env);
  if (plan.disabled) return undefined;
  diag.setLogger(diagToWarn(warn), { logLevel: plan.diagLevel, suppressOverrideMessage: true });
  for (const message of plan.refused) refused(message);
  for (const message of plan.warnings) warn(message);

  const logQueueSize = positiveEnvInt(env.OTEL_BLRP_MAX_QUEUE_SIZE, 16_384);
  const spanQueueSize = positiveEnvInt(env.OTEL_BSP_MAX_QUEUE_SIZE, 2048);
  const drops = new DropReporter(dropped, { 'log records': logQueueSize, spans: spanQueueSize });
  const selfObsMeterProvider: MeterProvider = dropCountingMeterProvider((signal, count) => {
    drops.add(signal, count);
    countDropped?.(signal, count);
  });

  // Not exported, spans are still made (a processor that drops them), for the ids on stderr lines.
  const spanProcessors: SpanProcessor[] = [
    plan.traces.otlp
      ? new BatchSpanProcessor({
          exporter: TRACE_EXPORTERS[plan.traces.protocol](),
          selfObsMeterProvider,
          maxQueueSize: spanQueueSize,
          maxExportBatchSize: positiveEnvInt(env.OTEL_BSP_MAX_EXPORT_BATCH_SIZE, 512),
          scheduledDelayMillis: positiveEnvInt(env.OTEL_BSP_SCHEDULE_DELAY, 5000),
          exportTimeoutMillis: positiveEnvInt(env.OTEL_BSP_EXPORT_TIMEOUT, 30_000),
        })
      : new NoopSpanProcessor(),
  ];
  const logRecordProcessors: LogRecordProcessor[] = plan.logs.otlp
    ? [
        new BatchLogRecordProcessor({
          exporter: LOG_EXPORTERS[plan.logs.protocol](),
          selfObsMeterProvider,
          // sdk-logs' default 2048-record queue drops half a burst of a busy fleet.
          maxQueueSize: logQueueSize,
          maxExportBatchSize: positiveEnvInt(env.OTEL_BLRP_MAX_EXPORT_BATCH_SIZE, 512),
          scheduledDelayMillis: positiveEnvInt(env.OTEL_BLRP_SCHEDULE_DELAY, 1000),
          exportTimeoutMillis: positiveEnvInt(env.OTEL_BLRP_EXPORT_TIMEOUT, 30_000),
        }),
      ]
    : [];
  const metricReaders: IMetricReader[] = [];
  if (plan.metrics.otlp && metricsRegistry) {
    const exportIntervalMillis = positiveEnvInt(env.OTEL_METRIC_EXPORT_INTERVAL, 60_000);
    metricReaders.push(
      new PeriodicExportingMetricReader({
        exporter: METRIC_EXPORTERS[plan.metrics.protocol](),
        metricProducers: [prometheusProducer(metricsRegistry, { name: NAME, version }, plan.metrics.temporality)],
        exportIntervalMillis,
        exportTimeoutMillis: Math.min(positiveEnvInt(env.OTEL_METRIC_EXPORT_TIMEOUT, 30_000), exportIntervalMillis),
      }),
    );
  }

  // Every list is given, even empty: for a missing one NodeSDK would read OTEL_*_EXPORTER itself
  // (and could install a console exporter). OTEL_LOG_LEVEL is kept from its constructor, which
  // would otherwise replace the diagnostics logger above with one printing to the console.
  const sdk = withoutEnv('OTEL_LOG_LEVEL', () => {
    return new NodeSDK({
      resource: defaultResource().merge(
        resourceFromAttributes({ [ATTR_SERVICE_NAME]: NAME, [ATTR_SERVICE_VERSION]: version }),
      ),
      resourceDetectors: plan.detectors.map((name) => DETECTORS[name]),
      spanProcessors,
      logRecordProcessors,
      metricReaders,
      instrumentations: [],
    });
  });
  sdk.start();

  let logSink: TelemetrySink | undefined;
  if (plan.logs.otlp) {
    const logger = logs.getLogger(NAME, version);
    logSink = {
      name: 'otel-logs',
      // emit() only queues the record; export happens in the background batch processor.
      write: (event: StampedEvent) => logger.emit({ ...toLogRecord(event), context: context.active() }),
    };
  }

  return {
    ...(logSink ? { logSink } : {}),
    shutdown: async (timeoutMs = 5000) => {
      // A final export that fails (collector gone, or without a pipeline for the signal) is not
      // reported: OTel's diagnostics already said what failed while the server ran.
      const done = sdk.shutdown().catch(() => undefined);
      await Promise.race([done, new Promise((resolve) => setTimeout(resolve, timeoutMs).unref())]);
      drops.flush();
    },
  };
}

function withoutEnv<T>(name: string, fn: () => T): T {
  const saved = process.env[name];
  delete process.env[name];
  try {
    return fn();
  } finally {
    if (saved !== undefined) process.env[name] = saved;
  }
}

/**
 * OTel's diagnostics as warnings, each reported once per message. Errors and warnings have
 * their own budget, so the chatter of OTEL_LOG_LEVEL=debug cannot crowd a warning out.
 */
function diagToWarn(warn: (message: string) => void): DiagLogger {
  const seen = { serious: new Set<string>(), chatter: new Set<string>() };
  const once =
    (kind: keyof typeof seen, prefix: string) =>
    (message: string, ...args: unknown[]): void => {
      const text = [message, ...args.map((a) => (a instanceof Error ? a.message : String(a)))].join(' ');
      const set = seen[kind];
      if (set.has(text) || set.size >= 100) return;
      set.add(text);
      warn(prefix + text);
    };
  const chatter = (level: string) => once('chatter', `[${level}] `);
  return {
    error: once('serious', ''),
    warn: once('serious', ''),
    info: chatter('info'),
    debug: chatter('debug'),
    verbose: chatter('verbose'),
  };
}
