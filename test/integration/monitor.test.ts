/**
 * verify, report and watch on stderr the built server writes right now with --audit-chain,
 * against a real sshd (test/helpers/audit-session.ts): the fresh chain verifies, tampering is
 * pinned to its line, the report counts what the session did, watch flags what is new.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runReportCommand, type ComplianceReport } from '../../src/monitor/report.js';
import { runVerifyCommand, verifyChain, type VerifyReport } from '../../src/monitor/verify.js';
import { runWatchCommand, type Anomaly } from '../../src/monitor/watch.js';
import { AUDIT_SCRIPT, runAuditSession, type AuditSession } from '../helpers/audit-session.js';
import { chainedIndexes, parsed, runCli, tempDir, writeLog } from '../helpers/monitor.js';

describe('monitor commands on a live session (--audit-chain, real sshd)', () => {
  let plain: AuditSession;
  let keyed: AuditSession;
  let lines: string[];

  beforeAll(async () => {
    [plain, keyed] = await Promise.all([runAuditSession(), runAuditSession({ key: 'integration-key' })]);
    lines = plain.session
      .rawStderr()
      .split('\n')
      .filter((l) => l !== '');
  }, 120_000);

  afterAll(async () => {
    await Promise.all([plain?.stop(), keyed?.stop()]);
  });

  it('the live chain verifies, with SHA-256 and with an HMAC key', async () => {
    const r = await verifyChain(lines);
    expect(r.verdict).toBe('intact');
    const chained = plain.session.lines().filter((l) => l.seq !== undefined);
    expect(r.chained_lines).toBe(chained.length);
    expect(r.chains[0]?.last_seq).toBe(chained.length);
    const file = writeLog(
      keyed.session
        .rawStderr()
        .split('\n')
        .filter((l) => l !== ''),
    );
    expect((await runCli(runVerifyCommand, [file, '--key-env', 'K'], { env: { K: 'integration-key' } })).code).toBe(0);
    expect((await runCli(runVerifyCommand, [file, '--key-env', 'K'], { env: { K: 'another-key' } })).code).toBe(2);
  });

  it('each kind of tampering is pinned to the first bad line', async () => {
    const idx = chainedIndexes(lines);
    const at = idx[7] as number;
    const cases: Array<[string, (l: string[]) => void, VerifyReport['problems'][number]['kind'], number]> = [
      ['modify', (l) => (l[at] = (l[at] as string).replace(/"ts":\d/, '"ts":9')), 'modified', at + 1],
      ['delete', (l) => l.splice(at, 1), 'deleted', idx[8] as number],
      ['insert', (l) => l.splice(at, 0, lines[idx[2] as number] as string), 'inserted', at + 1],
      [
        'swap',
        (l) => {
          const b = idx[8] as number;
          [l[at], l[b]] = [l[b] as string, l[at] as string];
        },
        'reordered',
        at + 1,
      ],
      ['truncate', (l) => (l[at] = (l[at] as string).slice(0, 60)), 'truncated', at + 1],
    ];
    for (const [name, tamper, kind, line] of cases) {
      const copy = [...lines];
      tamper(copy);
      const run = await runCli(runVerifyCommand, [writeLog(copy), '--json']);
      expect(run.code, name).toBe(1);
      const r = JSON.parse(run.stdout) as VerifyReport;
      expect(r.first_problem, name).toMatchObject({ kind, line });
    }
  });

  it('the report counts what the session did', async () => {
    const run = await runCli(runReportCommand, [writeLog(lines), '--format', 'json']);
    expect(run.code).toBe(0);
    const r = JSON.parse(run.stdout) as ComplianceReport;
    const events = plain.session.lines();
    expect(r.decisions).toEqual({
      total: AUDIT_SCRIPT.allowedRuns.length + AUDIT_SCRIPT.denied.length,
      allowed: AUDIT_SCRIPT.allowedRuns.length,
      denied: AUDIT_SCRIPT.denied.length,
    });
    expect(r.executions).toMatchObject({
      total: events.filter((l) => l.type === 'audit').length,
      timeout: AUDIT_SCRIPT.timeouts,
      cancelled: AUDIT_SCRIPT.cancellations,
      failure: 1,
      error: 2,
      success: 4,
    });
    expect(r.security_events.by_type).toEqual(AUDIT_SCRIPT.securityEvents);
    expect(r.target_ips.map((x) => x.ip)).toEqual([plain.sshd.address]);
    expect(r.integrity).toMatchObject({ verdict: 'intact', chains: 1 });
    for (const d of AUDIT_SCRIPT.denied) {
      expect(r.rules.find((x) => x.rule === d.rule)?.denied, d.rule).toBeGreaterThan(0);
    }
  });

  it('watch learns the normal part of the session, then flags the new host, new commands and the denial spike', async () => {
    const dir = tempDir();
    const log = join(dir, 'audit.log');
    const thresholds = join(dir, 't.yml');
    writeFileSync(thresholds, 'denials:\n  min_count: 2\n  min_ratio: 0.3\n');
    const split = lines.findIndex((l) => l.includes('"allowed":false'));
    writeFileSync(
      log,
      lines
        .slice(0, split)
        .map((l) => `${l}\n`)
        .join(''),
    );
    const args = [log, '--state', join(dir, 'state'), '--thresholds', thresholds, '--json'];
    await runCli(runWatchCommand, args);
    writeFileSync(log, lines.map((l) => `${l}\n`).join(''));
    const run = await runCli(runWatchCommand, args);
    const anomalies = run.stdout
      .split('\n')
      .filter((l) => l.includes('"watch_anomaly"'))
      .map((l) => parsed(l) as unknown as Anomaly);
    const kinds = anomalies.map((a) => `${a.kind}:${a.alias ?? ''}`);
    expect(kinds).toContain('new_host:slow');
    expect(kinds).toContain('new_command:web1');
    expect(kinds).toContain('denial_spike:web1');
    expect(kinds).toContain('security_event:web1');
    expect(kinds.filter((k) => k.startsWith('chain_broken'))).toEqual([]);
  });
});
