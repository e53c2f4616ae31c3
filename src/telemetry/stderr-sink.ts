/**
 * The stderr sink: one JSON object per line, written through winston. The line is built by
 * toStderrLine so winston adds nothing of its own (no `level`/`message` keys on audit lines).
 */
import winston from 'winston';
import type { Writable } from 'node:stream';
import type { TelemetrySink } from './bus.js';
import type { StampedEvent } from './events.js';
import { toStderrLine } from './stderr-line.js';

export class StderrSink implements TelemetrySink {
  readonly name = 'stderr';
  private readonly logger: winston.Logger;

  constructor(stream: Writable = process.stderr) {
    this.logger = winston.createLogger({
      level: 'info',
      format: winston.format.printf((info) => String(info.message)),
      transports: [new winston.transports.Stream({ stream })],
      exitOnError: false,
    });
  }

  write(event: StampedEvent): void {
    this.logger.info(toStderrLine(event));
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.logger.on('finish', () => resolve());
      this.logger.end();
      // A stream that never drains must not hold shutdown hostage.
      setTimeout(resolve, 2000).unref();
    });
  }
}
