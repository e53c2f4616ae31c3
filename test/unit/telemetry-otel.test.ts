/**
 * The OTel set-up's own logic, without a collector: how the OTEL_* environment is read
 * (otel-env.ts), the Prometheus registry as OTel metric data (otel-metrics.ts), and the SDK
 * started in-process: OTel's diagnostics kept off the console, the parent context of a request
 * read from its `_meta` with the propagators OTEL_PROPAGATORS names (spans.ts).
 */
import { context, trace } from '@opentelemetry/api';
import { DataPointType, type HistogramMetricData, type SumMetricData } from '@opentelemetry/sdk-metrics';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { otelPlan, otlpExportsMetrics } from '../../src/telemetry/otel-env.js';
import { prometheusProducer } from '../../src/telemetry/otel-metrics.js';
import { startOpenTelemetry } from '../../src/telemetry/otel.js';
import { contextFromMeta, inSpan } from '../../src/telemetry/spans.js';

const ENDPOINT = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' };

describe('the OTEL_* environment', () => {
  it('exports logs and traces only when a collector is named, over http/protobuf by default', () => {
    expect(otelPlan({})).toMatchObject({
      traces: { otlp: false, protocol: 'http/protobuf' },
      logs: { otlp: false },
      metrics: { otlp: false },
      refused: [],
      warnings: [],
    });
    expect(otelPlan(ENDPOINT)).toMatchObject({
      traces: { otlp: true },
      logs: { otlp: true },
      metrics: { otlp: false },
    });
    // A signal's own endpoint exports that signal only.
    expect(otelPlan({ OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: 'http://c:4318/v1/logs' })).toMatchObject({
      traces: { otlp: false },
      logs: { otlp: true },
    });
    // otlp named explicitly: exported to the SDK's default endpoint.
    expect(otelPlan({ OTEL_TRACES_EXPORTER: 'otlp' })).toMatchObject({ traces: { otlp: true }, logs: { otlp: false } });
  });

  it('chooses the protocol per signal, the signal variable first, and explains one it does not know', () => {
    const plan = otelPlan({
      ...ENDPOINT,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
      OTEL_EXPORTER_OTLP_LOGS_PROTOCOL: ' HTTP/JSON ',
      OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: 'thrift',
    });
    expect(plan.traces.protocol).toBe('grpc');
    expect(plan.logs.protocol).toBe('http/json');
    expect(plan.metrics.protocol).toBe('http/protobuf');
    expect(plan.warnings).toEqual([
      'OTEL_EXPORTER_OTLP_METRICS_PROTOCOL=thrift is not an OTLP protocol (http/protobuf, http/json, grpc); using http/protobuf',
    ]);
  });

  it('sends metrics over OTLP only with OTEL_METRICS_EXPORTER=otlp', () => {
    expect(otlpExportsMetrics(ENDPOINT)).toBe(false);
    expect(otlpExportsMetrics({ ...ENDPOINT, OTEL_METRICS_EXPORTER: 'otlp' })).toBe(true);
    expect(otlpExportsMetrics({ OTEL_METRICS_EXPORTER: 'otlp', OTEL_SDK_DISABLED: 'true' })).toBe(false);
    const prometheus = otelPlan({ OTEL_METRICS_EXPORTER: 'prometheus' });
    expect(prometheus.metrics.otlp).toBe(false);
    expect(prometheus.warnings[0]).toMatch(/"prometheus" is not supported .*--metrics-addr/);
  });

  it('none turns a signal off, whatever else is listed and whatever endpoint is set', () => {
    const plan = otelPlan({ ...ENDPOINT, OTEL_TRACES_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'otlp,none' });
    expect(plan.traces.otlp).toBe(false);
    expect(plan.logs.otlp).toBe(false);
    expect(plan.warnings).toEqual(['OTEL_LOGS_EXPORTER names none with other exporters; none wins: no logs exported']);
  });

  it('refuses console for every signal, saying why, and keeps the rest of the list', () => {
    const plan = otelPlan({
      ...ENDPOINT,
      OTEL_TRACES_EXPORTER: 'console,otlp',
      OTEL_LOGS_EXPORTER: 'Console',
      OTEL_METRICS_EXPORTER: 'console',
    });
    expect(plan.traces.otlp).toBe(true);
    expect(plan.logs.otlp).toBe(false);
    expect(plan.metrics.otlp).toBe(false);
    expect(plan.refused).toHaveLength(3);
    expect(plan.refused[0]).toBe(
      'OTEL_TRACES_EXPORTER=console,otlp: the console exporter is refused, it would print traces to stdout, ' +
        'which carries MCP JSON-RPC only; use otlp (to a collector) or none',
    );
    expect(plan.refused[1]).toMatch(/^OTEL_LOGS_EXPORTER=Console: .* stdout/);
    expect(plan.refused[2]).toMatch(/^OTEL_METRICS_EXPORTER=console: .* stdout/);
    expect(plan.warnings).toEqual([]);
  });

  it('runs host, process and container detectors by default; env always, last', () => {
    expect(otelPlan({}).detectors).toEqual(['host', 'process', 'container', 'env']);
    expect(otelPlan({ OTEL_NODE_RESOURCE_DETECTORS: 'all' }).detectors).toEqual([
      'host',
      'os',
      'process',
      'serviceinstance',
      'container',
      'env',
    ]);
    expect(otelPlan({ OTEL_NODE_RESOURCE_DETECTORS: 'none' }).detectors).toEqual(['env']);
    const chosen = otelPlan({ OTEL_NODE_RESOURCE_DETECTORS: 'env, container,gcp,host' });
    expect(chosen.detectors).toEqual(['host', 'container', 'env']);
    expect(chosen.warnings).toEqual([
      'OTEL_NODE_RESOURCE_DETECTORS: unknown detector "gcp" ignored (known: host, os, process, serviceinstance, container, env, all, none)',
    ]);
  });

  it('reads OTEL_LOG_LEVEL and OTEL_SDK_DISABLED', () => {
    expect(otelPlan({ OTEL_LOG_LEVEL: 'DEBUG' }).diagLevel).toBe(otelPlan({ OTEL_LOG_LEVEL: 'debug' }).diagLevel);
    expect(otelPlan({ OTEL_LOG_LEVEL: 'loud' }).warnings[0]).toMatch(/^OTEL_LOG_LEVEL=loud is not a level/);
    expect(otelPlan({ OTEL_SDK_DISABLED: 'TRUE' }).disabled).toBe(true);
  });
});

describe('the Prometheus metrics as OTel metric data', () => {
  it('keeps names, help and labels; counters are monotonic cumulative sums; histogram buckets per bucket', async () => {
    const registry = new Registry();
    const registers = [registry];
    const commands = new Counter({
      name: 'ssh_commands_total',
      help: 'cmds',
      labelNames: ['alias', 'status'],
      registers,
    });
    const duration = new Histogram({
      name: 'ssh_command_duration_seconds',
      help: 'dur',
      labelNames: ['alias'],
      buckets: [0.1, 1, 10],
      registers,
    });
    new Gauge({ name: 'ssh_active_sessions', help: 'active', registers, collect: () => undefined }).set(2);
    new Gauge({ name: 'nan_gauge', help: 'not measured yet', registers }).set(NaN);
    new Counter({ name: 'ssh_auth_failures_total', help: 'none yet', labelNames: ['alias'], registers });
    commands.inc({ alias: 'web1', status: 'success' }, 3);
    commands.inc({ alias: 'db1', status: 'denied' });
    for (const s of [0.05, 0.5, 0.7, 20]) duration.observe({ alias: 'web1' }, s);

    const { resourceMetrics, errors } = await prometheusProducer(registry, { name: 'n', version: 'v' }).collect();
    expect(errors).toEqual([]);
    const metrics = resourceMetrics.scopeMetrics[0]?.metrics ?? [];
    // No series (auth failures) or no finite value (NaN): nothing to send.
    expect(metrics.map((m) => m.descriptor.name)).toEqual([
      'ssh_commands_total',
      'ssh_command_duration_seconds',
      'ssh_active_sessions',
    ]);
    const sum = metrics[0] as SumMetricData;
    expect(sum).toMatchObject({ dataPointType: DataPointType.SUM, isMonotonic: true, aggregationTemporality: 1 });
    expect(sum.descriptor.description).toBe('cmds');
    expect(sum.dataPoints.map((d) => [d.attributes, d.value])).toEqual([
      [{ alias: 'web1', status: 'success' }, 3],
      [{ alias: 'db1', status: 'denied' }, 1],
    ]);
    const hist = metrics[1] as HistogramMetricData;
    expect(hist.dataPointType).toBe(DataPointType.HISTOGRAM);
    expect(hist.dataPoints).toHaveLength(1);
    expect(hist.dataPoints[0]?.attributes).toEqual({ alias: 'web1' });
    expect(hist.dataPoints[0]?.value).toMatchObject({
      buckets: { boundaries: [0.1, 1, 10], counts: [1, 2, 0, 1] },
      count: 4,
      sum: 21.25,
    });
    expect(metrics[2]).toMatchObject({ dataPointType: DataPointType.GAUGE, dataPoints: [{ value: 2 }] });
  });
});

describe('the Prometheus metrics with delta temporality', () => {
  it('counters and histograms report the change since the last export; an unchanged series is left out', async () => {
    const registry = new Registry();
    const registers = [registry];
    const commands = new Counter({ name: 'c_total', help: 'c', labelNames: ['alias'], registers });
    const duration = new Histogram({ name: 'h_seconds', help: 'h', labelNames: ['alias'], buckets: [1], registers });
    new Gauge({ name: 'g', help: 'g', registers }).set(5);
    expect(otelPlan({ OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE: 'LowMemory' }).metrics.temporality).toBe(
      'delta',
    );
    const producer = prometheusProducer(registry, { name: 'n', version: 'v' }, 'delta');
    const collect = async () => (await producer.collect()).resourceMetrics.scopeMetrics[0]?.metrics ?? [];

    commands.inc({ alias: 'a' }, 2);
    commands.inc({ alias: 'b' });
    duration.observe({ alias: 'a' }, 0.5);
    const first = await collect();
    expect(first.map((m) => [m.descriptor.name, m.aggregationTemporality])).toEqual([
      ['c_total', 0],
      ['h_seconds', 0],
      ['g', 1],
    ]);
    expect((first[0] as SumMetricData).dataPoints.map((d) => [d.attributes.alias, d.value])).toEqual([
      ['a', 2],
      ['b', 1],
    ]);

    commands.inc({ alias: 'a' }, 3);
    duration.observe({ alias: 'a' }, 5);
    const second = await collect();
    const sum = second.find((m) => m.descriptor.name === 'c_total') as SumMetricData;
    expect(sum.dataPoints.map((d) => [d.attributes.alias, d.value])).toEqual([['a', 3]]); // b unchanged: left out
    expect(sum.dataPoints[0]?.startTime).toEqual((first[0] as SumMetricData).dataPoints[0]?.endTime);
    const hist = second.find((m) => m.descriptor.name === 'h_seconds') as HistogramMetricData;
    expect(hist.dataPoints[0]?.value).toMatchObject({ buckets: { boundaries: [1], counts: [0, 1] }, count: 1, sum: 5 });

    const third = await collect();
    expect(third.map((m) => m.descriptor.name)).toEqual(['g']); // nothing counted: only the gauge
  });
});

describe('the SDK in-process', () => {
  const saved = { ...process.env };
  afterEach(() => {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
    vi.restoreAllMocks();
  });

  it('OTEL_LOG_LEVEL=debug: OTel diagnostics come as warnings, never on the console or stdout; spans still give ids', async () => {
    Object.assign(process.env, {
      OTEL_LOG_LEVEL: 'debug',
      OTEL_NODE_RESOURCE_DETECTORS: 'env,gcp',
      OTEL_PROPAGATORS: 'b3',
    });
    const stdout = vi.spyOn(process.stdout, 'write');
    const consoles = (['log', 'info', 'debug', 'warn', 'error', 'trace'] as const).map((m) => vi.spyOn(console, m));
    const warnings: string[] = [];
    const otel = startOpenTelemetry({ version: 't', warn: (m) => warnings.push(m), dropped: () => undefined });
    expect(otel).toBeDefined();
    expect(process.env.OTEL_LOG_LEVEL).toBe('debug'); // restored after the SDK's constructor
    const ids = await inSpan('unit', {}, async (span) => span.spanContext());
    expect(ids.traceId).toMatch(/^[0-9a-f]{32}$/);
    // OTEL_PROPAGATORS=b3: a request's parent is read from `_meta.b3`, traceparent is not b3's.
    const [traceId, spanId] = ['0af7651916cd43dd8448eb211c80319c', 'b7ad6b7169203331'];
    const parent = contextFromMeta({
      b3: `${traceId}-${spanId}-1`,
      traceparent: `00-${'1'.repeat(32)}-${'2'.repeat(16)}-01`,
    });
    expect(trace.getSpanContext(parent)).toMatchObject({ traceId, spanId, isRemote: true });
    expect(contextFromMeta({ other: 1 })).toBe(context.active());
    expect(otel?.logSink).toBeUndefined(); // no endpoint: no log records
    await otel?.shutdown(1000);
    expect(stdout).not.toHaveBeenCalled();
    for (const c of consoles) expect(c).not.toHaveBeenCalled();
    expect(warnings).toContain(
      'OTEL_NODE_RESOURCE_DETECTORS: unknown detector "gcp" ignored (known: host, os, process, serviceinstance, container, env, all, none)',
    );
    // Debug chatter reaches the warn callback too, marked with its level.
    expect(warnings.some((w) => w.startsWith('[debug] ') || w.startsWith('[info] '))).toBe(true);
  });
});
