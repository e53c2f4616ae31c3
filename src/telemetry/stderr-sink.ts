/**
 * The stderr sink: one JSON object per line, written through winston. The line is built by
 * toStderrLine so winston adds nothing of its own (no `level`/`message` keys on audit lines).
 *
 * Lines emitted during one turn of the event loop leave in one write: a command emits five
 * lines, and on a pipe each write is a blocking system call that also wakes the reader, the
 * largest per-command cost once the SSH exchange itself is done. The batch is written at the
 * end of the turn (setImmediate), so nothing waits on a timer; whatever is still pending when
 * the process exits (process.exit, an uncaught exception) is written by the exit hook, which
 * winston serves synchronously.
 */
import winston from 'winston';
import type { Writable } from 'node:stream';
import type { TelemetrySink } from './bus.js';
import type { StampedEvent } from './events.js';
import { toStderrLine } from './stderr-line.js';

/** Sinks with lines not yet written; one process-wide exit hook flushes them all. */
const unflushed = new Set<StderrSink>();
let exitHookInstalled = false;

function flushAllOnExit(): void {
  for (const sink of unflushed) sink.flush();
}

export class StderrSink implements TelemetrySink {
  readonly name = 'stderr';
  private readonly logger: winston.Logger;
  private pending: string[] = [];

  constructor(stream: Writable = process.stderr) {
    this.logger = winston.createLogger({
      level: 'info',
      format: winston.format.printf((info) => String(info.message)),
      transports: [new winston.transports.Stream({ stream })],
      exitOnError: false,
    });
    if (!exitHookInstalled) {
      exitHookInstalled = true;
      process.on('exit', flushAllOnExit);
    }
  }

  write(event: StampedEvent): void {
    this.pending.push(toStderrLine(event));
    if (this.pending.length === 1) {
      unflushed.add(this);
      setImmediate(() => this.flush());
    }
  }

  /** Writes every pending line now, as one chunk (winston adds the final newline). */
  flush(): void {
    if (this.pending.length === 0) return;
    const batch = this.pending.join('\n');
    this.pending = [];
    unflushed.delete(this);
    this.logger.info(batch);
  }

  close(): Promise<void> {
    this.flush();
    return new Promise((resolve) => {
      this.logger.on('finish', () => resolve());
      this.logger.end();
      // A stream that never drains must not hold shutdown hostage.
      setTimeout(resolve, 2000).unref();
    });
  }
}
