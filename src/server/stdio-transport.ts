/**
 * MCP over stdio, framed by this server rather than the SDK's StdioServerTransport, for three
 * guarantees that one lacks:
 * - the audit trail goes first: before any message leaves on stdout, the telemetry lines held
 *   back for batching are written, so a client never holds a result whose audit line is still
 *   waiting in this process;
 * - one reply at a time: the SDK waits for `drain` per write, so concurrent large replies piled
 *   up one listener each on stdout (MaxListenersExceededWarning at eleven);
 * - a bad message costs only itself: a line that is not JSON-RPC, or longer than the limit, is
 *   answered with a JSON-RPC error and reported as a JSON line, and serving goes on (the SDK's
 *   transport closed itself on an oversized message, and the server exited without a word).
 * Framing is linear: bytes are searched for a newline once, and kept only up to the limit.
 *
 * Both protocol eras ride it unchanged: the SDK's `serveStdio` entry takes it as its transport
 * and decides the era from the opening message (see docs/mcp-protocol-eras.md).
 */
import { parseJSONRPCMessage, type JSONRPCMessage, type Transport } from '@modelcontextprotocol/server';
import type { Readable, Writable } from 'node:stream';

/** The largest request accepted: far above any real one (a command is at most 16 KiB). */
export const MAX_REQUEST_BYTES = 4 * 1024 * 1024;

/** The request `_meta` key that marks a 2026-07-28 request (its absence: a 2025-era client). */
const MODERN_VERSION_KEY = 'io.modelcontextprotocol/protocolVersion';
/** 2025-11-25's code for a resource that does not exist. */
const LEGACY_RESOURCE_NOT_FOUND = -32002;

/** JSON-RPC 2.0 error codes. */
const PARSE_ERROR = -32700;
const INVALID_REQUEST = -32600;

/** How much of each end of an oversized line is kept to find its id in (SDK clients write `id` last). */
const ID_SCAN_BYTES = 4096;

export type TransportProblem = 'request_too_large' | 'request_invalid';

export class AuditFirstStdioTransport implements Transport {
  onmessage?: (message: JSONRPCMessage) => void;
  onerror?: (error: Error) => void;
  onclose?: () => void;

  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Set while the rest of an oversized line is skipped: its first and last bytes, its size so far. */
  private oversized?: { head: Buffer; tail: Buffer; bytes: number };
  /** Ids of resources/read requests from 2025-era clients, until answered. */
  private readonly legacyReads = new Set<string | number>();
  /** The previous reply's write, finished (or failed). */
  private tail: Promise<void> = Promise.resolve();
  private readonly onData = (chunk: Buffer): void => this.take(chunk);
  private readonly onStdinError = (error: Error): void => this.onerror?.(error);

  constructor(
    private readonly flushTelemetry: () => void,
    private readonly report: (problem: TransportProblem, message: string) => void,
    private readonly stdin: Readable = process.stdin,
    // The MCP transport is what stdout is for.
    // eslint-disable-next-line no-restricted-properties
    private readonly stdout: Writable = process.stdout,
    private readonly maxRequestBytes = MAX_REQUEST_BYTES,
  ) {}

  start(): Promise<void> {
    this.stdin.on('data', this.onData);
    this.stdin.on('error', this.onStdinError);
    return Promise.resolve();
  }

  send(message: JSONRPCMessage, _options?: unknown): Promise<void> {
    this.flushTelemetry();
    const out = this.legacyCode(message);
    const sent = this.tail.then(() => this.write(`${JSON.stringify(out)}\n`));
    this.tail = sent.catch(() => undefined);
    return sent;
  }

  close(): Promise<void> {
    this.stdin.off('data', this.onData);
    this.stdin.off('error', this.onStdinError);
    if (this.stdin.listenerCount('data') === 0) this.stdin.pause();
    this.pending = [];
    this.onclose?.();
    return Promise.resolve();
  }

  private write(json: string): Promise<void> {
    return new Promise((resolve) => {
      if (this.stdout.write(json)) resolve();
      else this.stdout.once('drain', resolve);
    });
  }

  private take(chunk: Buffer): void {
    let from = 0;
    while (from < chunk.length) {
      const nl = chunk.indexOf(0x0a, from);
      const end = nl === -1 ? chunk.length : nl;
      const piece = chunk.subarray(from, end);
      if (this.oversized) {
        this.oversized.bytes += piece.length;
        this.oversized.tail = lastBytes(Buffer.concat([this.oversized.tail, lastBytes(piece)]));
      } else if (this.pendingBytes + piece.length > this.maxRequestBytes) {
        const all = Buffer.concat([...this.pending, piece]);
        this.oversized = {
          head: Buffer.from(all.subarray(0, ID_SCAN_BYTES)),
          tail: Buffer.from(lastBytes(all)),
          bytes: all.length,
        };
        this.pending = [];
        this.pendingBytes = 0;
      } else if (piece.length > 0) {
        this.pending.push(piece);
        this.pendingBytes += piece.length;
      }
      if (nl === -1) return;
      from = nl + 1;
      this.endOfLine();
    }
  }

  private endOfLine(): void {
    if (this.oversized) {
      const { head, tail, bytes } = this.oversized;
      this.oversized = undefined;
      this.refuseOversized(head, tail, bytes);
      return;
    }
    const line = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending);
    this.pending = [];
    this.pendingBytes = 0;
    const text = line.toString('utf8').replace(/\r$/, '');
    if (text.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      this.refuse(PARSE_ERROR, null, 'request_invalid', `a line on stdin is not JSON (${(err as Error).message})`);
      return;
    }
    let message: JSONRPCMessage;
    try {
      message = parseJSONRPCMessage(value);
    } catch {
      this.refuse(
        INVALID_REQUEST,
        idOf(value),
        'request_invalid',
        'a line on stdin is JSON but not a JSON-RPC 2.0 message (jsonrpc "2.0" with a method, or a result or error with an id)',
      );
      return;
    }
    this.noteLegacyRead(message);
    this.onmessage?.(message);
  }

  /**
   * 2025-11-25 names "resource not found" -32002; SDK v2 answers -32602 (2026-07-28's code) on
   * every revision. Requests of a 2025-era client keep their revision's code: remembered here,
   * rewritten in send().
   */
  private noteLegacyRead(message: JSONRPCMessage): void {
    if (!('method' in message) || message.method !== 'resources/read' || !('id' in message)) return;
    const meta = (message.params as { _meta?: Record<string, unknown> } | undefined)?._meta;
    if (meta?.[MODERN_VERSION_KEY] === undefined) this.legacyReads.add(message.id);
  }

  private legacyCode(message: JSONRPCMessage): JSONRPCMessage {
    if (!('id' in message) || message.id === undefined || !this.legacyReads.delete(message.id)) return message;
    if (!('error' in message)) return message;
    const { error } = message;
    const data = error.data as { uri?: unknown } | undefined;
    if (error.code !== -32602 || typeof data?.uri !== 'string') return message;
    return { ...message, error: { ...error, code: LEGACY_RESOURCE_NOT_FOUND } };
  }

  private refuseOversized(head: Buffer, tail: Buffer, bytes: number): void {
    const message =
      `a request of ${bytes} bytes exceeds the ${this.maxRequestBytes}-byte limit and was not read; ` +
      'the server goes on serving — send smaller requests (a command is at most 16 KiB)';
    const id = idAtStart(head.toString('utf8')) ?? idAtEnd(tail.toString('utf8'));
    this.refuse(INVALID_REQUEST, id, 'request_too_large', message);
  }

  /** Answers (a request with a readable id, or with id null as JSON-RPC says) and reports it. */
  private refuse(code: number, id: string | number | null, problem: TransportProblem, message: string): void {
    this.report(problem, message);
    void this.send({ jsonrpc: '2.0', id, error: { code, message } } as unknown as JSONRPCMessage);
  }
}

function idOf(value: unknown): string | number | null {
  if (value === null || typeof value !== 'object') return null;
  const id = (value as { id?: unknown }).id;
  return typeof id === 'string' || typeof id === 'number' ? id : null;
}

function lastBytes(bytes: Buffer): Buffer {
  return bytes.length > ID_SCAN_BYTES ? bytes.subarray(bytes.length - ID_SCAN_BYTES) : bytes;
}

const ID_VALUE = String.raw`(-?\d{1,15}|"[^"\\]{0,200}")`;
/** `{"jsonrpc":"2.0","id":…` — the id as the first member (after jsonrpc or method). */
const ID_FIRST = new RegExp(
  String.raw`^\s*\{(?:\s*"(?:jsonrpc|method)"\s*:\s*"[^"\\]*"\s*,)*\s*"id"\s*:\s*` + ID_VALUE,
);
/** `…,"id":3}` — the id as the last member of the top-level object (one closing brace only). */
const ID_LAST = new RegExp(String.raw`,\s*"id"\s*:\s*` + ID_VALUE + String.raw`\s*\}\s*$`);

function idValue(raw: string | undefined): string | number | null {
  if (raw === undefined) return null;
  return raw.startsWith('"') ? raw.slice(1, -1) : Number(raw);
}

/** The id of a message cut short, when it can be read from either end. */
function idAtStart(head: string): string | number | null {
  return idValue(ID_FIRST.exec(head)?.[1]) ?? null;
}

function idAtEnd(tail: string): string | number | null {
  return idValue(ID_LAST.exec(tail.replace(/\r$/, ''))?.[1]) ?? null;
}
