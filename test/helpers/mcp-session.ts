/**
 * Spawns the built server (dist/cli.js) as a real process and drives it with the official
 * MCP SDK client over stdio, capturing every stderr line for assertions.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { ElicitRequestSchema, type CallToolResult, type ElicitResult } from '@modelcontextprotocol/sdk/types.js';
import { fileURLToPath } from 'node:url';
import type { Stream } from 'node:stream';
import { assertStderrIsJson } from './stderr-contract.js';

export const CLI_PATH = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

export interface McpSession {
  client: Client;
  /** Every stderr line so far, parsed (non-JSON lines are kept as { _raw }). */
  lines(): Record<string, unknown>[];
  rawStderr(): string;
  call(name: string, args?: Record<string, unknown>): Promise<CallToolResult>;
  close(): Promise<void>;
  /** Waits until a stderr line satisfies the predicate (bounded by timeoutMs). */
  waitForLine(pred: (l: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** Waits until at least `count` stderr lines satisfy the predicate and returns them all. */
  waitForLines(
    pred: (l: Record<string, unknown>) => boolean,
    count: number,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>[]>;
  pid: number | null;
  /** The protocol version the initialize handshake settled on (2025-11-25 against this server). */
  protocolVersion(): string | undefined;
}

export async function startSession(
  configDir: string,
  opts: {
    env?: Record<string, string>;
    args?: string[];
    /** Declares the elicitation capability and answers the server's elicitation/create requests. */
    onElicit?: (params: unknown) => ElicitResult | Promise<ElicitResult>;
  } = {},
): Promise<McpSession> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [CLI_PATH, '--config-dir', configDir, ...(opts.args ?? [])],
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...opts.env },
    stderr: 'pipe',
  });
  let stderr = '';
  const waiters: Array<() => void> = [];
  (transport.stderr as Stream | null)?.on('data', (d: Buffer) => {
    stderr += d.toString('utf8');
    for (const w of waiters.splice(0)) w();
  });
  let negotiated: string | undefined;
  // The 1.x client hands the negotiated version to a transport that can take it.
  (transport as { setProtocolVersion?: (v: string) => void }).setProtocolVersion = (v) => (negotiated = v);
  const client = new Client(
    { name: 'mcp-ssh-test', version: '1.0.0' },
    opts.onElicit ? { capabilities: { elicitation: {} } } : {},
  );
  if (opts.onElicit) {
    const answer = opts.onElicit;
    client.setRequestHandler(ElicitRequestSchema, (request) => answer(request.params));
  }
  await client.connect(transport);
  const lines = (): Record<string, unknown>[] =>
    stderr
      .split('\n')
      .filter((l) => l.length > 0)
      .map((l) => {
        try {
          return JSON.parse(l) as Record<string, unknown>;
        } catch {
          return { _raw: l };
        }
      });
  /** Polls `found` on each stderr chunk (and every 100 ms) until it returns a value. */
  const waitFor = async <T>(found: () => T | undefined, what: string, timeoutMs: number): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = found();
      if (hit !== undefined) return hit;
      if (Date.now() > deadline) throw new Error(`${what} within ${timeoutMs} ms; stderr:\n${stderr}`);
      await new Promise<void>((resolve) => {
        waiters.push(resolve);
        setTimeout(resolve, 100);
      });
    }
  };
  return {
    client,
    lines,
    rawStderr: () => stderr,
    pid: transport.pid,
    protocolVersion: () => negotiated,
    call: async (name, args = {}) => (await client.callTool({ name, arguments: args })) as CallToolResult,
    close: async () => {
      await client.close();
      assertStderrIsJson(stderr, `server ${configDir}`);
    },
    waitForLine: (pred, timeoutMs = 20_000) => waitFor(() => lines().find(pred), 'no matching stderr line', timeoutMs),
    waitForLines: (pred, count, timeoutMs = 20_000) =>
      waitFor(
        () => {
          const hits = lines().filter(pred);
          return hits.length >= count ? hits : undefined;
        },
        `fewer than ${count} matching stderr lines`,
        timeoutMs,
      ),
  };
}

export function textOf(result: CallToolResult): string {
  return result.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');
}
