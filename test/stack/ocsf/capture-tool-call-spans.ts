/**
 * Writes test/pipelines/ocsf-tool-calls.spans.json: the span documents the OTel Collector's
 * elasticsearch exporter (gateway.yaml, `otel` mapping mode) writes for the MCP tool calls of a
 * session of the REAL orchestrator (dist/cli.js, MCP SDK client, real sshd), captured from the
 * real Collector through the Elasticsearch front onto OpenSearch, as collector-paths.test.ts
 * runs them. Only `tools/call <tool>` spans (SERVER spans, one per tool call) are kept; the OCSF
 * variant maps them to API Activity (6003). And the same session's stderr lines go to
 * test/pipelines/ocsf-tool-calls.log, the stderr side of those calls.
 *
 *   npm run build && ENGINES_CACHE=... npx tsx test/stack/ocsf/capture-tool-call-spans.ts
 *   GENERATE_EXPECTED=1 npx vitest run test/stack/pipelines.test.ts -t ocsf-tool-calls
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeFleet } from '../../helpers/fleet.js';
import { startSession } from '../../helpers/mcp-session.js';
import { startSshd } from '../../helpers/sshd.js';
import { allDocs, collectorConfig, eventually, startElasticFront } from '../collector-engines.js';
import { freePort, REPO_ROOT, startCollector, startOpenSearch } from '../engines.js';
import { forOpenSearch, installOnOpenSearch, ok } from '../kit.js';

const TRACES = 'traces-mcp_ssh.otel-default';
const dir = mkdtempSync(join(tmpdir(), 'mcp-ocsf-capture-'));
const [os, sshd] = await Promise.all([startOpenSearch(), startSshd()]);
try {
  await installOnOpenSearch(os.url, forOpenSearch().kit);
  // Stand-in for the traces-*.otel-* template Elasticsearch 8.16+ ships (as collector-paths.test.ts).
  await ok(os.url, 'PUT', '/_index_template/traces-otel-stand-in', {
    index_patterns: ['traces-*.otel-*'],
    data_stream: {},
    priority: 150,
    template: { mappings: { dynamic: false, properties: { '@timestamp': { type: 'date_nanos' } } } },
  });
  const front = await startElasticFront(os.url);
  const http = await freePort();
  const env = {
    ELASTICSEARCH_ENDPOINT: front.url,
    COLLECTOR_STORAGE_DIR: dir,
    COLLECTOR_METRICS_HOST: '127.0.0.1',
    COLLECTOR_METRICS_PORT: String(await freePort()),
    COLLECTOR_HEALTH_ENDPOINT: `127.0.0.1:${await freePort()}`,
    OTLP_HTTP_ENDPOINT: `127.0.0.1:${http}`,
    OTLP_GRPC_ENDPOINT: `127.0.0.1:${await freePort()}`,
  };
  const gateway = await startCollector(collectorConfig([join(REPO_ROOT, 'otel-collector/gateway.yaml')], env, dir), {
    env,
  });
  try {
    const fleet = makeFleet([sshd], [{ alias: 'web1', sshd, tags: ['web'] }]);
    const s = await startSession(fleet.configDir, {
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${http}`, OTEL_SERVICE_NAME: 'mcp-ssh-orchestrator' },
    });
    try {
      await s.call('ssh_list_hosts');
      await s.call('ssh_run', { alias: 'web1', command: 'hostname' });
      await s.call('ssh_run', { alias: 'web1', command: 'rm -rf /tmp/ocsf' }); // refused: isError
      await s.call('ssh_run', { alias: 'nosuchhost', command: 'hostname' }); // unknown alias: isError
      await s.call('ssh_plan', { alias: 'web1', command: 'uptime' });
      await s.call('ssh_reload_config');
    } finally {
      await s.close(); // the server flushes its OTLP exporters before it exits
    }
    const lines = s
      .rawStderr()
      .split('\n')
      .filter((l) => l.length > 0);
    let spans: Record<string, unknown>[] = [];
    await eventually(async () => {
      spans = (await allDocs(os.url, TRACES))
        .map((h) => h._source as Record<string, unknown>)
        .filter((d) => String(d.name).startsWith('tools/call '));
      return spans.length >= 6;
    }, 60_000);
    spans.sort((a, b) => String(a['@timestamp']).localeCompare(String(b['@timestamp'])));
    if (spans.length !== 6) throw new Error(`expected 6 tool-call spans, got ${spans.length}`);
    writeFileSync(
      join(REPO_ROOT, 'test/pipelines/ocsf-tool-calls.spans.json'),
      JSON.stringify({ spans }, null, 2) + '\n',
    );
    writeFileSync(join(REPO_ROOT, 'test/pipelines/ocsf-tool-calls.log'), lines.join('\n') + '\n');
    process.stderr.write(`ocsf-tool-calls: ${spans.length} spans, ${lines.length} lines\n`);
  } finally {
    await gateway.stop();
    await front.close();
  }
} finally {
  await Promise.all([os.stop(), sshd.stop()]);
  rmSync(dir, { recursive: true, force: true });
}
