import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { AuditChain, chainDigest, genesisDigest } from '../../src/telemetry/audit-chain.js';
import { TelemetryBus } from '../../src/telemetry/bus.js';
import { StderrSink } from '../../src/telemetry/stderr-sink.js';

async function chainedLines(key?: string): Promise<string[]> {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (d: Buffer) => (text += d.toString()));
  const sink = new StderrSink(stream);
  const bus = new TelemetryBus([sink], new AuditChain(key));
  bus.emit({ type: 'policy_decision', alias: 'web1', hash: '7063dece7ccc', allowed: true });
  bus.emit({ type: 'progress', task_id: 'task_0', phase: 'connecting', bytes_read: 0, elapsed_ms: 0 });
  bus.emit({
    type: 'audit',
    alias: 'web1',
    hash: '7063dece7ccc',
    exit_code: 0,
    duration_ms: 5,
    bytes_out: 1,
    bytes_err: 0,
    cancelled: false,
    timeout: false,
    target_ip: '127.0.0.1',
  });
  bus.emit({ type: 'security_event', event_type: 'host_key_mismatch', alias: 'web2' });
  await sink.close();
  return text.trim().split('\n');
}

describe('tamper-evident audit chain', () => {
  it('links each chained line to the exact text of the previous one, skipping other lines', async () => {
    const lines = await chainedLines();
    const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const chained = parsed.map((p, i) => ({ p, raw: lines[i]! })).filter(({ p }) => p.seq !== undefined);
    expect(chained.map(({ p }) => p.type)).toEqual(['policy_decision', 'audit', 'security_event']);
    expect(parsed.find((p) => p.type === 'progress')?.seq).toBeUndefined();
    const chainId = chained[0]!.p.chain_id as string;
    expect(chainId).toMatch(/^[0-9a-f]{16}$/);
    expect(chained[0]!.p.prev_hash).toBe(genesisDigest(chainId));
    for (let i = 1; i < chained.length; i++) {
      expect(chained[i]!.p.seq).toBe(i + 1);
      expect(chained[i]!.p.prev_hash).toBe(chainDigest(chained[i - 1]!.raw));
    }
  });

  it('with a key, the digests are HMACs that a plain SHA-256 cannot reproduce', async () => {
    const lines = await chainedLines('s3cret');
    const [first, , second] = lines.map((l) => JSON.parse(l) as Record<string, string>);
    expect(second!.prev_hash).toBe(chainDigest(lines[0]!, 's3cret'));
    expect(second!.prev_hash).not.toBe(chainDigest(lines[0]!));
    expect(first!.prev_hash).toBe(genesisDigest(first!.chain_id!, 's3cret'));
  });
});
