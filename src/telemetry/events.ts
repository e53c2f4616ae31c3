/**
 * The one event model. Every kind of event the orchestrator emits is defined here once, with
 * its fields, their types and what they mean; the stderr line, the OTel log record, span
 * attributes, metric updates and docs/events.md are all derived from these definitions, so
 * they cannot drift apart.
 *
 * Field names and types follow the stderr contract of the Python mcp-ssh-orchestrator;
 * fields marked "additive" are ours, for correlation and investigation. `ts` is stamped by
 * the bus when an event is emitted, not by callers.
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

const taskId = z.string().describe('Task identifier (`task_` + 16 hex digits); additive on all but progress');
const traceId = z.string().describe('Additive: W3C trace id of the active span (32 hex digits) when tracing is on');
const spanId = z.string().describe('Additive: id of the active span (16 hex digits) when tracing is on');
const alias = z.string().describe('Host alias from servers.yml');
const hash = z
  .string()
  .describe('First 12 hex digits of the SHA-256 of the command (the command itself is never logged)');

/** Correlation ids that ride along on task-scoped events. */
const correlation = {
  task_id: taskId.optional(),
  trace_id: traceId.optional(),
  span_id: spanId.optional(),
};

/** Tamper-evident chain fields (only with --audit-chain); see src/telemetry/audit-chain.ts. */
const chain = {
  chain_id: z.string().optional().describe("Additive, --audit-chain: random id of this process run's chain"),
  seq: z.number().int().optional().describe('Additive, --audit-chain: position in the chain, from 1'),
  prev_hash: z
    .string()
    .optional()
    .describe(
      'Additive, --audit-chain: SHA-256 (HMAC with a key) of the previous chained line, or of `chain:<chain_id>` for the first',
    ),
};

export const policyDecisionEvent = z
  .object({
    type: z.literal('policy_decision'),
    alias,
    hash,
    allowed: z.boolean().describe('Whether the policy allows the command on this host'),
    rule: z
      .string()
      .optional()
      .describe(
        'Additive: what decided — the allow/deny rule names (or `id`, or `rules[i]`; several joined by `, `), or a built-in code: ' +
          '`default_deny`, `deny_substrings`, `parse_error`, `empty_command`, `shell_from_stdin`, `exec_option`, `unknown_argument`, ' +
          '`unknown_program`, `write_denied`, `nesting_too_deep`, `program_path` (version 2), `unsupported_syntax:<construct>` (docs/policy.md)',
      ),
    sent_hash: z
      .string()
      .optional()
      .describe(
        'Additive, allowed only: first 12 hex digits of the SHA-256 of the text sent to the host, when it differs from the command (the canonical print of what was checked)',
      ),
    unchecked: z
      .literal(true)
      .optional()
      .describe("Additive, allowed only: the command was sent as written, unchecked, under a rule's allow_syntax"),
    ...correlation,
    ...chain,
  })
  .describe('Before every execution (ssh_run, each host of ssh_run_on_tag, ssh_run_async): the policy verdict.');

export const auditEvent = z
  .object({
    type: z.literal('audit'),
    alias,
    hash,
    exit_code: z
      .number()
      .int()
      .describe(
        'Remote exit status; -1 when the process did not exit normally (timeout, cancel, signal, connection failure)',
      ),
    duration_ms: z.number().int().describe('Milliseconds from the start of the task to its end'),
    bytes_out: z.number().int().describe('Bytes received on stdout (including any beyond max_output_bytes)'),
    bytes_err: z.number().int().describe('Bytes received on stderr (including any beyond max_output_bytes)'),
    cancelled: z.boolean().describe('The task was cancelled (ssh_cancel, client cancellation, shutdown)'),
    timeout: z.boolean().describe('The task hit max_seconds and the remote process was killed'),
    target_ip: z
      .string()
      .nullable()
      .describe('IP address connected to; null when the host could not be resolved or was refused'),
    host: z.string().optional().describe('Additive: the configured host name or address of the alias'),
    port: z.number().int().optional().describe('Additive: the SSH port'),
    ...correlation,
    ...chain,
  })
  .describe('After every execution, success or failure, sync and async alike.');

export const progressEvent = z
  .object({
    type: z.literal('progress'),
    task_id: taskId,
    phase: z
      .enum(PROGRESS_PHASES)
      .describe('`connecting`, `connected`, then `running` every 0.5 s while the command runs'),
    bytes_read: z.number().int().describe('Bytes read so far (stdout + stderr)'),
    elapsed_ms: z.number().int().describe('Milliseconds since the task started'),
    alias: alias.optional().describe('Additive: the host alias of the task'),
    trace_id: traceId.optional(),
    span_id: spanId.optional(),
  })
  .describe('While a task connects and runs.');

export const securityEvent = z
  .object({
    type: z.literal('security_event'),
    event_type: z.enum(SECURITY_EVENT_TYPES).describe('What was detected'),
    attempted_path: z.string().optional().describe('The path or name as given'),
    resolved_path: z.string().optional().describe('The path after resolution'),
    reason: z
      .string()
      .optional()
      .describe('Why it was refused, e.g. `path_outside_allowed_directory`, `host_key_unknown`'),
    base_dir: z.string().optional().describe('The directory the path had to stay inside'),
    file_size: z.number().int().optional().describe('Size of the oversized file in bytes'),
    max_size: z.number().int().optional().describe('The size limit in bytes'),
    field: z.string().optional().describe('The input field that was too long, e.g. `secret_name`, `key_path`'),
    length: z.number().int().optional().describe('Its length'),
    max_length: z.number().int().optional().describe('The length limit'),
    hostname: z.string().optional().describe('Host name concerned (DNS rate limit, authentication, host key)'),
    max_per_second: z.number().optional().describe('The DNS lookup rate limit'),
    original_command: z.string().optional().describe('The command as sent, secrets redacted'),
    normalized_command: z.string().optional().describe('The command after normalisation, secrets redacted'),
    blocked_pattern: z.string().optional().describe('The deny pattern the normalised command matched'),
    alias: alias.optional().describe('Additive: the host alias concerned'),
    ...correlation,
    ...chain,
  })
  .describe(
    'Security-relevant detections. On stderr they also carry `level: "error"`, `kind: "security_audit"` and an ISO 8601 `timestamp`.',
  );

export const traceEvent = z
  .object({
    type: z.literal('trace'),
    op: z.string().describe('Operation that finished, e.g. `run_done`'),
    elapsed_ms: z.number().int().describe('Milliseconds it took'),
    alias: alias.optional().describe('Additive: the host alias, when the operation ran on one host'),
    ...correlation,
  })
  .describe('An operation finished (after the audit line of a task).');

export const configIssue = z.object({
  file: z.string(),
  line: z.number().int().optional(),
  column: z.number().int().optional(),
  path: z.string(),
  message: z.string(),
});

export const errorEvent = z
  .object({
    type: z.literal('error').describe('Additive: `error` (the Python server wrote no type on these lines)'),
    level: z.enum(['error', 'warn']).describe('`error` or `warn`'),
    msg: z
      .string()
      .describe(
        'Identifier, e.g. `run_exception`, `network_blocked`, `config_invalid`, `config_reload_failed`, ' +
          '`config_warning` (the config loads, but a key is ignored or a file is missing; one line per warning, at start and reload), `otel_warning`, `otel_records_dropped`, ' +
          '`otel_exporter_refused` (an OTEL_*_EXPORTER asked for the console exporter, which would print to stdout; the rest of the telemetry still runs), ' +
          '`process_warning` (a Node.js warning), `uncaught_exception` and `unhandled_rejection` (the crash that ends the process), ' +
          '`metrics_unavailable` (the --metrics-addr port could not be bound; MCP keeps serving), ' +
          '`request_too_large` and `request_invalid` (a message on stdin was over the size limit or not JSON-RPC; it was answered with a JSON-RPC error), ' +
          '`mcp_protocol_error` (the MCP layer could not handle a message)',
      ),
    error: z.string().describe('Human-readable details'),
    issues: z
      .array(configIssue)
      .optional()
      .describe('Additive, config errors: each problem with file, line, column, path, message'),
    alias: alias.optional().describe('Additive: the host alias, when the failure concerns one host'),
    ...correlation,
  })
  .describe('Failures and warnings.');

export const configReloadEvent = z
  .object({
    type: z.literal('config_reload'),
    success: z.boolean().describe('Whether the new config is now in force'),
    generation: z.number().int().describe('Config generation in force after the attempt'),
    hosts: z.number().int().describe('Hosts in the config in force'),
    rules: z.number().int().describe('Policy rules in the config in force'),
  })
  .describe('Additive: after every ssh_reload_config (a failed one is also an `error` line with the reasons).');

export const EVENT_SCHEMAS = {
  policy_decision: policyDecisionEvent,
  audit: auditEvent,
  progress: progressEvent,
  security_event: securityEvent,
  trace: traceEvent,
  error: errorEvent,
  config_reload: configReloadEvent,
} as const;

export type EventType = keyof typeof EVENT_SCHEMAS;
export type PolicyDecisionEvent = z.infer<typeof policyDecisionEvent>;
export type AuditEvent = z.infer<typeof auditEvent>;
export type ProgressEvent = z.infer<typeof progressEvent>;
export type SecurityEvent = z.infer<typeof securityEvent>;
export type TraceEvent = z.infer<typeof traceEvent>;
export type ErrorEvent = z.infer<typeof errorEvent>;
export type ConfigReloadEvent = z.infer<typeof configReloadEvent>;

export type OrchestratorEvent =
  PolicyDecisionEvent | AuditEvent | ProgressEvent | SecurityEvent | TraceEvent | ErrorEvent | ConfigReloadEvent;

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
