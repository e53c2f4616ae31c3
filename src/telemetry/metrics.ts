/**
 * Prometheus metrics, derived from the same events as the stderr lines (metric names from
 * the observability guide): a sink that updates counters and histograms, and the registry
 * the /metrics endpoint serves.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { TelemetrySink } from './bus.js';
import { SECURITY_EVENT_TYPES, type AuditEvent, type StampedEvent } from './events.js';
import type { DropSignal } from './otel-drops.js';

/** `status` label of ssh_commands_total. */
export type CommandStatus = 'success' | 'failure' | 'timeout' | 'cancelled' | 'error' | 'denied';

export function commandStatus(audit: AuditEvent): CommandStatus {
  if (audit.timeout) return 'timeout';
  if (audit.cancelled) return 'cancelled';
  if (audit.exit_code === 0) return 'success';
  // -1 without timeout or cancel: the command never ran to an exit status (connection, auth, network).
  return audit.exit_code === -1 ? 'error' : 'failure';
}

export class MetricsSink implements TelemetrySink {
  readonly name = 'metrics';
  readonly registry = new Registry();
  private readonly commands: Counter<'alias' | 'status'>;
  private readonly duration: Histogram<'alias'>;
  private readonly decisions: Counter<'decision' | 'rule'>;
  private readonly authFailures: Counter<'alias'>;
  private readonly violations: Counter<'violation_type'>;
  private readonly reloads: Counter;
  private readonly otelDropped: Counter<'signal'>;

  /** `activeSessions` reports commands holding a connection slot right now. */
  constructor(activeSessions: () => number) {
    const registers = [this.registry];
    this.commands = new Counter({
      name: 'ssh_commands_total',
      help: 'SSH commands by host alias and outcome',
      labelNames: ['alias', 'status'],
      registers,
    });
    this.duration = new Histogram({
      name: 'ssh_command_duration_seconds',
      help: 'SSH command execution time',
      labelNames: ['alias'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
      registers,
    });
    this.decisions = new Counter({
      name: 'ssh_policy_decisions_total',
      help: 'Policy decisions by verdict and deciding rule',
      labelNames: ['decision', 'rule'],
      registers,
    });
    this.authFailures = new Counter({
      name: 'ssh_auth_failures_total',
      help: 'SSH authentication failures by host alias',
      labelNames: ['alias'],
      registers,
    });
    this.violations = new Counter({
      name: 'ssh_policy_violations_total',
      help: 'Policy violations: denied commands, bypass attempts, blocked addresses, host key and path violations',
      labelNames: ['violation_type'],
      registers,
    });
    // Every known violation type starts at 0, so the first violation is an increase() that
    // alert rules can see rather than a series appearing out of nowhere.
    for (const violation_type of ['command_denied', 'network_blocked', ...SECURITY_EVENT_TYPES]) {
      if (violation_type !== 'authentication_failed') this.violations.inc({ violation_type }, 0);
    }
    this.reloads = new Counter({
      name: 'ssh_config_reloads_total',
      help: 'Successful configuration reloads',
      registers,
    });
    this.otelDropped = new Counter({
      name: 'ssh_telemetry_otlp_dropped_total',
      help: 'OTLP log records and spans dropped before export because the export queue was full',
      labelNames: ['signal'],
      registers,
    });
    for (const signal of ['logs', 'spans']) this.otelDropped.inc({ signal }, 0);
    new Gauge({
      name: 'ssh_active_sessions',
      help: 'SSH commands currently holding a session',
      registers,
      collect() {
        this.set(activeSessions());
      },
    });
    collectDefaultMetrics({ register: this.registry });
    // prom-client names these gauges *_total, which Prometheus reserves for counters
    // (`promtool check metrics` flags them); the process_* and other nodejs_* metrics stay.
    for (const name of [
      'nodejs_active_handles_total',
      'nodejs_active_requests_total',
      'nodejs_active_resources_total',
    ]) {
      this.registry.removeSingleMetric(name);
    }
  }

  /** Records the OTel SDK dropped (see otel-drops.ts); they are not events, so not on the bus. */
  countOtlpDropped(signal: DropSignal, count: number): void {
    this.otelDropped.inc({ signal: signal === 'spans' ? 'spans' : 'logs' }, count);
  }

  write(event: StampedEvent): void {
    switch (event.type) {
      case 'policy_decision':
        this.decisions.inc({ decision: event.allowed ? 'allow' : 'deny', rule: event.rule ?? 'unknown' });
        if (!event.allowed) {
          this.commands.inc({ alias: event.alias, status: 'denied' });
          this.violations.inc({ violation_type: 'command_denied' });
        }
        return;
      case 'audit':
        this.commands.inc({ alias: event.alias, status: commandStatus(event) });
        this.duration.observe({ alias: event.alias }, event.duration_ms / 1000);
        return;
      case 'security_event':
        if (event.event_type === 'authentication_failed') this.authFailures.inc({ alias: event.alias ?? 'unknown' });
        else this.violations.inc({ violation_type: event.event_type });
        return;
      case 'error':
        if (event.msg === 'network_blocked') this.violations.inc({ violation_type: 'network_blocked' });
        return;
      case 'config_reload':
        if (event.success) this.reloads.inc();
        return;
      default:
        return;
    }
  }
}
