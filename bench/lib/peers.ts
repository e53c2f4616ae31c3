/**
 * The things benchmarks measure, each against the same local OpenSSH sshd: this server
 * (dist/cli.js driven by the MCP SDK client over stdio), raw ssh2 on a warm connection, the
 * OpenSSH client multiplexed over a ControlMaster, and the ssh-mcp npm package.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { Stream } from 'node:stream';
import ssh2 from 'ssh2';
import { textOf } from '../../test/helpers/mcp-session.js';
import type { TestSshd } from '../../test/helpers/sshd.js';

export interface Runner {
  name: string;
  pid: number | null;
  /** Runs `command` and resolves with its stdout (rejects when it did not run cleanly). */
  exec(command: string): Promise<string>;
  close(): Promise<void>;
}

export const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

/** Counts of this server's stderr lines by `type`, and any line that was not one JSON object. */
export interface StderrTally {
  bytes: number;
  byType: Record<string, number>;
  invalid: string[];
  /** The last lines, for diagnosing a server that died. */
  tail: string[];
  /** Per task: wall-clock ms of the client's send and receive, and of the server's lines by type/phase. */
  timeline: Map<string, Record<string, number>>;
}

/** Wall-clock milliseconds with sub-millisecond precision, comparable across processes. */
export function wallMs(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * This server over stdio (dist/cli.js), driven by the MCP SDK client; `alias` is the host
 * every exec targets. stderr is read as it comes and tallied.
 */
export async function startOurs(
  configDir: string,
  alias: string,
  opts: { env?: Record<string, string>; args?: string[]; name?: string; nodeArgs?: string[] } = {},
): Promise<Runner & { client: Client; tally: StderrTally }> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [...(opts.nodeArgs ?? []), CLI, '--config-dir', configDir, ...(opts.args ?? [])],
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...opts.env },
    stderr: 'pipe',
  });
  const tally: StderrTally = { bytes: 0, byType: {}, invalid: [], tail: [], timeline: new Map() };
  let partial = '';
  (transport.stderr as Stream | null)?.on('data', (d: Buffer) => {
    tally.bytes += d.length;
    const parts = (partial + d.toString('utf8')).split('\n');
    partial = parts.pop() ?? '';
    for (const line of parts) {
      tally.tail.push(line);
      if (tally.tail.length > 20) tally.tail.shift();
      try {
        const parsed = JSON.parse(line) as { type?: unknown; task_id?: unknown; phase?: unknown; ts?: unknown };
        const type = String(parsed.type);
        tally.byType[type] = (tally.byType[type] ?? 0) + 1;
        if (typeof parsed.task_id === 'string' && typeof parsed.ts === 'number') {
          const marks = tally.timeline.get(parsed.task_id) ?? {};
          const key = type === 'progress' ? String(parsed.phase) : type;
          marks[key] ??= parsed.ts * 1000;
          tally.timeline.set(parsed.task_id, marks);
        }
      } catch {
        tally.invalid.push(line);
      }
    }
  });
  const client = new Client({ name: 'bench', version: '1.0.0' });
  await client.connect(transport);
  return {
    name: opts.name ?? 'mcp-ssh-orchestrator (ssh_run)',
    pid: transport.pid,
    client,
    tally,
    exec: async (command) => {
      let result: CallToolResult;
      const sent = wallMs();
      try {
        result = (await client.callTool({ name: 'ssh_run', arguments: { alias, command } })) as CallToolResult;
      } catch (err) {
        throw new Error(`${opts.name ?? 'ours'}: ${String(err)}; stderr tail:\n${tally.tail.join('\n')}`);
      }
      const received = wallMs();
      const sc = result.structuredContent as { stdout?: string; exit_code?: number; task_id?: string } | undefined;
      if (result.isError || sc?.exit_code !== 0) throw new Error(`ssh_run failed: ${textOf(result)}`);
      if (sc.task_id) {
        const marks = tally.timeline.get(sc.task_id) ?? {};
        Object.assign(marks, { sent, received });
        tally.timeline.set(sc.task_id, marks);
      }
      return sc.stdout ?? '';
    },
    close: () => client.close(),
  };
}

/** Raw ssh2: one connection opened up front, one exec channel per command. */
export async function startRawSsh2(sshd: TestSshd, opts: { noDelay?: boolean } = {}): Promise<Runner> {
  const client = new ssh2.Client();
  await new Promise<void>((resolve, reject) => {
    client.once('ready', () => resolve());
    client.once('error', reject);
    client.connect({
      host: sshd.address,
      port: sshd.port,
      username: sshd.username,
      privateKey: readFileSync(sshd.userKeys.ed25519),
      // The handshake is outside the timed path; only exec round trips are measured.
      hostVerifier: () => true,
    });
  });
  // ssh2's default leaves Nagle's algorithm on; this server sets TCP_NODELAY on its sockets.
  if (opts.noDelay) client.setNoDelay(true);
  return {
    name: opts.noDelay ? 'raw ssh2 exec, TCP_NODELAY (warm)' : 'raw ssh2 exec (warm connection)',
    pid: process.pid,
    exec: (command) =>
      new Promise<string>((resolve, reject) => {
        client.exec(command, (err, channel) => {
          if (err) return reject(err);
          let out = '';
          let code: number | null = null;
          channel.on('data', (d: Buffer) => (out += d.toString('utf8')));
          channel.stderr.on('data', () => undefined);
          channel.on('exit', (c: number | null) => (code = c));
          channel.on('close', () => (code === 0 ? resolve(out) : reject(new Error(`exit ${String(code)}`))));
        });
      }),
    close: async () => {
      client.end();
    },
  };
}

/** The OpenSSH client, one `ssh` process per command, multiplexed over a persistent master. */
export async function startOpenSshControlMaster(sshd: TestSshd): Promise<Runner> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-cm-'));
  const knownHosts = join(dir, 'known_hosts');
  writeFileSync(knownHosts, sshd.knownHostsLine + '\n');
  const controlPath = join(dir, 'cm');
  const base = [
    '-F',
    '/dev/null',
    '-i',
    sshd.userKeys.ed25519,
    '-p',
    String(sshd.port),
    '-o',
    `UserKnownHostsFile=${knownHosts}`,
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    'BatchMode=yes',
    '-o',
    'IdentitiesOnly=yes',
    '-o',
    `ControlPath=${controlPath}`,
    '-o',
    'LogLevel=ERROR',
  ];
  const target = `${sshd.username}@${sshd.address}`;
  const sshOnce = (extra: string[], command?: string): Promise<string> =>
    new Promise((resolve, reject) => {
      const child = spawn('ssh', [...base, ...extra, target, ...(command ? [command] : [])], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
      child.stderr.on('data', (d: Buffer) => (err += d.toString('utf8')));
      child.once('error', reject);
      child.once('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`ssh exit ${code}: ${err}`))));
    });
  // Start the master in the background (-f -N) and wait until it accepts clients.
  await sshOnce(['-o', 'ControlMaster=yes', '-o', 'ControlPersist=300', '-f', '-N']);
  await sshOnce(['-O', 'check']);
  return {
    name: 'OpenSSH ssh + ControlMaster',
    pid: null,
    exec: (command) => sshOnce(['-o', 'ControlMaster=no'], command),
    close: async () => {
      await sshOnce(['-O', 'exit']).catch(() => undefined);
    },
  };
}

const require = createRequire(import.meta.url);

/** Path of the ssh-mcp package's stdio server (its `bin`). */
export function sshMcpEntry(): string {
  const pkgJson = require.resolve('ssh-mcp/package.json');
  const pkg = JSON.parse(readFileSync(pkgJson, 'utf8')) as { version: string; bin: Record<string, string> };
  return join(dirname(pkgJson), pkg.bin['ssh-mcp'] ?? 'build/index.js');
}

export function sshMcpVersion(): string {
  return (JSON.parse(readFileSync(require.resolve('ssh-mcp/package.json'), 'utf8')) as { version: string }).version;
}

/**
 * ssh-mcp (2.11) via its documented quick start: `--host --port --user --key`, group `dev`,
 * `--disableApproval` (approvalPolicy auto, so `run-command` needs no human), TOFU host keys.
 * Its audit log goes to $XDG_DATA_HOME/ssh-mcp/audit.log in a scratch home.
 */
export async function startSshMcp(sshd: TestSshd): Promise<Runner> {
  const home = mkdtempSync(join(tmpdir(), 'bench-sshmcp-'));
  for (const d of ['config', 'data']) mkdirSync(join(home, d), { recursive: true, mode: 0o700 });
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [
      sshMcpEntry(),
      '--host=127.0.0.1',
      `--port=${sshd.port}`,
      `--user=${sshd.username}`,
      `--key=${sshd.userKeys.ed25519}`,
      '--group=dev',
      '--disableApproval',
    ],
    env: {
      PATH: process.env.PATH ?? '',
      HOME: home,
      XDG_CONFIG_HOME: join(home, 'config'),
      XDG_DATA_HOME: join(home, 'data'),
    },
    stderr: 'pipe',
  });
  let stderr = '';
  (transport.stderr as Stream | null)?.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
  const client = new Client({ name: 'bench', version: '1.0.0' });
  await client.connect(transport);
  return {
    name: `ssh-mcp ${sshMcpVersion()} (run-command)`,
    pid: transport.pid,
    exec: async (command) => {
      const r = (await client.callTool({ name: 'run-command', arguments: { command } })) as CallToolResult;
      const text = textOf(r);
      if (r.isError) throw new Error(`ssh-mcp run-command failed: ${text}\nstderr: ${stderr}`);
      return text;
    },
    close: () => client.close(),
  };
}
