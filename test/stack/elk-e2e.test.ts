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

/** A line's type; the Python server's error lines have none, only level and msg. */
const lineType = (l: Json): string | undefined =>
  l.type ?? (typeof l.level === 'string' && typeof l.msg === 'string' ? 'error' : undefined);

/** The data stream a line belongs in, said over the raw line. */
const categoryOf = (l: Json): string =>
  l.type === 'policy_decision' || l.type === 'audit'
    ? 'audit'
    : l.type === 'security_event' || (lineType(l) === 'error' && l.msg === 'network_blocked')
      ? 'security'
      : 'operational';

/**
 * Every kind of document each data stream holds, as the pipelines make them: a saved search is
 * reviewed against all of them (the corpus must have each, see the coverage test).
 */
const KINDS: Record<string, Record<string, (l: Json) => boolean>> = {
  audit: {
    'policy_decision allowed': (l) => l.type === 'policy_decision' && l.allowed === true,
    'policy_decision denied': (l) => l.type === 'policy_decision' && l.allowed === false,
    'audit exit 0': (l) => l.type === 'audit' && l.exit_code === 0 && !l.timeout && !l.cancelled,
    'audit non-zero exit': (l) => l.type === 'audit' && l.exit_code > 0,
    'audit no exit (connection failed)': (l) => l.type === 'audit' && l.exit_code === -1,
    'audit timeout': (l) => l.type === 'audit' && l.timeout === true,
    'audit cancelled': (l) => l.type === 'audit' && l.cancelled === true,
  },
  security: {
    ...Object.fromEntries(
      [
        'path_traversal_attempt',
        'file_validation_failed',
        'file_size_limit_exceeded',
        'input_length_limit_exceeded',
        'invalid_secret_name',
        'dns_rate_limit_exceeded',
        'command_bypass_attempt',
        'authentication_failed',
        'host_key_mismatch',
      ].map((t) => [`security_event ${t}`, (l: Json) => l.type === 'security_event' && l.event_type === t]),
    ),
    'error network_blocked': (l) => lineType(l) === 'error' && l.msg === 'network_blocked',
  },
  operational: {
    progress: (l) => l.type === 'progress',
    trace: (l) => l.type === 'trace',
    'trace without ts (Python server)': (l) => l.type === 'trace' && l.ts === undefined,
    'error (task failed)': (l) => lineType(l) === 'error' && l.msg !== 'network_blocked',
    'error without type or ts (Python server)': (l) => l.type === undefined && lineType(l) === 'error',
    'config_reload ok': (l) => l.type === 'config_reload' && l.success === true,
    'config_reload failed': (l) => l.type === 'config_reload' && l.success === false,
  },
};

/** What each saved search must find, said over the raw stderr lines (independently of the pipelines). */
const INTENDED: Record<string, (l: Json) => boolean> = {
  'mcp_ssh-search-command-executions': (l) => l.type === 'audit',
  'mcp_ssh-search-denied-commands': (l) => l.type === 'policy_decision' && l.allowed === false,
  'mcp_ssh-search-failed-commands': (l) => l.type === 'audit' && l.exit_code !== 0,
  'mcp_ssh-search-timeouts-cancellations': (l) => l.type === 'audit' && (l.timeout === true || l.cancelled === true),
  // Everything the security data stream holds: security events and the network policy's refusals.
  'mcp_ssh-search-security-events': (l) => categoryOf(l) === 'security',
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
    // Kibana picks the interval from the time range; the corpus spans over a year (the Python
    // server's documented lines are dated 2025), so a day, as Kibana's auto interval would be.
    if (c.operationType === 'date_histogram') agg = { date_histogram: { field: c.sourceField, fixed_interval: '1d' } };
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
    for (const c of ['audit', 'security', 'operational']) {
      expect(await count(`logs-mcp_ssh.${c}-default`), c).toBe(parsed.filter((p) => categoryOf(p.json) === c).length);
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

  it('the corpus has a document of every kind each data stream holds (what the saved searches are reviewed against)', async () => {
    for (const [category, kinds] of Object.entries(KINDS)) {
      for (const [kind, is] of Object.entries(kinds)) {
        const lines = parsed.filter((p) => is(p.json));
        expect(lines.length, `no golden line of kind "${kind}"`).toBeGreaterThan(0);
        for (const p of lines) expect(categoryOf(p.json), `${kind}: ${p.raw}`).toBe(category);
      }
      // ...and no line of the stream is of a kind not listed.
      const stream = parsed.filter((p) => categoryOf(p.json) === category);
      const unlisted = stream.filter((p) => !Object.values(kinds).some((is) => is(p.json)));
      expect(
        unlisted.map((p) => p.raw.slice(0, 120)),
        category,
      ).toEqual([]);
    }
  });

  it('each saved search, kind by kind of its data stream: found exactly the kinds it is meant for', () => {
    const review: string[] = [];
    for (const search of objects.filter((o) => o.type === 'search')) {
      const source = JSON.parse(search.attributes.kibanaSavedObjectMeta.searchSourceJSON) as Json;
      const pattern = dataViewOf(search, source.indexRefName);
      const intended = INTENDED[search.id] as (l: Json) => boolean;
      for (const [category, kinds] of Object.entries(KINDS)) {
        if (!pattern.split(',').includes(`logs-mcp_ssh.${category}-*`)) continue;
        for (const [kind, is] of Object.entries(kinds)) {
          const of = parsed.filter((p) => is(p.json));
          const found = of.filter((p) => intended(p.json)).length;
          review.push(`${search.id} | ${kind}: ${found === 0 ? 'none' : found === of.length ? 'all' : 'some'}`);
        }
      }
    }
    // The review table, for a reader (vitest prints it with -reporter=verbose on failure).
    expect(review).toContain('mcp_ssh-search-security-events | error network_blocked: all');
    expect(review).toContain('mcp_ssh-search-security-events | security_event path_traversal_attempt: all');
    expect(review).toContain('mcp_ssh-search-denied-commands | policy_decision allowed: none');
    expect(review).toContain('mcp_ssh-search-failed-commands | audit no exit (connection failed): all');
    expect(review).toContain('mcp_ssh-search-command-executions | audit timeout: all');
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
