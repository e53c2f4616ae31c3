/**
 * Dropped OTLP records, made visible. The OTel SDK's batch processors drop a log record or span
 * when their queue is full (a burst, or a collector too slow for too long) and say so only
 * through an OTel MeterProvider: the counter `otel.sdk.processor.{log,span}.processed` with
 * `error.type: queue_full`. This server's metrics are prom-client, so a minimal MeterProvider
 * takes just that counter and turns it into a report; every other instrument is a no-op.
 */
import { createNoopMeter, type Attributes, type Counter, type MeterProvider } from '@opentelemetry/api';

export type DropSignal = 'log records' | 'spans';

const PROCESSED = /^otel\.sdk\.processor\.(log|span)\.processed$/;

export function dropCountingMeterProvider(onDropped: (signal: DropSignal, count: number) => void): MeterProvider {
  return {
    getMeter: () => {
      const meter = createNoopMeter();
      const noopCounter = meter.createCounter.bind(meter);
      meter.createCounter = <A extends Attributes>(name: string, options?: object): Counter<A> => {
        const signal = PROCESSED.exec(name)?.[1];
        if (signal === undefined) return noopCounter(name, options);
        return {
          add: (value: number, attributes?: A) => {
            if (attributes?.['error.type'] === 'queue_full')
              onDropped(signal === 'log' ? 'log records' : 'spans', value);
          },
        };
      };
      return meter;
    },
  };
}

/**
 * Adds drops up and reports them at most once per interval (and once more at shutdown), so a
 * burst that drops thousands of records gives one line, not thousands.
 */
export class DropReporter {
  private readonly pending = new Map<DropSignal, number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly report: (message: string) => void,
    private readonly queueSizes: Record<DropSignal, number>,
    private readonly intervalMs = 10_000,
  ) {}

  add(signal: DropSignal, count: number): void {
    this.pending.set(signal, (this.pending.get(signal) ?? 0) + count);
    this.timer ??= setTimeout(() => this.flush(), this.intervalMs).unref();
  }

  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const [signal, count] of this.pending) {
      const variable = signal === 'spans' ? 'OTEL_BSP_MAX_QUEUE_SIZE' : 'OTEL_BLRP_MAX_QUEUE_SIZE';
      this.report(
        `${count} ${signal} dropped before export: the OTLP queue (${this.queueSizes[signal]}) was full; ` +
          `raise ${variable} or check that the collector keeps up (stderr has every line)`,
      );
    }
    this.pending.clear();
  }
}
