/**
 * The connection pool against real sshd processes: commands on one alias share one SSH
 * connection (sshd at LogLevel INFO logs one "Accepted publickey" per authenticated
 * connection), a dead connection is replaced after sshd comes back on the same port, and a
 * connection lost in the middle of a command ends that command with an error, not a hang.
 */
import { spawnSync } from 'node:child_process';
import { connect } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_TEST_POLICY, makeFleet, type Fleet } from '../helpers/fleet.js';
import { CLI_PATH, startSession, textOf, type McpSession } from '../helpers/mcp-session.js';
import { startSshd, type TestSshd } from '../helpers/sshd.js';

function logins(sshd: TestSshd): number {
  return (sshd.log().match(/^Accepted publickey for /gm) ?? []).length;
}

async function waitUntil(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function listening(sshd: TestSshd): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ host: sshd.address, port: sshd.port });
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => resolve(false));
  });
}

describe('connection pool against real sshd instances', () => {
  let steady: TestSshd;
  let fragile: TestSshd;
  let fleet: Fleet;
  let s: McpSession;

  beforeAll(async () => {
    [steady, fragile] = await Promise.all([startSshd({ logLevel: 'INFO' }), startSshd({ logLevel: 'INFO' })]);
    fleet = makeFleet(
      [steady, fragile],
      [
        { alias: 'reuse', sshd: steady },
        { alias: 'other', sshd: steady },
        { alias: 'burst', sshd: steady },
        { alias: 'phoenix', sshd: fragile },
      ],
      { ...DEFAULT_TEST_POLICY, overrides: { aliases: { phoenix: { max_seconds: 30 } } } },
    );
    s = await startSession(fleet.configDir);
  });

  // A test that failed half-way must not leave the next one without its sshd.
  afterEach(async () => {
    if (fragile && !(await listening(fragile))) await fragile.restart();
  });

  afterAll(async () => {
    await s?.close();
    await Promise.all([steady?.stop(), fragile?.stop()]);
  });

  it('runs several sequential commands on one alias over a single authenticated connection', async () => {
    const before = logins(steady);
    for (const word of ['one', 'two', 'three', 'four']) {
      const r = await s.call('ssh_run', { alias: 'reuse', command: `echo ${word}` });
      expect(r.structuredContent, textOf(r)).toMatchObject({ exit_code: 0, stdout: `${word}\n` });
    }
    await waitUntil(() => logins(steady) > before, 'the login to be logged');
    expect(logins(steady) - before).toBe(1);
    // Control: another alias is another pool entry, so it logs in on its own.
    const r = await s.call('ssh_run', { alias: 'other', command: 'echo other' });
    expect(r.structuredContent, textOf(r)).toMatchObject({ stdout: 'other\n' });
    await waitUntil(() => logins(steady) > before + 1, 'the second login to be logged');
    expect(logins(steady) - before).toBe(2);
  });

  it('--idle-timeout closes a connection that sat unused, and the next command logs in again', async () => {
    const quick = await startSession(fleet.configDir, { args: ['--idle-timeout', '1'] });
    try {
      const disconnects = (): number =>
        (steady.log().match(/^(Received disconnect|Disconnected) from /gm) ?? []).length;
      const before = logins(steady);
      const first = await quick.call('ssh_run', { alias: 'reuse', command: 'echo first' });
      expect(first.structuredContent, textOf(first)).toMatchObject({ stdout: 'first\n' });
      await waitUntil(() => logins(steady) > before, 'the login to be logged');
      const closedBefore = disconnects();
      // Nothing runs for a second: the pool closes the connection by itself.
      await waitUntil(() => disconnects() > closedBefore, 'the idle connection to be closed');
      const second = await quick.call('ssh_run', { alias: 'reuse', command: 'echo second' });
      expect(second.structuredContent, textOf(second)).toMatchObject({ stdout: 'second\n' });
      await waitUntil(() => logins(steady) > before + 1, 'the second login to be logged');
      expect(logins(steady) - before).toBe(2);
    } finally {
      await quick.close();
    }
  });

  it('--idle-timeout must be a positive number of seconds', async () => {
    const run = spawnSync(process.execPath, [CLI_PATH, '--config-dir', fleet.configDir, '--idle-timeout', '0'], {
      encoding: 'utf8',
      input: '',
    });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('--idle-timeout must be a positive integer, got \\"0\\"');
  });

  it('commands arriving together share one handshake instead of racing to open several', async () => {
    const before = logins(steady);
    const results = await Promise.all(
      [1, 2, 3, 4, 5].map((n) => s.call('ssh_run', { alias: 'burst', command: `echo burst${n}` })),
    );
    results.forEach((r, i) => expect(r.structuredContent, textOf(r)).toMatchObject({ stdout: `burst${i + 1}\n` }));
    await waitUntil(() => logins(steady) > before, 'the login to be logged');
    expect(logins(steady) - before).toBe(1);
  });

  it('after sshd is killed and restarted on the same port, the next command reconnects', async () => {
    const warm = await s.call('ssh_run', { alias: 'phoenix', command: 'echo before' });
    expect(warm.structuredContent, textOf(warm)).toMatchObject({ stdout: 'before\n' });
    const before = logins(fragile);

    await fragile.kill();
    // While it is down: a clear error, an audit line, no hang. The dead pooled connection is
    // retried once on a fresh one, so the error is the refusal, not the stale connection.
    const first = await s.call('ssh_run', { alias: 'phoenix', command: 'echo down' });
    expect(first.isError).toBe(true);
    expect(textOf(first)).toMatch(/connection refused by 127\.0\.0\.1:\d+: is sshd running/);
    const down = await s.call('ssh_run', { alias: 'phoenix', command: 'echo down' });
    expect(down.isError).toBe(true);
    expect(textOf(down)).toMatch(/connection refused by 127\.0\.0\.1:\d+: is sshd running/);
    const downId = (down.structuredContent as { task_id: string }).task_id;
    await s.waitForLine((l) => l.type === 'audit' && l.task_id === downId);
    expect(s.lines()).toContainEqual(
      expect.objectContaining({ type: 'audit', task_id: downId, exit_code: -1, target_ip: '127.0.0.1' }),
    );

    await fragile.restart();
    const after = await s.call('ssh_run', { alias: 'phoenix', command: 'echo after' });
    expect(after.isError, textOf(after)).toBeFalsy();
    expect(after.structuredContent).toMatchObject({ exit_code: 0, stdout: 'after\n' });
    await waitUntil(() => logins(fragile) > before, 'the new login to be logged');
    expect(logins(fragile) - before).toBe(1);
  });

  it('a pooled connection that died while idle is replaced without failing the next command', async () => {
    const warm = await s.call('ssh_run', { alias: 'phoenix', command: 'echo warm' });
    expect(warm.structuredContent, textOf(warm)).toMatchObject({ stdout: 'warm\n' });
    const before = logins(fragile);
    await fragile.restart();
    const r = await s.call('ssh_run', { alias: 'phoenix', command: 'echo fresh' });
    expect(r.isError, textOf(r)).toBeFalsy();
    expect(r.structuredContent).toMatchObject({ exit_code: 0, stdout: 'fresh\n' });
    await waitUntil(() => logins(fragile) > before, 'the new login to be logged');
    expect(logins(fragile) - before).toBe(1);
  });

  it('sshd killed mid-command: the command ends with a clear error and an audit line, then the alias recovers', async () => {
    const start = await s.call('ssh_run_async', { alias: 'phoenix', command: "sh -c 'echo started; sleep 25'" });
    expect(start.isError, textOf(start)).toBeFalsy();
    const { task_id } = start.structuredContent as { task_id: string };
    // Wait until the remote command is demonstrably running.
    for (let i = 0; ; i++) {
      const out = (await s.call('ssh_get_task_output', { task_id })).structuredContent as {
        lines: { text: string }[];
      };
      if (out.lines.some((l) => l.text === 'started')) break;
      if (i > 200) throw new Error('the command never started');
      await new Promise((r) => setTimeout(r, 25));
    }

    await fragile.kill();
    const audit = await s.waitForLine((l) => l.type === 'audit' && l.task_id === task_id);
    // It ended because the connection died, not by running into max_seconds (30 s).
    expect(audit).toMatchObject({ alias: 'phoenix', exit_code: -1, timeout: false, cancelled: false });
    const result = await s.call('ssh_get_task_result', { task_id });
    expect(result.structuredContent).toMatchObject({ exit_code: -1, timeout: false, cancelled: false });
    const error = (result.structuredContent as { error?: string }).error;
    expect(error).toMatch(/connection .* lost while the command was running/);
    expect(textOf(result)).toContain('failed: ');
    const status = await s.call('ssh_get_task_status', { task_id });
    expect(status.structuredContent).toMatchObject({ state: 'failed' });
    expect(s.lines()).toContainEqual(expect.objectContaining({ type: 'error', msg: 'run_exception', task_id, error }));

    await fragile.restart();
    const again = await s.call('ssh_run', { alias: 'phoenix', command: 'echo recovered' });
    expect(again.structuredContent, textOf(again)).toMatchObject({ exit_code: 0, stdout: 'recovered\n' });
  });

  it('a synchronous ssh_run whose sshd dies returns a tool error instead of hanging', async () => {
    const running = s.call('ssh_run', { alias: 'phoenix', command: "sh -c 'echo started; sleep 25'" });
    const started = await s.waitForLine(
      (l) =>
        l.type === 'progress' &&
        l.phase === 'connected' &&
        !s.lines().some((a) => a.type === 'audit' && a.task_id === l.task_id),
    );
    const task_id = String(started.task_id);
    for (let i = 0; ; i++) {
      const out = (await s.call('ssh_get_task_output', { task_id })).structuredContent as {
        lines: { text: string }[];
      };
      if (out.lines.some((l) => l.text === 'started')) break;
      if (i > 200) throw new Error('the command never started');
      await new Promise((r) => setTimeout(r, 25));
    }
    await fragile.kill();
    const r = await running;
    expect(r.isError).toBe(true);
    expect(r.structuredContent).toMatchObject({ task_id, exit_code: -1, timeout: false, cancelled: false });
    expect(textOf(r)).toMatch(/connection .* lost while the command was running/);
    await s.waitForLine((l) => l.type === 'audit' && l.task_id === task_id);
    expect(s.lines()).toContainEqual(expect.objectContaining({ type: 'audit', task_id, exit_code: -1 }));
    await fragile.restart();
  });
});
