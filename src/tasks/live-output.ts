/**
 * Live output of a running task, as lines a client can poll while the command runs.
 *
 * Linear in the bytes received, whatever their shape: each chunk is decoded once by a streaming
 * UTF-8 decoder (a character split across two chunks stays whole) and only the new text is
 * searched for newlines. A line longer than MAX_LINE_CHARS is handed out in pieces marked
 * `continued`, so 64 MB without a newline costs what 64 MB of short lines costs. Old lines roll
 * off once the kept lines pass a line count or a character budget; offsets keep counting.
 */
import { StringDecoder } from 'node:string_decoder';

export type OutputStream = 'stdout' | 'stderr';

export interface OutputLine {
  stream: OutputStream;
  text: string;
  /** Present when the line goes on in the next line of the same stream (it was longer than MAX_LINE_CHARS). */
  continued?: true;
}

/** The longest piece of one line kept as one entry. */
export const MAX_LINE_CHARS = 65_536;
/** Upper bound on lines kept; older lines roll off. */
export const MAX_LIVE_LINES = 10_000;

interface StreamState {
  decoder: StringDecoder;
  /** The unfinished last line, as pieces (joined only when it ends or reaches MAX_LINE_CHARS). */
  pending: string[];
  pendingChars: number;
}

export class LiveOutput {
  /** Kept lines live in lines[head…]; the front is compacted now and then, not shifted per line. */
  private lines: OutputLine[] = [];
  private head = 0;
  private keptChars = 0;
  private dropped = 0;
  private readonly streams: Record<OutputStream, StreamState> = {
    stdout: { decoder: new StringDecoder('utf8'), pending: [], pendingChars: 0 },
    stderr: { decoder: new StringDecoder('utf8'), pending: [], pendingChars: 0 },
  };

  /** @param maxChars how many characters of complete lines to keep (the task's max_output_bytes). */
  constructor(private readonly maxChars: number) {}

  append(stream: OutputStream, chunk: Buffer): void {
    this.take(stream, this.streams[stream].decoder.write(chunk));
  }

  /** Ends both streams: bytes of an unfinished character and the unfinished last lines become lines. */
  end(): void {
    for (const stream of ['stdout', 'stderr'] as const) {
      const state = this.streams[stream];
      this.take(stream, state.decoder.end());
      if (state.pendingChars > 0) this.flushPending(stream, false);
    }
  }

  /**
   * Complete lines from `offset` on (offsets count every line ever produced, so a client can
   * poll with the `next_offset` it got last time), at most `max`, and no more than `fits` accepts
   * (it sees each line in order, keeping its own tally, and says whether it still fits the reply). `partial` holds the unfinished
   * last line of each stream once the reader has caught up.
   */
  since(
    offset: number,
    max: number,
    fits: (line: OutputLine) => boolean = () => true,
  ): { lines: OutputLine[]; next_offset: number; dropped: number; partial: OutputLine[] } {
    const start = Math.max(offset, this.dropped);
    const index = this.head + (start - this.dropped);
    const lines: OutputLine[] = [];
    for (let i = index; i < this.lines.length && lines.length < max; i++) {
      const line = this.lines[i]!;
      // `fits` sees every line (it keeps a tally); the first goes out anyway, so a reader always progresses.
      if (!fits(line) && lines.length > 0) break;
      lines.push(line);
    }
    const caughtUp = index + lines.length >= this.lines.length;
    const partial: OutputLine[] = [];
    if (caughtUp) {
      for (const stream of ['stdout', 'stderr'] as const) {
        const text = this.streams[stream].pending.join('');
        const line: OutputLine = { stream, text };
        if (text !== '' && fits(line)) partial.push(line);
      }
    }
    return { lines, next_offset: start + lines.length, dropped: start - offset, partial };
  }

  private take(stream: OutputStream, text: string): void {
    if (text === '') return;
    const state = this.streams[stream];
    let from = 0;
    for (;;) {
      const nl = text.indexOf('\n', from);
      const end = nl === -1 ? text.length : nl;
      // Whatever room is left in the current line, in pieces of at most MAX_LINE_CHARS.
      while (end - from >= MAX_LINE_CHARS - state.pendingChars) {
        const room = MAX_LINE_CHARS - state.pendingChars;
        state.pending.push(text.slice(from, from + room));
        state.pendingChars += room;
        from += room;
        // A piece that reaches the newline exactly is the line itself, not a continued one.
        if (nl !== -1 && from === nl) break;
        this.flushPending(stream, true);
      }
      if (nl === -1) {
        if (from < text.length) {
          state.pending.push(text.slice(from));
          state.pendingChars += text.length - from;
        }
        return;
      }
      if (from < nl) {
        state.pending.push(text.slice(from, nl));
        state.pendingChars += nl - from;
      }
      this.flushPending(stream, false);
      from = nl + 1;
    }
  }

  private flushPending(stream: OutputStream, continued: boolean): void {
    const state = this.streams[stream];
    const text = state.pending.length === 1 ? state.pending[0]! : state.pending.join('');
    state.pending = [];
    state.pendingChars = 0;
    this.push(continued ? { stream, text, continued: true } : { stream, text });
  }

  private push(line: OutputLine): void {
    this.lines.push(line);
    this.keptChars += line.text.length;
    while (
      this.lines.length - this.head > 1 &&
      (this.lines.length - this.head > MAX_LIVE_LINES || this.keptChars > this.maxChars)
    ) {
      this.keptChars -= this.lines[this.head]!.text.length;
      this.lines[this.head] = undefined as unknown as OutputLine;
      this.head++;
      this.dropped++;
    }
    if (this.head > 1024 && this.head * 2 > this.lines.length) {
      this.lines = this.lines.slice(this.head);
      this.head = 0;
    }
  }
}
