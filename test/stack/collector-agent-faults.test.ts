/**
 * The agent (otel-collector/agent.yaml, real Collector, run as the README says: with
 * --feature-gates=stanza.synchronousLogEmitter) loses no line under pressure:
 *
 * 1. Memory pressure: the memory_limiter refuses records again and again (its limit lowered to
 *    20 MiB by an overlay and the Go garbage collector off, so the heap fills while lines are
 *    read, until the limiter forces a collection). Refused records are retried
 *    (filelog retry_on_failure), not dropped: every line arrives, once.
 * 2. A proxy in front of Elasticsearch answers 502, then 504, for a while: the exporter retries
 *    them (retry_on_status), every line arrives, once.
 * 3. The agent is killed (SIGKILL) right after it read a burst of lines, before one second has
 *    passed: nothing sat in a batch processor's memory; the lines are in the persistent queue or
 *    still in the file, and every one arrives after the restart (at least once).
 *
 * Engine: Elasticsearch 8.19 (what the exporter talks to), the front door logs-mcp_ssh-* as a
 * capture data stream (no ingest processors on this engine, docs/testing.md): what is counted
 * is what the exporter delivered, compared with the lines written, body by body.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AGENT_FLAGS,
  allDocs,
  collectorConfig,
  collectorMetric,
  dockerJsonFile,
  eventually,
  startFaultyProxy,
  type DockerLogFile,
  type FaultyProxy,
  type Json,
} from './collector-engines.js';
import {
  freePort,
  REPO_ROOT,
  requireEngines,
  startCollector,
  startElasticsearch,
  type RunningCollector,
  type SearchEngine,
} from './engines.js';
import { ok, scenarios } from './kit.js';

const ready = requireEngines('elasticsearch', 'otelcol');
const AGENT = join(REPO_ROOT, 'otel-collector/agent.yaml');
const LOGS = 'logs-mcp_ssh-default';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!ready)('OTel Collector agent under pressure (real Collector, real Elasticsearch 8)', () => {
  let es: SearchEngine;
  const dirs: string[] = [];
  // Real orchestrator lines (JSON objects with ts and type), each made unique by a field the
  // contract does not have (the pipelines would keep it under mcp_ssh.extra) to find it again.
  const golden = scenarios()
    .flatMap((s) => s.lines)
    .filter((l) => {
      try {
        const o = JSON.parse(l) as Json;
        return typeof o.type === 'string' && typeof o.ts === 'number';
      } catch {
        return false;
      }
    });
  const lines = (tag: string, n: number): string[] =>
    Array.from({ length: n }, (_, i) =>
      JSON.stringify({ ...(JSON.parse(golden[i % golden.length] as string) as Json), test_line: `${tag}-${i}` }),
    );
  const tmp = (prefix: string) => {
    const d = mkdtempSync(join(tmpdir(), prefix));
    dirs.push(d);
    return d;
  };
  /**
   * The lines of this test that were delivered (bodies of the capture data stream that carry one
   * of its tags). The engine has neither _data_stream nor _delete_by_query (docs/testing.md), so
   * the tests share the data stream and tell their lines apart by tag.
   */
  const delivered = async (tags: string[]): Promise<string[]> =>
    (await allDocs(es.url, LOGS))
      .map((h) => (h._source.body as Json | undefined)?.text as string)
      .filter((b) => tags.some((t) => b?.includes(`"test_line":"${t}-`)));
  const count = async (tags: string[]): Promise<number> => (await delivered(tags)).length;
  const agentEnv = async (file: DockerLogFile, extra: Record<string, string> = {}) => {
    const metrics = await freePort();
    return {
      env: {
        ELASTICSEARCH_ENDPOINT: es.url,
        MCP_SSH_DOCKER_LOGS: file.glob,
        COLLECTOR_STORAGE_DIR: tmp('mcp-otelcol-storage-'),
        COLLECTOR_METRICS_HOST: '127.0.0.1',
        COLLECTOR_METRICS_PORT: String(metrics),
        COLLECTOR_HEALTH_ENDPOINT: `127.0.0.1:${await freePort()}`,
        ...extra,
      },
      metrics,
    };
  };
  const stderr = (ls: string[]) => ls.map((line) => ({ line, stream: 'stderr' as const }));

  beforeAll(async () => {
    es = await startElasticsearch();
    await ok(es.url, 'PUT', '/_index_template/logs-mcp_ssh-capture', {
      index_patterns: ['logs-mcp_ssh-*'],
      data_stream: {},
      priority: 500,
      template: { mappings: { dynamic: false, properties: { '@timestamp': { type: 'date_nanos' } } } },
    });
  }, 180_000);

  afterAll(async () => {
    await es?.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('memory_limiter refusing, again and again: refused lines are retried, every line arrives once', async () => {
    const file = dockerJsonFile();
    const written = lines('pressure', 4_000);
    const { env } = await agentEnv(file, { GOGC: 'off' });
    // Only the limits change: 20 MiB, refusing from 10 MiB (the shipped config: 80 % of the
    // machine), a forced collection every 2 s at most while refusing. The Collector allocates
    // more than 10 MiB starting up, so with the garbage collector off it refuses from the first
    // line, reads on after each forced collection, and refuses again as the heap refills.
    const overlay = join(tmp('mcp-otelcol-overlay-'), 'memory.yaml');
    writeFileSync(
      overlay,
      [
        'processors:',
        '  memory_limiter:',
        '    check_interval: 100ms',
        '    limit_percentage: 0',
        '    spike_limit_percentage: 0',
        '    limit_mib: 20',
        '    spike_limit_mib: 10',
        '    min_gc_interval_when_soft_limited: 2s',
        '',
      ].join('\n'),
    );
    file.write(stderr(written));
    const agent = await startCollector(collectorConfig([AGENT, overlay], env, tmp('mcp-otelcol-config-')), {
      env,
      args: AGENT_FLAGS,
    });
    try {
      const arrived = await eventually(async () => (await count(['pressure'])) >= written.length, 150_000, 1_000);
      await sleep(2_000); // a duplicate would show up by now
      const logs = agent.logs();
      expect(logs, 'the limiter never refused: the test proved nothing').toMatch(
        /Memory usage is above soft limit\. Refusing data/,
      );
      expect(arrived, logs.slice(-3000)).toBe(true);
      expect((await delivered(['pressure'])).sort()).toEqual([...written].sort());
      expect(logs).not.toMatch(/Dropping data|Enable retry_on_failure/);
    } finally {
      await agent.stop();
      file.remove();
    }
  }, 240_000);

  it('Elasticsearch behind a proxy answering 502, then 504: the batches are retried, every line arrives once', async () => {
    const proxy: FaultyProxy = await startFaultyProxy(es.url);
    const file = dockerJsonFile();
    const { env } = await agentEnv(file, { ELASTICSEARCH_ENDPOINT: proxy.url });
    const agent = await startCollector(AGENT, { env, args: AGENT_FLAGS });
    try {
      const before = lines('before', 50);
      file.write(stderr(before));
      expect(await eventually(async () => (await count(['before'])) >= before.length, 30_000)).toBe(true);
      const during: string[] = [];
      for (const status of [502, 504]) {
        proxy.failBulkWith(status);
        const batch = lines(`during-${status}`, 50);
        during.push(...batch);
        file.write(stderr(batch));
        // Refused at least twice (a retry was refused too), for several seconds.
        expect(await eventually(async () => (proxy.faults.get(status) ?? 0) >= 2, 30_000, 200)).toBe(true);
        await sleep(4_000);
      }
      proxy.failBulkWith(undefined);
      const all = [...before, ...during];
      const tags = ['before', 'during-502', 'during-504'];
      const arrived = await eventually(async () => (await count(tags)) >= all.length, 90_000);
      await sleep(2_000);
      expect(arrived, agent.logs().slice(-3000)).toBe(true);
      expect((await delivered(tags)).sort()).toEqual(all.sort());
      expect(agent.logs()).not.toMatch(/Dropping data/);
    } finally {
      await agent.stop();
      await proxy.close();
      file.remove();
    }
  }, 240_000);

  it('killed within a second of reading a burst: after the restart every line is there (at least once)', async () => {
    const file = dockerJsonFile();
    const { env, metrics } = await agentEnv(file);
    let agent: RunningCollector = await startCollector(AGENT, { env, args: AGENT_FLAGS });
    try {
      const burst = lines('burst', 500);
      file.write(stderr(burst));
      const accepted = () => collectorMetric(metrics, 'otelcol_receiver_accepted_log_records_total');
      expect(await eventually(async () => (await accepted()) >= burst.length, 20_000, 50)).toBe(true);
      // Past the receiver's offset checkpoint (every poll, 200 ms), well inside the one second a
      // batch processor would hold the records in memory.
      await sleep(300);
      process.kill(-agent.pid, 'SIGKILL');
      await agent.stop();
      // Same storage and logs, fresh listening ports: the ones picked at the start may have been
      // taken by another test in between (seen in CI: health_check could not bind).
      const restartEnv = {
        ...env,
        COLLECTOR_METRICS_PORT: String(await freePort()),
        COLLECTOR_HEALTH_ENDPOINT: `127.0.0.1:${await freePort()}`,
      };
      agent = await startCollector(AGENT, { env: restartEnv, args: AGENT_FLAGS });
      const arrived = await eventually(async () => new Set(await delivered(['burst'])).size >= burst.length, 60_000);
      expect(arrived, agent.logs().slice(-3000)).toBe(true);
      expect(new Set(await delivered(['burst']))).toEqual(new Set(burst));
    } finally {
      await agent.stop();
      file.remove();
    }
  }, 180_000);
});
