/**
 * Reload under load: ssh_reload_config flips between two policies while commands run, and no
 * command may see half a config. The two generations differ consistently in the deciding
 * rule's name and in the limits:
 *
 *   generation A: rule `gen-a`, max_output_bytes 1111, max_seconds 11
 *   generation B: rule `gen-b`, max_output_bytes 2222, max_seconds 22
 *
 * Each command's rule is read from its policy_decision line (matched by task id) and its
 * limits from what it did: `head -c 3000 /dev/zero` returns exactly max_output_bytes bytes,
 * and ssh_run_async reports max_seconds. A command decided by `gen-a` but limited by B's
 * numbers (or the reverse) would have seen half a config.
 */
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeFleet, type Fleet } from '../helpers/fleet.js';
import { textOf } from '../helpers/mcp-session.js';
import { startSshd, type TestSshd } from '../helpers/sshd.js';
import { spawnServer, type ServerProcess } from './helpers/server-process.js';

const GENERATIONS = {
  'gen-a': { max_output_bytes: 1111, max_seconds: 11 },
  'gen-b': { max_output_bytes: 2222, max_seconds: 22 },
} as const;
type Gen = keyof typeof GENERATIONS;
const RELOADS = 40;
const WORKERS = 8;

function policyFor(gen: Gen): Record<string, unknown> {
  return {
    limits: { ...GENERATIONS[gen], deny_substrings: ['reboot'] },
    rules: [{ name: gen, action: 'allow', aliases: ['*'], commands: ['head -c *', 'sleep *'] }],
  };
}

/** Replaces policy.yml atomically, as an operator's config management should. */
function writePolicyAtomically(fleet: Fleet, gen: Gen): void {
  const target = join(fleet.configDir, 'policy.yml');
  const tmp = `${target}.tmp`;
  writeFileSync(tmp, stringify({ known_hosts_path: fleet.knownHostsPath, ...policyFor(gen) }));
  renameSync(tmp, target);
}

describe('ssh_reload_config while commands run', () => {
  let sshd: TestSshd;
  let fleet: Fleet;
  let s: ServerProcess;

  beforeAll(async () => {
    sshd = await startSshd();
    fleet = makeFleet(
      [sshd],
      [
        { alias: 'r1', sshd },
        { alias: 'r2', sshd },
      ],
      policyFor('gen-a'),
    );
    s = await spawnServer(fleet.configDir, { env: { OTEL_SDK_DISABLED: 'true' } });
  });
  afterAll(async () => {
    await s?.close();
    await sshd?.stop();
  });

  it('gives every command its decision and its limits from one generation', async () => {
    const observed: { taskId: string; outputBytes?: number; maxSeconds?: number }[] = [];
    let reloading = true;
    const reloader = (async () => {
      const outcomes: boolean[] = [];
      for (let i = 1; i <= RELOADS; i++) {
        writePolicyAtomically(fleet, i % 2 === 1 ? 'gen-b' : 'gen-a');
        const r = await s.call('ssh_reload_config');
        outcomes.push((r.structuredContent as { reloaded: boolean }).reloaded);
        await new Promise((resolve) => setTimeout(resolve, 15));
      }
      reloading = false;
      return outcomes;
    })();
    const worker = async (w: number): Promise<void> => {
      for (let i = 0; reloading; i++) {
        const alias = (w + i) % 2 ? 'r1' : 'r2';
        if (i % 4 === 3) {
          const r = await s.call('ssh_run_async', { alias, command: 'sleep 0' });
          expect(r.isError, textOf(r)).toBeFalsy();
          const sc = r.structuredContent as { task_id: string; max_seconds: number };
          observed.push({ taskId: sc.task_id, maxSeconds: sc.max_seconds });
        } else {
          const r = await s.call('ssh_run', { alias, command: 'head -c 3000 /dev/zero' });
          expect(r.isError, textOf(r)).toBeFalsy();
          const sc = r.structuredContent as {
            task_id: string;
            stdout: string;
            stdout_encoding: string;
            truncated: boolean;
            bytes_out: number;
          };
          // NUL bytes are binary output: base64 in the reply.
          expect(sc).toMatchObject({ truncated: true, bytes_out: 3000, stdout_encoding: 'base64' });
          observed.push({ taskId: sc.task_id, outputBytes: Buffer.from(sc.stdout, 'base64').length });
        }
      }
    };
    await Promise.all(Array.from({ length: WORKERS }, (_, w) => worker(w)));
    expect(await reloader).toEqual(Array.from({ length: RELOADS }, () => true));

    // Replies can be read before the stderr lines written ahead of them: wait for every decision.
    const decisions = () => s.lines().filter((l) => l.type === 'policy_decision');
    await s.waitForLine(() => decisions().length >= observed.length);
    const ruleOf = new Map(
      s
        .lines()
        .filter((l) => l.type === 'policy_decision')
        .map((l) => [String(l.task_id), String(l.rule) as Gen]),
    );
    const seen = new Set<Gen>();
    for (const o of observed) {
      const gen = ruleOf.get(o.taskId);
      expect(gen, `no policy_decision for ${o.taskId}`).toBeDefined();
      const limits = GENERATIONS[gen as Gen];
      if (o.outputBytes !== undefined)
        expect({ gen, bytes: o.outputBytes }).toEqual({ gen, bytes: limits.max_output_bytes });
      if (o.maxSeconds !== undefined)
        expect({ gen, seconds: o.maxSeconds }).toEqual({ gen, seconds: limits.max_seconds });
      seen.add(gen as Gen);
    }
    // Both generations really served commands, so the check above was not vacuous.
    expect([...seen].sort()).toEqual(['gen-a', 'gen-b']);
    await s.waitForLine(() => s.lines().filter((l) => l.type === 'config_reload').length >= RELOADS);
    const reloads = s.lines().filter((l) => l.type === 'config_reload');
    expect(reloads.map((l) => l.generation)).toEqual(Array.from({ length: RELOADS }, (_, i) => i + 2));
  });
});
