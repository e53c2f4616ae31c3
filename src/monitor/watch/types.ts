/**
 * What a watch check finds and reports: the anomalies and the per-check summary. Shared by the
 * check (watch/check.ts), the state directory (watch/state.ts) and the output (watch/bulletin.ts).
 */
import type { LineRef } from '../input.js';
import type { Severity } from '../thresholds.js';

export type AnomalyKind =
  | 'chain_broken'
  | 'security_event'
  | 'command_rate'
  | 'command_rate_spike'
  | 'denial_spike'
  | 'auth_failure_spike'
  | 'new_host'
  | 'new_target_ip'
  | 'new_command'
  | 'bad_input'
  | 'clock_skew';

export interface Anomaly {
  severity: Severity;
  kind: AnomalyKind;
  alias?: string;
  message: string;
  /** First line of the input where it showed. */
  at?: LineRef;
  details: Record<string, unknown>;
}

export interface CheckSummary {
  check: number;
  status: 'baseline_created' | 'learning' | 'ok' | 'anomalies';
  anomalies: Record<Severity, number>;
  window: {
    lines: number;
    events: number;
    hosts: number;
    commands: number;
    denied: number;
    executions: number;
    security_events: number;
    noise: number;
    unknown_type: number;
    invalid: number;
    first_event: string | null;
    last_event: string | null;
  };
  baseline: { since: string; checks: number; hosts: number; hashes: number };
}

export interface CheckResult {
  anomalies: Anomaly[];
  summary: CheckSummary;
}
