/**
 * Derives the stderr JSON line from an event. Key order follows the seed examples so a
 * human reading `docker logs` sees the familiar shape: `type`, `ts` first; security events
 * lead with `level`, `kind`; error lines with `level`, `msg`, `error`.
 */
import type { StampedEvent } from './events.js';

export function toStderrRecord(event: StampedEvent): Record<string, unknown> {
  switch (event.type) {
    case 'security_event': {
      const { type, event_type, ts, ...rest } = event;
      return {
        level: 'error',
        kind: 'security_audit',
        type,
        event_type,
        ts,
        timestamp: new Date(ts * 1000).toISOString(),
        ...rest,
      };
    }
    case 'error': {
      const { level, msg, error, type, ts, ...rest } = event;
      return { level, msg, error, type, ts, ...rest };
    }
    default: {
      const { type, ts, ...rest } = event;
      return { type, ts, ...rest };
    }
  }
}

export function toStderrLine(event: StampedEvent): string {
  return JSON.stringify(toStderrRecord(event));
}
