/**
 * Smoke tests for the real engines of the stack layer: each one must actually work (and each
 * negative case must actually fail), or every stack test built on it proves nothing.
 * Missing engines skip this file with one line (CI=true fails instead); see docs/testing.md.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  REPO_ROOT,
  dclint,
  dockerCompose,
  freePort,
  ilmCheck,
  mustache,
  otelcol,
  promtool,
  requireEngine,
  startCollector,
  startElasticsearch,
  startOpenSearch,
  startPrometheus,
  type RunningCollector,
  type SearchEngine,
} from './engines.js';

const FIXTURES = join(REPO_ROOT, 'test/stack/fixtures');
const SMOKE_CONFIG = join(REPO_ROOT, 'otel-collector/smoke.yaml');
// JVM engines take ~20 s warm on 2 cores, more when the other test workers are busy.
const SERVER_TIMEOUT = 180_000;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- ad-hoc JSON answers from the engines' REST APIs
type Json = any;

async function api(
  base: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: Json }> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!requireEngine('elasticsearch'))('Elasticsearch 8 (templates, data streams)', () => {
  let es: SearchEngine;
  beforeAll(async () => {
    es = await startElasticsearch();
  }, SERVER_TIMEOUT);
  afterAll(async () => {
    await es?.stop();
  }, 60_000);

  it('is a healthy single-node 8.x cluster', async () => {
    expect(es.version).toMatch(/^8\./);
    const health = await api(es.url, 'GET', '/_cluster/health');
    expect(health.status).toBe(200);
    expect(['green', 'yellow']).toContain(health.json.status);
    expect(health.json.number_of_nodes).toBe(1);
  });

  it('creates a data stream from a composable index template on first write', async () => {
    const tpl = await api(es.url, 'PUT', '/_index_template/mcp-smoke', {
      index_patterns: ['logs-mcp_ssh.smoke-*'],
      data_stream: {},
      priority: 500,
      template: { mappings: { properties: { '@timestamp': { type: 'date' }, message: { type: 'text' } } } },
    });
    expect(tpl.status).toBe(200);
    const doc = await api(es.url, 'POST', '/logs-mcp_ssh.smoke-default/_doc?refresh=true', {
      '@timestamp': '2026-01-01T00:00:00Z',
      message: 'hello',
    });
    expect(doc.status).toBe(201);
    expect(doc.json._index).toMatch(/^\.ds-logs-mcp_ssh\.smoke-default-/);
    const resolved = await api(es.url, 'GET', '/_resolve/index/logs-mcp_ssh.smoke-*');
    expect(resolved.json.data_streams.map((d: { name: string }) => d.name)).toEqual(['logs-mcp_ssh.smoke-default']);
    // A data stream refuses plain index requests: proves this is a data stream, not an index.
    const plain = await api(es.url, 'PUT', '/logs-mcp_ssh.smoke-default/_doc/1', {
      '@timestamp': '2026-01-01T00:00:00Z',
    });
    expect(plain.status).toBe(400);
  });

  it('rejects a malformed mapping (the engine really validates templates)', async () => {
    const bad = await api(es.url, 'PUT', '/_index_template/mcp-bad', {
      index_patterns: ['bad-*'],
      template: { mappings: { properties: { x: { type: 'no_such_type' } } } },
    });
    expect(bad.status).toBe(400);
  });
});

describe.skipIf(!requireEngine('ilm-check'))('ILM policies checked by Elasticsearch 8 code (IlmCheck)', () => {
  const write = (dir: string, name: string, policy: unknown) => {
    const file = join(dir, `${name}.json`);
    writeFileSync(file, JSON.stringify({ policy }));
    return file;
  };

  it("accepts a sound policy and names each bad one with ES's own reason", () => {
    const dir = mkdtempSync(join(tmpdir(), 'mcp-ilm-'));
    try {
      const good = write(dir, 'good', {
        phases: {
          hot: { actions: { rollover: { max_age: '7d' }, set_priority: { priority: 100 } } },
          warm: { min_age: '30d', actions: { forcemerge: { max_num_segments: 1 }, readonly: {} } },
          delete: { min_age: '90d', actions: { delete: {} } },
        },
      });
      const wrongPhase = write(dir, 'wrong-phase', { phases: { warm: { actions: { rollover: { max_age: '1d' } } } } });
      const typo = write(dir, 'typo', { phases: { hot: { actions: { rollover: { max_agee: '1d' } } } } });
      const order = write(dir, 'order', {
        phases: { warm: { min_age: '30d', actions: {} }, cold: { min_age: '10d', actions: {} } },
      });
      const ok = ilmCheck([good]);
      expect(ok.stdout.trim()).toBe(`OK ${good}`);
      expect(ok.code).toBe(0);
      const bad = ilmCheck([wrongPhase, typo, order]);
      expect(bad.code).toBe(1);
      expect(bad.stdout).toContain(
        `FAIL ${wrongPhase}: IllegalArgumentException: invalid action [rollover] defined in phase [warm]`,
      );
      expect(bad.stdout).toMatch(/FAIL .*typo\.json: .*unknown field \[max_agee\]/);
      expect(bad.stdout).toMatch(/FAIL .*order\.json: .*cold phase \(min_age: 10d\) before the warm phase/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(!requireEngine('opensearch'))('OpenSearch (ingest pipelines with painless)', () => {
  let os: SearchEngine;
  beforeAll(async () => {
    os = await startOpenSearch();
  }, SERVER_TIMEOUT);
  afterAll(async () => {
    await os?.stop();
  }, 60_000);

  const pipeline = {
    description: 'smoke: json + painless script + date + rename',
    processors: [
      { json: { tag: 'parse', field: 'message', target_field: 'mcp' } },
      { script: { tag: 'double', lang: 'painless', source: 'ctx.doubled = ctx.mcp.n * 2' } },
      { date: { tag: 'ts', field: 'mcp.ts', formats: ['ISO8601'] } },
      { rename: { tag: 'mv', field: 'mcp.host', target_field: 'host.name' } },
    ],
    on_failure: [{ set: { field: 'error.message', value: '{{ _ingest.on_failure_message }}' } }],
  };

  it('runs an ingest pipeline with a painless script processor (_simulate)', async () => {
    const put = await api(os.url, 'PUT', '/_ingest/pipeline/mcp-smoke', pipeline);
    expect(put.status).toBe(200);
    const sim = await api(os.url, 'POST', '/_ingest/pipeline/mcp-smoke/_simulate', {
      docs: [{ _source: { message: JSON.stringify({ n: 21, ts: '2026-01-02T03:04:05Z', host: 'web-1' }) } }],
    });
    expect(sim.status).toBe(200);
    const src = sim.json.docs[0].doc._source;
    expect(src.doubled).toBe(42);
    expect(src['@timestamp']).toBe('2026-01-02T03:04:05.000Z');
    expect(src.host).toEqual({ name: 'web-1' });
    expect(src.error).toBeUndefined();
  });

  it('reports a processor failure through on_failure', async () => {
    const sim = await api(os.url, 'POST', '/_ingest/pipeline/mcp-smoke/_simulate', {
      docs: [{ _source: { message: 'not json' } }],
    });
    expect(sim.json.docs[0].doc._source.error.message).toMatch(/./);
  });

  it('rejects a painless script that does not compile', async () => {
    const bad = await api(os.url, 'PUT', '/_ingest/pipeline/mcp-bad', {
      processors: [{ script: { lang: 'painless', source: 'ctx.x = ;' } }],
    });
    expect(bad.status).toBe(400);
  });

  it('creates a data stream via an index template', async () => {
    expect(
      (
        await api(os.url, 'PUT', '/_index_template/mcp-smoke', {
          index_patterns: ['logs-mcp_ssh.smoke-*'],
          data_stream: {},
          priority: 500,
        })
      ).status,
    ).toBe(200);
    expect((await api(os.url, 'PUT', '/_data_stream/logs-mcp_ssh.smoke-default')).status).toBe(200);
    const ds = await api(os.url, 'GET', '/_data_stream/logs-mcp_ssh.smoke-default');
    expect(ds.json.data_streams[0].template).toBe('mcp-smoke');
  });
});

describe.skipIf(!requireEngine('otelcol'))('OpenTelemetry Collector (ocb build)', () => {
  const dummyEnv = {
    STORAGE_DIR: '/tmp/unused',
    OTLP_HTTP_PORT: '4318',
    FILELOG_PATH: '/tmp/unused.log',
    FILE_OUT: '/tmp/unused.json',
    UNUSED_PORT: '9',
  };

  it('validates the smoke config that uses every required component', () => {
    const r = otelcol(['validate', `--config=${SMOKE_CONFIG}`], { env: dummyEnv });
    expect(r.stderr + r.stdout).not.toMatch(/error/i);
    expect(r.code).toBe(0);
  });

  it('fails validation for a component the build does not have', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mcp-otel-bad-'));
    try {
      const cfg = join(dir, 'bad.yaml');
      writeFileSync(
        cfg,
        [
          'receivers: { otlp: { protocols: { http: {} } } }',
          'exporters: { kafka: {} }',
          'service: { pipelines: { logs: { receivers: [otlp], exporters: [kafka] } } }',
          '',
        ].join('\n'),
      );
      const r = otelcol(['validate', `--config=${cfg}`]);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/kafka/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  describe('running', () => {
    let col: RunningCollector;
    let dir: string;
    let port: number;
    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'mcp-otel-run-'));
      port = await freePort();
      writeFileSync(join(dir, 'input.log'), 'line from filelog\n');
      col = await startCollector(SMOKE_CONFIG, {
        env: {
          STORAGE_DIR: join(dir, 'storage'),
          OTLP_HTTP_PORT: String(port),
          FILELOG_PATH: join(dir, 'input.log'),
          FILE_OUT: join(dir, 'out.json'),
          UNUSED_PORT: String(await freePort()),
        },
      });
    }, 60_000);
    afterAll(async () => {
      await col?.stop();
      rmSync(dir, { recursive: true, force: true });
    }, 60_000);

    it('receives an OTLP/HTTP log and a filelog line and writes both with the file exporter', async () => {
      const body = {
        resourceLogs: [
          {
            resource: { attributes: [{ key: 'service.name', value: { stringValue: 'mcp-ssh-orchestrator' } }] },
            scopeLogs: [
              { logRecords: [{ timeUnixNano: '1767225600000000000', body: { stringValue: 'smoke via otlp' } }] },
            ],
          },
        ],
      };
      const res = await fetch(`http://127.0.0.1:${port}/v1/logs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(10_000),
      });
      expect(res.status).toBe(200);

      const out = join(dir, 'out.json');
      let text = '';
      for (let i = 0; i < 60 && !(text.includes('smoke via otlp') && text.includes('line from filelog')); i++) {
        await sleep(250);
        try {
          text = readFileSync(out, 'utf8');
        } catch {
          // not written yet
        }
      }
      expect(text).toContain('smoke via otlp');
      expect(text).toContain('line from filelog');
      // The processors ran: resource, attributes and transform all left their mark.
      expect(text).toContain('mcp-smoke');
      expect(text).toContain('smoke.attributes');
      expect(text).toContain('smoke.transform');
    });
  });
});

describe.skipIf(!requireEngine('promtool'))('promtool', () => {
  it('accepts valid exposition text', () => {
    const r = promtool(['check', 'metrics'], { input: readFileSync(join(FIXTURES, 'metrics/valid.prom'), 'utf8') });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  it('rejects malformed exposition text', () => {
    const r = promtool(['check', 'metrics'], { input: readFileSync(join(FIXTURES, 'metrics/invalid.prom'), 'utf8') });
    expect(r.code).not.toBe(0);
  });
});

describe.skipIf(!requireEngine('prometheus'))('Prometheus server', () => {
  it('scrapes itself and answers a PromQL query', async () => {
    const prom = await startPrometheus(
      [
        'global: { scrape_interval: 1s }',
        'scrape_configs:',
        '  - job_name: self',
        "    static_configs: [{ targets: ['__SELF__'] }]",
        '',
      ].join('\n'),
    );
    try {
      let value: string | undefined;
      for (let i = 0; i < 60 && value === undefined; i++) {
        const r = await api(prom.url, 'GET', '/api/v1/query?query=up%7Bjob%3D%22self%22%7D');
        value = r.json?.data?.result?.[0]?.value?.[1];
        if (value === undefined) await sleep(500);
      }
      expect(value).toBe('1');
    } finally {
      await prom.stop();
    }
  }, 60_000);
});

describe.skipIf(!requireEngine('mustache'))('mustache (Logstash config grammar)', () => {
  it('accepts a valid pipeline', () => {
    const r = mustache(['check', join(FIXTURES, 'logstash/valid.conf')]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  it('rejects a pipeline with an unclosed block', () => {
    const r = mustache(['check', join(FIXTURES, 'logstash/invalid.conf')]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/closing curly bracket/);
  });
});

describe.skipIf(!requireEngine('docker-compose'))('docker-compose config (no daemon)', () => {
  it('accepts a valid compose file', () => {
    const r = dockerCompose(['-f', join(FIXTURES, 'compose/valid.yml'), 'config', '-q']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  it('rejects an invalid compose file', () => {
    const r = dockerCompose(['-f', join(FIXTURES, 'compose/invalid.yml'), 'config', '-q']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/restart_policy_typo/);
  });
});

describe.skipIf(!requireEngine('dclint'))('dclint', () => {
  it('passes the valid compose file with no errors', () => {
    const r = dclint([join(FIXTURES, 'compose/valid.yml')]);
    expect(r.code).toBe(0);
  });

  it('fails the invalid compose file', () => {
    const r = dclint([join(FIXTURES, 'compose/invalid.yml')]);
    expect(r.code).not.toBe(0);
  });
});
