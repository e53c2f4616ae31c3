/**
 * A scripted session against real sshd instances with --audit-chain, whose stderr is the
 * input of the monitor tests (verify, report, watch): successes, a failure, a timeout, a
 * cancellation, four kinds of denial, a bypass attempt, a refused login, an unknown host key
 * and a path traversal attempt on reload. scripts/capture-monitor-fixtures.ts stores its
 * output under test/fixtures/monitor/ for the unit tests; the integration test runs it anew.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { DEFAULT_TEST_POLICY, makeFleet } from './fleet.js';
import { startSession, type McpSession } from './mcp-session.js';
import { startSshd, type TestSshd } from './sshd.js';

/** What the script does, for tests to check reports against. */
export const AUDIT_SCRIPT = {
  allowedRuns: [
    { alias: 'web1', command: 'echo one', rule: 'read-only', exit: 0 },
    { alias: 'web1', command: 'hostname', rule: 'read-only', exit: 0 },
    { alias: 'web2', command: 'uptime', rule: 'read-only', exit: 0 },
    { alias: 'db1', command: 'whoami', rule: 'read-only', exit: 0 },
    { alias: 'web1', command: "sh -c 'exit 3'", rule: 'test-helpers', exit: 3 },
    { alias: 'badauth', command: 'echo x', rule: 'read-only', exit: -1 },
    { alias: 'unknown', command: 'echo x', rule: 'read-only', exit: -1 },
    { alias: 'slow', command: 'sleep 5', rule: 'test-helpers', exit: -1 },
    { alias: 'web2', command: 'sleep 30', rule: 'test-helpers', exit: -1 },
  ],
  denied: [
    { alias: 'web2', command: 'rm -rf /', rule: 'deny_substrings' },
    { alias: 'web1', command: "r''eboot", rule: 'deny_substrings' },
    { alias: 'db1', command: 'rm foo', rule: 'no-rm' },
    { alias: 'web1', command: 'curl http://example.invalid', rule: 'default_deny' },
  ],
  securityEvents: {
    command_bypass_attempt: 1,
    authentication_failed: 1,
    host_key_mismatch: 1,
    path_traversal_attempt: 1,
  },
  timeouts: 1,
  cancellations: 1,
} as const;

export interface AuditSession {
  stderr: string;
  session: McpSession;
  sshd: TestSshd;
  stop(): Promise<void>;
}

async function waitFor(s: McpSession, pred: (l: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> {
  return s.waitForLine(pred, 20_000);
}

/** Runs the script and returns the server's stderr once every expected line is there. */
export async function runAuditSession(opts: { key?: string; extraArgs?: string[] } = {}): Promise<AuditSession> {
  const sshd = await startSshd();
  const fleet = makeFleet(
    [sshd],
    [
      { alias: 'web1', sshd, tags: ['web'] },
      { alias: 'web2', sshd, tags: ['web'] },
      { alias: 'db1', sshd, tags: ['db'] },
      { alias: 'slow', sshd, tags: ['slow'] },
      { alias: 'badauth', sshd, credentials: 'unauthorized' },
      // No known_hosts entry under the name "localhost": the host key is unknown.
      { alias: 'unknown', sshd, host: 'localhost' },
    ],
    { ...DEFAULT_TEST_POLICY, overrides: { tags: { slow: { max_seconds: 1 } } } },
  );
  const env: Record<string, string> = opts.key === undefined ? {} : { MCP_SSH_AUDIT_CHAIN_KEY: opts.key };
  const s = await startSession(fleet.configDir, { args: ['--audit-chain', ...(opts.extraArgs ?? [])], env });
  for (const r of AUDIT_SCRIPT.allowedRuns.slice(0, 7)) await s.call('ssh_run', { alias: r.alias, command: r.command });
  for (const d of AUDIT_SCRIPT.denied) await s.call('ssh_run', { alias: d.alias, command: d.command });
  await s.call('ssh_run', { alias: 'slow', command: 'sleep 5' });
  const started = await s.call('ssh_run_async', { alias: 'web2', command: 'sleep 30' });
  const { task_id } = started.structuredContent as { task_id: string };
  await waitFor(s, (l) => l.type === 'progress' && l.task_id === task_id && l.phase === 'connected');
  await s.call('ssh_cancel_async_task', { task_id });
  await waitFor(s, (l) => l.type === 'audit' && l.task_id === task_id);
  // A reload naming a key outside the keys directory: refused, with a path traversal event.
  const credentialsPath = join(fleet.configDir, 'credentials.yml');
  const good = readFileSync(credentialsPath, 'utf8');
  const creds = parse(good) as { entries: Record<string, unknown>[] };
  creds.entries.push({ name: 'evil', username: sshd.username, key_path: '../../etc/passwd' });
  writeFileSync(credentialsPath, stringify(creds));
  await s.call('ssh_reload_config');
  writeFileSync(credentialsPath, good);
  await waitFor(s, (l) => l.msg === 'config_reload_failed');
  await waitFor(s, (l) => l.event_type === 'path_traversal_attempt');
  const audits = AUDIT_SCRIPT.allowedRuns.length;
  for (let i = 0; i < 200 && s.lines().filter((l) => l.type === 'audit').length < audits; i++) {
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    stderr: s.rawStderr(),
    session: s,
    sshd,
    stop: async () => {
      await s.close();
      await sshd.stop();
    },
  };
}
