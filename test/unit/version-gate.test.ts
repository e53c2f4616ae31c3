import type { JSONRPCMessage, Transport } from '@modelcontextprotocol/server';
import { describe, expect, it } from 'vitest';
import { MODERN_PROTOCOL_VERSIONS, VersionGatedTransport } from '../../src/server/version-gate.js';

function fakeTransport(): Transport & { sent: JSONRPCMessage[] } {
  const sent: JSONRPCMessage[] = [];
  return {
    sent,
    start: () => Promise.resolve(),
    close: () => Promise.resolve(),
    send: (m) => {
      sent.push(m);
      return Promise.resolve();
    },
  };
}

const request = (version: string | undefined, id: number | null = 1): JSONRPCMessage =>
  ({
    jsonrpc: '2.0',
    ...(id === null ? {} : { id }),
    method: 'tools/list',
    params: version === undefined ? {} : { _meta: { 'io.modelcontextprotocol/protocolVersion': version } },
  }) as JSONRPCMessage;

describe('VersionGatedTransport', () => {
  it('answers a request naming an unknown version with -32022 and the supported versions, and does not deliver it', () => {
    const inner = fakeTransport();
    const refused: string[] = [];
    const gate = new VersionGatedTransport(inner, (v) => refused.push(v));
    const delivered: JSONRPCMessage[] = [];
    gate.onmessage = (m) => delivered.push(m);
    inner.onmessage?.(request('1900-01-01', 7));
    expect(delivered).toEqual([]);
    expect(refused).toEqual(['1900-01-01']);
    expect(inner.sent).toEqual([
      {
        jsonrpc: '2.0',
        id: 7,
        error: {
          code: -32022,
          message: 'Unsupported protocol version: 1900-01-01',
          data: { supported: [...MODERN_PROTOCOL_VERSIONS], requested: '1900-01-01' },
        },
      },
    ]);
  });

  it('passes 2026-07-28 requests, 2025-era messages without an envelope, and notifications', () => {
    const inner = fakeTransport();
    const gate = new VersionGatedTransport(inner);
    const delivered: JSONRPCMessage[] = [];
    gate.onmessage = (m) => delivered.push(m);
    inner.onmessage?.(request('2026-07-28'));
    inner.onmessage?.(request(undefined));
    inner.onmessage?.(request('1900-01-01', null));
    expect(delivered).toHaveLength(3);
    expect(inner.sent).toEqual([]);
  });
});
