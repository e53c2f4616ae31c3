/**
 * Turns a parsed stderr line back into a typed event, checked against the same zod schemas
 * the orchestrator emits from (src/telemetry/events.ts), so report and watch read exactly
 * the contract documented in docs/events.md and count what does not fit instead of guessing.
 */
import { EVENT_SCHEMAS, type OrchestratorEvent } from '../telemetry/events.js';
import { UsageError } from './cli-util.js';
import { isKnownType } from './input.js';

export type TimedEvent = OrchestratorEvent & { ts: number };

export type EventCheck =
  | { ok: true; event: TimedEvent }
  /** Known type, but a field is missing or has the wrong type. */
  | { ok: false; reason: 'invalid'; detail: string }
  /** A type the orchestrator does not emit (counted by the input stats). */
  | { ok: false; reason: 'unknown_type' };

export function checkEvent(record: Record<string, unknown>, type: string | undefined): EventCheck {
  if (!isKnownType(type)) return { ok: false, reason: 'unknown_type' };
  const ts = record.ts;
  if (typeof ts !== 'number' || !Number.isFinite(ts)) {
    return { ok: false, reason: 'invalid', detail: `${type}: ts is missing or not a number` };
  }
  const parsed = EVENT_SCHEMAS[type].safeParse(record);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? issue.path.join('.') : type;
    return { ok: false, reason: 'invalid', detail: `${type}: ${where}: ${issue?.message ?? 'invalid'}` };
  }
  return { ok: true, event: { ...parsed.data, ts } as TimedEvent };
}

/** Unix seconds → ISO 8601 UTC with milliseconds. */
export function isoOf(ts: number): string {
  const d = new Date(ts * 1000);
  return Number.isNaN(d.getTime()) ? String(ts) : d.toISOString();
}

/** Parses an ISO 8601 date or date-time (a bare date is midnight UTC) into Unix seconds. */
export function parseTime(value: string, option: string): number {
  const ms = Date.parse(/^\d{4}-\d\d-\d\d$/.test(value) ? `${value}T00:00:00Z` : value);
  if (!/^\d{4}-\d\d-\d\d/.test(value) || Number.isNaN(ms)) {
    throw new UsageError(
      `${option} "${value}": expected an ISO 8601 date or date-time, e.g. 2025-01-31 or 2025-01-31T12:00:00Z`,
    );
  }
  return ms / 1000;
}
