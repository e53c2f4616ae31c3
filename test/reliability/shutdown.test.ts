/**
 * Shutdown under load: SIGTERM while sync and async tasks run. Every task gets its final
 * audit line (cancelled), the OTel log records reach the collector before the process exits,
 * the remote processes are gone, and the exit status is 0.
 */
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeFleet, type Fleet } from '../helpers/fleet.js';
import { startOtlpReceiver, type OtlpReceiver } from '../helpers/otlp-receiver.js';
import { startSshd, type TestSshd } from '../helpers/sshd.js';
import { spawnServer } from './helpers/server-process.js';

/** A duration no other test uses, so pgrep finds only this test's remote processes. */
const SLEEP = 'sleep 41.75';

function remoteSurvivors(): string {
  try {
    return execFileSync('pgrep', ['-f', SLEEP], { encoding: 'utf8' }).trim();
  } catch {
    return '';
  }
}

describe('SIGTERM with tasks running', () => {
  let sshd: TestSshd;
  let fleet: Fleet;
  let receiver: OtlpReceiver;

  beforeAll(async () => {
    sshd = await startSshd();
    fleet = makeFleet(
      [sshd],
      [
        { alias: 'a', sshd },
        { alias: 'b', sshd },
      ],
    );
    receiver = await startOtlpReceiver('ok');
  });
  afterAll(async () => {
    await receiver?.close();
    await sshd?.stop();
  });

  it('cancels every task with a final audit line, flushes OTel and exits 0', async () => {
    const s = await spawnServer(fleet.configDir, { env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url } });
    const asyncIds: string[] = [];
    for (let i = 0; i < 6; i++) {
      const r = await s.call('ssh_run_async', { alias: i % 2 ? 'a' : 'b', command: SLEEP });
      expect(r.isError).toBeFalsy();
      asyncIds.push((r.structuredContent as { task_id: string }).task_id);
    }
    // Two synchronous calls are in flight too; their replies may or may not beat the exit.
    const sync = [0, 1].map((i) =>
      s.call('ssh_run', { alias: i ? 'a' : 'b', command: SLEEP }).then(
        (r) => r,
        (err: unknown) => err,
      ),
    );
    const decided = () => s.lines().filter((l) => l.type === 'policy_decision' && l.allowed === true);
    await s.waitForLine(() => decided().length >= 8);
    const taskIds = decided().map((l) => String(l.task_id));
    for (const id of taskIds) {
      await s.waitForLine((l) => l.type === 'progress' && l.task_id === id && l.phase === 'running');
    }

    s.kill('SIGTERM');
    expect(await s.exited).toEqual({ code: 0, signal: null });
    await Promise.all(sync);

    const lines = s.lines();
    const audits = lines.filter((l) => l.type === 'audit');
    expect(audits.map((a) => a.task_id).sort()).toEqual([...taskIds].sort());
    for (const audit of audits) expect(audit).toMatchObject({ cancelled: true, timeout: false, exit_code: -1 });
    // Trace lines close each task after its audit line.
    expect(lines.filter((l) => l.type === 'trace' && l.op === 'run_done')).toHaveLength(taskIds.length);

    // The collector got the audit records before the process exited (flushed on shutdown).
    const exported = receiver.logs
      .filter((r) => r.eventName === 'mcp_ssh.audit')
      .map((r) => JSON.parse(r.body?.stringValue ?? '{}') as Record<string, unknown>);
    expect(exported.map((e) => e.task_id).sort()).toEqual([...taskIds].sort());
    expect(exported.every((e) => e.cancelled === true)).toBe(true);

    // sshd delivered the kill: nothing of ours is left running on the host.
    for (let i = 0; i < 50 && remoteSurvivors() !== ''; i++) await new Promise((r) => setTimeout(r, 100));
    expect(remoteSurvivors()).toBe('');
  });
});
