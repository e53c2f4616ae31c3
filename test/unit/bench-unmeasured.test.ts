/**
 * The benchmark harness (bench/lib): a failing measurement step is reported as
 * `{ unmeasured, reason }` and the steps around it are kept; a failing contestant leaves the
 * others' samples; bench/run.ts's view of a child that finished, crashed or was killed; and
 * the CPU-profile window, taken from the driver's monotonic-clock marks, not from idle gaps.
 */
import { describe, expect, it } from 'vitest';
import { summarizeProfileData, windowSamples, type CpuProfile } from '../../bench/lib/cpu-profile.js';
import { interleaved } from '../../bench/lib/kit.js';
import {
  EXIT_ALL_MEASURED,
  EXIT_SOME_UNMEASURED,
  Ledger,
  childUnmeasured,
  crashLine,
  suiteExitCode,
} from '../../bench/lib/unmeasured.js';

const quiet = (failMatch = ''): Ledger => new Ledger('latency', () => undefined, failMatch);

describe('Ledger', () => {
  it('records a failing step with its reason and keeps the steps before and after it', async () => {
    const ledger = quiet();
    const before = await ledger.step('interleaved phase', () => 4.48);
    const profile = await ledger.step('CPU profile of the server over 300 commands', async () => {
      throw new Error('fewer than two idle gaps of 600 ms');
    });
    const after = await ledger.step('policy decide()', async () => 51.2);
    expect([before, profile, after]).toEqual([4.48, undefined, 51.2]);
    expect(ledger.unmeasured).toEqual([
      { unmeasured: 'CPU profile of the server over 300 commands', reason: 'fewer than two idle gaps of 600 ms' },
    ]);
    expect(ledger.exitCode()).toBe(EXIT_SOME_UNMEASURED);
    expect(ledger.markdown()).toContain('| CPU profile of the server over 300 commands | fewer than two idle gaps');
  });

  it('says nothing and exits 0 when everything was measured', async () => {
    const ledger = quiet();
    await ledger.step('one', () => 1);
    expect(ledger.unmeasured).toEqual([]);
    expect(ledger.markdown()).toBe('');
    expect(ledger.exitCode()).toBe(EXIT_ALL_MEASURED);
  });

  it('fails the steps BENCH_FAIL names without running them', async () => {
    const ledger = quiet('cpu profile');
    let ran = false;
    const value = await ledger.step('CPU profile of the server', () => (ran = true));
    expect([value, ran]).toEqual([undefined, false]);
    expect(ledger.unmeasured[0]?.reason).toBe('failure injected by BENCH_FAIL=cpu profile');
    expect(await ledger.step('interleaved phase', () => 1)).toBe(1);
  });

  it('runs every cleanup, newest first, even after one fails', async () => {
    const ledger = quiet();
    const ran: string[] = [];
    ledger.defer('stop sshd', () => void ran.push('sshd'));
    ledger.defer('close server', () => {
      ran.push('server');
      throw new Error('already closed');
    });
    ledger.defer('close receiver', async () => void ran.push('receiver'));
    await ledger.cleanup();
    expect(ran).toEqual(['receiver', 'server', 'sshd']);
    expect(ledger.unmeasured).toEqual([]);
  });
});

describe('interleaved', () => {
  it('drops a contestant that fails, keeps the others’ samples, and says which and why', async () => {
    let calls = 0;
    const failures: [string, string][] = [];
    const samples = await interleaved(
      [
        { name: 'ok', run: async () => undefined },
        {
          name: 'flaky',
          run: async () => {
            if (++calls > 3) throw new Error('unexpected output ""');
          },
        },
      ],
      10,
      2,
      { block: 2, onFailure: (name, err) => failures.push([name, (err as Error).message]) },
    );
    expect([...samples.keys()]).toEqual(['ok']);
    expect(samples.get('ok')).toHaveLength(10);
    expect(failures).toEqual([['flaky', 'unexpected output ""']]);
  });

  it('without onFailure, a failure still propagates', async () => {
    const run = async (): Promise<void> => {
      throw new Error('boom');
    };
    await expect(interleaved([{ name: 'x', run }], 1, 0)).rejects.toThrow('boom');
  });
});

describe('childUnmeasured (bench/run.ts)', () => {
  const base = { name: 'latency', signal: null, stderrTail: [] };

  it('takes the entries of a results file the benchmark wrote, tagged with its name', () => {
    const entries = childUnmeasured({
      ...base,
      code: EXIT_SOME_UNMEASURED,
      results: { unmeasured: [{ unmeasured: 'CPU profile', reason: 'no CPU profile written' }] },
    });
    expect(entries).toEqual([{ benchmark: 'latency', unmeasured: 'CPU profile', reason: 'no CPU profile written' }]);
    expect(suiteExitCode(entries)).toBe(EXIT_SOME_UNMEASURED);
  });

  it('reads a results file from before `unmeasured` existed as fully measured', () => {
    expect(childUnmeasured({ ...base, code: 0, results: {} })).toEqual([]);
    expect(suiteExitCode([])).toBe(EXIT_ALL_MEASURED);
  });

  it('reports a crashed benchmark as a whole, with the reason from its crash line', () => {
    const entries = childUnmeasured({
      ...base,
      code: 1,
      stderrTail: ['    at main (bench/latency.ts:1:1)', crashLine('latency', 'sshd did not start\nmore'), ''],
    });
    expect(entries).toEqual([
      { benchmark: 'latency', unmeasured: 'the whole benchmark', reason: 'exit status 1: sshd did not start' },
    ]);
  });

  it('reports a killed benchmark, and one that exited without writing results', () => {
    expect(childUnmeasured({ ...base, code: null, signal: 'SIGKILL', stderrTail: ['round 3/5'] })).toEqual([
      {
        benchmark: 'latency',
        unmeasured: 'the whole benchmark',
        reason: 'killed by SIGKILL; last stderr line: round 3/5',
      },
    ]);
    expect(childUnmeasured({ ...base, code: 0 })[0]?.reason).toBe('exit status 0, but it wrote no results file');
  });
});

describe('CPU profile window', () => {
  /** 1 ms samples from t = 1 000 µs: idle, then busy, idle and busy again, with no long idle gap anywhere. */
  const profile = (): CpuProfile => {
    const nodes = [
      { id: 1, callFrame: { functionName: '(root)', url: '', lineNumber: -1 }, children: [2, 3] },
      { id: 2, callFrame: { functionName: '(idle)', url: '', lineNumber: -1 } },
      { id: 3, callFrame: { functionName: 'decide', url: 'file:///repo/dist/policy/engine.js', lineNumber: 9 } },
    ];
    const samples = [2, 2, 3, 3, 3, 2, 3, 3, 2, 2];
    return { nodes, startTime: 1000, endTime: 12_000, samples, timeDeltas: samples.map(() => 1000) };
  };

  it('counts only the samples between the marks', () => {
    // Sample i is taken at 2 000 + 1 000 i µs: the window holds samples 2..7.
    expect(windowSamples(profile(), { fromUs: 4000, toUs: 9000 })).toEqual({ from: 2, to: 8 });
    const s = summarizeProfileData(profile(), { window: { fromUs: 4000, toUs: 9000 } });
    expect(s.samples).toBe(6);
    expect(s.busyMs).toBe(5);
    expect(s.totalMs).toBe(6);
    expect(s.byCategory).toEqual([{ category: 'ours:policy/engine', ms: 5, share: 1 }]);
  });

  it('without marks, counts the whole profile', () => {
    expect(summarizeProfileData(profile()).samples).toBe(10);
  });

  it('refuses marks outside the profile (another clock) or an empty window', () => {
    expect(() => windowSamples(profile(), { fromUs: 500, toUs: 9000 })).toThrow(/not inside the profile/);
    expect(() => windowSamples(profile(), { fromUs: 9000, toUs: 9000 })).toThrow(/empty profile window/);
    expect(() => windowSamples(profile(), { fromUs: 2100, toUs: 2900 })).toThrow(/no samples/);
  });
});
