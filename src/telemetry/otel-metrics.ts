/**
 * The Prometheus metrics (metrics.ts, one prom-client registry) as OTel metric data, for the
 * OTLP metrics exporter: a MetricProducer the SDK's metric reader collects from at each export.
 * One source, two paths: every metric keeps its /metrics name, help text and labels exactly, so
 * a dashboard or alert written against Prometheus reads the same series from a collector.
 *
 * Counters become monotonic sums, gauges gauges, histograms explicit-bucket histograms
 * (prom-client's cumulative `le` buckets turned into per-bucket counts); sums and histograms
 * are cumulative, or delta with OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE=delta.
 * Summaries have no OTel SDK data type and are left out (this server defines none); so is a
 * metric with no series yet (a labelled counter nothing has counted), as the SDK does.
 */
import { ValueType, type Attributes, type HrTime } from '@opentelemetry/api';
import { hrTime } from '@opentelemetry/core';
import { emptyResource } from '@opentelemetry/resources';
import {
  AggregationTemporality,
  DataPointType,
  type CollectionResult,
  type DataPoint,
  type MetricData,
  type MetricProducer,
} from '@opentelemetry/sdk-metrics';
import type { MetricObjectWithValues, MetricValue, MetricValueWithName, Registry } from 'prom-client';

type Labels = Record<string, string | number>;
type HistogramValue = { buckets: { boundaries: number[]; counts: number[] }; sum: number; count: number };

function attributesOf(labels: Labels | undefined, without?: string): Attributes {
  const out: Attributes = {};
  for (const [k, v] of Object.entries(labels ?? {})) if (k !== without) out[k] = String(v);
  return out;
}

/** A stable key for a label set (order-independent), to group a histogram's series. */
function keyOf(attributes: Attributes): string {
  return JSON.stringify(Object.entries(attributes).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function histogramPoints(
  values: MetricValueWithName<string>[],
  name: string,
  startTime: HrTime,
  endTime: HrTime,
): MetricData['dataPoints'] {
  const series = new Map<string, { attributes: Attributes; le: [number, number][]; sum: number; count: number }>();
  const seriesOf = (labels: Labels | undefined) => {
    const attributes = attributesOf(labels, 'le');
    const key = keyOf(attributes);
    let s = series.get(key);
    if (!s) series.set(key, (s = { attributes, le: [], sum: 0, count: 0 }));
    return s;
  };
  for (const v of values) {
    const labels = v.labels as Labels | undefined;
    if (v.metricName === `${name}_bucket`) {
      const le = labels?.le;
      seriesOf(labels).le.push([le === '+Inf' ? Infinity : Number(le), v.value]);
    } else if (v.metricName === `${name}_sum`) seriesOf(labels).sum = v.value;
    else if (v.metricName === `${name}_count`) seriesOf(labels).count = v.value;
  }
  const points: DataPoint<HistogramValue>[] = [];
  for (const s of series.values()) {
    const le = s.le.sort((a, b) => a[0] - b[0]);
    const boundaries = le.filter(([bound]) => Number.isFinite(bound)).map(([bound]) => bound);
    const counts: number[] = [];
    let previous = 0;
    for (const [, cumulative] of le) {
      counts.push(cumulative - previous);
      previous = cumulative;
    }
    // Without a +Inf bucket (never, with prom-client) the overflow bucket is what count leaves.
    if (counts.length === boundaries.length) counts.push(s.count - previous);
    points.push({
      startTime,
      endTime,
      attributes: s.attributes,
      value: { buckets: { boundaries, counts }, sum: s.sum, count: s.count },
    });
  }
  return points;
}

function toMetricData(
  metric: MetricObjectWithValues<MetricValue<string>>,
  startTime: HrTime,
  endTime: HrTime,
): MetricData | undefined {
  const descriptor = { name: metric.name, description: metric.help, unit: '', valueType: ValueType.DOUBLE };
  const aggregationTemporality = AggregationTemporality.CUMULATIVE;
  // NaN and ±Inf (a Node.js event-loop statistic before its first sample) have no OTLP/JSON
  // encoding and carry nothing: such a point is left out, in every protocol alike.
  const simple = (): DataPoint<number>[] =>
    metric.values
      .filter((v) => Number.isFinite(v.value))
      .map((v) => ({ startTime, endTime, attributes: attributesOf(v.labels as Labels), value: v.value }));
  switch (String(metric.type)) {
    case 'counter':
      return {
        descriptor,
        aggregationTemporality,
        dataPointType: DataPointType.SUM,
        isMonotonic: true,
        dataPoints: simple(),
      };
    case 'gauge':
      return { descriptor, aggregationTemporality, dataPointType: DataPointType.GAUGE, dataPoints: simple() };
    case 'histogram':
      return {
        descriptor,
        aggregationTemporality,
        dataPointType: DataPointType.HISTOGRAM,
        dataPoints: histogramPoints(metric.values as MetricValueWithName<string>[], metric.name, startTime, endTime),
      } as MetricData;
    default:
      return undefined;
  }
}

type Cumulative = { endTime: HrTime; value: number | HistogramValue };

/**
 * Delta temporality (OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE=delta or lowmemory):
 * counters and histograms report what changed since the previous export, as the SDK does for
 * its own counters and histograms; gauges stay as they are. A series that did not change is
 * left out of that export. Elasticsearch's exporter keeps histograms only as deltas.
 */
function toDelta(metric: MetricData, last: Map<string, Cumulative>, startTime: HrTime): MetricData {
  if (metric.dataPointType === DataPointType.GAUGE) return metric;
  if (metric.dataPointType === DataPointType.SUM) {
    const dataPoints: DataPoint<number>[] = [];
    for (const dp of metric.dataPoints) {
      const key = `${metric.descriptor.name}${keyOf(dp.attributes)}`;
      const prev = last.get(key);
      last.set(key, { endTime: dp.endTime, value: dp.value });
      const before = typeof prev?.value === 'number' ? prev.value : 0;
      // A value below the last one is a restarted series: all of it is new.
      const delta = dp.value >= before ? dp.value - before : dp.value;
      if (delta !== 0) dataPoints.push({ ...dp, startTime: prev?.endTime ?? startTime, value: delta });
    }
    return { ...metric, aggregationTemporality: AggregationTemporality.DELTA, dataPoints };
  }
  if (metric.dataPointType !== DataPointType.HISTOGRAM) return metric;
  const dataPoints: DataPoint<HistogramValue>[] = [];
  for (const dp of metric.dataPoints as DataPoint<HistogramValue>[]) {
    const key = `${metric.descriptor.name}${keyOf(dp.attributes)}`;
    const prev = last.get(key);
    last.set(key, { endTime: dp.endTime, value: dp.value });
    const p = typeof prev?.value === 'object' ? prev.value : undefined;
    const comparable =
      p !== undefined &&
      p.count <= dp.value.count &&
      p.buckets.boundaries.join() === dp.value.buckets.boundaries.join();
    const value: HistogramValue = comparable
      ? {
          buckets: {
            boundaries: dp.value.buckets.boundaries,
            counts: dp.value.buckets.counts.map((c, i) => c - (p.buckets.counts[i] ?? 0)),
          },
          sum: dp.value.sum - p.sum,
          count: dp.value.count - p.count,
        }
      : dp.value;
    if (value.count !== 0) dataPoints.push({ ...dp, startTime: prev?.endTime ?? startTime, value });
  }
  return { ...metric, aggregationTemporality: AggregationTemporality.DELTA, dataPoints } as MetricData;
}

export type Temporality = 'cumulative' | 'delta';

/**
 * A MetricProducer over `registry`. Series start when the producer is made (the registry is
 * made at the same moment, with the metrics sink).
 */
export function prometheusProducer(
  registry: Registry,
  scope: { name: string; version: string },
  temporality: Temporality = 'cumulative',
): MetricProducer {
  const startTime = hrTime();
  const last = new Map<string, Cumulative>();
  return {
    collect: async (): Promise<CollectionResult> => {
      const errors: unknown[] = [];
      let metrics: MetricObjectWithValues<MetricValue<string>>[] = [];
      try {
        metrics = await registry.getMetricsAsJSON();
      } catch (err) {
        errors.push(err);
      }
      const endTime = hrTime();
      const data = metrics
        .map((m) => toMetricData(m, startTime, endTime))
        .filter((m): m is MetricData => m !== undefined)
        .map((m) => (temporality === 'delta' ? toDelta(m, last, startTime) : m))
        .filter((m) => m.dataPoints.length > 0);
      // The reader replaces this resource with the SDK's own.
      return { resourceMetrics: { resource: emptyResource(), scopeMetrics: [{ scope, metrics: data }] }, errors };
    },
  };
}
