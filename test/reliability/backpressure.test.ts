/**
 * Backpressure: nobody reads the server's stderr for 2 s while a burst of commands runs. The
 * stderr is a named pipe, as Docker's json-file logging gives a container, so the kernel's
 * 64 KiB buffer fills within the burst. Afterwards: no line lost, none interleaved with
 * another or split, and the server kept working while its stderr was stalled.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeFleet, type Fleet } from '../helpers/fleet.js';
import { startSshd, type TestSshd } from '../helpers/sshd.js';
import { spawnServer } from './helpers/server-process.js';

const BURST = 300;
const ALIASES = ['bp0', 'bp1', 'bp2', 'bp3'];
const PIPE_BUFFER = 64 * 1024;

describe('stderr not drained for 2 s during a burst', () => {
  let sshd: TestSshd;
  let fleet: Fleet;

  beforeAll(async () => {
    sshd = await startSshd();
    fleet = makeFleet(
      [sshd],
      ALIASES.map((alias) => ({ alias, sshd })),
    );
  });
  afterAll(async () => {
    await sshd?.stop();
  });

  it('loses no line, splits none, interleaves none', async () => {
    const s = await spawnServer(fleet.configDir, { env: { OTEL_SDK_DISABLED: 'true' }, stderr: 'fifo' });
    for (const alias of ALIASES) await s.call('ssh_run', { alias, command: 'echo warm' });
    await s.waitForLine(() => s.lines().filter((l) => l.type === 'audit').length === ALIASES.length);
    const bytesBefore = s.stderr().length;

    s.pauseStderr();
    let completedWhilePaused = 0;
    let paused = true;
    const burst = Array.from({ length: BURST }, (_, i) =>
      s.call('ssh_run', { alias: ALIASES[i % ALIASES.length], command: `echo burst-${i}` }).then((r) => {
        if (paused) completedWhilePaused++;
        return r;
      }),
    );
    await new Promise((resolve) => setTimeout(resolve, 2000));
    paused = false;
    s.resumeStderr();
    const results = await Promise.all(burst);
    await s.close();
    expect(await s.exited).toEqual({ code: 0, signal: null });

    // The stall was real: more was written than the pipe holds.
    expect(s.stderr().length - bytesBefore).toBeGreaterThan(PIPE_BUFFER);
    // Work went on while nobody read stderr.
    expect(completedWhilePaused).toBeGreaterThan(0);
    for (const [i, r] of results.entries()) {
      expect(r.isError).toBeFalsy();
      expect(r.structuredContent).toMatchObject({ exit_code: 0, stdout: `burst-${i}\n` });
    }

    // Every line is one whole JSON object (parseLines throws on a split or merged line) ...
    const raw = s.stderr();
    expect(raw.endsWith('\n')).toBe(true);
    const lines = s.lines();
    // ... and every task has exactly its own lines, in order.
    const ids = results.map((r) => (r.structuredContent as { task_id: string }).task_id);
    const byTask = new Map<string, string[]>();
    for (const l of lines) {
      if (typeof l.task_id !== 'string') continue;
      const kind = l.type === 'progress' ? `progress:${String(l.phase)}` : String(l.type);
      // `running` ticks every 0.5 s; a loaded machine may show one even for `echo`.
      if (kind === 'progress:running') continue;
      byTask.set(l.task_id, [...(byTask.get(l.task_id) ?? []), kind]);
    }
    for (const id of ids) {
      expect(byTask.get(id)).toEqual([
        'policy_decision',
        'progress:connecting',
        'progress:connected',
        'audit',
        'trace',
      ]);
    }
    expect(lines.filter((l) => l.type === 'audit')).toHaveLength(BURST + ALIASES.length);
    expect(lines.filter((l) => l.type === 'policy_decision')).toHaveLength(BURST + ALIASES.length);
  });
});
