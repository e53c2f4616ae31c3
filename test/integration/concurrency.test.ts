/**
 * Concurrency limits, proven on the remote side: every command appends "start" and "end" to one
 * shared file, so the file's interleaving shows how many commands ran at once — no timing
 * assertions, only the order the remote shell wrote in.
 */
import { chmodSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_TEST_POLICY, makeFleet, type Fleet } from '../helpers/fleet.js';
import { startSession, textOf, type McpSession } from '../helpers/mcp-session.js';
import { startSshd, type TestSshd } from '../helpers/sshd.js';

/** A file the remote login user (mcp-ssh-test under root) can append to. */
function sharedFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'mcp-ssh-concurrency-'));
  chmodSync(dir, 0o777);
  return join(dir, 'F');
}

/** The test policy plus the one file the markers append to (redirections need write_paths). */
function allowMarkers(fleet: Fleet, file: string): void {
  fleet.writePolicy({
    ...DEFAULT_TEST_POLICY,
    rules: [
      ...DEFAULT_TEST_POLICY.rules,
      { name: 'markers', action: 'allow', commands: ['echo *'], write_paths: [file] },
    ],
  });
}

function marker(file: string, id: string): string {
  return `sh -c 'echo start ${id} >> ${file}; sleep 0.6; echo end ${id} >> ${file}'`;
}

/** The most commands that had written "start" but not yet "end", and the ids seen. */
function overlap(file: string): { max: number; started: string[]; ended: string[] } {
  const lines = readFileSync(file, 'utf8').trim().split('\n');
  let running = 0;
  let max = 0;
  const started: string[] = [];
  const ended: string[] = [];
  for (const line of lines) {
    const [what, id = ''] = line.split(' ');
    if (what === 'start') {
      started.push(id);
      max = Math.max(max, ++running);
    } else if (what === 'end') {
      ended.push(id);
      running--;
    } else throw new Error(`unexpected line in ${file}: ${line}`);
  }
  return { max, started, ended };
}

async function runAllAsync(s: McpSession, jobs: { alias: string; command: string }[]): Promise<string[]> {
  const started = await Promise.all(jobs.map((j) => s.call('ssh_run_async', j)));
  const ids = started.map((r) => {
    expect(r.isError, textOf(r)).toBeFalsy();
    return (r.structuredContent as { task_id: string }).task_id;
  });
  for (const id of ids) await s.waitForLine((l) => l.type === 'audit' && l.task_id === id, 30_000);
  for (const id of ids) {
    const result = await s.call('ssh_get_task_result', { task_id: id });
    expect(result.structuredContent, textOf(result)).toMatchObject({ exit_code: 0, timeout: false, cancelled: false });
  }
  return ids;
}

describe('concurrency limits against a real sshd', () => {
  let sshd: TestSshd;

  beforeAll(async () => {
    sshd = await startSshd();
  });
  afterAll(async () => {
    await sshd?.stop();
  });

  it('--max-per-host 2: five commands on one alias, never more than two at once, all five finish', async () => {
    const file = sharedFile();
    const fleet = makeFleet([sshd], [{ alias: 'one', sshd }]);
    allowMarkers(fleet, file);
    const s = await startSession(fleet.configDir, { args: ['--max-per-host', '2'] });
    try {
      const ids = ['a', 'b', 'c', 'd', 'e'];
      await runAllAsync(
        s,
        ids.map((id) => ({ alias: 'one', command: marker(file, id) })),
      );
      const seen = overlap(file);
      expect(seen.max).toBeLessThanOrEqual(2);
      // The limit is used, not just respected: two ran side by side.
      expect(seen.max).toBe(2);
      expect(seen.started.sort()).toEqual(ids);
      expect(seen.ended.sort()).toEqual(ids);
    } finally {
      await s.close();
    }
  });

  it('--max-concurrency 3: eight commands over four aliases, never more than three at once, all finish', async () => {
    const file = sharedFile();
    const aliases = ['w1', 'w2', 'w3', 'w4'];
    const fleet = makeFleet(
      [sshd],
      aliases.map((alias) => ({ alias, sshd })),
    );
    allowMarkers(fleet, file);
    const s = await startSession(fleet.configDir, { args: ['--max-concurrency', '3'] });
    try {
      const ids = aliases.flatMap((alias) => [`${alias}-1`, `${alias}-2`]);
      await runAllAsync(
        s,
        ids.map((id) => ({ alias: id.split('-')[0] ?? '', command: marker(file, id) })),
      );
      const seen = overlap(file);
      expect(seen.max).toBeLessThanOrEqual(3);
      expect(seen.max).toBe(3);
      expect(seen.started.sort()).toEqual(ids);
      expect(seen.ended.sort()).toEqual(ids);
    } finally {
      await s.close();
    }
  });
});
