/**
 * `mcp-ssh-orchestrator setup elasticsearch` against real engines:
 *  - a closed port: "cannot reach ... connection refused";
 *  - OpenSearch: refused as not Elasticsearch;
 *  - Elasticsearch 8.19 from Maven Central (no ingest-common, no painless, no ILM, no GET /):
 *    version found through the nodes API, then a clear refusal naming the missing processors;
 *  - the installer itself (installKit) on OpenSearch with the adapted kit: creates everything,
 *    a second run converges (updated, @custom templates kept), a user's @custom edit survives.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpClient, installKit, runSetupCommand } from '../../src/setup/elasticsearch.js';
import { freePort, requireEngines, startElasticsearch, startOpenSearch, type SearchEngine } from './engines.js';
import { forOpenSearch, ok } from './kit.js';

const ready = requireEngines('opensearch', 'elasticsearch');

async function setup(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runSetupCommand(args, { out: (t) => (out += t), err: (t) => (err += t), env: {} });
  return { code, out, err };
}

describe.skipIf(!ready)('setup elasticsearch against real engines', () => {
  let os: SearchEngine;
  let es: SearchEngine;

  beforeAll(async () => {
    [os, es] = await Promise.all([startOpenSearch(), startElasticsearch()]);
  }, 180_000);
  afterAll(async () => {
    await Promise.all([os?.stop(), es?.stop()]);
  });

  it('an unreachable URL: exit 1, says it cannot reach it and why', async () => {
    const port = await freePort();
    const r = await setup(['elasticsearch', '--url', `http://127.0.0.1:${port}`]);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`setup failed: cannot reach Elasticsearch at http://127.0.0.1:${port}: connection refused`);
  });

  it('OpenSearch: exit 1, not Elasticsearch', async () => {
    const r = await setup(['elasticsearch', '--url', os.url]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/is OpenSearch 2\.\d+\.\d+, not Elasticsearch: the kit needs Elasticsearch 8\.8 or later/);
  });

  it('Elasticsearch without the ingest modules: exit 1, names the missing processors, installs nothing', async () => {
    const r = await setup(['elasticsearch', '--url', es.url]);
    expect(r.code).toBe(1);
    expect(r.err).toContain(
      `setup failed: Elasticsearch ${es.version} at ${es.url} lacks the ingest processors append, json, pipeline, remove, rename, reroute, script, set`,
    );
    const templates = await ok(es.url, 'GET', '/_index_template');
    expect((templates.json.index_templates as { name: string }[]).map((t) => t.name)).not.toContain(
      'logs-mcp_ssh.audit',
    );
  });

  it('installKit: everything created, then a second run converges and keeps the @custom templates', async () => {
    const { kit } = forOpenSearch();
    // The adapted kit drops ignore_missing_pipeline; OpenSearch then needs the hook to exist.
    await ok(os.url, 'PUT', '/_ingest/pipeline/logs-mcp_ssh@custom', { processors: [] });
    const client = new HttpClient(os.url, 'OpenSearch');
    const first = await installKit(client, kit);
    expect(
      first.every((s) => s.action === 'created'),
      JSON.stringify(first),
    ).toBe(true);
    expect(first.map((s) => s.kind)).toEqual([
      ...kit.componentTemplates.map(() => 'component template'),
      ...kit.customComponentTemplates.map(() => 'component template'),
      ...kit.pipelines.map(() => 'ingest pipeline'),
      ...kit.indexTemplates.map(() => 'index template'),
    ]);
    // A user's own mapping in a @custom template survives a second run.
    await ok(os.url, 'PUT', '/_component_template/logs-mcp_ssh.audit@custom', {
      template: { mappings: { properties: { labels: { properties: { team: { type: 'keyword' } } } } } },
    });
    const second = await installKit(client, kit);
    expect(second.filter((s) => s.action === 'created')).toEqual([]);
    expect(
      second
        .filter((s) => s.action === 'kept')
        .map((s) => s.name)
        .sort(),
    ).toEqual(kit.customComponentTemplates.map((c) => c.name).sort());
    const custom = await ok(os.url, 'GET', '/_component_template/logs-mcp_ssh.audit@custom');
    expect(JSON.stringify(custom.json)).toContain('"team"');
    const pipeline = await ok(os.url, 'GET', '/_ingest/pipeline/logs-mcp_ssh');
    expect(Object.keys(pipeline.json)).toEqual(['logs-mcp_ssh']);
  });
});
