/**
 * Helpers for the OpenTelemetry Collector kit's stack tests (test/stack/collector-*.test.ts) and
 * its benchmark (bench/collector.ts):
 *
 * - startElasticFront(): puts the OpenSearch test engine where the Collector's elasticsearch
 *   exporter expects Elasticsearch. The exporter refuses OpenSearch outright, for two reasons
 *   found by running it against OpenSearch 2.19: in the `otel` mapping mode every bulk request
 *   carries `require_data_stream=true` (query and action lines), which OpenSearch rejects with
 *   400 `request [/_bulk] contains unrecognized parameter: [require_data_stream]`; and the
 *   exporter's client drops every 2xx answer that lacks the `X-Elastic-Product: Elasticsearch`
 *   header. This front forwards every request unchanged except for exactly those two things: it
 *   takes `require_data_stream` off (and checks instead, item by item, that each document did
 *   land in a data stream) and adds the header. The documents the exporter wrote reach
 *   OpenSearch unchanged, and OpenSearch runs the kit's pipelines at index time (the test node has
 *   the ingest role; see test/stack/engines/es-runner).
 * - dockerJsonFile(): writes lines the way Docker's json-file log driver does.
 * - collectorConfig(): the kit's config files merged the way `--config a --config b` merges them.
 */
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { otelcol } from './engines.js';
import { ok, req } from './kit.js';

export type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The command-line flags otel-collector/agent.yaml is run with (its header, the README and the
 * compose file say the same): the stanza receivers' synchronous emitter, so a line's read offset
 * is stored only once the line is in the exporter's persistent queue.
 */
export const AGENT_FLAGS = ['--feature-gates=stanza.synchronousLogEmitter'];

// ---------------------------------------------------------------------------------------------
// Collector configs

/**
 * One config file for engines.ts's startCollector() (which takes one): for several files, the
 * Collector's own merge of them (`otelcol print-config --config a --config b`, which merges maps
 * and replaces lists exactly as a run with those flags does), resolved with `env`, written to
 * `dir`.
 */
export function collectorConfig(files: string[], env: Record<string, string>, dir: string): string {
  if (files.length === 1) return files[0] as string;
  const r = otelcol(['print-config', '--mode', 'unredacted', ...files.flatMap((f) => ['--config', f])], { env });
  if (r.code !== 0) throw new Error(`otelcol print-config failed: ${r.stderr}`);
  const path = join(dir, 'merged.yaml');
  writeFileSync(path, r.stdout);
  return path;
}

// ---------------------------------------------------------------------------------------------
// OpenSearch behind an Elasticsearch front

export interface FrontStats {
  bulkRequests: number;
  items: number;
  /** Bulk operations seen (the exporter only ever sends `create`). */
  operations: Set<string>;
  /** Items the exporter sent with require_data_stream (query or action line). */
  requireDataStream: number;
  /** Items with require_data_stream that landed somewhere other than a data stream. */
  notInDataStream: string[];
  /** Items OpenSearch refused (status ≥ 300), with the reason. */
  refused: string[];
}

export interface ElasticFront {
  url: string;
  stats: FrontStats;
  close(): Promise<void>;
}

/** `.ds-logs-x-default-000001` (OpenSearch) or `.ds-logs-x-default-2026.11.22-000001` (ES) → `logs-x-default`. */
export function dataStreamOf(index: string): string {
  const m = /^\.ds-(.+?)(?:-\d{4}\.\d{2}\.\d{2})?-\d{6}$/.exec(index);
  return m ? (m[1] as string) : index;
}

interface BulkItem {
  op: string;
  meta: Json;
  source: string;
  requireDataStream: boolean;
}

function parseBulk(body: string, queryRequiresDs: boolean): BulkItem[] {
  const lines = body.split('\n').filter((l) => l.length > 0);
  const items: BulkItem[] = [];
  for (let i = 0; i < lines.length; i += 2) {
    const action = JSON.parse(lines[i] as string) as Json;
    const op = Object.keys(action)[0] as string;
    const meta = { ...(action[op] as Json) };
    const itemRequires = meta.require_data_stream === true;
    delete meta.require_data_stream;
    items.push({ op, meta, source: lines[i + 1] ?? '{}', requireDataStream: queryRequiresDs || itemRequires });
  }
  return items;
}

/**
 * An HTTP front for `targetUrl` (an OpenSearch node) that the Collector's elasticsearch exporter
 * accepts as Elasticsearch; see the file comment for what it changes and why.
 */
export async function startElasticFront(
  targetUrl: string,
  opts: { productHeader?: boolean } = {},
): Promise<ElasticFront> {
  const product: Record<string, string> = opts.productHeader === false ? {} : { 'x-elastic-product': 'Elasticsearch' };
  const roles = await ok(targetUrl, 'GET', '/_nodes?filter_path=nodes.*.roles');
  const ingestNode = Object.values(roles.json.nodes as Record<string, { roles: string[] }>).some((n) =>
    n.roles.includes('ingest'),
  );
  // Without an ingest node, bulk requests would bypass the kit's pipelines and prove nothing.
  if (!ingestNode) throw new Error(`${targetUrl} has no ingest node: the kit's pipelines could not run there`);
  const stats: FrontStats = {
    bulkRequests: 0,
    items: 0,
    operations: new Set(),
    requireDataStream: 0,
    notInDataStream: [],
    refused: [],
  };

  const handleBulk = async (url: URL, body: Buffer, headers: Headers): Promise<{ status: number; json: Json }> => {
    const queryRequiresDs = url.searchParams.get('require_data_stream') === 'true';
    url.searchParams.delete('require_data_stream');
    const items = parseBulk(body.toString('utf8'), queryRequiresDs);
    stats.bulkRequests++;
    stats.items += items.length;
    for (const it of items) {
      stats.operations.add(it.op);
      if (it.requireDataStream) stats.requireDataStream++;
    }
    const sent = items.map((it) => `${JSON.stringify({ [it.op]: it.meta })}\n${it.source}\n`).join('');
    // Our own answer needs every item's index and status, whatever filter_path the exporter asked for.
    url.searchParams.set('filter_path', 'errors,items.*._index,items.*.status,items.*.error');
    const r = await fetch(`${targetUrl}${url.pathname}${url.search}`, {
      method: 'POST',
      headers: { 'content-type': headers.get('content-type') ?? 'application/x-ndjson' },
      body: sent,
      signal: AbortSignal.timeout(120_000),
    });
    const json = (await r.json()) as Json;
    if (!r.ok) return { status: r.status, json };
    const answered = (json.items as Json[] | undefined) ?? [];
    items.forEach((it, i) => {
      const res = (answered[i] as Json)[it.op] as Json;
      if ((res.status as number) >= 300) {
        stats.refused.push(`${String(res._index)}: ${JSON.stringify(res.error)}`);
        return;
      }
      if (it.requireDataStream && !String(res._index).startsWith('.ds-'))
        stats.notInDataStream.push(String(res._index));
    });
    return {
      status: 200,
      json: { errors: answered.some((m) => (Object.values(m)[0] as Json).status >= 300), items: answered },
    };
  };

  const sockets = new Set<Socket>();
  const server: Server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on('data', (c: Buffer) => chunks.push(c));
    request.on('end', () => {
      void (async () => {
        const url = new URL(request.url ?? '/', 'http://front');
        let body = Buffer.concat(chunks);
        if (request.headers['content-encoding'] === 'gzip' && body.length > 0) body = gunzipSync(body);
        const headers = new Headers();
        for (const [k, v] of Object.entries(request.headers)) {
          if (v === undefined || ['host', 'content-length', 'content-encoding', 'connection'].includes(k)) continue;
          headers.set(k, Array.isArray(v) ? v.join(', ') : v);
        }
        try {
          if (request.method === 'POST' && /^\/(?:[^/]+\/)?_bulk$/.test(url.pathname)) {
            const r = await handleBulk(url, body, headers);
            response
              .writeHead(r.status, { 'content-type': 'application/json', ...product })
              .end(JSON.stringify(r.json));
            return;
          }
          const r = await fetch(`${targetUrl}${url.pathname}${url.search}`, {
            method: request.method,
            headers,
            body: body.length > 0 ? body : undefined,
            signal: AbortSignal.timeout(120_000),
          });
          const text = Buffer.from(await r.arrayBuffer());
          response
            .writeHead(r.status, {
              'content-type': r.headers.get('content-type') ?? 'application/json',
              ...product,
            })
            .end(text);
        } catch (e) {
          // The engine is unreachable: answer like a proxy with nothing behind it.
          response.writeHead(502, { 'content-type': 'text/plain' }).end(String(e));
        }
      })();
    });
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    stats,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

// ---------------------------------------------------------------------------------------------
// A proxy that fails on demand (what a load balancer in front of Elasticsearch answers)

export interface FaultyProxy {
  url: string;
  /** From now on, answer every _bulk request with this status (502, 504 ...); undefined: forward again. */
  failBulkWith(status: number | undefined): void;
  /** _bulk requests answered with a fault, by status. */
  faults: Map<number, number>;
  close(): Promise<void>;
}

/** An HTTP proxy to `targetUrl` that forwards everything unchanged, except _bulk while failing. */
export async function startFaultyProxy(targetUrl: string): Promise<FaultyProxy> {
  let failing: number | undefined;
  const faults = new Map<number, number>();
  const sockets = new Set<Socket>();
  const server: Server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on('data', (c: Buffer) => chunks.push(c));
    request.on('end', () => {
      void (async () => {
        const url = new URL(request.url ?? '/', 'http://proxy');
        if (failing !== undefined && /\/_bulk$/.test(url.pathname)) {
          faults.set(failing, (faults.get(failing) ?? 0) + 1);
          response.writeHead(failing, { 'content-type': 'text/html' }).end(`<html><body>${failing}</body></html>`);
          return;
        }
        const headers = new Headers();
        for (const [k, v] of Object.entries(request.headers)) {
          if (v === undefined || ['host', 'content-length', 'connection'].includes(k)) continue;
          headers.set(k, Array.isArray(v) ? v.join(', ') : v);
        }
        try {
          const body = Buffer.concat(chunks);
          const r = await fetch(`${targetUrl}${url.pathname}${url.search}`, {
            method: request.method,
            headers,
            body: body.length > 0 ? body : undefined,
            signal: AbortSignal.timeout(120_000),
          });
          const out: Record<string, string> = {};
          r.headers.forEach((v, k) => {
            if (!['content-length', 'content-encoding', 'transfer-encoding', 'connection'].includes(k)) out[k] = v;
          });
          response.writeHead(r.status, out).end(Buffer.from(await r.arrayBuffer()));
        } catch (e) {
          response.writeHead(502, { 'content-type': 'text/plain' }).end(String(e));
        }
      })();
    });
  });
  server.on('connection', (sock: Socket) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    failBulkWith: (status) => {
      failing = status;
    },
    faults,
    close: () =>
      new Promise<void>((resolve) => {
        for (const sock of sockets) sock.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Sum of a Collector self-metric over its label sets, optionally only those containing `label`. */
export async function collectorMetric(port: number, name: string, label = ''): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(3_000) })).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) || !line.includes(label)) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

// ---------------------------------------------------------------------------------------------
// Docker json-file logs

/** Go's encoding/json escapes these; Docker's json-file driver writes what Go writes. */
function goJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** The logging label docker-compose.yml gives the orchestrator's containers (`labels: com.mcp-ssh.role`). */
export const ORCHESTRATOR_ATTRS: Readonly<Record<string, string>> = { 'com.mcp-ssh.role': 'orchestrator' };

/** Docker's `time`: RFC 3339 with nanoseconds, as dockerd writes it (sub-millisecond digits made up). */
export function dockerTime(d = new Date()): string {
  return d.toISOString().replace(/Z$/, `${String(Math.floor(Math.random() * 1e6)).padStart(6, '0')}Z`);
}

/**
 * The json-file entries Docker writes for one line the container printed: `log` keeps the
 * newline; a line longer than 16 KiB is split into entries of 16 KiB (the last carries the
 * newline), as dockerd's log copier does. (Pieces are cut by characters here, which equals bytes
 * for ASCII lines.) `attrs` is what the logging option `labels` adds: by default the
 * orchestrator's role label, as the compose file sets it; null for a container without it.
 */
export function dockerEntries(
  line: string,
  stream: 'stdout' | 'stderr',
  time: Date | string = new Date(),
  attrs: Readonly<Record<string, string>> | null = ORCHESTRATOR_ATTRS,
): string {
  const text = `${line}\n`;
  const pieces: string[] = [];
  for (let i = 0; i < text.length; i += 16_384) pieces.push(text.slice(i, i + 16_384));
  const t = typeof time === 'string' ? time : time.toISOString();
  return pieces
    .map((log) => `${goJson(attrs ? { log, stream, attrs, time: t } : { log, stream, time: t })}\n`)
    .join('');
}

export interface WrittenLine {
  line: string;
  stream: 'stdout' | 'stderr';
  /** Docker's `time` of the line (of its first piece). */
  time: string;
  attrs: Readonly<Record<string, string>> | null;
}

export interface DockerLogFile {
  /** The container's directory and log file, as under /var/lib/docker/containers/<id>/. */
  dir: string;
  path: string;
  /** The glob the agent's MCP_SSH_DOCKER_LOGS takes for this layout. */
  glob: string;
  /** Every line written so far, in order, with its Docker time. */
  written: WrittenLine[];
  write(
    lines: { line: string; stream: 'stdout' | 'stderr' }[],
    opts?: { attrs?: Readonly<Record<string, string>> | null },
  ): void;
  /** Rotates like json-file with max-file: <log>.1 becomes <log>.2 (and so on), the log becomes <log>.1, a new, empty log starts. */
  rotate(): void;
  remove(): void;
}

export function dockerJsonFile(containerId = 'c0ffee'.padEnd(64, '0'), root?: string): DockerLogFile {
  const base = root ?? mkdtempSync(join(tmpdir(), 'mcp-docker-'));
  const dir = join(base, 'containers', containerId);
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${containerId}-json.log`);
  writeFileSync(path, '');
  const written: WrittenLine[] = [];
  return {
    dir,
    path,
    glob: join(base, 'containers', '*', '*-json.log'),
    written,
    write: (lines, opts = {}) => {
      const attrs = opts.attrs === undefined ? ORCHESTRATOR_ATTRS : opts.attrs;
      const text = lines.map((l) => {
        const time = dockerTime();
        written.push({ ...l, time, attrs });
        return dockerEntries(l.line, l.stream, time, attrs);
      });
      appendFileSync(path, text.join(''));
    },
    rotate: () => {
      let n = 1;
      while (existsSync(`${path}.${n}`)) n++;
      for (; n > 1; n--) renameSync(`${path}.${n - 1}`, `${path}.${n}`);
      renameSync(path, `${path}.1`);
      writeFileSync(path, '');
    },
    remove: () => rmSync(dirname(dirname(dir)), { recursive: true, force: true }),
  };
}

// ---------------------------------------------------------------------------------------------
// Reading documents back

export interface Hit {
  _index: string;
  _source: Json;
}

/** Every document of `pattern` (refreshed first), up to 10 000. */
export async function allDocs(url: string, pattern: string): Promise<Hit[]> {
  await req(url, 'POST', `/${pattern}/_refresh?ignore_unavailable=true&allow_no_indices=true`);
  const r = await req(url, 'POST', `/${pattern}/_search?ignore_unavailable=true&allow_no_indices=true`, {
    size: 10_000,
    query: { match_all: {} },
    sort: ['_doc'],
  });
  return ((r.json?.hits?.hits as Json[] | undefined) ?? []).map((h) => ({ _index: h._index, _source: h._source }));
}

export async function countDocs(url: string, pattern: string): Promise<number> {
  await req(url, 'POST', `/${pattern}/_refresh?ignore_unavailable=true&allow_no_indices=true`);
  const r = await req(url, 'GET', `/${pattern}/_count?ignore_unavailable=true&allow_no_indices=true`);
  return (r.json?.count as number | undefined) ?? 0;
}

/** Polls until `probe` holds (bounded); returns whether it did. */
export async function eventually(probe: () => Promise<boolean>, timeoutMs: number, everyMs = 500): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe().catch(() => false)) return true;
    if (Date.now() > deadline) return false;
    await sleep(everyMs);
  }
}

/** JSON with sorted keys, for comparing documents as multisets. */
export function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object')
    return `{${Object.keys(value as Json)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Json)[k])}`)
      .join(',')}}`;
  return JSON.stringify(value);
}
