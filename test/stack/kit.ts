/**
 * Helpers for the Elasticsearch kit's stack tests: an HTTP client for the engines, golden
 * files, _simulate, and the few mechanical adaptations the test engines need.
 *
 * Why adaptations (docs/elasticsearch.md, "What is proven where"): the Elasticsearch 8.19 that
 * Maven Central provides (integ-test-zip) has no ingest processors, no painless, no ILM and
 * none of the mapper-extras / x-pack field types (match_only_text, constant_keyword,
 * wildcard). OpenSearch 2.19 has ingest-common, painless, data streams, match_only_text and
 * wildcard, but no reroute processor, no ignore_missing_pipeline, no ILM, and its
 * constant_keyword needs a fixed value. Each adaptation below is listed, mechanical and
 * asserted to touch only what it names; everything else is the shipped JSON byte for byte.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { loadKit, withoutLifecycle, type Kit, type KitObject } from '../../src/setup/elasticsearch.js';
import { REPO_ROOT } from './engines.js';

export const PIPELINES_DIR = join(REPO_ROOT, 'test/pipelines');
export const KIT = loadKit(join(REPO_ROOT, 'elk'));

export interface Res {
  status: number;
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  text: string;
}

/** One request to an engine; JSON in, JSON out; ndjson for _bulk. */
export async function req(base: string, method: string, path: string, body?: unknown): Promise<Res> {
  const ndjson = typeof body === 'string';
  const res = await fetch(`${base}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': ndjson ? 'application/x-ndjson' : 'application/json' },
    body: body === undefined ? undefined : ndjson ? body : JSON.stringify(body),
    signal: AbortSignal.timeout(60_000),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text };
}

/** Like req, but throws on a non-2xx status with the engine's answer. */
export async function ok(base: string, method: string, path: string, body?: unknown): Promise<Res> {
  const r = await req(base, method, path, body);
  if (r.status < 200 || r.status >= 300)
    throw new Error(`${method} ${path}: HTTP ${r.status}: ${r.text.slice(0, 2000)}`);
  return r;
}

export interface Scenario {
  name: string;
  lines: string[];
}

/** Every test/pipelines/<scenario>.log, in name order. */
export function scenarios(): Scenario[] {
  return readdirSync(PIPELINES_DIR)
    .filter((f) => f.endsWith('.log'))
    .sort()
    .map((f) => ({
      name: basename(f, '.log'),
      lines: readFileSync(join(PIPELINES_DIR, f), 'utf8')
        .split('\n')
        .filter((l) => l.length > 0),
    }));
}

type Json = Record<string, unknown>;

function mapDeep(value: unknown, fn: (o: Json) => Json): unknown {
  if (Array.isArray(value)) return value.map((v) => mapDeep(v, fn));
  if (value && typeof value === 'object') {
    const o = fn({ ...(value as Json) });
    for (const k of Object.keys(o)) o[k] = mapDeep(o[k], fn);
    return o;
  }
  return value;
}

/** Replaces mapping types the engine lacks (`{type: from}` → `{type: to}`, multi-fields included). */
export function substituteTypes(body: Json, types: Record<string, string>): Json {
  return mapDeep(body, (o) => {
    if (typeof o.type === 'string' && types[o.type] && !('processors' in o)) return { ...o, type: types[o.type] };
    return o;
  }) as Json;
}

export interface Adapted {
  kit: Kit;
  /** What was changed, for the test log and the docs. */
  changes: string[];
}

/**
 * The kit as OpenSearch 2.19 can take it: reroute → `set _index` to the same target
 * (logs-<data_stream.dataset>-<data_stream.namespace>, with the same `if` and tag),
 * ignore_missing_pipeline dropped (the test creates an empty logs-mcp_ssh@custom pipeline),
 * pipeline-level _meta dropped,
 * constant_keyword → keyword, no index.lifecycle.name.
 */
export function forOpenSearch(kit: Kit = KIT): Adapted {
  const changes: string[] = [];
  const pipelines = kit.pipelines.map((p): KitObject => {
    const processors = (p.body.processors as Json[]).map((proc) => {
      const reroute = proc.reroute as Json | undefined;
      if (reroute) {
        changes.push(`${p.name}: reroute [${String(reroute.tag)}] → set _index`);
        const set: Json = {
          tag: reroute.tag,
          field: '_index',
          value: 'logs-{{{data_stream.dataset}}}-{{{data_stream.namespace}}}',
        };
        if (reroute.if) set.if = reroute.if;
        return { set };
      }
      const pipeline = proc.pipeline as Json | undefined;
      if (pipeline && 'ignore_missing_pipeline' in pipeline) {
        changes.push(`${p.name}: pipeline [${String(pipeline.tag)}] without ignore_missing_pipeline`);
        const { ignore_missing_pipeline: _drop, ...rest } = pipeline;
        return { pipeline: rest };
      }
      return proc;
    });
    const { _meta: _pipelineMeta, ...body } = p.body;
    return { ...p, body: { ...body, processors } };
  });
  changes.push('pipelines: _meta removed (OpenSearch pipelines have no _meta)');
  const noIlm = withoutLifecycle(kit);
  changes.push('templates: constant_keyword → keyword; index.lifecycle.name removed; no ILM policies');
  const types = { constant_keyword: 'keyword' };
  return {
    changes,
    kit: {
      ...noIlm,
      pipelines,
      componentTemplates: noIlm.componentTemplates.map((c) => ({ ...c, body: substituteTypes(c.body, types) })),
    },
  };
}

/** The kit's templates as the Maven Central Elasticsearch 8.19 (no mapper-extras, no x-pack mappers) can take them. */
export const ES_TEST_ENGINE_TYPES = { constant_keyword: 'keyword', match_only_text: 'text', wildcard: 'keyword' };
export function templatesForEsTestEngine(kit: Kit = KIT): Kit {
  const noIlm = withoutLifecycle(kit);
  return {
    ...noIlm,
    pipelines: [],
    componentTemplates: noIlm.componentTemplates.map((c) => ({
      ...c,
      body: substituteTypes(c.body, ES_TEST_ENGINE_TYPES),
    })),
  };
}

/** The pipeline body for _simulate / PUT by name. */
export function pipelineBody(kit: Kit, name: string): Json {
  const p = kit.pipelines.find((x) => x.name === name);
  if (!p) throw new Error(`no pipeline ${name}`);
  return p.body;
}

/** _simulate docs through the installed entry pipeline; returns each result (doc or error). */
export async function simulate(
  base: string,
  sources: Json[],
  index = 'logs-mcp_ssh-default',
): Promise<{ doc?: { _index: string; _source: Json }; error?: Json }[]> {
  const r = await ok(base, 'POST', '/_ingest/pipeline/logs-mcp_ssh/_simulate', {
    docs: sources.map((s) => ({ _index: index, _id: 'golden', _source: s })),
  });
  return (r.json as { docs: { doc?: { _index: string; _source: Json }; error?: Json }[] }).docs;
}

/** Fields that change on every run and are masked in golden comparisons. */
export const VOLATILE = ['event.ingested'];

export function mask(doc: Json): Json {
  const copy = structuredClone(doc);
  for (const path of VOLATILE) {
    const parts = path.split('.');
    let cur: unknown = copy;
    for (const p of parts.slice(0, -1)) cur = (cur as Json | undefined)?.[p];
    const last = parts.at(-1) as string;
    if (cur && typeof cur === 'object' && last in (cur as Json)) (cur as Json)[last] = '<volatile>';
  }
  return copy;
}

/** Installs an adapted kit on OpenSearch (plus the empty @custom pipeline the adaptation needs). */
export async function installOnOpenSearch(base: string, kit: Kit): Promise<void> {
  await ok(base, 'PUT', '/_ingest/pipeline/logs-mcp_ssh@custom', {
    description: 'empty hook (ES: ignore_missing_pipeline)',
    processors: [],
  });
  for (const c of [...kit.componentTemplates, ...kit.customComponentTemplates])
    await ok(base, 'PUT', `/_component_template/${encodeURIComponent(c.name)}`, c.body);
  for (const p of kit.pipelines) await ok(base, 'PUT', `/_ingest/pipeline/${p.name}`, p.body);
  for (const t of kit.indexTemplates) await ok(base, 'PUT', `/_index_template/${t.name}`, t.body);
}
