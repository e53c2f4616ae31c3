/**
 * The kit end to end on real engines:
 *
 * 1. OpenSearch 2.19 (the ingest engine available here): the kit installed, every captured
 *    stderr line of test/pipelines/*.log bulk-indexed into the front-door data stream
 *    logs-mcp_ssh-default, through the pipelines, into the category data streams; nothing
 *    dropped, malformed lines in logs-mcp_ssh.failed-default.
 * 2. Elasticsearch 8.19: the index and component templates accepted (with the field types this
 *    minimal distribution lacks substituted, see kit.ts), winning over a `logs-*-*` template at
 *    the built-in priority 100, and the pipeline output indexed into its data streams.
 * 3. On both: each saved search's KQL, translated to query DSL (kql.ts), returns exactly the
 *    documents of the lines it is meant to find; each dashboard panel's query and aggregation
 *    runs without error and finds data.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, requireEngines, startElasticsearch, startOpenSearch, type SearchEngine } from './engines.js';
import { forOpenSearch, installOnOpenSearch, ok, req, scenarios, templatesForEsTestEngine } from './kit.js';
import { kqlToDsl } from './kql.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const ready = requireEngines('opensearch', 'elasticsearch');

async function hasIngestNode(url: string): Promise<boolean> {
  const r = await ok(url, 'GET', '/_nodes?filter_path=nodes.*.roles');
  return Object.values(r.json.nodes as Json).some((n) => (n.roles as string[]).includes('ingest'));
}

const objects = readFileSync(join(REPO_ROOT, 'elk/kibana/mcp_ssh.ndjson'), 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((l) => JSON.parse(l) as Json);
const byId = new Map(objects.map((o) => [o.id as string, o]));
const dataViewOf = (o: Json, refName: string): string => {
  const ref = (o.references as Json[]).find((r) => r.name === refName);
  return byId.get(ref?.id)?.attributes.title as string;
};

/** What each saved search must find, said over the raw stderr lines (independently of the pipelines). */
const INTENDED: Record<string, (l: Json) => boolean> = {
  'mcp_ssh-search-command-executions': (l) => l.type === 'audit',
  'mcp_ssh-search-denied-commands': (l) => l.type === 'policy_decision' && l.allowed === false,
  'mcp_ssh-search-failed-commands': (l) => l.type === 'audit' && l.exit_code !== 0,
  'mcp_ssh-search-timeouts-cancellations': (l) => l.type === 'audit' && (l.timeout === true || l.cancelled === true),
  'mcp_ssh-search-security-events': (l) => l.type === 'security_event',
  'mcp_ssh-search-path-traversal': (l) => l.type === 'security_event' && l.event_type === 'path_traversal_attempt',
  'mcp_ssh-search-bypass-attempts': (l) => l.type === 'security_event' && l.event_type === 'command_bypass_attempt',
  'mcp_ssh-search-auth-failures': (l) => l.type === 'security_event' && l.event_type === 'authentication_failed',
  'mcp_ssh-search-host-trail': (l) => l.alias === 'web1',
};

/** A Lens layer's columns as an aggregation tree (bucket columns nested in order, metrics inside). */
function lensAggs(lens: Json): Json {
  const layer = Object.values(lens.attributes.state.datasourceStates.formBased.layers as Json)[0] as Json;
  const order = layer.columnOrder as string[];
  const cols = layer.columns as Json;
  const metrics: Json = {};
  for (const id of order) {
    const c = cols[id];
    if (c.operationType === 'percentile')
      metrics[id] = { percentiles: { field: c.sourceField, percents: [c.params.percentile] } };
    else if (c.operationType !== 'count' && !c.isBucketed) throw new Error(`no translation for ${c.operationType}`);
  }
  let inner: Json = metrics;
  for (const id of [...order].reverse()) {
    const c = cols[id];
    if (!c.isBucketed) continue;
    let agg: Json;
    if (c.operationType === 'date_histogram') agg = { date_histogram: { field: c.sourceField, fixed_interval: '1m' } };
    else if (c.operationType === 'terms' && c.params.secondaryFields)
      agg = {
        multi_terms: {
          terms: [c.sourceField, ...c.params.secondaryFields].map((field: string) => ({ field })),
          size: c.params.size,
        },
      };
    else if (c.operationType === 'terms') agg = { terms: { field: c.sourceField, size: c.params.size } };
    else throw new Error(`no translation for ${c.operationType}`);
    if (Object.keys(inner).length) agg.aggs = inner;
    inner = { [id]: agg };
  }
  return inner;
}

function countBuckets(aggs: Json | undefined): number {
  if (!aggs) return 0;
  let n = 0;
  for (const v of Object.values(aggs)) {
    if (v && typeof v === 'object' && Array.isArray((v as Json).buckets)) {
      for (const b of (v as Json).buckets as Json[]) n += b.doc_count > 0 ? 1 : 0;
    }
  }
  return n;
}

describe.skipIf(!ready)('the kit end to end: pipelines, data streams, saved searches, dashboard', () => {
  let os: SearchEngine;
  let es: SearchEngine;
  const all = scenarios();
  const lines = all.flatMap((s) => s.lines);
  const malformed = new Set(all.find((s) => s.name === 'malformed')?.lines ?? []);
  const parsed = lines.filter((l) => !malformed.has(l)).map((l) => ({ raw: l, json: JSON.parse(l) as Json }));

  beforeAll(async () => {
    [os, es] = await Promise.all([startOpenSearch(), startElasticsearch()]);
    await installOnOpenSearch(os.url, forOpenSearch().kit);
    // Every document keeps its line (tag preserve_original_event), so hits can be matched to lines.
    const bulk = lines
      .map(
        (l) =>
          `${JSON.stringify({ create: { _index: 'logs-mcp_ssh-default' } })}\n${JSON.stringify({ message: l, tags: ['preserve_original_event'] })}\n`,
      )
      .join('');
    // The test node has the ingest role (OpenSearchMain), so bulk runs the pipelines at index
    // time, rerouting included, as a production cluster does.
    expect(await hasIngestNode(os.url), 'the OpenSearch test node must have the ingest role').toBe(true);
    const r = await ok(os.url, 'POST', '/_bulk?refresh=true', bulk);
    const failed = (r.json.items as Json[]).filter((i) => i.create.status >= 300);
    expect(failed, JSON.stringify(failed.slice(0, 3))).toEqual([]);
  }, 240_000);

  afterAll(async () => {
    await Promise.all([os?.stop(), es?.stop()]);
  });

  it('OpenSearch: every line is indexed once, in the data stream of its category; malformed ones in failed', async () => {
    const count = async (pattern: string): Promise<number> =>
      (await ok(os.url, 'GET', `/${pattern}/_count`)).json.count as number;
    const category = (l: Json): string =>
      l.type === 'policy_decision' || l.type === 'audit'
        ? 'audit'
        : l.type === 'security_event' || (l.type === 'error' && l.msg === 'network_blocked')
          ? 'security'
          : 'operational';
    for (const c of ['audit', 'security', 'operational']) {
      expect(await count(`logs-mcp_ssh.${c}-default`), c).toBe(parsed.filter((p) => category(p.json) === c).length);
    }
    expect(await count('logs-mcp_ssh.failed-default')).toBe(malformed.size);
    // Nothing stays in the front door.
    expect((await req(os.url, 'GET', '/logs-mcp_ssh-default/_count')).json?.count ?? 0).toBe(0);
    const ds = await ok(os.url, 'GET', '/_data_stream/logs-mcp_ssh*');
    expect((ds.json.data_streams as Json[]).map((d) => d.name).sort()).toEqual([
      'logs-mcp_ssh.audit-default',
      'logs-mcp_ssh.failed-default',
      'logs-mcp_ssh.operational-default',
      'logs-mcp_ssh.security-default',
    ]);
  });

  it('OpenSearch: a line written straight to a category data stream (as Logstash does) is processed once, or moved', async () => {
    const audit = parsed.find((p) => p.json.type === 'audit')?.raw as string;
    const security = parsed.find((p) => p.json.type === 'security_event')?.raw as string;
    const bulk = [
      ['logs-mcp_ssh.audit-direct', audit],
      ['logs-mcp_ssh.audit-direct', security], // wrong category: the pipeline moves it
    ]
      .map(
        ([index, l]) =>
          `${JSON.stringify({ create: { _index: index } })}\n${JSON.stringify({ message: l, data_stream: { type: 'logs', dataset: 'mcp_ssh.audit', namespace: 'direct' } })}\n`,
      )
      .join('');
    try {
      const r = await ok(os.url, 'POST', '/_bulk?refresh=true', bulk);
      expect((r.json.items as Json[]).map((i) => i.create.status)).toEqual([201, 201]);
      const inAudit = await ok(os.url, 'GET', '/logs-mcp_ssh.audit-direct/_search');
      expect(inAudit.json.hits.hits.map((h: Json) => h._source.mcp_ssh.event.type)).toEqual(['audit']);
      const inSecurity = await ok(os.url, 'GET', '/logs-mcp_ssh.security-direct/_search');
      expect(inSecurity.json.hits.hits.map((h: Json) => h._source.event.action)).toHaveLength(1);
    } finally {
      // The saved searches below count documents over logs-mcp_ssh.<category>-*: leave only the golden lines.
      await req(os.url, 'DELETE', '/_data_stream/logs-mcp_ssh.audit-direct,logs-mcp_ssh.security-direct');
    }
  });

  it('Elasticsearch 8.19: templates accepted; ours win over logs-*-* at the built-in priority', async () => {
    // Stand-in for the built-in `logs` template of a full distribution (this one ships none).
    await ok(es.url, 'PUT', '/_index_template/logs', {
      index_patterns: ['logs-*-*'],
      data_stream: {},
      priority: 100,
      template: { settings: { index: { default_pipeline: 'logs@default-pipeline' } } },
    });
    const kit = templatesForEsTestEngine();
    for (const c of [...kit.componentTemplates, ...kit.customComponentTemplates])
      await ok(es.url, 'PUT', `/_component_template/${encodeURIComponent(c.name)}`, c.body);
    for (const t of kit.indexTemplates) await ok(es.url, 'PUT', `/_index_template/${t.name}`, t.body);
    for (const c of ['audit', 'security', 'operational']) {
      const sim = await ok(es.url, 'POST', `/_index_template/_simulate_index/logs-mcp_ssh.${c}-default`);
      expect(sim.json.template.settings.index.default_pipeline).toBe('logs-mcp_ssh');
      expect(sim.json.template.mappings.properties.event.properties.duration.type).toBe('long');
      expect(sim.json.overlapping.map((o: Json) => o.name)).toContain('logs');
    }
  });

  it('Elasticsearch 8.19: the pipeline output is accepted by the data streams of the kit templates', async () => {
    const hits = (await ok(os.url, 'POST', '/logs-mcp_ssh*/_search?size=1000', { query: { match_all: {} } })).json.hits
      .hits as Json[];
    expect(hits.length).toBeGreaterThanOrEqual(lines.length);
    // The pipelines ran on the ingest engine; here only mappings and data streams are exercised.
    const bulk = hits
      .map(
        (h) =>
          `${JSON.stringify({ create: { _index: h._source.data_stream ? `logs-${h._source.data_stream.dataset}-${h._source.data_stream.namespace}` : h._index } })}\n${JSON.stringify(h._source)}\n`,
      )
      .join('');
    const r = await ok(es.url, 'POST', '/_bulk?refresh=true&pipeline=_none', bulk);
    const failed = (r.json.items as Json[]).filter((i) => i.create.status >= 300);
    expect(failed, JSON.stringify(failed.slice(0, 3))).toEqual([]);
    const mapping = await ok(es.url, 'GET', '/logs-mcp_ssh.audit-default/_mapping');
    const props = (Object.values(mapping.json)[0] as Json).mappings.properties;
    expect(props.destination.properties.ip.type).toBe('ip');
    expect(props.process.properties.exit_code.type).toBe('long');
    expect(props.mcp_ssh.properties.extra.enabled).toBe(false);
  });

  for (const search of objects.filter((o) => o.type === 'search')) {
    it(`saved search "${search.attributes.title}" returns exactly its documents on both engines`, async () => {
      const source = JSON.parse(search.attributes.kibanaSavedObjectMeta.searchSourceJSON) as Json;
      const pattern = dataViewOf(search, source.indexRefName);
      const query = kqlToDsl(source.query.query);
      const intended = INTENDED[search.id];
      expect(intended, `no intended result for ${search.id}`).toBeDefined();
      const want = parsed
        .filter((p) => intended?.(p.json))
        .map((p) => p.raw)
        .sort();
      expect(want.length, 'the golden logs have no line this search is for').toBeGreaterThan(0);
      for (const engine of [os, es]) {
        const r = await ok(engine.url, 'POST', `/${pattern}/_search?size=1000`, {
          query: { bool: { filter: [query, { range: { '@timestamp': { gte: 'now-5y' } } }] } },
          _source: ['event.original'],
        });
        const got = (r.json.hits.hits as Json[]).map((h) => h._source.event.original as string).sort();
        expect(got, `${engine.flavor}: ${source.query.query}`).toEqual(want);
      }
    });
  }

  for (const lens of objects.filter((o) => o.type === 'lens')) {
    it(`dashboard panel "${lens.attributes.title}": its query and aggregation run and find data on both engines`, async () => {
      const pattern = dataViewOf(lens, 'indexpattern-datasource-layer-layer1');
      const body = { size: 0, query: kqlToDsl(lens.attributes.state.query.query), aggs: lensAggs(lens) };
      for (const engine of [os, es]) {
        let r = await req(engine.url, 'POST', `/${pattern}/_search`, body);
        if (engine.flavor === 'elasticsearch' && /Unknown aggregation type \[multi_terms\]/.test(r.text)) {
          // multi_terms (what Lens runs for a breakdown by two fields) lives in x-pack analytics,
          // present on every default distribution (basic licence) but not in the Maven Central
          // integ-test-zip. Run the same buckets as nested terms there.
          r = await req(engine.url, 'POST', `/${pattern}/_search`, {
            ...body,
            aggs: JSON.parse(
              JSON.stringify(body.aggs).replace(
                /\{"multi_terms":\{"terms":\[\{"field":"([^"]+)"\},\{"field":"([^"]+)"\}\],"size":(\d+)\}/g,
                '{"terms":{"field":"$1","size":$3},"aggs":{"second":{"terms":{"field":"$2"}}}',
              ),
            ),
          });
        }
        expect(r.status, r.text.slice(0, 500)).toBe(200);
        expect(r.json.hits.total.value, `${engine.flavor}: no document for ${lens.attributes.title}`).toBeGreaterThan(
          0,
        );
        expect(countBuckets(r.json.aggregations), engine.flavor).toBeGreaterThan(0);
      }
    });
  }

  it('the dashboard shows each of its panels', () => {
    const dashboard = objects.find((o) => o.type === 'dashboard') as Json;
    const titles = (dashboard.references as Json[]).map((r) => byId.get(r.id)?.attributes.title);
    expect(titles).toEqual([
      'Policy violations over time',
      'Authentication failures by host',
      'Security events by type',
      'Command rate by host and outcome',
      'Command duration p95',
    ]);
  });
});
