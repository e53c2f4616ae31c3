/**
 * Where report (and watch) read audit events from. A source yields parsed lines; the file
 * source reads stderr logs (files or stdin), the Elasticsearch source reads the ECS documents
 * of the `logs-mcp_ssh.*` data streams written by the ES kit (elk/elasticsearch) and turns
 * each back into the stderr record it came from.
 */
import type { Readable } from 'node:stream';
import { checkReadable, InputError, isObject, parseLines, readInputs, type ParsedLine } from './input.js';

export interface EventSource {
  /** For the report's header: the files, or the Elasticsearch index. */
  describe: string;
  /**
   * Whether each event's `text` is the exact stderr line, so the chain can be checked. Files:
   * yes. Elasticsearch: only documents that kept `event.original` (ingested with the tag
   * `preserve_original_event`, or the kit installed with --keep-original).
   */
  exactLines: boolean | 'per-document';
  /** Whether lines come in written order (files) or must be put in chain order (search hits). */
  ordered: boolean;
  lines(): AsyncIterable<ParsedLine>;
}

export function fileSource(files: string[], stdin: Readable): EventSource {
  return {
    describe: files.length === 0 ? 'stdin' : files.join(', '),
    exactLines: true,
    ordered: true,
    lines: async function* () {
      await checkReadable(files);
      yield* parseLines(readInputs(files, stdin));
    },
  };
}

export interface ElasticsearchOptions {
  /** Base URL, e.g. http://127.0.0.1:9200 (credentials in the URL become Basic auth). */
  url: string;
  /** Index pattern, default `logs-mcp_ssh.*`. */
  index?: string;
  from?: number;
  to?: number;
  /** Extra headers, e.g. `Authorization: ApiKey ...`. */
  headers?: Record<string, string>;
  /** Hits per page. */
  pageSize?: number;
  /** Documents to leave out (already read by an earlier watch check). */
  skipIds?: ReadonlySet<string>;
  /** Called for every hit read, before its line is yielded (watch keeps its position with it). */
  onHit?: (hit: { index: string; id: string; timestamp: string }) => void;
  fetch?: typeof fetch;
}

/** Stderr line types the report needs (progress and trace lines are left in Elasticsearch). */
const REPORT_TYPES = ['policy_decision', 'audit', 'security_event', 'error', 'config_reload'];

type Doc = Record<string, unknown>;

function get(doc: Doc, path: string): unknown {
  // Documents may hold dotted keys flat ("event.action") or nested ({event: {action}}).
  if (path in doc) return doc[path];
  let cur: unknown = doc;
  for (const part of path.split('.')) {
    if (!isObject(cur)) return undefined;
    cur = cur[part];
  }
  return cur;
}

/** `2025-01-31T12:00:00.123456Z` → Unix seconds with the microseconds kept. */
export function secondsOf(timestamp: unknown): number | undefined {
  if (typeof timestamp === 'number') return timestamp / 1000;
  if (typeof timestamp !== 'string') return undefined;
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:?\d\d)?$/.exec(timestamp);
  if (!m) return undefined;
  const whole = Date.parse(`${m[1]}${m[3] ?? 'Z'}`);
  if (Number.isNaN(whole)) return undefined;
  const frac = m[2] ? Number(`0.${m[2].slice(0, 6)}`) : 0;
  return Math.round((whole / 1000 + frac) * 1e6) / 1e6;
}

/**
 * Rebuilds the stderr record of one ECS document (the inverse of the ES kit's ingest
 * pipelines). Fields the line did not have stay absent.
 */
export function recordFromEcs(doc: Doc): Record<string, unknown> | undefined {
  const type = get(doc, 'mcp_ssh.event.type');
  if (typeof type !== 'string') return undefined;
  const out: Record<string, unknown> = { type, ts: secondsOf(get(doc, '@timestamp')) };
  const put = (key: string, path: string, map?: (v: unknown) => unknown): void => {
    const v = get(doc, path);
    if (v !== undefined && v !== null) out[key] = map ? map(v) : v;
  };
  switch (type) {
    case 'policy_decision':
      put('alias', 'host.name');
      put('hash', 'mcp_ssh.command.hash');
      put('allowed', 'mcp_ssh.policy.allowed');
      put('rule', 'rule.name');
      break;
    case 'audit':
      put('alias', 'host.name');
      put('hash', 'mcp_ssh.command.hash');
      put('exit_code', 'process.exit_code');
      put('duration_ms', 'event.duration', (v) => Math.round(Number(v) / 1e6));
      put('bytes_out', 'mcp_ssh.command.bytes_out');
      put('bytes_err', 'mcp_ssh.command.bytes_err');
      put('cancelled', 'mcp_ssh.command.cancelled');
      put('timeout', 'mcp_ssh.command.timeout');
      out.target_ip = get(doc, 'destination.ip') ?? null;
      put('host', 'destination.address');
      put('port', 'destination.port');
      break;
    case 'security_event':
      put('event_type', 'event.action');
      put('alias', 'host.name');
      put('reason', 'event.reason');
      put('attempted_path', 'mcp_ssh.security.attempted_path');
      put('resolved_path', 'file.path');
      put('base_dir', 'mcp_ssh.security.base_dir');
      put('file_size', 'file.size');
      put('max_size', 'mcp_ssh.security.max_size');
      put('field', 'mcp_ssh.security.field');
      put('length', 'mcp_ssh.security.length');
      put('max_length', 'mcp_ssh.security.max_length');
      put('hostname', 'destination.address');
      put('max_per_second', 'mcp_ssh.security.max_per_second');
      put('original_command', 'process.command_line');
      put('normalized_command', 'mcp_ssh.command.normalized');
      put('blocked_pattern', 'mcp_ssh.security.blocked_pattern');
      break;
    case 'error':
      put('level', 'log.level');
      put('msg', 'event.action');
      put('error', 'error.message');
      put('issues', 'mcp_ssh.config.issues');
      break;
    case 'config_reload':
      put('success', 'mcp_ssh.config.success');
      put('generation', 'mcp_ssh.config.generation');
      put('hosts', 'mcp_ssh.config.hosts');
      put('rules', 'mcp_ssh.config.rules');
      break;
    default:
      break;
  }
  put('task_id', 'mcp_ssh.task.id');
  put('trace_id', 'trace.id');
  put('span_id', 'span.id');
  put('chain_id', 'mcp_ssh.chain.id');
  put('seq', 'event.sequence');
  put('prev_hash', 'mcp_ssh.chain.prev_hash');
  return out;
}

export class ElasticsearchError extends InputError {}

/**
 * Reads the events of a time range from Elasticsearch with a point in time and search_after
 * (consistent across pages, no deep-paging limit). Each hit becomes a parsed line: from
 * `event.original` when the document kept it (then the chain can be verified), else rebuilt
 * from the ECS fields.
 */
export function elasticsearchSource(opts: ElasticsearchOptions): EventSource {
  const index = opts.index ?? 'logs-mcp_ssh.*';
  const base = new URL(opts.url);
  const headers: Record<string, string> = { 'content-type': 'application/json', ...opts.headers };
  if (base.username !== '') {
    headers.authorization ??= `Basic ${Buffer.from(`${decodeURIComponent(base.username)}:${decodeURIComponent(base.password)}`).toString('base64')}`;
    base.username = '';
    base.password = '';
  }
  const root = base.toString().replace(/\/$/, '');
  const doFetch = opts.fetch ?? fetch;
  const call = async (method: string, path: string, body?: unknown): Promise<Doc> => {
    let res: Response;
    try {
      res = await doFetch(`${root}${path}`, {
        method,
        headers,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (err) {
      throw new ElasticsearchError(`Elasticsearch at ${root}: ${(err as Error).message}`);
    }
    const text = await res.text();
    if (!res.ok)
      throw new ElasticsearchError(`Elasticsearch ${method} ${path}: HTTP ${res.status}: ${text.slice(0, 300)}`);
    try {
      return JSON.parse(text) as Doc;
    } catch {
      throw new ElasticsearchError(`Elasticsearch ${method} ${path}: the answer is not JSON`);
    }
  };
  const range: Record<string, string> = {};
  if (opts.from !== undefined) range.gte = new Date(opts.from * 1000).toISOString();
  if (opts.to !== undefined) range.lt = new Date(opts.to * 1000).toISOString();
  return {
    describe: `${root}/${index}`,
    exactLines: 'per-document',
    ordered: false,
    lines: async function* () {
      const pit = await call('POST', `/${encodeURIComponent(index)}/_pit?keep_alive=2m`);
      let pitId = String(pit.id ?? '');
      if (pitId === '') throw new ElasticsearchError('Elasticsearch did not open a point in time');
      let after: unknown[] | undefined;
      let pos = 0;
      try {
        for (;;) {
          const page = await call('POST', '/_search', {
            size: opts.pageSize ?? 1000,
            pit: { id: pitId, keep_alive: '2m' },
            sort: [
              { '@timestamp': { order: 'asc', format: 'strict_date_optional_time_nanos' } },
              { _shard_doc: 'asc' },
            ],
            track_total_hits: false,
            query: {
              bool: {
                filter: [
                  { terms: { 'mcp_ssh.event.type': REPORT_TYPES } },
                  ...(Object.keys(range).length ? [{ range: { '@timestamp': range } }] : []),
                ],
              },
            },
            ...(after ? { search_after: after } : {}),
          });
          pitId = String(page.pit_id ?? pitId);
          const hits =
            (get(page, 'hits.hits') as Array<{ _index: string; _id: string; _source: Doc; sort: unknown[] }>) ?? [];
          for (const hit of hits) {
            if (opts.skipIds?.has(hit._id)) continue;
            opts.onHit?.({ index: hit._index, id: hit._id, timestamp: String(get(hit._source, '@timestamp') ?? '') });
            const ref = { file: `${hit._index}/${hit._id}`, line: 1 };
            const original = get(hit._source, 'event.original');
            if (typeof original === 'string') {
              for await (const p of parseLines([{ ref, text: original }])) {
                yield { ...p, pos: pos++ };
              }
              continue;
            }
            const record = recordFromEcs(hit._source);
            if (!record) {
              yield {
                kind: 'noise',
                ref,
                pos: pos++,
                text: JSON.stringify(hit._source).slice(0, 500),
                reason: 'not_object',
              };
              continue;
            }
            yield { kind: 'event', ref, pos: pos++, text: '', record, type: record.type as string };
          }
          if (hits.length < (opts.pageSize ?? 1000)) break;
          after = hits[hits.length - 1]?.sort;
        }
      } finally {
        await call('DELETE', '/_pit', { id: pitId }).catch(() => undefined);
      }
    },
  };
}
