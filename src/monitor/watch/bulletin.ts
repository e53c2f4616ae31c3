/** The output of a watch check: the bulletin for people, JSON lines for machines. */
import { SEVERITIES } from '../thresholds.js';
import type { CheckResult, CheckSummary } from './types.js';

const ICON: Record<CheckSummary['status'], string> = {
  baseline_created: '✓ BASELINE CREATED',
  learning: '✓ LEARNING',
  ok: '✓ ALL OK',
  anomalies: '⚠',
};

export function formatBulletin(r: CheckResult, now: Date): string {
  const s = r.summary;
  const rule = '='.repeat(72);
  const worst = SEVERITIES.find((sev) => s.anomalies[sev] > 0);
  const status =
    s.status === 'anomalies' && worst
      ? `⚠ ${worst.toUpperCase()} SEVERITY ANOMAL${r.anomalies.length === 1 ? 'Y' : 'IES'} (${r.anomalies.length})`
      : ICON[s.status];
  const lines = [
    rule,
    'mcp-ssh-orchestrator watch - audit bulletin',
    `Generated: ${now.toISOString()}   check #${s.check}   baseline since ${s.baseline.since}`,
    rule,
    `Status: ${status}`,
    '',
  ];
  if (r.anomalies.length === 0) {
    lines.push(
      s.status === 'baseline_created'
        ? 'Baseline created from this window; deviations are reported from the next check.'
        : 'No anomalies.',
    );
  }
  for (const a of r.anomalies) lines.push(`[${a.severity.toUpperCase()}] ${a.kind}: ${a.message}`);
  const w = s.window;
  lines.push(
    '-'.repeat(72),
    `Window: ${w.lines} line(s), ${w.events} event(s), ${w.hosts} host(s), ${w.commands} command(s) (${w.denied} denied), ` +
      `${w.executions} run(s), ${w.security_events} security event(s)`,
    `        ${w.first_event ?? '-'} to ${w.last_event ?? '-'}; ${w.noise} noise, ${w.unknown_type} unknown type, ${w.invalid} invalid`,
    `Baseline: ${s.baseline.hosts} host(s), ${s.baseline.hashes} command hash(es), ${s.baseline.checks} check(s)`,
    rule,
  );
  return lines.join('\n') + '\n';
}

export function formatJsonLines(r: CheckResult, now: Date): string {
  const ts = Math.round(now.getTime()) / 1000;
  const rows: unknown[] = r.anomalies.map((a) => ({ type: 'watch_anomaly', ts, check: r.summary.check, ...a }));
  rows.push({ type: 'watch_check', ts, ...r.summary });
  return rows.map((x) => JSON.stringify(x)).join('\n') + '\n';
}
