/**
 * The one event model. Every kind of event the orchestrator emits is defined here once,
 * with its fields and their types; the stderr line, the OTel log record and the metric
 * updates are all derived from these definitions so they cannot drift apart.
 *
 * Field names follow the stderr contract of the Python mcp-ssh-orchestrator (see
 * docs/events.md). `ts` is added by the bus when an event is emitted, not by callers.
 */
import { z } from 'zod';

export const SECURITY_EVENT_TYPES = [
  'path_traversal_attempt',
  'file_validation_failed',
  'file_size_limit_exceeded',
  'input_length_limit_exceeded',
  'invalid_secret_name',
  'dns_rate_limit_exceeded',
  'command_bypass_attempt',
  'authentication_failed',
  'host_key_mismatch',
] as const;
export type SecurityEventType = (typeof SECURITY_EVENT_TYPES)[number];

export const PROGRESS_PHASES = ['connecting', 'connected', 'running'] as const;
export type ProgressPhase = (typeof PROGRESS_PHASES)[number];

/** Correlation ids that may ride along on task-scoped events (additive to the seed contract). */
const correlation = {
  task_id: z.string().optional(),
  trace_id: z.string().optional(),
  span_id: z.string().optional(),
};

export const policyDecisionEvent = z.object({
  type: z.literal('policy_decision'),
  alias: z.string(),
  hash: z.string(),
  allowed: z.boolean(),
  /** Name of the rule that decided (a rule's name/id, `default_deny`, `deny_substrings`, ...). */
  rule: z.string().optional(),
  ...correlation,
});

export const auditEvent = z.object({
  type: z.literal('audit'),
  alias: z.string(),
  hash: z.string(),
  exit_code: z.number().int(),
  duration_ms: z.number().int(),
  bytes_out: z.number().int(),
  bytes_err: z.number().int(),
  cancelled: z.boolean(),
  timeout: z.boolean(),
  target_ip: z.string().nullable(),
  ...correlation,
});

export const progressEvent = z.object({
  type: z.literal('progress'),
  task_id: z.string(),
  phase: z.enum(PROGRESS_PHASES),
  bytes_read: z.number().int(),
  elapsed_ms: z.number().int(),
  trace_id: correlation.trace_id,
  span_id: correlation.span_id,
});

export const securityEvent = z.object({
  type: z.literal('security_event'),
  event_type: z.enum(SECURITY_EVENT_TYPES),
  attempted_path: z.string().optional(),
  resolved_path: z.string().optional(),
  reason: z.string().optional(),
  base_dir: z.string().optional(),
  file_size: z.number().int().optional(),
  max_size: z.number().int().optional(),
  field: z.string().optional(),
  length: z.number().int().optional(),
  max_length: z.number().int().optional(),
  hostname: z.string().optional(),
  max_per_second: z.number().optional(),
  original_command: z.string().optional(),
  normalized_command: z.string().optional(),
  blocked_pattern: z.string().optional(),
  /** Additive: the alias concerned, for authentication_failed / host_key_mismatch / bypass. */
  alias: z.string().optional(),
  ...correlation,
});

export const traceEvent = z.object({
  type: z.literal('trace'),
  op: z.string(),
  elapsed_ms: z.number().int(),
  ...correlation,
});

export const errorEvent = z.object({
  type: z.literal('error'),
  level: z.enum(['error', 'warn']),
  msg: z.string(),
  error: z.string(),
  /** For config errors: every problem found, each naming file, line and field. */
  issues: z
    .array(
      z.object({
        file: z.string(),
        line: z.number().int().optional(),
        column: z.number().int().optional(),
        path: z.string(),
        message: z.string(),
      }),
    )
    .optional(),
  ...correlation,
});

export const EVENT_SCHEMAS = {
  policy_decision: policyDecisionEvent,
  audit: auditEvent,
  progress: progressEvent,
  security_event: securityEvent,
  trace: traceEvent,
  error: errorEvent,
} as const;

export type PolicyDecisionEvent = z.infer<typeof policyDecisionEvent>;
export type AuditEvent = z.infer<typeof auditEvent>;
export type ProgressEvent = z.infer<typeof progressEvent>;
export type SecurityEvent = z.infer<typeof securityEvent>;
export type TraceEvent = z.infer<typeof traceEvent>;
export type ErrorEvent = z.infer<typeof errorEvent>;

export type OrchestratorEvent =
  PolicyDecisionEvent | AuditEvent | ProgressEvent | SecurityEvent | TraceEvent | ErrorEvent;

/** An event as sinks see it: stamped with the time it was emitted. */
export type StampedEvent = OrchestratorEvent & { ts: number };

/** What every module that reports something depends on: one method, no knowledge of sinks. */
export interface EventEmitter {
  emit(event: OrchestratorEvent): void;
}

/** Convenience for callers that only report security events. */
export type SecurityEventInput = Omit<SecurityEvent, 'type'>;
export function securityEventOf(fields: SecurityEventInput): SecurityEvent {
  return { type: 'security_event', ...fields };
}
