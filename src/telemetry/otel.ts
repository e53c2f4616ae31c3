/**
 * OpenTelemetry set-up, configured the standard way from the environment:
 * OTEL_EXPORTER_OTLP_ENDPOINT (and the _TRACES_/_LOGS_ variants), OTEL_SERVICE_NAME,
 * OTEL_RESOURCE_ATTRIBUTES, OTEL_SDK_DISABLED.
 *
 * Spans are always created (unless OTEL_SDK_DISABLED=true) so stderr lines carry trace and span
 * ids for correlation; they are exported only when an endpoint is set. No console exporter is
 * ever installed: it would write to stdout and corrupt the MCP stream.
 */
import {
  context,
  diag,
  DiagLogLevel,
  propagation,
  trace,
  type DiagLogger,
  type MeterProvider,
} from '@opentelemetry/api';
import { logs } from '@opentelemetry/api-logs';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import { BatchLogRecordProcessor, LoggerProvider } from '@opentelemetry/sdk-logs';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  type BufferConfig,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import type { TelemetrySink } from './bus.js';
import type { StampedEvent } from './events.js';
import { DropReporter, dropCountingMeterProvider, type DropSignal } from './otel-drops.js';
import { toLogRecord } from './otel-log-record.js';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from './semconv.js';

export interface OtelRuntime {
  /** Sink turning events into log records; absent when no logs endpoint is configured. */
  logSink?: TelemetrySink;
  /** Flushes and stops exporters, bounded so a hanging collector cannot stall shutdown. */
  shutdown(timeoutMs?: number): Promise<void>;
}

export interface OtelOptions {
  env: NodeJS.ProcessEnv;
  version: string;
  /** Where OTel's own warnings go (export failures and the like). */
  warn: (message: string) => void;
  /** Where a count of records dropped before export goes (a full OTLP queue); at most every 10 s. */
  dropped: (message: string) => void;
  /** Told of every drop as it happens (for a counter). */
  countDropped?: (signal: DropSignal, count: number) => void;
}

function positiveEnvInt(value: string | undefined, fallback: number): number {
  const n = Number(value);
  return value !== undefined && Number.isInteger(n) && n > 0 ? n : fallback;
}

function isSet(value: string | undefined): value is string {
  return value !== undefined && value.trim() !== '';
}

export function startOpenTelemetry({
  env,
  version,
  warn,
  dropped,
  countDropped,
}: OtelOptions): OtelRuntime | undefined {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return undefined;
  for (const name of ['OTEL_TRACES_EXPORTER', 'OTEL_LOGS_EXPORTER'] as const) {
    if (env[name]?.includes('console')) warn(`${name}=console ignored: stdout belongs to MCP; use an OTLP endpoint`);
  }
  diag.setLogger(diagToWarn(warn), DiagLogLevel.WARN);

  const resource = resourceFromAttributes({
    [ATTR_SERVICE_NAME]: 'mcp-ssh-orchestrator',
    [ATTR_SERVICE_VERSION]: version,
  }).merge(detectResources({ detectors: [envDetector] }));
  const tracesEndpoint = isSet(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) || isSet(env.OTEL_EXPORTER_OTLP_ENDPOINT);
  const logsEndpoint = isSet(env.OTEL_EXPORTER_OTLP_LOGS_ENDPOINT) || isSet(env.OTEL_EXPORTER_OTLP_ENDPOINT);

  const logQueueSize = positiveEnvInt(env.OTEL_BLRP_MAX_QUEUE_SIZE, 16_384);
  const drops = new DropReporter(dropped, {
    'log records': logQueueSize,
    spans: positiveEnvInt(env.OTEL_BSP_MAX_QUEUE_SIZE, 2048),
  });
  const selfObsMeterProvider = dropCountingMeterProvider((signal, count) => {
    drops.add(signal, count);
    countDropped?.(signal, count);
  });
  const spanConfig: BufferConfig & { selfObsMeterProvider: MeterProvider } = { selfObsMeterProvider };
  const spanProcessors: SpanProcessor[] = tracesEndpoint
    ? [new BatchSpanProcessor(new OTLPTraceExporter(), spanConfig)]
    : [];
  const tracerProvider = new BasicTracerProvider({ resource, spanProcessors });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(tracerProvider);

  let loggerProvider: LoggerProvider | undefined;
  let logSink: TelemetrySink | undefined;
  if (logsEndpoint) {
    loggerProvider = new LoggerProvider({
      resource,
      processors: [
        new BatchLogRecordProcessor({
          exporter: new OTLPLogExporter(),
          // The default 2048-record queue drops half a burst; sdk-logs ignores OTEL_BLRP_* here.
          maxQueueSize: logQueueSize,
          maxExportBatchSize: positiveEnvInt(env.OTEL_BLRP_MAX_EXPORT_BATCH_SIZE, 512),
          scheduledDelayMillis: positiveEnvInt(env.OTEL_BLRP_SCHEDULE_DELAY, 1000),
          selfObsMeterProvider,
        }),
      ],
    });
    logs.setGlobalLoggerProvider(loggerProvider);
    const logger = loggerProvider.getLogger('mcp-ssh-orchestrator', version);
    logSink = {
      name: 'otel-logs',
      // emit() only queues the record; export happens in the background batch processor.
      write: (event: StampedEvent) => logger.emit({ ...toLogRecord(event), context: context.active() }),
    };
  }

  return {
    ...(logSink ? { logSink } : {}),
    shutdown: async (timeoutMs = 5000) => {
      const done = Promise.allSettled([tracerProvider.shutdown(), loggerProvider?.shutdown()]);
      await Promise.race([done, new Promise((resolve) => setTimeout(resolve, timeoutMs).unref())]);
      drops.flush();
    },
  };
}

/** OTel's diagnostics, reduced to warnings and errors, each reported once per message. */
function diagToWarn(warn: (message: string) => void): DiagLogger {
  const seen = new Set<string>();
  const once = (message: string, ...args: unknown[]): void => {
    const text = [message, ...args.map((a) => (a instanceof Error ? a.message : String(a)))].join(' ');
    if (seen.has(text) || seen.size > 100) return;
    seen.add(text);
    warn(text);
  };
  const ignore = (): void => undefined;
  return { error: once, warn: once, info: ignore, debug: ignore, verbose: ignore };
}
