/**
 * The orchestrator's metrics over OTLP through the gateway (otel-collector/gateway.yaml, real
 * Collector) into Elasticsearch 8 (real, no front): OTEL_METRICS_EXPORTER=otlp with delta
 * temporality, as otel-collector/README.md tells, lands every seed metric that has a series —
 * the duration histogram included — in metrics-mcp_ssh.otel-default, under its /metrics name
 * and labels. With cumulative temporality the exporter keeps the counters and drops the
 * histogram, which is what the README warns of.
 *
 * Elasticsearch here has no x-pack otel-data plugin, so the metrics-*.otel-* template it would
 * ship is a stand-in: a data stream that keeps _source and maps nothing (what is checked is what
 * the exporter wrote).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeFleet, type Fleet } from '../helpers/fleet.js';
import { startSession } from '../helpers/mcp-session.js';
import { startSshd, type TestSshd } from '../helpers/sshd.js';
import { allDocs, eventually, type Json } from './collector-engines.js';
import {
  freePort,
  REPO_ROOT,
  requireEngines,
  startCollector,
  startElasticsearch,
  type RunningCollector,
  type SearchEngine,
} from './engines.js';
import { ok } from './kit.js';

const ready = requireEngines('elasticsearch', 'otelcol');
const GATEWAY = join(REPO_ROOT, 'otel-collector/gateway.yaml');
const METRICS = 'metrics-mcp_ssh.otel-default';

describe.skipIf(!ready)('metrics over OTLP → gateway → Elasticsearch (real Collector, real Elasticsearch 8)', () => {
  let es: SearchEngine;
  let sshd: TestSshd;
  let fleet: Fleet;
  let gateway: RunningCollector | undefined;
  let http = 0;
  const storage = mkdtempSync(join(tmpdir(), 'mcp-gateway-metrics-'));

  beforeAll(async () => {
    [es, sshd] = await Promise.all([startElasticsearch(), startSshd()]);
    await ok(es.url, 'PUT', '/_index_template/metrics-otel-stand-in', {
      index_patterns: ['metrics-*.otel-*'],
      data_stream: {},
      priority: 500,
      template: { mappings: { dynamic: false, properties: { '@timestamp': { type: 'date_nanos' } } } },
    });
    http = await freePort();
    gateway = await startCollector(GATEWAY, {
      env: {
        ELASTICSEARCH_ENDPOINT: es.url,
        COLLECTOR_STORAGE_DIR: storage,
        OTLP_HTTP_ENDPOINT: `127.0.0.1:${http}`,
        OTLP_GRPC_ENDPOINT: `127.0.0.1:${await freePort()}`,
        COLLECTOR_METRICS_HOST: '127.0.0.1',
        COLLECTOR_METRICS_PORT: String(await freePort()),
        COLLECTOR_HEALTH_ENDPOINT: `127.0.0.1:${await freePort()}`,
      },
    });
    fleet = makeFleet([sshd], [{ alias: 'web1', sshd }]);
  }, 240_000);

  afterAll(async () => {
    await gateway?.stop();
    await Promise.all([es?.stop(), sshd?.stop()]);
    rmSync(storage, { recursive: true, force: true });
  });

  /** One session (hostname, a denied command), its metrics only; the documents of that service. */
  const run = async (service: string, temporality: string): Promise<Json[]> => {
    const s = await startSession(fleet.configDir, {
      env: {
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${http}`,
        OTEL_SERVICE_NAME: service,
        OTEL_TRACES_EXPORTER: 'none',
        OTEL_LOGS_EXPORTER: 'none',
        OTEL_METRICS_EXPORTER: 'otlp',
        OTEL_METRIC_EXPORT_INTERVAL: '1000',
        OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE: temporality,
      },
    });
    try {
      expect((await s.call('ssh_run', { alias: 'web1', command: 'hostname' })).structuredContent).toMatchObject({
        exit_code: 0,
      });
      await s.call('ssh_run', { alias: 'web1', command: 'rm -rf /' });
    } finally {
      await s.close(); // the last export happens at shutdown
    }
    expect(s.lines().filter((l) => String(l.msg ?? '').startsWith('otel_'))).toEqual([]);
    const docs = async () =>
      (await allDocs(es.url, METRICS))
        // A backing index of the data stream (the exporter asks for one: require_data_stream).
        .filter((h) => h._index.startsWith(`.ds-${METRICS}-`))
        .map((h) => h._source)
        .filter((d) => (d.resource as Json | undefined)?.attributes?.['service.name'] === service);
    await eventually(
      async () => (await docs()).some((d) => d.metrics?.ssh_policy_decisions_total !== undefined),
      60_000,
    );
    // The gateway batches for up to a second: let a late batch of the same run land too.
    await new Promise((r) => setTimeout(r, 3000));
    return docs();
  };

  /** The documents of one metric, as {labels, value} (deltas summed over documents). */
  const series = (docs: Json[], name: string): Map<string, unknown[]> => {
    const out = new Map<string, unknown[]>();
    for (const d of docs) {
      const value = (d.metrics as Json | undefined)?.[name];
      if (value === undefined) continue;
      const key = JSON.stringify(d.attributes ?? {});
      out.set(key, [...(out.get(key) ?? []), value]);
    }
    return out;
  };

  it('delta temporality: every seed metric with a series lands, the duration histogram included', async () => {
    const docs = await run('gateway-metrics-delta', 'delta');
    const sum = (values: unknown[] | undefined) => (values ?? []).reduce<number>((a, v) => a + Number(v), 0);
    const commands = series(docs, 'ssh_commands_total');
    expect(sum(commands.get(JSON.stringify({ alias: 'web1', status: 'success' })))).toBe(1);
    expect(sum(commands.get(JSON.stringify({ alias: 'web1', status: 'denied' })))).toBe(1);
    const decisions = series(docs, 'ssh_policy_decisions_total');
    expect(sum(decisions.get(JSON.stringify({ decision: 'allow', rule: 'read-only' })))).toBe(1);
    expect(sum(decisions.get(JSON.stringify({ decision: 'deny', rule: 'deny_substrings' })))).toBe(1);
    expect(
      sum(series(docs, 'ssh_policy_violations_total').get(JSON.stringify({ violation_type: 'command_denied' }))),
    ).toBe(1);
    expect(series(docs, 'ssh_active_sessions').size).toBe(1);
    // The histogram, as the exporter writes it: {counts, values} (bucket midpoints).
    const duration = series(docs, 'ssh_command_duration_seconds').get(JSON.stringify({ alias: 'web1' })) as
      { counts: number[]; values: number[] }[] | undefined;
    expect(duration, JSON.stringify(docs.map((d) => Object.keys(d.metrics ?? {})))).toBeDefined();
    expect(duration?.flatMap((h) => h.counts).reduce((a, b) => a + b, 0)).toBe(1);
  }, 120_000);

  it('cumulative temporality: counters and gauges land, the histogram is dropped (as the README says)', async () => {
    const docs = await run('gateway-metrics-cumulative', 'cumulative');
    const commands = series(docs, 'ssh_commands_total');
    // Cumulative: each document carries the running total, 1 from the command on.
    expect(new Set(commands.get(JSON.stringify({ alias: 'web1', status: 'success' })))).toEqual(new Set([1]));
    expect(series(docs, 'ssh_command_duration_seconds').size).toBe(0);
    await gateway?.waitForLog(/dropping cumulative temporality histogram \\?"ssh_command_duration_seconds/, 30_000);
  }, 120_000);
});
