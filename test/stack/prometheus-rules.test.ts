/**
 * monitoring/prometheus and monitoring/grafana with the real tools: promtool checks the alert
 * rules and runs their unit tests (alerts.test.yml); then a real Prometheus, loaded with the
 * rules, scrapes a real orchestrator (--metrics-addr) while a scripted session runs commands
 * against a real sshd, and every Grafana panel query is evaluated against it.
 *
 * Without promtool / prometheus this file skips with one line; under CI=true it fails.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeFleet } from '../helpers/fleet.js';
import { startSession, type McpSession } from '../helpers/mcp-session.js';
import { freePort, startSshd, type TestSshd } from '../helpers/sshd.js';
import { promtool, REPO_ROOT, requireEngine, startPrometheus, type RunningPrometheus } from './engines.js';

const RULES = join(REPO_ROOT, 'monitoring/prometheus/alerts.yml');
const RULE_TESTS = join(REPO_ROOT, 'monitoring/prometheus/alerts.test.yml');

interface Dashboard {
  title: string;
  panels: Array<{ title: string; targets: Array<{ expr: string; refId: string }> }>;
}

const dashboards = ['security', 'operations'].map(
  (n) => JSON.parse(readFileSync(join(REPO_ROOT, `monitoring/grafana/${n}.json`), 'utf8')) as Dashboard,
);

/** Grafana's variables as a dashboard would fill them, so the query is plain PromQL. */
function promql(expr: string): string {
  return expr.replaceAll('$__rate_interval', '1m').replaceAll('$__range', '10m').replaceAll('$alias', '.*');
}

const queries = dashboards.flatMap((d) =>
  d.panels.flatMap((p) =>
    p.targets.map((t) => ({ where: `${d.title} / ${p.title} / ${t.refId}`, expr: promql(t.expr) })),
  ),
);

describe.skipIf(!requireEngine('promtool'))('promtool: alert rules and dashboard queries', () => {
  it('promtool check rules: alerts.yml', () => {
    const r = promtool(['check', 'rules', RULES]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/SUCCESS: \d+ rules found/);
  });

  it('promtool test rules: alerts.test.yml', () => {
    const r = promtool(['test', 'rules', RULE_TESTS]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('SUCCESS');
  });

  it('every Grafana panel query is valid PromQL (promtool parses it as a recording rule)', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'mcp-dash-')), 'panels.yml');
    writeFileSync(
      file,
      stringify({
        groups: [{ name: 'panels', rules: queries.map((q, i) => ({ record: `panel:q${i}`, expr: q.expr })) }],
      }),
    );
    const r = promtool(['check', 'rules', file]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
  });
});

interface QueryAnswer {
  status: string;
  error?: string;
  data: { resultType: string; result: Array<{ metric: Record<string, string>; value: [number, string] }> };
}

describe.skipIf(!requireEngine('prometheus'))('a real Prometheus scraping a real orchestrator', () => {
  let sshd: TestSshd;
  let session: McpSession;
  let prom: RunningPrometheus;

  const query = async (expr: string): Promise<QueryAnswer> =>
    (await (await fetch(`${prom.url}/api/v1/query?query=${encodeURIComponent(expr)}`)).json()) as QueryAnswer;

  /** Waits until Prometheus has scraped the orchestrator after everything the session did. */
  async function scrapedAfter(since: number): Promise<void> {
    for (let i = 0; i < 100; i++) {
      const r = await query('timestamp(ssh_active_sessions)');
      const ts = Number(r.data.result[0]?.value[1] ?? 0);
      if (ts * 1000 > since + 1500) return;
      await new Promise((res) => setTimeout(res, 200));
    }
    throw new Error(`Prometheus did not scrape the orchestrator in time:\n${prom.logs().slice(-2000)}`);
  }

  beforeAll(async () => {
    sshd = await startSshd();
    const fleet = makeFleet(
      [sshd],
      [
        { alias: 'web1', sshd },
        { alias: 'badauth', sshd, credentials: 'unauthorized' },
      ],
    );
    const port = await freePort();
    session = await startSession(fleet.configDir, { args: ['--metrics-addr', `127.0.0.1:${port}`] });
    prom = await startPrometheus(
      stringify({
        global: { scrape_interval: '1s', evaluation_interval: '1s' },
        rule_files: [RULES],
        scrape_configs: [{ job_name: 'mcp-ssh-orchestrator', static_configs: [{ targets: [`127.0.0.1:${port}`] }] }],
      }),
    );
    await scrapedAfter(Date.now() - 1500);
    // Counters appear at their first increment; a second one, a scrape later, makes increase() see them.
    for (let round = 0; round < 2; round++) {
      await session.call('ssh_run', { alias: 'web1', command: 'echo one' });
      await session.call('ssh_run', { alias: 'web1', command: "sh -c 'exit 3'" });
      await session.call('ssh_run', { alias: 'web1', command: 'rm -rf /' });
      await session.call('ssh_run', { alias: 'web1', command: "r''eboot" });
      await session.call('ssh_run', { alias: 'badauth', command: 'echo x' });
      await scrapedAfter(Date.now());
    }
  }, 120_000);

  afterAll(async () => {
    await session?.close();
    await prom?.stop();
    await sshd?.stop();
  });

  it('loads the alert rules and evaluates them without errors', async () => {
    const r = (await (await fetch(`${prom.url}/api/v1/rules`)).json()) as {
      data: { groups: Array<{ name: string; rules: Array<{ name: string; health: string; lastError?: string }> }> };
    };
    const rules = r.data.groups.flatMap((g) => g.rules);
    expect(r.data.groups.map((g) => g.name).sort()).toEqual(['mcp-ssh-operations', 'mcp-ssh-security']);
    for (const rule of rules) expect(rule.health, `${rule.name}: ${rule.lastError ?? ''}`).toBe('ok');
  });

  it('every dashboard query runs', async () => {
    for (const q of queries) {
      const r = await query(q.expr);
      expect(r.status, `${q.where}: ${r.error ?? ''}`).toBe('success');
    }
  });

  it('the panels show what the session did', async () => {
    const series = async (expr: string): Promise<Array<Record<string, string>>> =>
      (await query(promql(expr))).data.result.map((x) => x.metric);
    const find = (title: string): string => {
      for (const d of dashboards) {
        const p = d.panels.find((x) => x.title === title);
        if (p?.targets[0]) return p.targets[0].expr;
      }
      throw new Error(`no panel ${title}`);
    };
    expect(await series(find('Command Execution Rate'))).toEqual(
      expect.arrayContaining([
        { alias: 'web1', status: 'success' },
        { alias: 'web1', status: 'failure' },
        { alias: 'web1', status: 'denied' },
        { alias: 'badauth', status: 'error' },
      ]),
    );
    expect(await series(find('Violations by type'))).toEqual(
      expect.arrayContaining([{ violation_type: 'command_denied' }, { violation_type: 'command_bypass_attempt' }]),
    );
    expect(await series(find('Authentication Failures'))).toEqual([{ alias: 'badauth' }]);
    const rules = (await query(promql(find('Policy decisions by rule')))).data.result;
    const decided = Object.fromEntries(rules.map((x) => [`${x.metric.decision} ${x.metric.rule}`, Number(x.value[1])]));
    expect(decided['allow read-only']).toBeGreaterThan(0);
    expect(decided['deny deny_substrings']).toBeGreaterThan(0);
    const violations = await query(promql(find('Policy Violations')));
    expect(Number(violations.data.result[0]?.value[1])).toBeGreaterThan(0);
  });
});
