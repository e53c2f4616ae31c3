/**
 * Both paths give the same ECS documents: the orchestrator (real process, real sshd) sends its
 * OTel log records over OTLP to the real Collector (otelcol-mcp, built with ocb), whose
 * elasticsearch exporter writes them, once per mapping mode (otel, none, raw), into capture
 * data streams of the test Elasticsearch. Each captured document, exactly as the exporter wrote
 * it, then goes through the kit's entry pipeline, and must give the same document as the
 * stderr line of the same event (the Logstash / Filebeat path), event.ingested aside.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { makeFleet } from '../helpers/fleet.js';
import { startSession } from '../helpers/mcp-session.js';
import { startSshd, type TestSshd } from '../helpers/sshd.js';
import {
  freePort,
  REPO_ROOT,
  requireEngines,
  startCollector,
  startElasticsearch,
  startOpenSearch,
  type RunningCollector,
  type SearchEngine,
} from './engines.js';
import { forOpenSearch, installOnOpenSearch, mask, ok, req, simulate } from './kit.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const ready = requireEngines('opensearch', 'elasticsearch', 'otelcol');
const MODES = ['otel', 'none', 'raw'] as const;

describe.skipIf(!ready)('OTel Collector path = stderr path (real Collector, real exporter documents)', () => {
  let os: SearchEngine;
  let es: SearchEngine;
  let sshd: TestSshd;
  let collector: RunningCollector | undefined;
  let stderrLines: string[] = [];
  const captured: Record<string, Json[]> = {};

  beforeAll(async () => {
    [os, es, sshd] = await Promise.all([startOpenSearch(), startElasticsearch(), startSshd()]);
    await installOnOpenSearch(os.url, forOpenSearch().kit);
    await ok(es.url, 'PUT', '/_index_template/capture', {
      index_patterns: ['logs-capture.*-*'],
      data_stream: {},
      priority: 500,
      template: { mappings: { dynamic: false } },
    });
    const port = await freePort();
    collector = await startCollector(join(REPO_ROOT, 'test/stack/elk/collector-capture.yaml'), {
      env: { OTLP_HTTP_PORT: String(port), ES_URL: es.url },
    });
    const fleet = makeFleet([sshd], [{ alias: 'web1', sshd }]);
    const s = await startSession(fleet.configDir, {
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`, OTEL_SERVICE_NAME: 'mcp-ssh-orchestrator' },
    });
    try {
      await s.call('ssh_run', { alias: 'web1', command: 'hostname' });
      await s.call('ssh_run', { alias: 'web1', command: 'sh -c "exit 3"' });
      await s.call('ssh_run', { alias: 'web1', command: 'rm -rf /tmp/parity' });
      await s.call('ssh_run', { alias: 'web1', command: "r''eboot" });
      await s.call('ssh_reload_config');
    } finally {
      await s.close(); // stdin closes: the server flushes its OTLP exporters before it exits
    }
    stderrLines = s
      .rawStderr()
      .split('\n')
      .filter((l) => l.length > 0);
    // The exporter writes asynchronously: wait (bounded) until every record is in every capture.
    const deadline = Date.now() + 60_000;
    for (const mode of MODES) {
      for (;;) {
        await req(es.url, 'POST', `/logs-capture.${mode}-default/_refresh`);
        const r = await req(es.url, 'POST', `/logs-capture.${mode}-default/_search?size=1000`, {
          query: { match_all: {} },
        });
        captured[mode] = ((r.json?.hits?.hits as Json[] | undefined) ?? []).map((h) => h._source as Json);
        if ((captured[mode]?.length ?? 0) >= stderrLines.length || Date.now() > deadline) break;
        await new Promise((res) => setTimeout(res, 500));
      }
    }
  }, 240_000);

  afterAll(async () => {
    await collector?.stop();
    await Promise.all([os?.stop(), es?.stop(), sshd?.stop()]);
  });

  it('the session wrote every kind of line the parity run is about', () => {
    const types = new Set(stderrLines.map((l) => (JSON.parse(l) as Json).type));
    for (const t of ['policy_decision', 'progress', 'audit', 'trace', 'security_event', 'config_reload'])
      expect(types).toContain(t);
  });

  for (const mode of MODES) {
    it(`mapping mode ${mode}: one exporter document per stderr line, carrying the line itself`, () => {
      const docs = captured[mode] ?? [];
      const bodies = docs.map((d) => (mode === 'otel' ? d.body?.text : d.Body) as string).sort();
      expect(bodies, collector?.logs().slice(-2000)).toEqual([...stderrLines].sort());
    });

    it(`mapping mode ${mode}: the pipelines give the same ECS documents as from the stderr lines`, async () => {
      const docs = captured[mode] ?? [];
      const lineOf = (d: Json): string => (mode === 'otel' ? d.body?.text : d.Body) as string;
      const viaCollector = await simulate(os.url, docs);
      const viaStderr = await simulate(
        os.url,
        docs.map((d) => ({ message: lineOf(d) })),
      );
      expect(viaCollector.length).toBeGreaterThan(0);
      viaCollector.forEach((r, i) => {
        expect(r.error, JSON.stringify(r.error)).toBeUndefined();
        const a = { _index: r.doc?._index, _source: mask(r.doc?._source ?? {}) };
        const b = { _index: viaStderr[i]?.doc?._index, _source: mask(viaStderr[i]?.doc?._source ?? {}) };
        expect(a, `${mode}: ${lineOf(docs[i] as Json)}`).toEqual(b);
      });
    });
  }
});
