/**
 * The gateway (otel-collector/gateway.yaml, real Collector) under faults, with the orchestrator
 * (real process, real sshd) sending its OTel logs and spans to it:
 *
 * 1. Elasticsearch is stopped (SIGTERM, like `docker stop`) for 30 s while commands keep running,
 *    and the gateway itself crashes (SIGKILL) and restarts in the middle of the outage. After
 *    Elasticsearch is back, every stderr line is a document exactly once and every span is
 *    there: the persistent sending queue (file_storage) held them, on disk.
 * 2. The gateway is stopped: the orchestrator keeps running commands at the same pace and
 *    writes every stderr line; once the gateway is back, new events reach Elasticsearch again.
 *
 * Engine: Elasticsearch 8.19 (the real product the exporter talks to; no front in between). It
 * has no ingest processors here (docs/testing.md), so the kit's front door logs-mcp_ssh-* is a
 * plain capture data stream in this test: what is counted is what the exporter delivered. That
 * the documents become the kit's ECS documents is collector-paths.test.ts's part.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeFleet } from '../helpers/fleet.js';
import { startSession, type McpSession } from '../helpers/mcp-session.js';
import { startSshd, type TestSshd } from '../helpers/sshd.js';
import { allDocs, countDocs, eventually, type Json } from './collector-engines.js';
import {
  freePort,
  REPO_ROOT,
  requireEngines,
  startCollector,
  startRestartableElasticsearch,
  type RestartableElasticsearch,
  type RunningCollector,
} from './engines.js';
import { ok } from './kit.js';

const ready = requireEngines('elasticsearch', 'otelcol');
const GATEWAY = join(REPO_ROOT, 'otel-collector/gateway.yaml');
const LOGS = 'logs-mcp_ssh-default';
const TRACES = 'traces-mcp_ssh.otel-default';
const OUTAGE_MS = 30_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Sum of a Collector self-metric over its label sets, optionally only those containing `label`. */
async function metric(port: number, name: string, label = ''): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(3_000) })).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) || !line.includes(label)) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

describe.skipIf(!ready)('OTel Collector gateway under faults (real Elasticsearch 8, real Collector)', () => {
  let es: RestartableElasticsearch;
  let sshd: TestSshd;
  let session: McpSession;
  let gateway: RunningCollector | undefined;
  const storage = mkdtempSync(join(tmpdir(), 'mcp-otelcol-storage-'));
  let env: Record<string, string> = {};
  let metricsPort = 0;
  let healthPort = 0;
  const lines = () =>
    session
      .rawStderr()
      .split('\n')
      .filter((l) => l.length > 0);
  const bodies = async () => (await allDocs(es.url, LOGS)).map((h) => (h._source.body as Json | undefined)?.text);

  beforeAll(async () => {
    [es, sshd] = await Promise.all([startRestartableElasticsearch(), startSshd()]);
    // The front door as a capture data stream (see the file comment), and a stand-in for the
    // traces-*.otel-* template Elasticsearch 8.16+ ships with its otel-data plugin.
    for (const [name, pattern] of [
      ['logs-mcp_ssh-capture', 'logs-mcp_ssh-*'],
      ['traces-otel-stand-in', 'traces-*.otel-*'],
    ] as const)
      await ok(es.url, 'PUT', `/_index_template/${name}`, {
        index_patterns: [pattern],
        data_stream: {},
        priority: 500,
        template: { mappings: { dynamic: false, properties: { '@timestamp': { type: 'date_nanos' } } } },
      });
    const http = await freePort();
    metricsPort = await freePort();
    healthPort = await freePort();
    env = {
      ELASTICSEARCH_ENDPOINT: es.url,
      COLLECTOR_STORAGE_DIR: storage,
      OTLP_HTTP_ENDPOINT: `127.0.0.1:${http}`,
      OTLP_GRPC_ENDPOINT: `127.0.0.1:${await freePort()}`,
      COLLECTOR_METRICS_HOST: '127.0.0.1',
      COLLECTOR_METRICS_PORT: String(metricsPort),
      COLLECTOR_HEALTH_ENDPOINT: `127.0.0.1:${healthPort}`,
    };
    gateway = await startCollector(GATEWAY, { env });
    const fleet = makeFleet([sshd], [{ alias: 'web1', sshd }]);
    session = await startSession(fleet.configDir, {
      env: {
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${http}`,
        OTEL_SERVICE_NAME: 'mcp-ssh-orchestrator',
        OTEL_BSP_SCHEDULE_DELAY: '300', // spans leave the orchestrator within 0.3 s (default 5 s)
      },
    });
  }, 180_000);

  afterAll(async () => {
    await session?.close();
    await gateway?.stop();
    await Promise.all([es?.destroy(), sshd?.stop()]);
    rmSync(storage, { recursive: true, force: true });
  });

  /**
   * Waits until the running gateway has taken every stderr line written since it started (the
   * first `since` lines went to an earlier instance), and the spans, once they stop coming.
   */
  const gatewayHasEverything = async (since = 0): Promise<void> => {
    const want = lines().length - since;
    const got = await eventually(
      async () => (await metric(metricsPort, 'otelcol_receiver_accepted_log_records_total')) >= want,
      20_000,
    );
    expect(got, `the gateway accepted fewer than ${want} log records`).toBe(true);
    let spans = -1;
    await eventually(async () => {
      const now = await metric(metricsPort, 'otelcol_receiver_accepted_spans_total');
      const stable = now === spans;
      spans = now;
      return stable;
    }, 10_000);
  };

  it('the health_check endpoint answers while the gateway runs (what a container platform probes)', async () => {
    const r = await fetch(`http://127.0.0.1:${healthPort}/`);
    expect(r.status).toBe(200);
    expect(((await r.json()) as { status?: string }).status).toBe('Server available');
  });

  it('Elasticsearch down for 30 s, the gateway crashing in between: every event arrives, once', async () => {
    for (const command of ['hostname', 'sh -c "exit 3"']) await session.call('ssh_run', { alias: 'web1', command });
    await eventually(async () => (await countDocs(es.url, LOGS)) >= lines().length, 30_000);
    expect(await countDocs(es.url, LOGS)).toBe(lines().length);

    await es.stop();
    const down = Date.now();
    const before = lines().length;
    for (const command of ['hostname', 'id', 'rm -rf /tmp/x', 'whoami'])
      await session.call('ssh_run', { alias: 'web1', command });
    await gatewayHasEverything();
    // Everything sent since the stop waits in the gateway's queue (once the batch processor,
    // which holds records up to 1 s, has passed them on)...
    const queued = lines().length - before;
    const inQueue = () => metric(metricsPort, 'otelcol_exporter_queue_size', 'exporter="elasticsearch/logs"');
    expect(await eventually(async () => (await inQueue()) === queued, 10_000), `queue: ${await inQueue()}`).toBe(true);
    await sleep(1_500); // past the batch processor's 1 s timeout: the spans are in their queue too
    // ...on disk: the gateway crashes (no chance to flush anything) and comes back with it.
    const crashed = gateway as RunningCollector;
    process.kill(-crashed.pid, 'SIGKILL');
    await crashed.stop();
    gateway = await startCollector(GATEWAY, { env });
    const restartedAt = lines().length;
    expect(await inQueue()).toBe(queued);
    for (const command of ['echo after-restart', 'sleep 0.6'])
      await session.call('ssh_run', { alias: 'web1', command });
    await gatewayHasEverything(restartedAt);
    await sleep(Math.max(0, OUTAGE_MS - (Date.now() - down)));
    expect(await countDocs(es.url, LOGS).catch(() => -1)).toBe(-1); // still down after 30 s

    await es.start();
    const sent = lines();
    const arrived = await eventually(async () => (await countDocs(es.url, LOGS)) >= sent.length, 90_000);
    await sleep(3_000); // a duplicate would show up by now
    expect(arrived, gateway?.logs().slice(-3000)).toBe(true);
    expect((await bodies()).sort()).toEqual([...sent].sort());
    expect(gateway?.logs()).not.toMatch(/Dropping data/);

    // Spans: each exactly once, and every task's ssh_task → connect, run, done complete. They
    // travel in their own exporter and queue, so they may come a little after the logs.
    const tasks = sent.map((l) => JSON.parse(l) as Json).filter((l) => l.type === 'audit');
    expect(tasks.length).toBe(7);
    let spans: Json[] = [];
    const complete = (): boolean =>
      tasks.every((audit) => {
        const task = spans.find((s) => s.name === 'ssh_task' && s.attributes?.['mcp_ssh.task_id'] === audit.task_id);
        return task && spans.filter((s) => s.parent_span_id === task.span_id).length >= 3;
      });
    await eventually(async () => {
      spans = (await allDocs(es.url, TRACES)).map((h) => h._source);
      return complete();
    }, 30_000);
    await sleep(1_000);
    spans = (await allDocs(es.url, TRACES)).map((h) => h._source);
    expect(new Set(spans.map((s) => s.span_id)).size).toBe(spans.length);
    for (const audit of tasks) {
      const task = spans.find((s) => s.name === 'ssh_task' && s.attributes?.['mcp_ssh.task_id'] === audit.task_id);
      expect(task?.trace_id, String(audit.task_id)).toBe(audit.trace_id);
      const children = spans.filter((s) => s.parent_span_id === task?.span_id).map((s) => s.name as string);
      expect(new Set(children)).toEqual(new Set(['connect', 'run', 'done']));
    }
  }, 180_000);

  it('gateway stopped: commands run at the same pace and every stderr line is written', async () => {
    const run = async (command: string) => {
      const t0 = performance.now();
      const r = await session.call('ssh_run', { alias: 'web1', command });
      return { ms: performance.now() - t0, isError: r.isError === true };
    };
    const withGateway: number[] = [];
    for (let i = 0; i < 3; i++) withGateway.push((await run('true')).ms);
    await gateway?.stop();
    gateway = undefined;
    const from = lines().length;
    const without: number[] = [];
    for (let i = 0; i < 6; i++) {
      const r = await run(`echo no-gateway-${i}`);
      expect(r.isError).toBe(false);
      without.push(r.ms);
    }
    // Telemetry never blocks work: no command waits on the dead endpoint.
    expect(Math.max(...without)).toBeLessThan(Math.max(...withGateway) + 1_000);
    const written = lines()
      .slice(from)
      .map((l) => JSON.parse(l) as Json);
    const tasks = new Set(written.filter((l) => l.type === 'audit').map((l) => l.task_id));
    expect(tasks.size).toBe(6);
    for (const id of tasks) {
      const of = written.filter((l) => l.task_id === id);
      const kinds = of.map((l) => (l.type === 'progress' ? `progress:${String(l.phase)}` : String(l.type)));
      for (const k of ['policy_decision', 'progress:connecting', 'progress:connected', 'audit', 'trace'])
        expect(kinds, String(id)).toContain(k);
      expect(of.find((l) => l.type === 'audit')?.exit_code).toBe(0);
    }

    // The gateway comes back: what the orchestrator sends from then on arrives again.
    gateway = await startCollector(GATEWAY, { env });
    await run('echo gateway-back');
    const last = lines()
      .filter((l) => l.includes('"type":"audit"'))
      .at(-1) as string;
    expect(await eventually(async () => (await bodies()).includes(last), 30_000), gateway.logs().slice(-2000)).toBe(
      true,
    );
  }, 120_000);
});
