/**
 * A command's captured output as it goes into a tool reply: text as text, binary as base64, and
 * never more than a reply can carry.
 *
 * The official SDK client refuses a message over 10 MiB and disconnects, so every reply is
 * bounded by its *encoded* size (JSON escaping inflates control characters sixfold, and text
 * output is sent twice: in the text content and in structuredContent). What does not fit is
 * said in `output_window`, with the byte offsets that read on through ssh_get_task_result.
 */
import { isUtf8 } from 'node:buffer';
import type { CapturedOutput } from '../tasks/registry.js';

/** The most one reply spends on command output, both copies counted; well under the client's 10 MiB. */
export const REPLY_OUTPUT_BUDGET_BYTES = 4 * 1024 * 1024;

export type OutputEncoding = 'utf8' | 'base64';
type Stream = 'stdout' | 'stderr';

export interface StreamWindow {
  /** Byte offset of the first byte in the reply. */
  offset: number;
  /** Bytes of output in the reply. */
  bytes: number;
  /** Bytes kept for the stream (at most max_output_bytes). */
  kept: number;
  /** Where to read on, or null when the reply reaches the end of what was kept. */
  next_offset: number | null;
}

export interface OutputReply {
  stdout: string;
  stderr: string;
  stdout_encoding: OutputEncoding;
  stderr_encoding: OutputEncoding;
  /** Present when the reply holds less than everything kept (cut to fit, or read from an offset). */
  output_window?: { stdout: StreamWindow; stderr: StreamWindow; read_more?: string };
}

const encodings = new WeakMap<Buffer, OutputEncoding>();

/**
 * base64 for output that is not text: a NUL byte, or bytes that are not UTF-8 (an incomplete
 * character at the very end, where max_output_bytes may have cut one, does not count).
 */
export function encodingOf(bytes: Buffer): OutputEncoding {
  let known = encodings.get(bytes);
  if (known === undefined) {
    known = bytes.includes(0) || !isUtf8(bytes.subarray(0, completeUtf8Length(bytes))) ? 'base64' : 'utf8';
    encodings.set(bytes, known);
  }
  return known;
}

/** The length of `bytes` without a trailing incomplete UTF-8 sequence. */
function completeUtf8Length(bytes: Buffer): number {
  let i = bytes.length - 1;
  while (i >= 0 && i >= bytes.length - 4 && isContinuation(bytes[i]!)) i--;
  if (i < 0) return bytes.length;
  const lead = bytes[i]!;
  const need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
  return i + need <= bytes.length ? bytes.length : i;
}

function isContinuation(byte: number): boolean {
  return (byte & 0xc0) === 0x80;
}

/** Moves `at` back to the start of the character it falls in (never below `floor`). */
function charBoundary(bytes: Buffer, at: number, floor: number): number {
  while (at > floor && at < bytes.length && isContinuation(bytes[at]!)) at--;
  return at;
}

/** The offset just past the character starting at `at`. */
function nextChar(bytes: Buffer, at: number): number {
  let end = at + 1;
  while (end < bytes.length && isContinuation(bytes[end]!)) end++;
  return end;
}

/** Bytes a string takes inside a JSON message. */
export function encodedSize(text: string): number {
  return Buffer.byteLength(JSON.stringify(text));
}

interface Cut {
  text: string;
  window: StreamWindow;
  /** Encoded bytes this stream costs the reply, every copy counted. */
  cost: number;
}

/** How many copies of a stream a reply carries: text twice (text content + structured), base64 once. */
const copies = (encoding: OutputEncoding): number => (encoding === 'utf8' ? 2 : 1);

/** The longest run of `bytes` from `offset` whose encoding, in every copy, fits `allowance`. */
function cut(bytes: Buffer, encoding: OutputEncoding, offset: number, allowance: number): Cut {
  let start = Math.min(Math.max(0, offset), bytes.length);
  if (encoding === 'utf8') while (start < bytes.length && isContinuation(bytes[start]!)) start++;
  const perCopy = Math.max(0, Math.floor(allowance / copies(encoding)));
  const render = (end: number): string =>
    encoding === 'base64' ? bytes.toString('base64', start, end) : bytes.toString('utf8', start, end);
  const align = (end: number): number =>
    encoding === 'base64'
      ? end === bytes.length
        ? end
        : start + Math.floor((end - start) / 3) * 3
      : charBoundary(bytes, end, start);
  // Encoded text is never shorter than its bytes (base64: 4 per 3), so this first guess is an upper bound.
  let end = align(Math.min(bytes.length, start + (encoding === 'base64' ? Math.floor((perCopy * 3) / 4) : perCopy)));
  let text = render(end);
  let size = encodedSize(text);
  while (size > perCopy && end > start) {
    const shrunk = align(start + Math.floor((end - start) * (perCopy / size) * 0.98));
    end = Math.min(shrunk, end - 1);
    if (encoding === 'utf8') end = charBoundary(bytes, end, start);
    text = render(end);
    size = encodedSize(text);
  }
  if (end === start && start < bytes.length) {
    // Never an empty window before the end: one character (or 3 bytes) over budget beats a reader stuck at an offset.
    end = encoding === 'base64' ? Math.min(bytes.length, start + 3) : nextChar(bytes, start);
    text = render(end);
    size = encodedSize(text);
  }
  return {
    text,
    cost: size * copies(encoding),
    window: { offset: start, bytes: end - start, kept: bytes.length, next_offset: end < bytes.length ? end : null },
  };
}

/**
 * The captured output as it goes into one reply, within `budget` encoded bytes, from the given
 * byte offsets. Shared fairly: stderr (usually short) first with half, stdout with the rest,
 * then stderr again with whatever stdout left.
 */
export function outputReply(
  taskId: string,
  captured: CapturedOutput,
  opts: { budget?: number; stdoutOffset?: number; stderrOffset?: number } = {},
): OutputReply {
  const budget = opts.budget ?? REPLY_OUTPUT_BUDGET_BYTES;
  const enc = { stdout: encodingOf(captured.stdout), stderr: encodingOf(captured.stderr) };
  const at = { stdout: opts.stdoutOffset ?? 0, stderr: opts.stderrOffset ?? 0 };
  const of = (stream: Stream, allowance: number): Cut => cut(captured[stream], enc[stream], at[stream], allowance);
  let err = of('stderr', budget / 2);
  const out = of('stdout', budget - err.cost);
  if (err.window.next_offset !== null) err = of('stderr', budget - out.cost);
  const reply: OutputReply = {
    stdout: out.text,
    stderr: err.text,
    stdout_encoding: enc.stdout,
    stderr_encoding: enc.stderr,
  };
  const whole = (w: StreamWindow): boolean => w.offset === 0 && w.next_offset === null;
  if (!whole(out.window) || !whole(err.window)) {
    const more = out.window.next_offset !== null || err.window.next_offset !== null;
    // Both offsets: a stream already read in full is asked for from its end (nothing again).
    const from = (w: StreamWindow): number => w.next_offset ?? w.kept;
    reply.output_window = {
      stdout: out.window,
      stderr: err.window,
      ...(more
        ? {
            read_more: `ssh_get_task_result {"task_id":"${taskId}","stdout_offset":${from(out.window)},"stderr_offset":${from(err.window)}}`,
          }
        : {}),
    };
  }
  return reply;
}
