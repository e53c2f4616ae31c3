/**
 * `watch` on real orchestrator stderr (test/fixtures/monitor): a baseline from the start of a
 * session, then new hosts, new command hashes, denial and authentication failure spikes, a
 * replayed (chain-breaking) log, bad input and clock skew in later checks; the state on disk
 * (read positions, rotation, unfinished lines, reset, damage, lock); thresholds files; follow
 * mode.
 */
import { appendFileSync, existsSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runWatchCommand, type Anomaly, type CheckSummary } from '../../src/monitor/watch.js';
import { fixtureLines, parsed, runCli, tempDir, writeLog } from '../helpers/monitor.js';

const sha = fixtureLines('session-sha256.jsonl');
const shaB = fixtureLines('session-sha256-b.jsonl');
/** Index of the first denied decision: everything before it is "normal" use. */
const split = sha.findIndex((l) => l.includes('"allowed":false'));

type Row = ({ type: 'watch_anomaly' } & Anomaly) | ({ type: 'watch_check' } & CheckSummary);

async function watch(
  args: string[],
  opts: { stdin?: string } = {},
): Promise<{ code: number; rows: Row[]; stderr: string }> {
  const r = await runCli(runWatchCommand, [...args, '--json'], opts);
  const rows = r.stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Row);
  return { code: r.code, rows, stderr: r.stderr };
}

const anomalies = (rows: Row[]): Anomaly[] =>
  rows.filter((r): r is Row & Anomaly & { type: 'watch_anomaly' } => r.type === 'watch_anomaly');
const summary = (rows: Row[]): CheckSummary => rows.find((r) => r.type === 'watch_check') as CheckSummary;
const kinds = (rows: Row[]): string[] =>
  anomalies(rows).map((a) => `${a.severity}:${a.kind}${a.alias ? `:${a.alias}` : ''}`);

describe('watch: baseline, then anomalies on real session lines', () => {
  const dir = tempDir();
  const state = join(dir, 'state');
  const log = join(dir, 'audit.log');
  const thresholds = join(dir, 'thresholds.yml');
  writeFileSync(
    thresholds,
    [
      '# a small fleet: a few denials are already a spike',
      'denials:',
      '  min_count: 2',
      '  min_ratio: 0.3',
      'auth_failures:',
      '  min_count: 1',
      '  spike_factor: 1',
      '',
    ].join('\n'),
  );
  const args = [log, '--state', state, '--thresholds', thresholds, '--once'];

  it('check 1 learns the baseline and reports only absolute findings', async () => {
    writeFileSync(
      log,
      sha
        .slice(0, split)
        .map((l) => `${l}\n`)
        .join(''),
    );
    const { code, rows } = await watch(args);
    const s = summary(rows);
    expect(s).toMatchObject({ check: 1, window: { lines: split, hosts: 5, denied: 0 } });
    // Security events are reported from the first check on; deviations are not (nothing to compare with).
    expect(new Set(anomalies(rows).map((a) => a.kind))).toEqual(new Set(['security_event']));
    expect(kinds(rows)).toEqual(['critical:security_event:unknown', 'low:security_event:badauth']);
    expect(code).toBe(1); // a critical finding, --fail-on high
    const baseline = JSON.parse(readFileSync(join(state, 'baseline.json'), 'utf8')) as {
      hosts: Record<string, { hashes: object }>;
    };
    expect(Object.keys(baseline.hosts).sort()).toEqual(['badauth', 'db1', 'unknown', 'web1', 'web2']);
  });

  it('check 2 flags the new host, new command hashes, the denial spike and the bypass attempt', async () => {
    appendFileSync(
      log,
      sha
        .slice(split)
        .map((l) => `${l}\n`)
        .join(''),
    );
    const { rows } = await watch(args);
    expect(summary(rows)).toMatchObject({
      check: 2,
      status: 'anomalies',
      window: { lines: sha.length - split, denied: 4 },
    });
    const k = kinds(rows);
    expect(k).toContain('medium:new_host:slow');
    expect(k).toContain('high:denial_spike:web1');
    expect(k).toContain('high:security_event:web1'); // command_bypass_attempt
    expect(k).toContain('high:security_event'); // path_traversal_attempt (no alias: a config file)
    const web1 = anomalies(rows).find((a) => a.kind === 'new_command' && a.alias === 'web1');
    const newOnWeb1 = new Set(
      sha
        .slice(split)
        .map(parsed)
        .filter((r) => r.alias === 'web1' && typeof r.hash === 'string')
        .map((r) => r.hash),
    );
    expect(new Set(web1?.details.hashes as string[])).toEqual(newOnWeb1);
    const spike = anomalies(rows).find((a) => a.kind === 'denial_spike');
    expect(spike?.details).toMatchObject({ denied: 2, decisions: 2, ratio: 1, baseline_ratio: 0 });
    expect(spike?.at?.file).toBe(log);
    // Nothing from check 1 is reported again.
    expect(k).not.toContain('critical:security_event:unknown');
  });

  it('check 3: another run of the server (a new chain) repeats what is now known; an auth failure spike by the thresholds', async () => {
    appendFileSync(log, shaB.map((l) => `${l}\n`).join(''));
    const { rows } = await watch(args);
    const k = kinds(rows);
    expect(k).toContain('high:auth_failure_spike:badauth');
    expect(k.filter((x) => /new_host|new_command|chain_broken/.test(x))).toEqual([]);
  });

  it('check 4: the same run appended again (a replay) breaks the chain: critical', async () => {
    appendFileSync(
      log,
      shaB
        .slice(0, 10)
        .map((l) => `${l}\n`)
        .join(''),
    );
    const { rows, code } = await watch(args);
    const chain = anomalies(rows).find((a) => a.kind === 'chain_broken');
    expect(chain).toMatchObject({
      severity: 'critical',
      at: { file: log, line: split + (sha.length - split) + shaB.length + 1 },
    });
    expect(chain?.message).toContain('seq 1 after');
    expect(code).toBe(1);
  });

  it('check 5: bad input and clock skew are reported, low, and counted', async () => {
    const late = { ...parsed(sha[1] as string), ts: (parsed(sha[1] as string).ts as number) - 7200 };
    appendFileSync(
      log,
      ['not json at all', '{"type":"audit","ts":', '{"type":"mystery","ts":1}', JSON.stringify(late), ''].join('\n'),
    );
    const { rows, code } = await watch(args);
    expect(kinds(rows)).toEqual(['low:bad_input', 'low:clock_skew']);
    const bad = anomalies(rows)[0];
    expect(bad?.details).toMatchObject({
      noise: { total: 2, truncated: 1, non_json: 1 },
      unknown_types: { mystery: 1 },
    });
    expect(anomalies(rows)[1]?.details).toMatchObject({ late: 1 });
    expect(code).toBe(0);
  });

  it('a check with nothing new: all ok, and each line was read exactly once', async () => {
    const { rows, code } = await watch(args);
    expect(summary(rows)).toMatchObject({ check: 6, status: 'ok', window: { lines: 0 } });
    expect(code).toBe(0);
    const cursor = JSON.parse(readFileSync(join(state, 'cursor.json'), 'utf8')) as {
      files: Record<string, { offset: number }>;
    };
    expect(Object.values(cursor.files)[0]?.offset).toBe(readFileSync(log).length);
    const history = readFileSync(join(state, 'anomalies.jsonl'), 'utf8').trim().split('\n');
    expect(history.length).toBeGreaterThan(8);
    expect(readFileSync(join(state, 'bulletin.txt'), 'utf8')).toContain('Status: ✓ ALL OK');
  });

  it('--reset starts a new baseline; alone it only resets', async () => {
    const alone = await runCli(runWatchCommand, ['--state', state, '--reset']);
    expect(alone).toMatchObject({ code: 0 });
    expect(alone.stdout).toContain('baseline reset');
    expect(existsSync(join(state, 'baseline.json'))).toBe(false);
    appendFileSync(log, `${sha[0]}\n`);
    const { rows } = await watch(args);
    expect(summary(rows)).toMatchObject({ check: 1, window: { lines: 1 } });
  });
});

describe('watch: reading files across checks', () => {
  it('an unfinished last line waits for its newline; a truncated or replaced file is read from the start', async () => {
    const dir = tempDir();
    const state = join(dir, 's');
    const log = join(dir, 'a.log');
    const line = sha[0] as string;
    writeFileSync(log, `${sha[1]}\n${line.slice(0, 40)}`);
    expect(summary((await watch([log, '--state', state])).rows).window.lines).toBe(1);
    appendFileSync(log, `${line.slice(40)}\n`);
    const second = await watch([log, '--state', state]);
    expect(summary(second.rows).window).toMatchObject({ lines: 1, events: 1, noise: 0 });
    truncateSync(log, 0);
    writeFileSync(log, `${sha[2]}\n${sha[3]}\n`);
    expect(summary((await watch([log, '--state', state])).rows).window.lines).toBe(2);
  });

  it('stdin is read to its end with --once', async () => {
    const state = join(tempDir(), 's');
    const { rows } = await watch(['--state', state], { stdin: sha.join('\n') + '\n' });
    expect(summary(rows).window).toMatchObject({ lines: sha.length, events: sha.length });
  });

  it('--interval follows a file until stopped', async () => {
    const dir = tempDir();
    const log = writeLog(sha.slice(0, 10), 'f.log', dir);
    const controller = new AbortController();
    const out: string[] = [];
    const { PassThrough, Readable } = await import('node:stream');
    const stdout = new PassThrough();
    stdout.on('data', (d: Buffer) => out.push(...d.toString().trim().split('\n')));
    const running = runWatchCommand([log, '--state', join(dir, 's'), '--interval', '0.2', '--json'], {
      stdout,
      stderr: new PassThrough(),
      stdin: Readable.from([]),
      env: {},
      signal: controller.signal,
    });
    const checks = (): CheckSummary[] =>
      out
        .map((l) => JSON.parse(l) as Row)
        .filter((r): r is Row & CheckSummary & { type: 'watch_check' } => r.type === 'watch_check');
    const until = async (pred: () => boolean): Promise<void> => {
      for (let i = 0; i < 100 && !pred(); i++) await new Promise((r) => setTimeout(r, 50));
    };
    await until(() => checks().length >= 1);
    appendFileSync(
      log,
      sha
        .slice(10)
        .map((l) => `${l}\n`)
        .join(''),
    );
    await until(() => checks().some((c) => c.window.lines > 0 && c.check > 1));
    controller.abort();
    expect(await running).toBe(0);
    const seen = checks().reduce((a, c) => a + c.window.lines, 0);
    expect(seen).toBe(sha.length);
  });
});

describe('watch: thresholds, state and usage errors', () => {
  it('thresholds errors name the file, line and field', async () => {
    const dir = tempDir();
    const bad = join(dir, 't.yml');
    writeFileSync(bad, 'denials:\n  min_count: 0\n  ratio: 2\nsecurity_events:\n  host_key_mismatch: urgent\n');
    const r = await runCli(runWatchCommand, ['--thresholds', bad, '--state', join(dir, 's')], { stdin: '' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${bad}:2:14 denials.min_count: expected a whole number of at least 1, got 0`);
    expect(r.stderr).toContain('denials.ratio: unknown key "ratio"');
    expect(r.stderr).toContain(
      `${bad}:5:22 security_events.host_key_mismatch: expected one of "critical", "high", "medium", "low", "off", got "urgent"`,
    );
    writeFileSync(bad, '{"command_rate": {"max_per_minute": "many"}}');
    const json = await runCli(runWatchCommand, ['--thresholds', bad, '--state', join(dir, 's')], { stdin: '' });
    expect(json.stderr).toContain('command_rate.max_per_minute: expected');
    writeFileSync(bad, 'denials: [');
    expect((await runCli(runWatchCommand, ['--thresholds', bad], { stdin: '' })).stderr).toContain(
      'not valid YAML or JSON',
    );
  });

  it('a severity can be turned off', async () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, 't.json'),
      JSON.stringify({ security_events: { host_key_mismatch: 'off', authentication_failed: 'off' } }),
    );
    const { rows, code } = await watch(['--state', join(dir, 's'), '--thresholds', join(dir, 't.json')], {
      stdin: sha.slice(0, split).join('\n'),
    });
    expect(anomalies(rows)).toEqual([]);
    expect(code).toBe(0);
  });

  it('a damaged state file is an error that says how to recover', async () => {
    const dir = tempDir();
    const state = join(dir, 's');
    await watch(['--state', state], { stdin: '' });
    writeFileSync(join(state, 'baseline.json'), '{"version": 1, "hosts": ');
    const r = await runCli(runWatchCommand, ['--state', state], { stdin: '' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('baseline.json is damaged (not JSON): run with --reset');
    expect((await runCli(runWatchCommand, ['--state', state, '--reset'])).code).toBe(0);
    expect((await watch(['--state', state], { stdin: '' })).code).toBe(0);
  });

  it('one watch per state directory; a lock left by a dead process is taken over', async () => {
    const state = join(tempDir(), 's');
    await watch(['--state', state], { stdin: '' });
    writeFileSync(join(state, 'lock'), '1'); // pid 1 is always alive
    const busy = await runCli(runWatchCommand, ['--state', state], { stdin: '' });
    expect(busy.code).toBe(2);
    expect(busy.stderr).toContain('another watch (pid 1)');
    writeFileSync(join(state, 'lock'), '999999999');
    expect((await runCli(runWatchCommand, ['--state', state], { stdin: '' })).code).toBe(0);
  });

  it('usage errors exit 2', async () => {
    for (const [args, msg] of [
      [['--once', '--interval', '5'], 'give --once or --interval, not both'],
      [['--interval', 'soon'], '--interval "soon"'],
      [['--fail-on', 'panic'], '--fail-on "panic"'],
      [['/nonexistent.log'], '/nonexistent.log: no such file'],
      [['--thresholds', '/nonexistent.yml'], '--thresholds /nonexistent.yml: no such file'],
      [['--index', 'logs-*'], '--index needs --es-url'],
      [['--from', '2025-01-01'], '--from needs --es-url'],
      [['--es-url', 'nope'], '--es-url "nope"'],
      [['a.log', '--es-url', 'http://127.0.0.1:9200'], 'give either FILE arguments or --es-url, not both'],
      [['--es-url', 'http://127.0.0.1:9200', '--from', 'soon'], '--from "soon": expected an ISO 8601 date'],
    ] as Array<[string[], string]>) {
      const r = await runCli(runWatchCommand, [...args, '--state', join(tempDir(), 's')], { stdin: '' });
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toContain(msg);
    }
  });

  it('the human bulletin', async () => {
    const state = join(tempDir(), 's');
    const r = await runCli(runWatchCommand, ['--state', state], { stdin: sha.join('\n') });
    expect(r.stdout).toContain('mcp-ssh-orchestrator watch - audit bulletin');
    expect(r.stdout).toContain('Status: ⚠ CRITICAL SEVERITY ANOMALIES');
    expect(r.stdout).toContain('[CRITICAL] security_event: host_key_mismatch on unknown: 1 event(s)');
    expect(r.stdout).toMatch(/Window: \d+ line\(s\), \d+ event\(s\), 6 host\(s\), 13 command\(s\) \(4 denied\)/);
    const quiet = await runCli(runWatchCommand, ['--state', state], { stdin: '' });
    expect(quiet.stdout).toContain('Status: ✓ ALL OK');
  });
});
