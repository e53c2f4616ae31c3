import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodingOf, outputReply, type OutputReply } from '../../src/server/command-output.js';
import { renderCommandResult } from '../../src/server/render.js';
import type { TaskResult } from '../../src/tasks/registry.js';

const empty = Buffer.alloc(0);
const TASK = 'task_0123456789abcdef';

/** What a reply costs on the wire: the structured fields plus the text rendering, both JSON-encoded. */
function wireBytes(reply: OutputReply): number {
  const result = { task_id: TASK, alias: 'web1' } as unknown as TaskResult;
  return Buffer.byteLength(JSON.stringify({ structured: reply, text: renderCommandResult(result, reply) }));
}

/** Reads a stream to its end by following next_offset, as a client would. */
function readAll(stream: 'stdout' | 'stderr', bytes: Buffer, budget: number): Buffer {
  const parts: Buffer[] = [];
  let offset = 0;
  for (let calls = 0; calls < 10_000; calls++) {
    const captured = stream === 'stdout' ? { stdout: bytes, stderr: empty } : { stdout: empty, stderr: bytes };
    const reply = outputReply(TASK, captured, { budget, [`${stream}Offset`]: offset });
    parts.push(Buffer.from(reply[stream], reply[`${stream}_encoding`] === 'base64' ? 'base64' : 'utf8'));
    const next = reply.output_window?.[stream].next_offset ?? null;
    if (next === null) return Buffer.concat(parts);
    expect(next).toBeGreaterThan(offset);
    offset = next;
  }
  throw new Error('never reached the end');
}

describe('encodingOf', () => {
  it('text stays utf8, NULs and non-UTF-8 bytes become base64, a character cut at the end does not count', () => {
    expect(encodingOf(Buffer.from('héllo\n\x1b[1mbold\x1b[0m\ttab'))).toBe('utf8');
    expect(encodingOf(Buffer.alloc(1024))).toBe('base64');
    expect(encodingOf(Buffer.from([0x61, 0xff, 0x62]))).toBe('base64');
    expect(encodingOf(Buffer.from('ok 🚀', 'utf8').subarray(0, 5))).toBe('utf8');
  });
});

describe('outputReply', () => {
  it('sends everything, with no window, when it fits', () => {
    const reply = outputReply(TASK, { stdout: Buffer.from('hi\n'), stderr: Buffer.from('warn') });
    expect(reply).toEqual({ stdout: 'hi\n', stderr: 'warn', stdout_encoding: 'utf8', stderr_encoding: 'utf8' });
  });

  it('1 MiB of NULs goes out as base64 once, not as escaped NULs twice', () => {
    const reply = outputReply(TASK, { stdout: Buffer.alloc(1 << 20), stderr: empty });
    expect(reply.stdout_encoding).toBe('base64');
    expect(Buffer.from(reply.stdout, 'base64').equals(Buffer.alloc(1 << 20))).toBe(true);
    expect(wireBytes(reply)).toBeLessThan(1.5 * (1 << 20));
  });

  it('cuts control-character-heavy text to the budget, counting the escaping, and says where to read on', () => {
    const bytes = Buffer.alloc(2 << 20, 0x01); // valid UTF-8, each byte \u0001 in JSON: 6x
    const budget = 1 << 20;
    const reply = outputReply(TASK, { stdout: bytes, stderr: empty }, { budget });
    expect(reply.stdout_encoding).toBe('utf8');
    expect(wireBytes(reply)).toBeLessThan(budget + 4096);
    const window = reply.output_window!;
    expect(window.stdout.offset).toBe(0);
    expect(window.stdout.bytes).toBe(reply.stdout.length);
    expect(window.stdout.next_offset).toBe(window.stdout.bytes);
    expect(window.read_more).toContain(`"stdout_offset":${window.stdout.bytes}`);
  });

  it('shares the budget: a short stderr stays whole next to a huge stdout', () => {
    const reply = outputReply(
      TASK,
      { stdout: Buffer.alloc(8 << 20, 0x61), stderr: Buffer.from('oops') },
      { budget: 1 << 20 },
    );
    expect(reply.stderr).toBe('oops');
    expect(reply.output_window!.stderr.next_offset).toBeNull();
    expect(reply.output_window!.read_more).toContain('"stderr_offset":4');
  });

  it('property: any output, any budget — each reply fits, and following next_offset reads back every byte', () => {
    const piece = fc.oneof(
      fc.constantFrom('a', 'é', '€', '🚀', '\n', '\u0001', '"', '\\').map((s) => Buffer.from(s, 'utf8')),
      fc.uint8Array({ minLength: 1, maxLength: 8 }).map((a) => Buffer.from(a)),
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 300 }), fc.integer({ min: 1, max: 2048 }), (pieces, budget) => {
        const bytes = Buffer.concat(pieces);
        const back = readAll('stdout', bytes, budget);
        if (encodingOf(bytes) === 'base64') expect(back.equals(bytes)).toBe(true);
        else expect(back.toString('utf8')).toEqual(bytes.toString('utf8'));
        const reply = outputReply(TASK, { stdout: bytes, stderr: empty }, { budget });
        // Over budget only by the one character that guarantees progress (at most \uXXXX plus quotes, twice).
        expect(
          Buffer.byteLength(JSON.stringify(reply.stdout)) * (reply.stdout_encoding === 'utf8' ? 2 : 1),
        ).toBeLessThanOrEqual(Math.max(budget, 16));
      }),
      { numRuns: 300 },
    );
  });
});
