/**
 * The built server (dist/cli.js) spawned by hand, for tests that need what the SDK's stdio
 * transport hides: the raw stderr bytes (to prove no line was split or interleaved), pausing
 * the stderr reader (backpressure), signals and the exit status, and the process's RSS. The
 * official MCP SDK client still drives it, over a minimal Transport on the child's pipes.
 */
import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, readFileSync } from 'node:fs';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { ReadBuffer, serializeMessage } from '@modelcontextprotocol/sdk/shared/stdio.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { CallToolResult, JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { assertStderrIsJson } from '../../helpers/stderr-contract.js';
import { CLI_PATH } from '../../helpers/mcp-session.js';

class ChildStdioTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;
  private readonly buffer = new ReadBuffer();

  constructor(private readonly child: ChildProcessWithoutNullStreams) {}

  async start(): Promise<void> {
    this.child.stdout.on('data', (chunk: Buffer) => {
      this.buffer.append(chunk);
      for (let msg = this.buffer.readMessage(); msg !== null; msg = this.buffer.readMessage()) this.onmessage?.(msg);
    });
    this.child.once('close', () => this.onclose?.());
    this.child.stdin.on('error', (err) => this.onerror?.(err));
  }

  async send(message: JSONRPCMessage): Promise<void> {
    if (!this.child.stdin.writable) throw new Error('server stdin is closed');
    this.child.stdin.write(serializeMessage(message));
  }

  async close(): Promise<void> {
    this.child.stdin.end();
  }
}

export interface ServerProcess {
  client: Client;
  pid: number;
  /** All stderr bytes read so far, decoded (only complete reads; see `lines`). */
  stderr(): string;
  /** Every complete stderr line so far, parsed; throws on any line that is not one JSON object. */
  lines(): Record<string, unknown>[];
  /** Stop reading stderr: the OS pipe fills and the server's writes meet backpressure. */
  pauseStderr(): void;
  resumeStderr(): void;
  call(name: string, args?: Record<string, unknown>): Promise<CallToolResult>;
  waitForLine(pred: (l: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** Resolves with the exit status once the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** VmRSS of the server in KiB. */
  rssKiB(): number;
  /** CPU seconds the server has used (user + system, all threads): a cost measure load does not inflate. */
  cpuSeconds(): number;
  kill(signal?: NodeJS.Signals): void;
  close(): Promise<void>;
}

/** USER_HZ: Linux reports /proc times in 1/100 s on every platform Node runs on here. */
const CLOCK_TICKS = 100;

export function parseLines(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .slice(0, -1)
    .map((line, i) => {
      try {
        const value = JSON.parse(line) as unknown;
        if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error('not an object');
        return value as Record<string, unknown>;
      } catch (err) {
        throw new Error(`stderr line ${i + 1} is not one JSON object (${String(err)}): ${line.slice(0, 300)}`);
      }
    });
}

/**
 * Spawns dist/cli.js. With `stderr: 'fifo'` the server's stderr is a named pipe (what Docker's
 * json-file logging gives a container) with the kernel's 64 KiB pipe buffer, rather than the
 * socketpair Node's `spawn` creates, whose buffer is larger.
 */
export async function spawnServer(
  configDir: string,
  opts: { env?: Record<string, string>; args?: string[]; stderr?: 'pipe' | 'fifo' } = {},
): Promise<ServerProcess> {
  let stderrFd: number | undefined;
  let stderrStream: Readable;
  if (opts.stderr === 'fifo') {
    const fifo = join(mkdtempSync(join(tmpdir(), 'mcp-ssh-fifo-')), 'stderr');
    execFileSync('mkfifo', [fifo]);
    // The read end first, non-blocking, so opening the write end does not wait; once the
    // server (the only writer) exits, the reader sees end-of-file.
    const readFd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    stderrFd = openSync(fifo, 'w');
    stderrStream = new Socket({ fd: readFd, readable: true, writable: false });
  }
  const child = spawn(process.execPath, [CLI_PATH, '--config-dir', configDir, ...(opts.args ?? [])], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...opts.env },
    stdio: ['pipe', 'pipe', stderrFd ?? 'pipe'],
  }) as ChildProcessWithoutNullStreams;
  if (stderrFd !== undefined) closeSync(stderrFd);
  stderrStream ??= child.stderr;
  const stream = stderrStream;
  const chunks: Buffer[] = [];
  const waiters: Array<() => void> = [];
  stream.on('data', (d: Buffer) => {
    chunks.push(d);
    for (const w of waiters.splice(0)) w();
  });
  const streamEnded = new Promise<void>((resolve) => stream.once('close', () => resolve()));
  // Exited means the process is gone and every byte it wrote to stderr has been read.
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => void streamEnded.then(() => resolve({ code, signal }))),
  );
  const stderr = (): string => Buffer.concat(chunks).toString('utf8');
  const lines = (): Record<string, unknown>[] => parseLines(stderr());
  const client = new Client({ name: 'mcp-ssh-reliability', version: '1.0.0' });
  await client.connect(new ChildStdioTransport(child));
  const pid = child.pid as number;
  return {
    client,
    pid,
    stderr,
    lines,
    pauseStderr: () => stream.pause(),
    resumeStderr: () => stream.resume(),
    call: async (name, args = {}) =>
      (await client.callTool({ name, arguments: args }, undefined, { timeout: 120_000 })) as CallToolResult,
    waitForLine: async (pred, timeoutMs = 20_000) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const hit = lines().find(pred);
        if (hit) return hit;
        if (Date.now() > deadline) throw new Error(`no matching stderr line within ${timeoutMs} ms:\n${stderr()}`);
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 100);
        });
      }
    },
    exited,
    cpuSeconds: () => {
      // Fields after the parenthesised command: utime and stime are the 12th and 13th.
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
    },
    rssKiB: () => {
      const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (!m) throw new Error('no VmRSS');
      return Number(m[1]);
    },
    kill: (signal = 'SIGTERM') => {
      child.kill(signal);
    },
    close: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.stdin.end();
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
      assertStderrIsJson(stderr(), `server ${configDir}`);
    },
  };
}
