/**
 * `report` over real orchestrator stderr (test/fixtures/monitor): its numbers are the ones
 * the scripted session produced (test/helpers/audit-session.ts), counted here independently
 * from the raw lines; Markdown, JSON and CSV say the same; periods, bad input and tampering.
 */
import { describe, expect, it } from 'vitest';
import { buildReport, runReportCommand, toCsv, type ComplianceReport } from '../../src/monitor/report.js';
import { fileSource } from '../../src/monitor/sources.js';
import { Readable } from 'node:stream';
import { AUDIT_SCRIPT } from '../helpers/audit-session.js';
import { chainedIndexes, fixtureLines, parsed, runCli, writeLog } from '../helpers/monitor.js';

const sha = fixtureLines('session-sha256.jsonl');
const records = sha.map(parsed);
const of = (type: string): Record<string, unknown>[] => records.filter((r) => r.type === type);

async function report(lines: string[], args: string[] = []): Promise<ComplianceReport> {
  const r = await runCli(runReportCommand, [writeLog(lines), '--format', 'json', ...args]);
  expect(r.stderr).toBe('');
  return JSON.parse(r.stdout) as ComplianceReport;
}

/** Parses the report's CSV (RFC 4180 quoting) into rows. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(cell);
      cell = '';
    } else if (c === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
    } else if (c !== '\r') cell += c;
  }
  return rows;
}

describe('report: numbers match the session', () => {
  it('allowed vs denied, executions by outcome, as the session ran them', async () => {
    const r = await report(sha);
    const decisions = of('policy_decision');
    expect(r.decisions).toEqual({
      total: decisions.length,
      allowed: decisions.filter((d) => d.allowed === true).length,
      denied: decisions.filter((d) => d.allowed === false).length,
    });
    expect(r.decisions).toEqual({
      total: AUDIT_SCRIPT.allowedRuns.length + AUDIT_SCRIPT.denied.length,
      allowed: AUDIT_SCRIPT.allowedRuns.length,
      denied: AUDIT_SCRIPT.denied.length,
    });
    const audits = of('audit');
    expect(r.executions).toMatchObject({
      total: audits.length,
      success: audits.filter((a) => a.exit_code === 0).length,
      failure: audits.filter((a) => (a.exit_code as number) > 0).length,
      timeout: audits.filter((a) => a.timeout === true).length,
      cancelled: audits.filter((a) => a.cancelled === true).length,
      error: audits.filter((a) => a.exit_code === -1 && a.timeout === false && a.cancelled === false).length,
      unique_commands: new Set(audits.map((a) => a.hash)).size,
    });
    expect(r.executions).toMatchObject({ success: 4, failure: 1, error: 2, timeout: 1, cancelled: 1 });
  });

  it('per host and per rule', async () => {
    const r = await report(sha);
    const web1 = r.hosts.find((h) => h.alias === 'web1');
    const script = [...AUDIT_SCRIPT.allowedRuns, ...AUDIT_SCRIPT.denied];
    expect(web1).toMatchObject({
      decisions: script.filter((x) => x.alias === 'web1').length,
      denied: AUDIT_SCRIPT.denied.filter((x) => x.alias === 'web1').length,
      failure: 1,
      target_ips: ['127.0.0.1'],
      security_events: 1,
    });
    expect(r.hosts.map((h) => h.alias)).toEqual(['badauth', 'db1', 'slow', 'unknown', 'web1', 'web2']);
    const byRule = Object.fromEntries(r.rules.map((x) => [x.rule, x]));
    for (const rule of new Set(script.map((x) => x.rule))) {
      expect(byRule[rule], rule).toEqual({
        rule,
        allowed: AUDIT_SCRIPT.allowedRuns.filter((x) => x.rule === rule).length,
        denied: AUDIT_SCRIPT.denied.filter((x) => x.rule === rule).length,
      });
    }
  });

  it('failed commands, timeouts and cancellations are listed with host, hash and task', async () => {
    const r = await report(sha);
    expect(r.failed_commands.total).toBe(3);
    expect(r.failed_commands.listed.map((x) => [x.alias, x.status, x.exit_code])).toEqual([
      ['web1', 'failure', 3],
      ['badauth', 'error', -1],
      ['unknown', 'error', -1],
    ]);
    const timeout = of('audit').find((a) => a.timeout === true);
    expect(r.timeouts).toMatchObject({
      total: 1,
      listed: [{ alias: 'slow', hash: timeout?.hash, task_id: timeout?.task_id }],
    });
    expect(r.cancellations).toMatchObject({ total: 1, listed: [{ alias: 'web2', status: 'cancelled' }] });
  });

  it('target IPs, security events by type, errors, reloads, integrity', async () => {
    const r = await report(sha);
    expect(r.target_ips).toEqual([
      { ip: '127.0.0.1', executions: 9, aliases: ['badauth', 'db1', 'slow', 'unknown', 'web1', 'web2'] },
    ]);
    expect(r.security_events.by_type).toEqual(AUDIT_SCRIPT.securityEvents);
    expect(r.security_events.total).toBe(of('security_event').length);
    expect(r.security_events.by_type_and_alias).toContainEqual({
      event_type: 'path_traversal_attempt',
      alias: '(none)',
      count: 1,
    });
    expect(r.errors).toEqual({ run_exception: 2, config_reload_failed: 1 });
    expect(r.config_reloads).toEqual({ succeeded: 0, failed: 1 });
    expect(r.integrity).toMatchObject({
      verdict: 'intact',
      chains: 1,
      chained_lines: chainedIndexes(sha).length,
      problems: 0,
    });
    expect(r.data_quality).toMatchObject({ lines: sha.length, events: sha.length, invalid: 0, noise: { total: 0 } });
  });

  it('--from/--to keep only the period; integrity still covers the whole log', async () => {
    const denied = records.find((x) => x.type === 'policy_decision' && x.allowed === false) as { ts: number };
    const from = new Date(denied.ts * 1000).toISOString();
    const r = await report(sha, ['--from', from]);
    const inPeriod = records.filter((x) => (x.ts as number) >= Math.floor(denied.ts * 1000) / 1000);
    expect(r.period.from).toBe(from);
    expect(r.data_quality.in_period).toBe(inPeriod.length);
    expect(r.data_quality.outside_period).toBe(records.length - inPeriod.length);
    expect(r.decisions.denied).toBe(4);
    expect(r.decisions.allowed).toBe(inPeriod.filter((x) => x.type === 'policy_decision' && x.allowed === true).length);
    expect(r.integrity.verdict).toBe('intact');
    const none = await report(sha, ['--from', '2000-01-01', '--to', '2000-01-02']);
    expect(none.decisions.total).toBe(0);
    expect(none.data_quality.outside_period).toBe(records.length);
  });

  it('a tampered log: the verdict says so and the command exits 1', async () => {
    const lines = [...sha];
    const i = chainedIndexes(sha).find((k) => k > 5 && (sha[k] as string).includes('"allowed":true')) as number;
    lines[i] = (lines[i] as string).replace('"allowed":true', '"allowed":false');
    const run = await runCli(runReportCommand, [writeLog(lines)]);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('Audit integrity: **TAMPERED');
    expect(run.stdout).toContain(`first problem: modified at`);
  });

  it('bad input is counted in data quality, never a crash', async () => {
    const lines = [
      'garbage',
      '{"type":"audit","ts":1,"alias":"web1"}',
      '{"type":"policy_decision","ts":"yesterday","alias":"x","hash":"h","allowed":true}',
      '{"type":"telepathy","ts":1}',
      '{"type":"audit","alias":',
      ...sha,
    ];
    const r = await report(lines, ['--max-listed', '1']);
    expect(r.data_quality).toMatchObject({
      invalid: 2,
      noise: { total: 2, truncated: 1, non_json: 1 },
      unknown_types: { telepathy: 1 },
    });
    expect(r.data_quality.invalid_samples[0]?.detail).toContain('audit: hash');
    expect(r.decisions.total).toBe(13);
    expect(r.failed_commands).toMatchObject({ total: 3 });
    expect(r.failed_commands.listed).toHaveLength(1);
    // The cut-off audit line is a hole in the chain's log.
    expect(r.integrity.verdict).toBe('tampered');
  });
});

describe('report: formats', () => {
  it('Markdown has the sections and tables', async () => {
    const run = await runCli(runReportCommand, [writeLog(sha), '--from', '2020-01-01', '--to', '2100-01-01T00:00:00Z']);
    expect(run.code).toBe(0);
    const md = run.stdout;
    for (const h of [
      '# mcp-ssh-orchestrator audit report',
      '## Summary',
      '## Per host',
      '## Per rule',
      '## Failed commands (3)',
      '## Timeouts (1)',
      '## Cancellations (1)',
      '## Target IPs',
      '## Security events (4)',
      '## Audit integrity',
      '## Data quality',
    ]) {
      expect(md).toContain(h);
    }
    expect(md).toContain('| web1 | 5 | 3 | 2 | 3 | 2 | 1 | 0 | 0 | 0 | 1 | 127.0.0.1 |');
    expect(md).toContain('| deny_substrings | 0 | 2 |');
    expect(md).toContain('- Period: 2020-01-01T00:00:00.000Z to 2100-01-01T00:00:00.000Z');
  });

  it('CSV is long-form, quoted, and agrees with JSON', async () => {
    const json = await report(sha);
    const run = await runCli(runReportCommand, [writeLog(sha), '--format', 'csv']);
    const rows = parseCsv(run.stdout);
    expect(rows[0]).toEqual(['section', 'subject', 'detail', 'metric', 'value']);
    expect(rows.every((r) => r.length === 5)).toBe(true);
    const value = (section: string, subject: string, metric: string): string | undefined =>
      rows.find((r) => r[0] === section && r[1] === subject && r[3] === metric)?.[4];
    expect(value('decisions', '', 'denied')).toBe(String(json.decisions.denied));
    expect(value('host', 'web2', 'cancelled')).toBe('1');
    expect(value('rule', 'no-rm', 'denied')).toBe('1');
    expect(value('security_event', 'host_key_mismatch', 'count')).toBe('1');
    expect(value('integrity', '', 'verdict')).toBe('intact');
    expect(rows.filter((r) => r[0] === 'failed_command' && r[3] === 'exit_code').map((r) => r[4])).toEqual([
      '3',
      '-1',
      '-1',
    ]);
  });

  it('CSV defuses cells a spreadsheet would run as formulas', async () => {
    const lines = sha.map((l) => l.replaceAll('"web1"', '"=HYPERLINK(\\"http://x\\",\\"y\\")"'));
    const r = await buildReport(fileSource([writeLog(lines)], Readable.from([])));
    const csv = toCsv(r);
    expect(csv).toContain(`"'=HYPERLINK(""http://x"",""y"")"`);
    expect(csv).not.toMatch(/(^|,)=HYPERLINK/m);
  });

  it('Markdown table cells cannot break the table', async () => {
    const lines = sha.map((l) => l.replaceAll('"web1"', '"a|b<script>"'));
    const run = await runCli(runReportCommand, [writeLog(lines)]);
    expect(run.stdout).toContain('a\\|b&lt;script>');
  });

  it('usage errors exit 2 and name the option', async () => {
    const cases: Array<[string[], string]> = [
      [['--from', 'last tuesday'], '--from "last tuesday": expected an ISO 8601 date'],
      [['--from', '2025-02-01', '--to', '2025-01-01'], 'is not after --from'],
      [['--format', 'pdf'], '--format "pdf": expected md, json or csv'],
      [['--index', 'x'], '--index needs --es-url'],
      [['--es-url', 'not a url'], '--es-url "not a url"'],
      [['--max-listed', '-1'], '--max-listed'],
      [['/nonexistent.log'], '/nonexistent.log: no such file'],
    ];
    for (const [args, msg] of cases) {
      const r = await runCli(runReportCommand, args, { stdin: '' });
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toContain(msg);
    }
  });

  it('an unreachable Elasticsearch is a clear error, exit 2', async () => {
    const r = await runCli(runReportCommand, ['--es-url', 'http://127.0.0.1:1', '--from', '2025-01-01']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^mcp-ssh-orchestrator report: Elasticsearch at http:\/\/127\.0\.0\.1:1: /);
  });
});
