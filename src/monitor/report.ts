/**
 * `mcp-ssh-orchestrator report`: a compliance report over audit logs for a period — allowed
 * versus denied, per host and per rule, failed commands, timeouts, cancellations, target IPs,
 * security events by type, errors, config reloads, and the integrity verdict of the audit
 * chain — as Markdown, JSON or CSV. Reads files, stdin or Elasticsearch.
 *
 * Counting follows the Prometheus metrics exactly (commandStatus from the metrics sink), so a
 * report and a dashboard over the same period agree.
 */
import { parseArgs } from 'node:util';
import { commandStatus, type CommandStatus } from '../telemetry/metrics.js';
import type { AuditEvent } from '../telemetry/events.js';
import { keyFromEnv, runCommand, UsageError, writeText, type CommandIo } from './cli-util.js';
import { checkEvent, isoOf, parseTime } from './events.js';
import { countLine, emptyStats, formatRef, SkewTracker, type InputStats, type ParsedLine } from './input.js';
import { elasticsearchSource, fileSource, type EventSource } from './sources.js';
import { ChainVerifier, type Problem, type VerifyReport } from './verify.js';

export interface ReportOptions {
  /** Unix seconds, inclusive. */
  from?: number;
  /** Unix seconds, exclusive. */
  to?: number;
  /** HMAC key of the audit chain. */
  key?: string;
  /** Rows listed per incident table (failed commands, timeouts, cancellations). */
  maxListed?: number;
}

export interface HostRow {
  alias: string;
  decisions: number;
  allowed: number;
  denied: number;
  executions: number;
  success: number;
  failure: number;
  error: number;
  timeout: number;
  cancelled: number;
  unique_commands: number;
  max_duration_ms: number;
  target_ips: string[];
  security_events: number;
}

export interface Incident {
  time: string;
  alias: string;
  hash: string;
  status: CommandStatus;
  exit_code: number;
  duration_ms: number;
  target_ip: string | null;
  task_id?: string;
}

export interface ComplianceReport {
  title: string;
  generated_at: string;
  period: { from: string | null; to: string | null };
  source: string;
  first_event: string | null;
  last_event: string | null;
  decisions: { total: number; allowed: number; denied: number };
  executions: Record<CommandStatus | 'total', number> & { unique_commands: number };
  hosts: HostRow[];
  rules: Array<{ rule: string; allowed: number; denied: number }>;
  failed_commands: { total: number; listed: Incident[] };
  timeouts: { total: number; listed: Incident[] };
  cancellations: { total: number; listed: Incident[] };
  target_ips: Array<{ ip: string; executions: number; aliases: string[] }>;
  security_events: {
    total: number;
    by_type: Record<string, number>;
    by_type_and_alias: Array<{ event_type: string; alias: string; count: number }>;
  };
  errors: Record<string, number>;
  config_reloads: { succeeded: number; failed: number };
  integrity: Integrity;
  data_quality: {
    lines: number;
    events: number;
    in_period: number;
    outside_period: number;
    invalid: number;
    invalid_samples: Array<{ file: string; line: number; detail: string }>;
    noise: InputStats['noise'];
    noise_samples: InputStats['noise_samples'];
    unknown_types: Record<string, number>;
    skipped: InputStats['skipped'];
    clock_skew: ReturnType<SkewTracker['toJSON']>;
  };
}

export type Integrity =
  | {
      verdict: VerifyReport['verdict'];
      digest: VerifyReport['digest'];
      chains: number;
      chained_lines: number;
      unchained_lines: number;
      problems: number;
      first_problem?: Problem;
      /** What the verdict covers. */
      scope: string;
    }
  | { verdict: 'not_available'; reason: string };

interface HostAcc extends Omit<HostRow, 'target_ips' | 'unique_commands'> {
  ips: Set<string>;
  hashes: Set<string>;
}

/** Builds the report from parsed lines; push every line of the source, then finish(). */
export class ReportBuilder {
  private readonly stats = emptyStats();
  private readonly skew = new SkewTracker();
  private readonly hosts = new Map<string, HostAcc>();
  private readonly rules = new Map<string, { allowed: number; denied: number }>();
  private readonly ips = new Map<string, { executions: number; aliases: Set<string> }>();
  private readonly secByType = new Map<string, number>();
  private readonly secByTypeAlias = new Map<string, number>();
  private readonly errors = new Map<string, number>();
  private readonly hashes = new Set<string>();
  private readonly decisions = { total: 0, allowed: 0, denied: 0 };
  private readonly executions: Record<CommandStatus | 'total', number> = {
    total: 0,
    success: 0,
    failure: 0,
    error: 0,
    timeout: 0,
    cancelled: 0,
    denied: 0,
  };
  private readonly failed: Incident[] = [];
  private readonly timeouts: Incident[] = [];
  private readonly cancellations: Incident[] = [];
  private readonly counts = { failed: 0, timeouts: 0, cancellations: 0, inPeriod: 0, outside: 0, invalid: 0 };
  private readonly invalidSamples: Array<{ file: string; line: number; detail: string }> = [];
  private reloads = { succeeded: 0, failed: 0 };
  private first: number | undefined;
  private last: number | undefined;
  private readonly verifier: ChainVerifier | undefined;
  /** For sources whose hits are not in written order: chained lines, put in chain order at the end. */
  private readonly unorderedChained: ParsedLine[] | undefined;
  private notExact = 0;
  private readonly maxListed: number;

  constructor(
    private readonly source: Pick<EventSource, 'describe' | 'exactLines' | 'ordered'>,
    private readonly opts: ReportOptions = {},
  ) {
    this.maxListed = opts.maxListed ?? 100;
    // A chain is checked over the whole input, not the period: a period cuts chains.
    this.verifier = new ChainVerifier({ key: opts.key, allowPartial: !source.ordered });
    if (!source.ordered) this.unorderedChained = [];
  }

  push(p: ParsedLine): void {
    countLine(this.stats, p);
    if (this.source.ordered) this.verifier?.push(p);
    else if (p.kind === 'event') {
      if (p.text === '') this.notExact++;
      else if (p.record.chain_id !== undefined) this.unorderedChained?.push(p);
    }
    if (p.kind !== 'event') return;
    this.skew.observe(p.record.ts, p.ref);
    const checked = checkEvent(p.record, p.type);
    if (!checked.ok) {
      if (checked.reason === 'invalid') {
        this.counts.invalid++;
        if (this.invalidSamples.length < 5) this.invalidSamples.push({ ...p.ref, detail: checked.detail });
      }
      return;
    }
    const e = checked.event;
    if (
      (this.opts.from !== undefined && e.ts < this.opts.from) ||
      (this.opts.to !== undefined && e.ts >= this.opts.to)
    ) {
      this.counts.outside++;
      return;
    }
    this.counts.inPeriod++;
    // The period's first and last events among those reported on (progress and trace lines,
    // which Elasticsearch sources do not read, do not move them).
    if (e.type !== 'progress' && e.type !== 'trace') {
      this.first = this.first === undefined ? e.ts : Math.min(this.first, e.ts);
      this.last = this.last === undefined ? e.ts : Math.max(this.last, e.ts);
    }
    switch (e.type) {
      case 'policy_decision': {
        const h = this.host(e.alias);
        h.decisions++;
        this.decisions.total++;
        const rule = this.rules.get(e.rule ?? '(none)') ?? { allowed: 0, denied: 0 };
        if (e.allowed) {
          h.allowed++;
          this.decisions.allowed++;
          rule.allowed++;
        } else {
          h.denied++;
          this.decisions.denied++;
          rule.denied++;
        }
        this.rules.set(e.rule ?? '(none)', rule);
        return;
      }
      case 'audit': {
        const h = this.host(e.alias);
        const status = commandStatus(e);
        h.executions++;
        h[status === 'denied' ? 'error' : status]++;
        h.max_duration_ms = Math.max(h.max_duration_ms, e.duration_ms);
        h.hashes.add(e.hash);
        this.hashes.add(e.hash);
        this.executions.total++;
        this.executions[status]++;
        if (e.target_ip !== null) {
          h.ips.add(e.target_ip);
          const ip = this.ips.get(e.target_ip) ?? { executions: 0, aliases: new Set<string>() };
          ip.executions++;
          ip.aliases.add(e.alias);
          this.ips.set(e.target_ip, ip);
        }
        if (status === 'failure' || status === 'error') this.list(this.failed, 'failed', e, status);
        if (status === 'timeout') this.list(this.timeouts, 'timeouts', e, status);
        if (status === 'cancelled') this.list(this.cancellations, 'cancellations', e, status);
        return;
      }
      case 'security_event': {
        const alias = e.alias ?? '(none)';
        if (e.alias !== undefined) this.host(e.alias).security_events++;
        this.secByType.set(e.event_type, (this.secByType.get(e.event_type) ?? 0) + 1);
        const key = `${e.event_type}\u0000${alias}`;
        this.secByTypeAlias.set(key, (this.secByTypeAlias.get(key) ?? 0) + 1);
        return;
      }
      case 'error':
        this.errors.set(e.msg, (this.errors.get(e.msg) ?? 0) + 1);
        return;
      case 'config_reload':
        if (e.success) this.reloads.succeeded++;
        else this.reloads.failed++;
        return;
      default:
        return;
    }
  }

  private list(
    into: Incident[],
    key: 'failed' | 'timeouts' | 'cancellations',
    e: AuditEvent & { ts: number },
    status: CommandStatus,
  ): void {
    this.counts[key]++;
    if (into.length >= this.maxListed) return;
    into.push({
      time: isoOf(e.ts),
      alias: e.alias,
      hash: e.hash,
      status,
      exit_code: e.exit_code,
      duration_ms: e.duration_ms,
      target_ip: e.target_ip,
      ...(e.task_id !== undefined ? { task_id: e.task_id } : {}),
    });
  }

  private host(alias: string): HostAcc {
    let h = this.hosts.get(alias);
    if (!h) {
      h = {
        alias,
        decisions: 0,
        allowed: 0,
        denied: 0,
        executions: 0,
        success: 0,
        failure: 0,
        error: 0,
        timeout: 0,
        cancelled: 0,
        max_duration_ms: 0,
        security_events: 0,
        ips: new Set(),
        hashes: new Set(),
      };
      this.hosts.set(alias, h);
    }
    return h;
  }

  private integrity(): Integrity {
    if (!this.source.ordered) {
      if (this.notExact > 0 || this.source.exactLines === false) {
        return {
          verdict: 'not_available',
          reason:
            `${this.notExact} document(s) did not keep event.original, the exact stderr line the chain hashes: ` +
            'ingest with the tag preserve_original_event (or install the kit with --keep-original), or verify the log files',
        };
      }
      const lines = (this.unorderedChained ?? []).sort((a, b) => {
        const [ra, rb] = [a.kind === 'event' ? a.record : {}, b.kind === 'event' ? b.record : {}];
        const ca = String(ra.chain_id);
        const cb = String(rb.chain_id);
        return ca === cb ? Number(ra.seq) - Number(rb.seq) : ca < cb ? -1 : 1;
      });
      for (const [i, p] of lines.entries()) this.verifier?.push({ ...p, pos: i });
    }
    const r = this.verifier?.finish();
    if (!r) return { verdict: 'not_available', reason: 'not checked' };
    return {
      verdict: r.verdict,
      digest: r.digest,
      chains: r.chains.length,
      chained_lines: r.chained_lines,
      unchained_lines: r.unchained_lines,
      problems: r.problems_total,
      ...(r.first_problem ? { first_problem: r.first_problem } : {}),
      scope: this.source.ordered
        ? 'every line of the input, not only the period (a period cuts chains)'
        : 'the chained documents of the period, in seq order: gaps and modified lines inside the period; not lines before or after it',
    };
  }

  finish(now = new Date()): ComplianceReport {
    const sortedMap = (m: Map<string, number>): Record<string, number> =>
      Object.fromEntries([...m.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)));
    return {
      title: 'mcp-ssh-orchestrator audit report',
      generated_at: now.toISOString(),
      period: {
        from: this.opts.from === undefined ? null : isoOf(this.opts.from),
        to: this.opts.to === undefined ? null : isoOf(this.opts.to),
      },
      source: this.source.describe,
      first_event: this.first === undefined ? null : isoOf(this.first),
      last_event: this.last === undefined ? null : isoOf(this.last),
      decisions: { ...this.decisions },
      executions: { ...this.executions, unique_commands: this.hashes.size },
      hosts: [...this.hosts.values()]
        .sort((a, b) => (a.alias < b.alias ? -1 : 1))
        .map(({ ips, hashes, ...h }) => ({ ...h, unique_commands: hashes.size, target_ips: [...ips].sort() })),
      rules: [...this.rules.entries()]
        .map(([rule, c]) => ({ rule, ...c }))
        .sort((a, b) => b.allowed + b.denied - (a.allowed + a.denied) || (a.rule < b.rule ? -1 : 1)),
      failed_commands: { total: this.counts.failed, listed: byTime(this.failed) },
      timeouts: { total: this.counts.timeouts, listed: byTime(this.timeouts) },
      cancellations: { total: this.counts.cancellations, listed: byTime(this.cancellations) },
      target_ips: [...this.ips.entries()]
        .map(([ip, v]) => ({ ip, executions: v.executions, aliases: [...v.aliases].sort() }))
        .sort((a, b) => b.executions - a.executions || (a.ip < b.ip ? -1 : 1)),
      security_events: {
        total: [...this.secByType.values()].reduce((a, b) => a + b, 0),
        by_type: sortedMap(this.secByType),
        by_type_and_alias: [...this.secByTypeAlias.entries()]
          .map(([k, count]) => {
            const [event_type = '', alias = ''] = k.split('\u0000');
            return { event_type, alias, count };
          })
          .sort((a, b) => b.count - a.count || (a.event_type + a.alias < b.event_type + b.alias ? -1 : 1)),
      },
      errors: sortedMap(this.errors),
      config_reloads: { ...this.reloads },
      integrity: this.integrity(),
      data_quality: {
        lines: this.stats.lines,
        events: this.stats.events,
        in_period: this.counts.inPeriod,
        outside_period: this.counts.outside,
        invalid: this.counts.invalid,
        invalid_samples: this.invalidSamples,
        noise: this.stats.noise,
        noise_samples: this.stats.noise_samples,
        unknown_types: this.stats.unknown_types,
        skipped: this.stats.skipped,
        clock_skew: this.skew.toJSON(),
      },
    };
  }
}

const byTime = (list: Incident[]): Incident[] =>
  [...list].sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0));

export async function buildReport(
  source: EventSource,
  opts: ReportOptions = {},
  now?: Date,
): Promise<ComplianceReport> {
  const b = new ReportBuilder(source, opts);
  for await (const p of source.lines()) b.push(p);
  return b.finish(now);
}

// ---- output formats ----

/** A Markdown table cell: no pipes, no line breaks, no HTML from log content. */
function md(v: unknown): string {
  return String(v ?? '')
    .replace(/[\r\n]+/g, ' ')
    .replace(/\|/g, '\\|')
    .replace(/</g, '&lt;');
}

function table(head: string[], rows: unknown[][]): string {
  if (rows.length === 0) return '_none_\n';
  return [
    `| ${head.map(md).join(' | ')} |`,
    `|${head.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.map(md).join(' | ')} |`),
    '',
  ].join('\n');
}

const VERDICT_TEXT: Record<string, string> = {
  intact: 'INTACT',
  tampered: 'TAMPERED',
  no_chain: 'NOT CHAINED (the server did not run with --audit-chain)',
  unverifiable: 'UNVERIFIABLE (wrong or missing key)',
  not_available: 'NOT AVAILABLE',
};

export function integrityLine(i: Integrity): string {
  if (i.verdict === 'not_available') return `${VERDICT_TEXT.not_available}: ${i.reason}`;
  const chains = `${i.chains} chain(s), ${i.chained_lines} chained line(s), ${i.digest}`;
  const first = i.first_problem ? `; first problem: ${i.first_problem.kind} at ${formatRef(i.first_problem)}` : '';
  return `${VERDICT_TEXT[i.verdict] ?? i.verdict} (${chains})${first}`;
}

export function toMarkdown(r: ComplianceReport): string {
  const out: string[] = [];
  const incidentRows = (list: Incident[]): unknown[][] =>
    list.map((x) => [
      x.time,
      x.alias,
      x.hash,
      x.status,
      x.exit_code,
      x.duration_ms,
      x.target_ip ?? '',
      x.task_id ?? '',
    ]);
  const incidentHead = ['time (UTC)', 'host', 'command hash', 'status', 'exit', 'ms', 'target IP', 'task'];
  const more = (t: { total: number; listed: unknown[] }): string =>
    t.total > t.listed.length ? `\n_${t.total - t.listed.length} more not listed (see --format json)._\n` : '';
  out.push(`# ${r.title}\n`);
  out.push(`- Period: ${r.period.from ?? 'start of the log'} to ${r.period.to ?? 'end of the log'}`);
  out.push(`- Events in period: ${r.first_event ?? '–'} to ${r.last_event ?? '–'}`);
  out.push(`- Source: ${md(r.source)}`);
  out.push(`- Generated: ${r.generated_at}`);
  out.push(`- Audit integrity: **${md(integrityLine(r.integrity))}**\n`);
  out.push('## Summary\n');
  out.push(
    table(
      ['measure', 'count'],
      [
        ['policy decisions', r.decisions.total],
        ['allowed', r.decisions.allowed],
        ['denied', r.decisions.denied],
        ['executions', r.executions.total],
        ['succeeded (exit 0)', r.executions.success],
        ['failed (non-zero exit)', r.executions.failure],
        ['errors (no exit status: connection, authentication, host key)', r.executions.error],
        ['timeouts', r.executions.timeout],
        ['cancelled', r.executions.cancelled],
        ['distinct commands (hashes)', r.executions.unique_commands],
        ['security events', r.security_events.total],
        ['config reloads (succeeded / failed)', `${r.config_reloads.succeeded} / ${r.config_reloads.failed}`],
      ],
    ),
  );
  out.push('## Per host\n');
  out.push(
    table(
      [
        'host',
        'decisions',
        'allowed',
        'denied',
        'runs',
        'ok',
        'failed',
        'errors',
        'timeouts',
        'cancelled',
        'security events',
        'target IPs',
      ],
      r.hosts.map((h) => [
        h.alias,
        h.decisions,
        h.allowed,
        h.denied,
        h.executions,
        h.success,
        h.failure,
        h.error,
        h.timeout,
        h.cancelled,
        h.security_events,
        h.target_ips.join(', '),
      ]),
    ),
  );
  out.push('## Per rule\n');
  out.push(
    table(
      ['rule', 'allowed', 'denied'],
      r.rules.map((x) => [x.rule, x.allowed, x.denied]),
    ),
  );
  out.push(`## Failed commands (${r.failed_commands.total})\n`);
  out.push(table(incidentHead, incidentRows(r.failed_commands.listed)) + more(r.failed_commands));
  out.push(`## Timeouts (${r.timeouts.total})\n`);
  out.push(table(incidentHead, incidentRows(r.timeouts.listed)) + more(r.timeouts));
  out.push(`## Cancellations (${r.cancellations.total})\n`);
  out.push(table(incidentHead, incidentRows(r.cancellations.listed)) + more(r.cancellations));
  out.push('## Target IPs\n');
  out.push(
    table(
      ['IP', 'executions', 'hosts'],
      r.target_ips.map((x) => [x.ip, x.executions, x.aliases.join(', ')]),
    ),
  );
  out.push(`## Security events (${r.security_events.total})\n`);
  out.push(
    table(
      ['event type', 'host', 'count'],
      r.security_events.by_type_and_alias.map((x) => [x.event_type, x.alias, x.count]),
    ),
  );
  out.push('## Errors\n');
  out.push(table(['error', 'count'], Object.entries(r.errors)));
  out.push('## Audit integrity\n');
  out.push(`${md(integrityLine(r.integrity))}\n`);
  if (r.integrity.verdict !== 'not_available') {
    if (r.integrity.first_problem) out.push(`\n> ${md(r.integrity.first_problem.message)}\n`);
    out.push(`\nScope: ${r.integrity.scope}.\n`);
  }
  const q = r.data_quality;
  out.push('\n## Data quality\n');
  out.push(
    table(
      ['measure', 'count'],
      [
        ['lines read', q.lines],
        ['events', q.events],
        ['events in the period', q.in_period],
        ['events outside the period', q.outside_period],
        ['events that do not match the contract', q.invalid],
        ['noise lines (not JSON, cut off, ...)', q.noise.total],
        ['lines of unknown type', Object.values(q.unknown_types).reduce((a, b) => a + b, 0)],
        ['times the clock went backwards', q.clock_skew.count],
      ],
    ),
  );
  return out.join('\n').replace(/\n{3,}/g, '\n\n');
}

/** A CSV cell: quoted when needed; text that a spreadsheet would run as a formula is defused. */
function csvCell(v: unknown): string {
  if (typeof v === 'number') return String(v);
  let s = String(v ?? '');
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/**
 * One row per measure, in long form (`section,subject,detail,metric,value`) so a spreadsheet
 * pivot or a SIEM lookup can take any part of it.
 */
export function toCsv(r: ComplianceReport): string {
  const rows: unknown[][] = [['section', 'subject', 'detail', 'metric', 'value']];
  const add = (section: string, subject: string, detail: string, metric: string, value: unknown): void => {
    rows.push([section, subject, detail, metric, value]);
  };
  add('report', '', '', 'period_from', r.period.from ?? '');
  add('report', '', '', 'period_to', r.period.to ?? '');
  add('report', '', '', 'generated_at', r.generated_at);
  add('report', '', '', 'source', r.source);
  for (const [k, v] of Object.entries(r.decisions)) add('decisions', '', '', k, v);
  for (const [k, v] of Object.entries(r.executions)) if (k !== 'denied') add('executions', '', '', k, v);
  for (const h of r.hosts) {
    for (const k of [
      'decisions',
      'allowed',
      'denied',
      'executions',
      'success',
      'failure',
      'error',
      'timeout',
      'cancelled',
      'unique_commands',
      'max_duration_ms',
      'security_events',
    ] as const) {
      add('host', h.alias, '', k, h[k]);
    }
    for (const ip of h.target_ips) add('host', h.alias, ip, 'target_ip', 1);
  }
  for (const x of r.rules) {
    add('rule', x.rule, '', 'allowed', x.allowed);
    add('rule', x.rule, '', 'denied', x.denied);
  }
  for (const [section, t] of [
    ['failed_command', r.failed_commands],
    ['timeout', r.timeouts],
    ['cancellation', r.cancellations],
  ] as const) {
    add(section, '', '', 'total', t.total);
    for (const x of t.listed) {
      const detail = `${x.time} ${x.hash}${x.task_id ? ` ${x.task_id}` : ''}`;
      add(section, x.alias, detail, 'exit_code', x.exit_code);
      add(section, x.alias, detail, 'duration_ms', x.duration_ms);
    }
  }
  for (const x of r.target_ips) add('target_ip', x.ip, x.aliases.join(' '), 'executions', x.executions);
  add('security_events', '', '', 'total', r.security_events.total);
  for (const x of r.security_events.by_type_and_alias) add('security_event', x.event_type, x.alias, 'count', x.count);
  for (const [msg, n] of Object.entries(r.errors)) add('error', msg, '', 'count', n);
  add('config_reloads', '', '', 'succeeded', r.config_reloads.succeeded);
  add('config_reloads', '', '', 'failed', r.config_reloads.failed);
  add('integrity', '', '', 'verdict', r.integrity.verdict);
  if (r.integrity.verdict !== 'not_available') {
    add('integrity', '', '', 'chains', r.integrity.chains);
    add('integrity', '', '', 'chained_lines', r.integrity.chained_lines);
    add('integrity', '', '', 'problems', r.integrity.problems);
    if (r.integrity.first_problem) {
      const p = r.integrity.first_problem;
      add('integrity', p.kind, formatRef(p), 'first_problem', p.message);
    }
  } else add('integrity', '', '', 'reason', r.integrity.reason);
  const q = r.data_quality;
  for (const [k, v] of Object.entries({
    lines: q.lines,
    events: q.events,
    in_period: q.in_period,
    outside_period: q.outside_period,
    invalid: q.invalid,
    noise: q.noise.total,
    unknown_type: Object.values(q.unknown_types).reduce((a, b) => a + b, 0),
    clock_skew: q.clock_skew.count,
  })) {
    add('data_quality', '', '', k, v);
  }
  return rows.map((r) => r.map(csvCell).join(',')).join('\r\n') + '\r\n';
}

export const REPORT_HELP = `Usage: mcp-ssh-orchestrator report [FILE...] [options]
A compliance report over audit logs: allowed vs denied, per host and per rule, failed commands,
timeouts, cancellations, target IPs, security events by type, errors, config reloads, and the
integrity verdict of the audit chain. Reads stdin when no FILE is given; .gz, Docker json-file
and CRI container logs are read as they are.

Options:
  --from TIME          start of the period, ISO 8601 (2025-01-01 or 2025-01-01T08:00:00Z), inclusive
  --to TIME            end of the period, exclusive (default: no bound)
  --format FORMAT      md (default), json or csv
  --key-env NAME       HMAC key of the audit chain from environment variable NAME
                       (default: MCP_SSH_AUDIT_CHAIN_KEY when set)
  --es-url URL         read from Elasticsearch instead of files (the ES kit's ECS documents)
  --index PATTERN      index pattern with --es-url (default logs-mcp_ssh.*)
  --es-api-key KEY_ENV environment variable holding an Elasticsearch API key (Authorization: ApiKey)
  --max-listed N       failed commands, timeouts and cancellations listed (default 100)
  -h, --help           show this help

Exit status: 0 report written; 1 report written but the audit chain is tampered;
             2 usage, read or Elasticsearch error.
`;

/** `mcp-ssh-orchestrator report --from ISO --to ISO [--format md|json|csv] [FILE...]`. */
export function runReportCommand(argv: string[], io: CommandIo): Promise<number> {
  return runCommand(io, 'report', async () => {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        from: { type: 'string' },
        to: { type: 'string' },
        format: { type: 'string', default: 'md' },
        'key-env': { type: 'string' },
        'es-url': { type: 'string' },
        index: { type: 'string' },
        'es-api-key': { type: 'string' },
        'max-listed': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) {
      await writeText(io.stdout, REPORT_HELP);
      return 0;
    }
    const env = io.env ?? process.env;
    const format = values.format ?? 'md';
    if (!['md', 'markdown', 'json', 'csv'].includes(format)) {
      throw new UsageError(`--format "${format}": expected md, json or csv`);
    }
    const from = values.from === undefined ? undefined : parseTime(values.from, '--from');
    const to = values.to === undefined ? undefined : parseTime(values.to, '--to');
    if (from !== undefined && to !== undefined && to <= from) {
      throw new UsageError(`--to ${values.to} is not after --from ${values.from}`);
    }
    const maxListed = values['max-listed'] === undefined ? undefined : Number(values['max-listed']);
    if (maxListed !== undefined && (!Number.isInteger(maxListed) || maxListed < 0)) {
      throw new UsageError(`--max-listed "${values['max-listed']}": expected a whole number ≥ 0`);
    }
    let source: EventSource;
    if (values['es-url'] !== undefined) {
      if (positionals.length > 0) throw new UsageError('give either FILE arguments or --es-url, not both');
      const headers: Record<string, string> = {};
      if (values['es-api-key'] !== undefined) {
        const k = env[values['es-api-key']];
        if (!k) throw new UsageError(`--es-api-key ${values['es-api-key']}: the environment variable is not set`);
        headers.authorization = `ApiKey ${k}`;
      }
      try {
        new URL(values['es-url']);
      } catch {
        throw new UsageError(`--es-url "${values['es-url']}": expected a URL such as http://127.0.0.1:9200`);
      }
      source = elasticsearchSource({ url: values['es-url'], index: values.index, from, to, headers });
    } else {
      if (values.index !== undefined) throw new UsageError('--index needs --es-url');
      source = fileSource(positionals, io.stdin);
    }
    const report = await buildReport(source, { from, to, key: keyFromEnv(values['key-env'], env), maxListed });
    const text =
      format === 'json'
        ? `${JSON.stringify(report, null, 2)}\n`
        : format === 'csv'
          ? toCsv(report)
          : toMarkdown(report);
    await writeText(io.stdout, text);
    return report.integrity.verdict === 'tampered' ? 1 : 0;
  });
}
