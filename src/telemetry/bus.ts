/**
 * The telemetry bus: stamps each event with its time and hands it to every sink. A sink
 * that throws is reported once on the others and never breaks the caller's work.
 */
import type { EventEmitter, OrchestratorEvent, StampedEvent } from './events.js';
import type { AuditChain } from './audit-chain.js';
import { activeIds } from './spans.js';

export interface TelemetrySink {
  readonly name: string;
  write(event: StampedEvent): void;
  /** Write out lines held back for batching, now (before a reply that reports their work). */
  flush?(): void;
  /** Finish pending output (flush exporters, drain streams) before exit. */
  close?(): Promise<void>;
}

/** Unix seconds as a float with microsecond precision, as the seed contract gives `ts`. */
export function unixSecondsNow(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000) / 1_000_000;
}

export class TelemetryBus implements EventEmitter {
  private readonly failedSinks = new Set<string>();

  constructor(
    private readonly sinks: TelemetrySink[] = [],
    private readonly chain?: AuditChain,
  ) {}

  add(sink: TelemetrySink): void {
    this.sinks.push(sink);
  }

  emit(event: OrchestratorEvent): void {
    const stamped: StampedEvent = { ...event, ts: unixSecondsNow() };
    // Lines emitted inside a span carry its ids, so stderr, log records and spans correlate.
    if (stamped.type !== 'config_reload' && stamped.trace_id === undefined) {
      const ids = activeIds();
      if (ids) Object.assign(stamped, ids);
    }
    // Chained last: the digest covers the line exactly as every sink will write it.
    this.chain?.link(stamped);
    for (const sink of this.sinks) {
      try {
        sink.write(stamped);
      } catch (err) {
        this.reportSinkFailure(sink, err);
      }
    }
  }

  /** Every sink writes what it holds; see StderrSink for why lines wait at all. */
  flush(): void {
    for (const sink of this.sinks) {
      try {
        sink.flush?.();
      } catch (err) {
        this.reportSinkFailure(sink, err);
      }
    }
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.sinks.map((s) => s.close?.()));
  }

  private reportSinkFailure(failed: TelemetrySink, err: unknown): void {
    if (this.failedSinks.has(failed.name)) return;
    this.failedSinks.add(failed.name);
    const notice: StampedEvent = {
      type: 'error',
      level: 'error',
      msg: 'telemetry_sink_failed',
      error: `${failed.name}: ${err instanceof Error ? err.message : String(err)}`,
      ts: unixSecondsNow(),
    };
    for (const sink of this.sinks) {
      if (sink === failed) continue;
      try {
        sink.write(notice);
      } catch {
        /* nothing left to report to */
      }
    }
  }
}
