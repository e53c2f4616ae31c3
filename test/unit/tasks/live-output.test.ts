import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LiveOutput, MAX_LINE_CHARS, MAX_LIVE_LINES, type OutputLine } from '../../../src/tasks/live-output.js';

/** Joins the pieces of `continued` lines back, per stream: what a reader reconstructs. */
function rejoin(lines: OutputLine[], stream: 'stdout' | 'stderr'): string[] {
  const out: string[] = [];
  let carry = '';
  for (const l of lines.filter((x) => x.stream === stream)) {
    if (l.continued) carry += l.text;
    else {
      out.push(carry + l.text);
      carry = '';
    }
  }
  if (carry) out.push(carry);
  return out;
}

function all(live: LiveOutput): OutputLine[] {
  return live.since(0, Number.MAX_SAFE_INTEGER).lines;
}

describe('LiveOutput', () => {
  it('keeps a multi-byte character split across chunks whole', () => {
    const live = new LiveOutput(1 << 20);
    const bytes = Buffer.from('héllo → wörld 🚀\n', 'utf8');
    // Every byte its own chunk: each multi-byte character is split.
    for (const b of bytes) live.append('stdout', Buffer.from([b]));
    expect(all(live)).toEqual([{ stream: 'stdout', text: 'héllo → wörld 🚀' }]);
  });

  it('hands out a line longer than the cap in continued pieces, and the reader rejoins it', () => {
    const live = new LiveOutput(1 << 24);
    const long = 'x'.repeat(MAX_LINE_CHARS * 2 + 10);
    live.append('stdout', Buffer.from(`${long}\nshort\n`));
    const lines = all(live);
    expect(lines.map((l) => [l.text.length, l.continued ?? false])).toEqual([
      [MAX_LINE_CHARS, true],
      [MAX_LINE_CHARS, true],
      [10, false],
      [5, false],
    ]);
    expect(rejoin(lines, 'stdout')).toEqual([long, 'short']);
  });

  it('is linear in output without newlines: 16 MB in 64 KiB chunks stays fast', () => {
    const live = new LiveOutput(1 << 20);
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    const started = process.hrtime.bigint();
    for (let i = 0; i < 256; i++) live.append('stdout', chunk);
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    // The old code re-split the whole pending line per chunk: seconds for this. Generous bound.
    expect(ms).toBeLessThan(1500);
    // Kept within the character budget, the rest rolled off and counted.
    const { lines, dropped } = live.since(0, Number.MAX_SAFE_INTEGER);
    expect(lines.reduce((n, l) => n + l.text.length, 0)).toBeLessThanOrEqual(1 << 20);
    expect(dropped).toBeGreaterThan(0);
  });

  it('rolls off old lines past the line limit and keeps counting offsets', () => {
    const live = new LiveOutput(1 << 24);
    live.append('stdout', Buffer.from('a\n'.repeat(MAX_LIVE_LINES + 5)));
    const first = live.since(0, 10);
    expect(first.dropped).toBe(5);
    expect(first.next_offset).toBe(15);
    expect(live.since(MAX_LIVE_LINES + 4, 10)).toMatchObject({ next_offset: MAX_LIVE_LINES + 5, dropped: 0 });
  });

  it('stops where the reply budget says, but always gives one line', () => {
    const live = new LiveOutput(1 << 24);
    live.append('stdout', Buffer.from('aaaa\nbbbb\ncccc\n'));
    expect(live.since(0, 10, () => false).lines.map((l) => l.text)).toEqual(['aaaa']);
    let n = 0;
    expect(live.since(0, 10, () => ++n <= 2).next_offset).toBe(2);
  });

  it('shows the unfinished last line as partial once caught up, and as a line at the end', () => {
    const live = new LiveOutput(1 << 20);
    live.append('stderr', Buffer.from('done\nhalf'));
    expect(live.since(1, 10).partial).toEqual([{ stream: 'stderr', text: 'half' }]);
    live.end();
    expect(all(live).map((l) => l.text)).toEqual(['done', 'half']);
  });

  it('property: any chunking of any text gives the lines a whole-buffer split gives', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: fc.constantFrom('a', 'é', '🚀', '\n', '\n\n', 'z'.repeat(300)), maxLength: 400 }),
        fc.array(fc.nat(50), { maxLength: 30 }),
        (text, cuts) => {
          const bytes = Buffer.from(text, 'utf8');
          const live = new LiveOutput(1 << 30);
          let at = 0;
          for (const c of cuts) {
            live.append('stdout', bytes.subarray(at, at + c));
            at = Math.min(bytes.length, at + c);
          }
          live.append('stdout', bytes.subarray(at));
          live.end();
          const expected = text.split('\n');
          if (expected.at(-1) === '') expected.pop();
          expect(rejoin(all(live), 'stdout')).toEqual(expected);
        },
      ),
      { numRuns: 300 },
    );
  });
});
