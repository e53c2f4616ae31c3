/**
 * `verify` on real orchestrator stderr (test/fixtures/monitor, captured from sessions against
 * a real sshd with --audit-chain by scripts/capture-monitor-fixtures.ts): intact logs pass,
 * and each kind of tampering is pinned to the first bad line.
 */
import { gzipSync } from 'node:zlib';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runVerifyCommand, verifyChain, type VerifyReport } from '../../src/monitor/verify.js';
import { chainedIndexes, fixtureLines, parsed, runCli, tempDir, writeLog } from '../helpers/monitor.js';

const sha = fixtureLines('session-sha256.jsonl');
const shaB = fixtureLines('session-sha256-b.jsonl');
const hmac = fixtureLines('session-hmac.jsonl');
const KEY = 'fixture-hmac-key';
const chained = chainedIndexes(sha);
/** 1-based line number of the n-th chained line (0-based n). */
const lineOf = (n: number): number => (chained[n] as number) + 1;

async function verify(lines: string[], opts: Parameters<typeof verifyChain>[1] = {}): Promise<VerifyReport> {
  return verifyChain(lines, opts);
}

describe('verify: intact logs', () => {
  it('a real session log is intact: one chain, every policy/audit/security line in it', async () => {
    const r = await verify(sha);
    expect(r.verdict).toBe('intact');
    expect(r.problems).toEqual([]);
    expect(r.chains).toHaveLength(1);
    const types = sha
      .map(parsed)
      .filter((l) => ['policy_decision', 'audit', 'security_event'].includes(String(l.type)));
    expect(r.chained_lines).toBe(types.length);
    expect(r.chains[0]).toMatchObject({ first_seq: 1, last_seq: types.length, status: 'intact', broken_links: 0 });
    expect(r.input).toMatchObject({ lines: sha.length, events: sha.length, noise: { total: 0 } });
  });

  it('an HMAC chain verifies with its key only', async () => {
    expect((await verify(hmac, { key: KEY })).verdict).toBe('intact');
    const noKey = await verify(hmac);
    expect(noKey.verdict).toBe('unverifiable');
    expect(noKey.first_problem).toMatchObject({ kind: 'key_mismatch', line: 1 });
    expect(noKey.first_problem?.message).toContain('--key-env');
    const wrong = await verify(hmac, { key: 'not-the-key' });
    expect(wrong.verdict).toBe('unverifiable');
    expect(wrong.first_problem?.message).toContain('wrong key');
  });

  it('a plain SHA-256 chain checked with a key is suspicious: forged without the key, or an unkeyed server', async () => {
    const r = await verify(sha, { key: KEY });
    expect(r.verdict).toBe('tampered');
    expect(r.first_problem).toMatchObject({ kind: 'unkeyed_chain', line: lineOf(0) });
  });

  it('two runs concatenated, or interleaved line by line, are two intact chains', async () => {
    const cat = await verify([...sha, ...shaB]);
    expect(cat.verdict).toBe('intact');
    expect(cat.chains).toHaveLength(2);
    const mixed: string[] = [];
    for (let i = 0; i < Math.max(sha.length, shaB.length); i++) {
      if (sha[i]) mixed.push(sha[i] as string);
      if (shaB[i]) mixed.push(shaB[i] as string);
    }
    const r = await verify(mixed);
    expect(r.verdict).toBe('intact');
    expect(r.chains.map((c) => c.lines)).toEqual([chained.length, chainedIndexes(shaB).length]);
  });

  it('noise between the lines is counted, never fatal: junk, cut-off lines, non-objects, unknown types, blank lines', async () => {
    // (A cut-off policy/audit/security line is not noise but a problem: see "truncated" below.)
    const junk = [
      'Error: something printed a stack trace',
      '    at Object.<anonymous> (/app/x.js:1:1)',
      '{"type":"progress","ts":1',
      '[1, 2, 3]',
      '"just a string"',
      '{"type":"heartbeat","ts":1761489054.1}',
      '{"no_type":true}',
      '',
      '   ',
      '\u0000\u0001\ufffd binary',
      'x'.repeat(100_000),
    ];
    const lines = [...sha.slice(0, 5), ...junk, ...sha.slice(5)];
    const r = await verify(lines);
    expect(r.verdict).toBe('intact');
    expect(r.input.noise).toMatchObject({ total: 7, non_json: 4, truncated: 1, not_object: 2, invalid_json: 0 });
    expect(r.input.unknown_types).toEqual({ heartbeat: 1, '(none)': 1 });
    expect(r.input.skipped.blank).toBe(2);
    expect(r.input.noise_samples[0]).toMatchObject({ line: 6, reason: 'non_json' });
  });

  it('time going backwards is counted as clock skew, not tampering', async () => {
    const lines = [...sha];
    const i = 1; // a progress line: not chained, so its ts can be anything
    const rec = parsed(lines[i] as string);
    lines[i] = JSON.stringify({ ...rec, ts: (rec.ts as number) + 3600 });
    const r = await verify(lines);
    expect(r.verdict).toBe('intact');
    expect(r.clock_skew.count).toBeGreaterThan(0);
    expect(r.clock_skew.max_backwards_seconds).toBeGreaterThan(3599);
  });

  it('a log without any chain is "no_chain", not intact', async () => {
    const plain = sha.map((l) =>
      JSON.stringify({ ...parsed(l), chain_id: undefined, seq: undefined, prev_hash: undefined }),
    );
    const r = await verify(plain);
    expect(r.verdict).toBe('no_chain');
    expect(r.unchained_lines).toBe(chained.length);
  });

  it('a log that starts mid-chain (rotated) is flagged, and accepted with --partial', async () => {
    const tail = sha.slice(chained[3]);
    const r = await verify(tail);
    expect(r.first_problem).toMatchObject({ kind: 'deleted', line: 1, seq: 4 });
    expect(r.first_problem?.message).toContain('rotated');
    expect((await verify(tail, { allowPartial: true })).verdict).toBe('intact');
    // The older part given first makes the whole chain again.
    expect((await verify([...sha.slice(0, chained[3]), ...tail])).verdict).toBe('intact');
  });
});

describe('verify: tampering is pinned to the first bad line', () => {
  const n = 6; // a chained line in the middle of the session

  it('a modified field: the modified line', async () => {
    const lines = [...sha];
    const i = chained[n] as number;
    const rec = parsed(lines[i] as string);
    lines[i] = JSON.stringify({ ...rec, alias: 'web9' });
    const r = await verify(lines);
    expect(r.verdict).toBe('tampered');
    expect(r.first_problem).toMatchObject({
      kind: 'modified',
      line: i + 1,
      seq: n + 1,
      detected_at: { line: lineOf(n + 1) },
    });
  });

  it('a one-character edit that keeps the JSON valid (exit code 0 → 1)', async () => {
    const k = chained.find((i) => /"type":"audit".*"exit_code":0/.test(sha[i] as string)) as number;
    const lines = [...sha];
    lines[k] = (lines[k] as string).replace('"exit_code":0', '"exit_code":1');
    const r = await verify(lines);
    expect(r.first_problem).toMatchObject({ kind: 'modified', line: k + 1 });
  });

  it('a deleted line: reported where the gap is, with the missing seq', async () => {
    const lines = [...sha];
    lines.splice(chained[n] as number, 1);
    const r = await verify(lines);
    expect(r.first_problem).toMatchObject({ kind: 'deleted', line: lineOf(n + 1) - 1, seq: n + 2 });
    expect(r.first_problem?.message).toContain(`seq ${n + 1}`);
  });

  it('several lines deleted at once', async () => {
    const lines = [...sha];
    lines.splice(chained[n] as number, (chained[n + 3] as number) - (chained[n] as number));
    const r = await verify(lines);
    expect(r.first_problem).toMatchObject({ kind: 'deleted', line: (chained[n] as number) + 1, seq: n + 4 });
    expect(r.first_problem?.message).toContain('3 chained line(s)');
  });

  it('an inserted copy of an earlier line (replay)', async () => {
    const lines = [...sha];
    const at = chained[n] as number;
    lines.splice(at, 0, sha[chained[2] as number] as string);
    const r = await verify(lines);
    expect(r.first_problem).toMatchObject({ kind: 'inserted', line: at + 1 });
  });

  it('an inserted forged line (another line with an edited field)', async () => {
    const lines = [...sha];
    const at = chained[n] as number;
    const forged = { ...parsed(sha[chained[n - 1] as number] as string), alias: 'db9' };
    lines.splice(at, 0, JSON.stringify(forged));
    const r = await verify(lines);
    expect(r.first_problem).toMatchObject({ kind: 'inserted', line: at + 1 });
  });

  it('an inserted line without chain fields', async () => {
    const lines = [...sha];
    const fake = { ...parsed(sha[chained[1] as number] as string) };
    delete fake.chain_id;
    delete fake.seq;
    delete fake.prev_hash;
    lines.splice(10, 0, JSON.stringify(fake));
    const r = await verify(lines);
    expect(r.first_problem).toMatchObject({ kind: 'unchained', line: 11 });
    expect((await verify(lines, { allowUnchained: true })).verdict).toBe('intact');
  });

  it('two chained lines swapped: the first one out of place', async () => {
    const lines = [...sha];
    const [a, b] = [chained[n] as number, chained[n + 1] as number];
    [lines[a], lines[b]] = [lines[b] as string, lines[a] as string];
    const r = await verify(lines);
    expect(r.first_problem).toMatchObject({ kind: 'reordered', line: a + 1, seq: n + 2 });
  });

  it('a line moved far later', async () => {
    const lines = [...sha];
    const [moved] = lines.splice(chained[n] as number, 1);
    lines.splice((chained[n + 8] as number) - 1, 0, moved as string);
    const r = await verify(lines);
    expect(r.first_problem?.kind).toBe('reordered');
    expect(r.first_problem?.line).toBe(lineOf(n + 1) - 1);
  });

  it('a line cut short (truncated): that line', async () => {
    const lines = [...sha];
    const i = chained[n] as number;
    lines[i] = (lines[i] as string).slice(0, 90);
    const r = await verify(lines);
    expect(r.first_problem).toMatchObject({ kind: 'truncated', line: i + 1 });
    expect(r.input.noise.truncated).toBe(1);
  });

  it('the file cut off in the middle of a chained line', async () => {
    const i = chained[chained.length - 3] as number;
    const text = sha.slice(0, i).join('\n') + '\n' + (sha[i] as string).slice(0, 150);
    const r = await verify([text]);
    expect(r.first_problem).toMatchObject({ kind: 'truncated', line: i + 1 });
  });

  it('seq, chain_id or prev_hash edited', async () => {
    const i = chained[n] as number;
    const edit = async (f: (rec: Record<string, unknown>) => void): Promise<VerifyReport> => {
      const lines = [...sha];
      const rec = parsed(lines[i] as string);
      f(rec);
      lines[i] = JSON.stringify(rec);
      return verify(lines);
    };
    expect((await edit((r) => (r.seq = 99))).first_problem).toMatchObject({ kind: 'modified', line: i + 1 });
    const chainId = await edit((r) => (r.chain_id = 'feedfacefeedface'));
    expect(chainId.first_problem).toMatchObject({ kind: 'modified', line: i + 1 });
    expect(chainId.first_problem?.message).toContain('chain_id altered');
    const prev = await edit((r) => (r.prev_hash = '0'.repeat(64)));
    expect(prev.first_problem).toMatchObject({ kind: 'modified', line: i + 1 });
    const bad = await edit((r) => (r.seq = 'seven'));
    expect(bad.first_problem).toMatchObject({ kind: 'modified', line: i + 1 });
  });

  it('the first line of a chain modified', async () => {
    const lines = [...sha];
    lines[0] = (lines[0] as string).replace('"web1"', '"web2"');
    const r = await verify(lines);
    expect(r.first_problem).toMatchObject({ kind: 'modified', line: 1 });
  });

  it('tampering in one of two interleaved chains names that chain and line; the other stays intact', async () => {
    const mixed: string[] = [];
    for (let i = 0; i < Math.max(sha.length, shaB.length); i++) {
      if (sha[i]) mixed.push(sha[i] as string);
      if (shaB[i]) mixed.push(shaB[i] as string);
    }
    const target = mixed.findIndex((l) => l === shaB[chainedIndexes(shaB)[5] as number]);
    mixed[target] = (mixed[target] as string)
      .replace('"allowed":false', '"allowed":true')
      .replace('"exit_code":', '"exit_code":7');
    const r = await verify(mixed);
    expect(r.first_problem).toMatchObject({
      kind: 'modified',
      line: target + 1,
      chain_id: parsed(shaB[0] as string).chain_id,
    });
    expect(r.chains.map((c) => c.status).sort()).toEqual(['intact', 'tampered']);
  });
});

describe('verify: container log formats', () => {
  it('Docker json-file lines are unwrapped; stdout (JSON-RPC) lines are skipped', async () => {
    const docker = sha.map((l) =>
      JSON.stringify({ log: `${l}\n`, stream: 'stderr', time: '2025-01-01T00:00:00.000000001Z' }),
    );
    docker.splice(3, 0, JSON.stringify({ log: '{"jsonrpc":"2.0","id":1,"result":{}}\n', stream: 'stdout', time: 'x' }));
    const r = await verify(docker);
    expect(r.verdict).toBe('intact');
    expect(r.input.skipped.stdout).toBe(1);
  });

  it('Docker splits long lines into partial records: joined again before hashing', async () => {
    const docker = sha.flatMap((l) => {
      const m = Math.floor(l.length / 3);
      return [l.slice(0, m), l.slice(m, 2 * m), `${l.slice(2 * m)}\n`].map((log) =>
        JSON.stringify({ log, stream: 'stderr', time: 't' }),
      );
    });
    const r = await verify(docker);
    expect(r.verdict).toBe('intact');
    expect(r.chained_lines).toBe(chained.length);
  });

  it('CRI (containerd, CRI-O) and docker logs --timestamps lines', async () => {
    const cri = sha.map((l) => `2025-01-01T00:00:00.123456789Z stderr F ${l}`);
    expect((await verify(cri)).verdict).toBe('intact');
    const stamped = sha.map((l) => `2025-01-01T00:00:00.123456789Z ${l}`);
    expect((await verify(stamped)).verdict).toBe('intact');
  });

  it('a tampered line inside a Docker log is still pinned to its physical line', async () => {
    const docker = sha.map((l) => JSON.stringify({ log: `${l}\n`, stream: 'stderr', time: 't' }));
    const i = chained[4] as number;
    docker[i] = JSON.stringify({
      log: `${(sha[i] as string).replace('"hash":"', '"hash":"0')}\n`,
      stream: 'stderr',
      time: 't',
    });
    expect((await verify(docker)).first_problem).toMatchObject({ kind: 'modified', line: i + 1 });
  });
});

describe('mcp-ssh-orchestrator verify (command)', () => {
  it('exit 0 for an intact file, with a human summary', async () => {
    const file = writeLog(sha);
    const r = await runCli(runVerifyCommand, [file]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('audit chain: INTACT');
    expect(r.stdout).toContain(`${chained.length} line(s), seq 1–${chained.length}`);
  });

  it('exit 1 and the first bad line for a tampered file; --json is the full report', async () => {
    const lines = [...sha];
    lines.splice(chained[3] as number, 1);
    const file = writeLog(lines);
    const r = await runCli(runVerifyCommand, [file, '--json']);
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout) as VerifyReport;
    // Reported on the line after the gap: the next chained line, one line earlier than before.
    expect(report.first_problem).toMatchObject({ kind: 'deleted', file, line: chained[4] as number });
  });

  it('reads stdin when no file is given, and several files as one stream (rotated logs, oldest first)', async () => {
    expect((await runCli(runVerifyCommand, [], { stdin: sha.join('\n') + '\n' })).code).toBe(0);
    const dir = tempDir();
    const cut = chained[10] as number;
    const older = writeLog(sha.slice(0, cut), 'audit.log.1', dir);
    const newer = writeLog(sha.slice(cut), 'audit.log', dir);
    expect((await runCli(runVerifyCommand, [older, newer])).code).toBe(0);
    const wrongOrder = await runCli(runVerifyCommand, [newer, older]);
    expect(wrongOrder.code).toBe(1);
    expect((await runCli(runVerifyCommand, [newer, '--partial'])).code).toBe(0);
  });

  it('reads .gz files', async () => {
    const dir = tempDir();
    const file = join(dir, 'audit.log.gz');
    writeFileSync(file, gzipSync(sha.join('\n') + '\n'));
    expect((await runCli(runVerifyCommand, [file])).code).toBe(0);
  });

  it('the HMAC key comes from --key-env NAME or MCP_SSH_AUDIT_CHAIN_KEY; a key that does not fit exits 2', async () => {
    const file = writeLog(hmac);
    expect((await runCli(runVerifyCommand, [file, '--key-env', 'K'], { env: { K: KEY } })).code).toBe(0);
    expect((await runCli(runVerifyCommand, [file], { env: { MCP_SSH_AUDIT_CHAIN_KEY: KEY } })).code).toBe(0);
    const none = await runCli(runVerifyCommand, [file]);
    expect(none.code).toBe(2);
    expect(none.stdout).toContain('UNVERIFIABLE');
  });

  it('usage and read errors exit 2 with one line on stderr', async () => {
    const missing = await runCli(runVerifyCommand, ['/nonexistent/audit.log']);
    expect(missing).toMatchObject({ code: 2, stdout: '' });
    expect(missing.stderr).toBe('mcp-ssh-orchestrator verify: /nonexistent/audit.log: no such file\n');
    const unset = await runCli(runVerifyCommand, ['--key-env', 'NOPE'], { stdin: '' });
    expect(unset.code).toBe(2);
    expect(unset.stderr).toContain('--key-env NOPE: the environment variable is not set');
    const bad = await runCli(runVerifyCommand, ['--bogus']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("Unknown option '--bogus'");
    const dir = await runCli(runVerifyCommand, [tempDir()]);
    expect(dir.code).toBe(2);
    expect((await runCli(runVerifyCommand, ['--help'])).stdout).toContain('Usage: mcp-ssh-orchestrator verify');
  });

  it('an empty log has no chain: exit 1', async () => {
    const r = await runCli(runVerifyCommand, [], { stdin: '' });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('NO CHAIN');
  });
});
