/**
 * Derives the OpenTelemetry log record of an event: event name `mcp_ssh.<type>`, a severity
 * that follows the outcome, semantic-convention attribute names where they exist and
 * `mcp_ssh.*` for the rest. The body is the stderr JSON line itself, so a collector or
 * ingest pipeline can treat both paths the same way.
 */
import { SeverityNumber, type LogAttributes } from '@opentelemetry/api-logs';
import type { StampedEvent } from './events.js';
import {
  ATTR_ERROR_TYPE,
  ATTR_NETWORK_PEER_ADDRESS,
  ATTR_PROCESS_EXIT_CODE,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
} from './semconv.js';
import { toStderrLine } from './stderr-line.js';

export interface DerivedLogRecord {
  eventName: string;
  severityNumber: SeverityNumber;
  severityText: string;
  body: string;
  attributes: LogAttributes;
  timestamp: number;
}

/** Event fields that have a semantic-convention name. */
const SEMCONV_NAMES: Record<string, string> = {
  target_ip: ATTR_NETWORK_PEER_ADDRESS,
  exit_code: ATTR_PROCESS_EXIT_CODE,
  host: ATTR_SERVER_ADDRESS,
  port: ATTR_SERVER_PORT,
};

export function severityOf(event: StampedEvent): SeverityNumber {
  switch (event.type) {
    case 'policy_decision':
      return event.allowed ? SeverityNumber.INFO : SeverityNumber.WARN;
    case 'audit':
      if (event.timeout || event.cancelled) return SeverityNumber.WARN;
      return event.exit_code === 0 ? SeverityNumber.INFO : SeverityNumber.ERROR;
    case 'security_event':
      return SeverityNumber.ERROR;
    case 'error':
      return event.level === 'error' ? SeverityNumber.ERROR : SeverityNumber.WARN;
    case 'config_reload':
      return event.success ? SeverityNumber.INFO : SeverityNumber.WARN;
    default:
      return SeverityNumber.INFO;
  }
}

const SEVERITY_TEXT: Partial<Record<SeverityNumber, string>> = {
  [SeverityNumber.INFO]: 'INFO',
  [SeverityNumber.WARN]: 'WARN',
  [SeverityNumber.ERROR]: 'ERROR',
};

export function toLogRecord(event: StampedEvent): DerivedLogRecord {
  const attributes: LogAttributes = { 'mcp_ssh.event.type': event.type };
  for (const [key, value] of Object.entries(event)) {
    // ts becomes the record's timestamp; trace/span ids travel in the record's context.
    if (value === undefined || key === 'type' || key === 'ts' || key === 'trace_id' || key === 'span_id') continue;
    const name = SEMCONV_NAMES[key] ?? `mcp_ssh.${key}`;
    attributes[name] =
      value === null || typeof value === 'object' ? JSON.stringify(value) : (value as string | number | boolean);
  }
  if (event.type === 'error') attributes[ATTR_ERROR_TYPE] = event.msg;
  if (event.type === 'security_event') attributes[ATTR_ERROR_TYPE] = event.event_type;
  if (event.type === 'audit' && event.exit_code !== 0) {
    attributes[ATTR_ERROR_TYPE] = event.timeout
      ? 'timeout'
      : event.cancelled
        ? 'cancelled'
        : event.exit_code === -1
          ? 'execution_failed'
          : 'nonzero_exit';
  }
  const severityNumber = severityOf(event);
  return {
    eventName: `mcp_ssh.${event.type}`,
    severityNumber,
    severityText: SEVERITY_TEXT[severityNumber] ?? 'INFO',
    body: toStderrLine(event),
    attributes,
    timestamp: event.ts * 1000,
  };
}
