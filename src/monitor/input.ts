/**
 * Reading audit logs for verify, report and watch: files (plain or .gz) or stdin, split into
 * lines without losing a byte of the text the orchestrator wrote (the audit chain hashes the
 * exact line), container log wrappers taken off transparently, and every line classified as
 * an event, noise (reported and counted) or something to skip. Nothing here throws on bad
 * input: a log is evidence, and a monitor that crashes on one odd line hides the rest.
 */
import { createReadStream } from 'node:fs';
import { access, constants } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { createGunzip } from 'node:zlib';
import { EVENT_SCHEMAS, type EventType } from '../telemetry/events.js';

/** Where a line came from: file name (`-` for stdin) and 1-based physical line number. */
export interface LineRef {
  file: string;
  line: number;
}

export function formatRef(ref: LineRef): string {
  return `${ref.file}:${ref.line}`;
}

/** One physical line of input, without its line terminator. */
export interface RawLine {
  ref: LineRef;
  text: string;
  /** The input ended without a newline after this line (a cut-off write, or a file still being written). */
  unterminated?: boolean;
}

export type NoiseReason =
  /** Starts like a JSON object but ends early: a cut-off line. */
  | 'truncated'
  /** Looks like JSON but does not parse. */
  | 'invalid_json'
  /** Not JSON at all (a stack trace, a shell message, binary junk). */
  | 'non_json'
  /** Valid JSON that is not an object (a number, a string, an array). */
  | 'not_object';

export type SkipReason =
  /** Empty or whitespace-only line. */
  | 'blank'
  /** A container log line from stdout: MCP JSON-RPC, not the audit stream. */
  | 'stdout'
  /** A JSON-RPC message (stdout and stderr captured together). */
  | 'jsonrpc'
  /** Part of a container log line split in several records; counted once it is whole. */
  | 'partial';

export type ParsedLine =
  | {
      kind: 'event';
      ref: LineRef;
      /** Global position in the input (0-based), across files. */
      pos: number;
      /** The stderr line exactly as the orchestrator wrote it (container wrappers removed). */
      text: string;
      record: Record<string, unknown>;
      /** `type` of the line, when it is a string. */
      type: string | undefined;
    }
  | { kind: 'noise'; ref: LineRef; pos: number; text: string; reason: NoiseReason }
  | { kind: 'skip'; ref: LineRef; pos: number; reason: SkipReason };

export const KNOWN_TYPES: ReadonlySet<string> = new Set(Object.keys(EVENT_SCHEMAS));

export function isKnownType(type: string | undefined): type is EventType {
  return type !== undefined && KNOWN_TYPES.has(type);
}

/** Splits a byte stream into lines (`\n`, with a trailing `\r` removed), decoding UTF-8 safely across chunks. */
export async function* splitLines(stream: AsyncIterable<Buffer | string>, file: string): AsyncGenerator<RawLine> {
  const decoder = new StringDecoder('utf8');
  let carry = '';
  let line = 0;
  const strip = (s: string): string => (s.endsWith('\r') ? s.slice(0, -1) : s);
  for await (const chunk of stream) {
    const text = carry + (typeof chunk === 'string' ? chunk : decoder.write(chunk));
    let start = 0;
    for (let nl = text.indexOf('\n', start); nl !== -1; nl = text.indexOf('\n', start)) {
      line++;
      yield { ref: { file, line }, text: strip(text.slice(start, nl)) };
      start = nl + 1;
    }
    carry = text.slice(start);
  }
  carry += decoder.end();
  if (carry !== '') {
    line++;
    yield { ref: { file, line }, text: strip(carry), unterminated: true };
  }
}

/** An input the commands read: a file path, or `-` for stdin. */
export type InputName = string;

/** Fails with a readable message when a file cannot be read, before any output is produced. */
export async function checkReadable(files: InputName[]): Promise<void> {
  for (const f of files) {
    if (f === '-') continue;
    try {
      await access(f, constants.R_OK);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new InputError(
        code === 'ENOENT' ? `${f}: no such file` : `${f}: cannot read (${code ?? (err as Error).message})`,
      );
    }
  }
}

export class InputError extends Error {
  override readonly name = 'InputError';
}

function openInput(name: InputName, stdin: Readable, start = 0): AsyncIterable<Buffer | string> {
  if (name === '-') return stdin;
  const file = createReadStream(name, { start });
  if (!name.endsWith('.gz')) return file;
  const gunzip = createGunzip();
  file.on('error', (err) => gunzip.destroy(err));
  return file.pipe(gunzip);
}

/** Every physical line of the inputs in order (stdin when the list is empty). */
export async function* readInputs(names: InputName[], stdin: Readable): AsyncGenerator<RawLine> {
  const list = names.length === 0 ? ['-'] : names;
  for (const name of list) {
    try {
      yield* splitLines(openInput(name, stdin), name);
    } catch (err) {
      throw new InputError(`${name}: ${(err as Error).message}`);
    }
  }
}

export async function* fromStrings(
  lines: AsyncIterable<string> | Iterable<string>,
  file = '<input>',
): AsyncGenerator<RawLine> {
  let line = 0;
  for await (const text of lines as AsyncIterable<string>) {
    // An element may hold several lines (a whole log as one string); each is numbered.
    const parts = text.split('\n');
    if (parts.length > 1 && parts[parts.length - 1] === '') parts.pop();
    for (const part of parts) {
      line++;
      yield { ref: { file, line }, text: part.endsWith('\r') ? part.slice(0, -1) : part };
    }
  }
}

const TRUNCATED_START = /^\s*\{/;
const CRI_LINE = /^(\d{4}-\d\d-\d\dT\S+) (stdout|stderr) ([FP]) (.*)$/s;
const TIMESTAMPED_LINE = /^\d{4}-\d\d-\d\dT[\d:.]+(?:Z|[+-]\d\d:?\d\d) (\{.*)$/s;

function classifyBad(text: string): NoiseReason {
  if (!TRUNCATED_START.test(text)) return text.trimStart().startsWith('[') ? 'invalid_json' : 'non_json';
  return text.trimEnd().endsWith('}') ? 'invalid_json' : 'truncated';
}

/**
 * Classifies lines. Container wrappers are taken off transparently: Docker's json-file
 * driver (`{"log":"...\n","stream":"stderr","time":...}`, long lines split into several
 * records without the trailing newline), the CRI format of containerd and CRI-O
 * (`TIME stderr F text`, `P` for a partial record) and `docker logs --timestamps`
 * (`TIME {json}`).
 */
export async function* parseLines(raw: AsyncIterable<RawLine> | Iterable<RawLine>): AsyncGenerator<ParsedLine> {
  let pos = 0;
  /** Pieces of a container line split in several records, per stream. */
  const partial = new Map<string, { ref: LineRef; text: string }>();
  for await (const { ref, text, unterminated } of raw) {
    const here = pos++;
    let inner = text;
    let innerRef = ref;
    const trimmed = text.trim();
    if (trimmed === '') {
      yield { kind: 'skip', ref, pos: here, reason: 'blank' };
      continue;
    }
    // Container wrappers.
    let stream: string | undefined;
    let complete = true;
    if (text.startsWith('{"log":')) {
      const rec = tryParse(text);
      if (isObject(rec) && typeof rec.log === 'string' && typeof rec.stream === 'string') {
        stream = rec.stream;
        complete = rec.log.endsWith('\n');
        inner = complete ? rec.log.slice(0, -1) : rec.log;
      }
    } else {
      const cri = CRI_LINE.exec(text);
      if (cri) {
        stream = cri[2];
        complete = cri[3] === 'F';
        inner = cri[4] ?? '';
      } else {
        const stamped = TIMESTAMPED_LINE.exec(text);
        if (stamped) inner = stamped[1] ?? '';
      }
    }
    if (stream !== undefined) {
      const pending = partial.get(stream);
      if (!complete) {
        partial.set(stream, { ref: pending?.ref ?? ref, text: (pending?.text ?? '') + inner });
        yield { kind: 'skip', ref, pos: here, reason: 'partial' };
        continue;
      }
      if (pending) {
        inner = pending.text + inner;
        innerRef = pending.ref;
        partial.delete(stream);
      }
      if (inner.endsWith('\r')) inner = inner.slice(0, -1);
      if (stream === 'stdout') {
        yield { kind: 'skip', ref: innerRef, pos: here, reason: 'stdout' };
        continue;
      }
      if (inner.trim() === '') {
        yield { kind: 'skip', ref: innerRef, pos: here, reason: 'blank' };
        continue;
      }
    }
    yield classify(inner, innerRef, here, unterminated === true && stream === undefined);
  }
  // A container line whose last part never came: what there is of it is a cut-off line.
  for (const { ref, text } of partial.values()) {
    yield classify(text, ref, pos++, true);
  }
}

function classify(text: string, ref: LineRef, pos: number, unterminated: boolean): ParsedLine {
  const rec = tryParse(text);
  if (rec === undefined) {
    const reason = classifyBad(text);
    return { kind: 'noise', ref, pos, text, reason: unterminated && reason === 'invalid_json' ? 'truncated' : reason };
  }
  if (!isObject(rec)) return { kind: 'noise', ref, pos, text, reason: 'not_object' };
  if (rec.jsonrpc === '2.0') return { kind: 'skip', ref, pos, reason: 'jsonrpc' };
  return { kind: 'event', ref, pos, text, record: rec, type: typeof rec.type === 'string' ? rec.type : undefined };
}

function tryParse(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Counts of what was not an event, by reason: part of every command's output. */
export interface InputStats {
  /** Physical lines read. */
  lines: number;
  /** Lines that are orchestrator events (JSON objects). */
  events: number;
  noise: Record<NoiseReason, number> & { total: number };
  skipped: Record<SkipReason, number> & { total: number };
  /** Event lines whose `type` is not one the orchestrator emits, by type (`(none)` when missing). */
  unknown_types: Record<string, number>;
  /** First few noise lines, for the reader to look at. */
  noise_samples: Array<{ file: string; line: number; reason: NoiseReason; text: string }>;
}

export function emptyStats(): InputStats {
  return {
    lines: 0,
    events: 0,
    noise: { total: 0, truncated: 0, invalid_json: 0, non_json: 0, not_object: 0 },
    skipped: { total: 0, blank: 0, stdout: 0, jsonrpc: 0, partial: 0 },
    unknown_types: {},
    noise_samples: [],
  };
}

const MAX_SAMPLES = 5;
const MAX_SAMPLE_TEXT = 160;

export function countLine(stats: InputStats, p: ParsedLine): void {
  stats.lines++;
  switch (p.kind) {
    case 'event':
      stats.events++;
      if (!isKnownType(p.type)) {
        const key = p.type ?? '(none)';
        stats.unknown_types[key] = (stats.unknown_types[key] ?? 0) + 1;
      }
      return;
    case 'noise':
      stats.noise.total++;
      stats.noise[p.reason]++;
      if (stats.noise_samples.length < MAX_SAMPLES) {
        stats.noise_samples.push({
          ...p.ref,
          reason: p.reason,
          text: p.text.length > MAX_SAMPLE_TEXT ? `${p.text.slice(0, MAX_SAMPLE_TEXT)}…` : p.text,
        });
      }
      return;
    case 'skip':
      stats.skipped.total++;
      stats.skipped[p.reason]++;
      return;
  }
}

export function unknownTypeCount(stats: InputStats): number {
  return Object.values(stats.unknown_types).reduce((a, b) => a + b, 0);
}

/** Tracks `ts` going backwards (clock skew, merged logs, edited lines). */
export class SkewTracker {
  count = 0;
  maxBackwardsSeconds = 0;
  first: LineRef | undefined;
  private last: number | undefined;

  /** Returns true when `ts` is earlier than the latest one seen. */
  observe(ts: unknown, ref: LineRef): boolean {
    if (typeof ts !== 'number' || !Number.isFinite(ts)) return false;
    if (this.last !== undefined && ts < this.last) {
      this.count++;
      this.maxBackwardsSeconds = Math.max(this.maxBackwardsSeconds, this.last - ts);
      this.first ??= ref;
      return true;
    }
    this.last = ts;
    return false;
  }

  toJSON(): { count: number; max_backwards_seconds: number; first?: LineRef } {
    return {
      count: this.count,
      max_backwards_seconds: Math.round(this.maxBackwardsSeconds * 1e6) / 1e6,
      ...(this.first ? { first: this.first } : {}),
    };
  }
}
