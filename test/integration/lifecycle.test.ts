/**
 * The server as a process: --help/--version, exit status 2 on a broken config, reload that
 * keeps the last good config, stdout carrying nothing but JSON-RPC, clean shutdown.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeFleet, type Fleet } from '../helpers/fleet.js';
import { CLI_PATH, startSession, textOf } from '../helpers/mcp-session.js';
import { startSshd, type TestSshd } from '../helpers/sshd.js';

function runCli(
  args: string[],
  env: Record<string, string> = {},
): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI_PATH, ...args], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '', ...env },
    input: '',
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The server spawned bare and initialised with hand-written JSON-RPC, to see exactly what it writes. */
function rawSession(configDir: string): {
  proc: ChildProcessWithoutNullStreams;
  send: (msg: object) => void;
  stdout: () => string;
  stderr: () => string;
} {
  const proc = spawn(process.execPath, [CLI_PATH, '--config-dir', configDir], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const send = (msg: object): void => void proc.stdin.write(JSON.stringify(msg) + '\n');
  send({
    jsonrpc: '2.0',
    id: 1,
    method: 'initialize',
    params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '0' } },
  });
  send({ jsonrpc: '2.0', method: 'notifications/initialized' });
  return { proc, send, stdout: () => stdout, stderr: () => stderr };
}

describe('server process lifecycle', () => {
  let sshd: TestSshd;
  let fleet: Fleet;

  beforeAll(async () => {
    sshd = await startSshd();
    fleet = makeFleet([sshd], [{ alias: 'web1', sshd, tags: ['web'] }]);
  });
  afterAll(async () => {
    await sshd?.stop();
  });

  it('--help explains usage and --version prints the package version', () => {
    const help = runCli(['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('--config-dir');
    expect(help.stdout).toContain('MCP_SSH_CONFIG_DIR');
    const version = runCli(['--version']);
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(version.stdout.trim()).toBe(pkg.version);
  });

  it.each([
    ['serve', 'Usage: mcp-ssh-orchestrator [serve]'],
    ['init', 'Usage: mcp-ssh-orchestrator init [DIR]'],
    ['check', 'Usage: mcp-ssh-orchestrator check'],
    ['demo', 'Usage: mcp-ssh-orchestrator demo'],
  ])('%s --help explains that command, not the global usage', (command, first) => {
    const help = runCli([command, '--help']);
    expect(help.status).toBe(0);
    expect(help.stdout.split('\n')[0]).toContain(first);
    expect(help.stdout).not.toContain('Example client config');
  });

  it('exits 2 on an invalid config with a JSON line naming file, line and field', () => {
    const broken = makeFleet([sshd], [{ alias: 'web1', sshd }]);
    writeFileSync(
      join(broken.configDir, 'servers.yml'),
      'hosts:\n  - alias: web1\n    host: 127.0.0.1\n    port: 99999\n',
    );
    const r = runCli(['--config-dir', broken.configDir]);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    const lines = r.stderr
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 'error', msg: 'config_invalid', type: 'error' });
    expect(lines[0]?.issues).toEqual([
      expect.objectContaining({ file: 'servers.yml', line: 4, path: 'hosts[0].port' }),
    ]);
  });

  it('check reports a healthy config with exit 0, a broken one with exit 2 naming the problem', () => {
    const ok = runCli(['check', '--config-dir', fleet.configDir]);
    expect(ok.status, ok.stdout + ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/^config ok: 1 hosts, \d+ credentials, \d+ rules/);
    const broken = makeFleet([sshd], [{ alias: 'web1', sshd }]);
    writeFileSync(join(broken.configDir, 'policy.yml'), 'rules:\n  - action: maybe\n    commands: ["x"]\n');
    const bad = runCli(['check', '--config-dir', broken.configDir]);
    expect(bad.status).toBe(2);
    expect(bad.stdout).toMatch(/policy\.yml:2:\d+ rules\[0\]\.action/);
    const noMetrics = runCli(['check', '--config-dir', fleet.configDir, '--metrics-addr', '127.0.0.1:1']);
    expect(noMetrics.status).toBe(2);
    expect(noMetrics.stdout).toContain('metrics unreachable at http://127.0.0.1:1/metrics');
  });

  it('exits 2 with a usage error for an unknown option', () => {
    const r = runCli(['--no-such-flag']);
    expect(r.status).toBe(2);
    expect(JSON.parse(r.stderr.trim())).toMatchObject({ msg: 'usage_error' });
  });

  it('keeps the running config when a reload finds a broken file, and takes the fixed one', async () => {
    const f = makeFleet([sshd], [{ alias: 'web1', sshd, tags: ['web'] }]);
    const s = await startSession(f.configDir);
    try {
      const serversPath = join(f.configDir, 'servers.yml');
      const good = readFileSync(serversPath, 'utf8');
      writeFileSync(serversPath, good + 'extra_key: 1\n');
      const bad = await s.call('ssh_reload_config');
      expect(bad.isError).toBe(true);
      expect(textOf(bad)).toMatch(/config NOT reloaded; generation 1 stays in force/);
      expect(textOf(bad)).toMatch(/servers\.yml:\d+.*extra_key/);
      // The old config still serves commands.
      const r = await s.call('ssh_run', { alias: 'web1', command: 'echo still' });
      expect(r.structuredContent).toMatchObject({ stdout: 'still\n' });
      // A garbled file is never taken as an empty fleet.
      writeFileSync(serversPath, 'hosts:\n  - alias: web1\n    host: [unclosed\n');
      expect((await s.call('ssh_reload_config')).isError).toBe(true);
      expect((await s.call('ssh_ping')).structuredContent).toMatchObject({ hosts: 1, config_generation: 1 });
      writeFileSync(serversPath, good.replace('web1', 'web9'));
      const ok = await s.call('ssh_reload_config');
      expect(ok.structuredContent).toMatchObject({ reloaded: true, generation: 2, hosts: 1 });
      const gone = await s.call('ssh_run', { alias: 'web1', command: 'echo x' });
      expect(gone.isError).toBe(true);
      expect(textOf(gone)).toContain('unknown host alias "web1"');
      expect((await s.call('ssh_run', { alias: 'web9', command: 'echo new' })).structuredContent).toMatchObject({
        stdout: 'new\n',
      });
    } finally {
      await s.close();
    }
  });

  it('writes nothing but JSON-RPC on stdout and only JSON lines on stderr', async () => {
    const { proc, send, stdout, stderr } = rawSession(fleet.configDir);
    send({
      jsonrpc: '2.0',
      id: 2,
      method: 'tools/call',
      params: { name: 'ssh_run', arguments: { alias: 'web1', command: 'echo raw' } },
    });
    send({
      jsonrpc: '2.0',
      id: 3,
      method: 'tools/call',
      params: { name: 'ssh_run', arguments: { alias: 'web1', command: 'rm -rf /' } },
    });
    for (let i = 0; i < 200 && stdout().split('\n').filter(Boolean).length < 3; i++)
      await new Promise((r) => setTimeout(r, 50));
    proc.stdin.end();
    const code = await new Promise<number | null>((resolve) => proc.once('exit', resolve));
    expect(code).toBe(0);
    const out = stdout()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { jsonrpc: string; id?: number });
    // Responses may come in any order (a denial returns before a running command does).
    expect(out.map((m) => m.id).sort()).toEqual([1, 2, 3]);
    expect(out.every((m) => m.jsonrpc === '2.0')).toBe(true);
    const err = stderr().split('\n').filter(Boolean);
    expect(err.length).toBeGreaterThan(3);
    for (const l of err) expect(() => JSON.parse(l), l).not.toThrow();
  });

  it('on SIGTERM cancels running tasks, writes their audit lines and exits 0', async () => {
    const { proc, send, stderr } = rawSession(fleet.configDir);
    send({
      jsonrpc: '2.0',
      id: 2,
      method: 'tools/call',
      params: { name: 'ssh_run_async', arguments: { alias: 'web1', command: 'sleep 30' } },
    });
    for (let i = 0; i < 200 && !stderr().includes('"phase":"connected"'); i++)
      await new Promise((r) => setTimeout(r, 50));
    proc.kill('SIGTERM');
    const code = await new Promise<number | null>((resolve) => proc.once('exit', resolve));
    expect(code).toBe(0);
    const lines = stderr()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toContainEqual(expect.objectContaining({ type: 'audit', alias: 'web1', cancelled: true }));
  });
});
