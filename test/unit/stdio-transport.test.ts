import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { AuditFirstStdioTransport, type TransportProblem } from '../../src/server/stdio-transport.js';

function harness(maxRequestBytes = 1024) {
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  const received: JSONRPCMessage[] = [];
  const replies: Record<string, unknown>[] = [];
  const reports: { problem: TransportProblem; message: string }[] = [];
  let out = '';
  stdout.on('data', (d: Buffer) => {
    out += d.toString('utf8');
    const lines = out.split('\n');
    out = lines.pop()!;
    for (const l of lines) replies.push(JSON.parse(l) as Record<string, unknown>);
  });
  const transport = new AuditFirstStdioTransport(
    () => undefined,
    (problem, message) => reports.push({ problem, message }),
    stdin,
    stdout,
    maxRequestBytes,
  );
  transport.onmessage = (m) => received.push(m);
  return { stdin, transport, received, replies, reports };
}

const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 10));
const ping = (id: number): string => `${JSON.stringify({ jsonrpc: '2.0', id, method: 'ping' })}\n`;

describe('AuditFirstStdioTransport framing', () => {
  it('reads messages split across chunks and several in one chunk', async () => {
    const h = harness();
    await h.transport.start();
    const two = ping(1) + ping(2);
    h.stdin.write(two.slice(0, 7));
    h.stdin.write(two.slice(7, 40));
    h.stdin.write(two.slice(40));
    await settle();
    expect(h.received.map((m) => (m as { id: number }).id)).toEqual([1, 2]);
    expect(h.reports).toEqual([]);
  });

  it('answers an oversized request with an error carrying its id, reports it, and serves the next one', async () => {
    const h = harness(1024);
    await h.transport.start();
    // The SDK client writes id last: found from the line's end.
    const huge = `${JSON.stringify({ method: 'tools/call', params: { x: 'y'.repeat(5000) }, jsonrpc: '2.0', id: 7 })}\n`;
    for (let i = 0; i < huge.length; i += 300) h.stdin.write(huge.slice(i, i + 300));
    h.stdin.write(ping(8));
    await settle();
    expect(h.replies[0]).toMatchObject({ jsonrpc: '2.0', id: 7, error: { code: -32600 } });
    expect((h.replies[0]!.error as { message: string }).message).toMatch(
      /request of \d+ bytes exceeds the 1024-byte limit/,
    );
    expect(h.reports.map((r) => r.problem)).toEqual(['request_too_large']);
    expect(h.received.map((m) => (m as { id: number }).id)).toEqual([8]);
  });

  it('finds the id at the start too, and answers id null when none is readable', async () => {
    const h = harness(256);
    await h.transport.start();
    h.stdin.write(`{"jsonrpc":"2.0","id":"abc","method":"x","params":{"p":"${'z'.repeat(400)}"}}\n`);
    h.stdin.write(`{"params":{"p":"${'z'.repeat(400)}","id":3}}\n`);
    await settle();
    expect(h.replies.map((r) => r.id)).toEqual(['abc', null]);
  });

  it('answers a line that is not JSON with a parse error, and JSON that is not JSON-RPC with invalid request', async () => {
    const h = harness();
    await h.transport.start();
    h.stdin.write('not json\n{"id":4,"hello":1}\n\n' + ping(5));
    await settle();
    expect(h.replies).toEqual([
      expect.objectContaining({ id: null, error: expect.objectContaining({ code: -32700 }) }),
      expect.objectContaining({ id: 4, error: expect.objectContaining({ code: -32600 }) }),
    ]);
    expect(h.reports.map((r) => r.problem)).toEqual(['request_invalid', 'request_invalid']);
    expect(h.received.map((m) => (m as { id: number }).id)).toEqual([5]);
  });

  it('is linear in the size of a line: 64 MiB without a newline is skipped, not concatenated', async () => {
    const h = harness(1024 * 1024);
    await h.transport.start();
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    const started = process.hrtime.bigint();
    for (let i = 0; i < 1024; i++) h.stdin.write(chunk);
    h.stdin.write('\n' + ping(1));
    await settle();
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    expect(h.reports.map((r) => r.problem)).toEqual(['request_too_large']);
    expect(h.received).toHaveLength(1);
    expect(ms).toBeLessThan(5000);
  });

  it('gives a 2025-era resources/read its revision’s -32002 for resource-not-found; a 2026-07-28 one keeps -32602', async () => {
    const h = harness();
    await h.transport.start();
    const read = (id: number, meta?: Record<string, unknown>) =>
      `${JSON.stringify({ jsonrpc: '2.0', id, method: 'resources/read', params: { uri: 'ssh://host/x', ...(meta ? { _meta: meta } : {}) } })}\n`;
    h.stdin.write(read(1) + read(2, { 'io.modelcontextprotocol/protocolVersion': '2026-07-28' }) + read(3));
    await settle();
    const notFound = (id: number) =>
      ({
        jsonrpc: '2.0',
        id,
        error: { code: -32602, message: 'no such host', data: { uri: 'ssh://host/x' } },
      }) as JSONRPCMessage;
    await h.transport.send(notFound(1));
    await h.transport.send(notFound(2));
    // Another -32602 (a bad parameter, no uri) is left alone.
    await h.transport.send({ jsonrpc: '2.0', id: 3, error: { code: -32602, message: 'bad uri' } } as JSONRPCMessage);
    await settle();
    expect(h.replies.map((r) => [r.id, (r.error as { code: number }).code])).toEqual([
      [1, -32002],
      [2, -32602],
      [3, -32602],
    ]);
  });
});
