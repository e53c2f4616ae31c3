/**
 * Benchmark 5 — memory: resident set size (VmRSS from /proc) of the server process idle, and
 * with 100 concurrent long-running tasks (`ssh_run_async` of `sleep 5`), sampled while they
 * run and again after they finished. Full telemetry on (stderr, OTLP to a local receiver,
 * metrics). For scale: a bare Node process, and ssh-mcp 2.11 idle.
 *
 * 100 tasks run at once: --max-concurrency 128 and --max-per-host 32 over 4 aliases (the test
 * sshd allows 64 sessions per connection).
 *
 * The server's start-up and idle, its tasks, ssh-mcp and the bare process are measured as
 * separate guarded steps (lib/unmeasured.ts): one that fails is listed under "Not measured"
 * with its reason, and the others are still measured.
 *
 *   npm run bench -- memory [--tasks 100]
 */
import { spawn } from 'node:child_process';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { makeFleet } from '../test/helpers/fleet.js';
import { startOtlpReceiver } from '../test/helpers/otlp-receiver.js';
import { freePort, startSshd } from '../test/helpers/sshd.js';
import { markdownTable, numberArg, round, rssKiB, sleep, writeResults } from './lib/kit.js';
import { startOurs, startSshMcp } from './lib/peers.js';
import { runBenchmark, type Ledger } from './lib/unmeasured.js';

const TASKS = numberArg('tasks', 100);
const ALIASES = 4;

const mib = (kib: number): number => round(kib / 1024, 1);

async function bareNodeRss(): Promise<number> {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  try {
    await sleep(1000);
    return rssKiB(child.pid as number);
  } finally {
    child.kill();
  }
}

type Server = Awaited<ReturnType<typeof startOurs>>;

/** RSS while TASKS `sleep 5` tasks run (8 samples), and 2 s after they all finished. */
async function underTasks(
  server: Server,
  aliases: string[],
): Promise<{ samples: number[]; peak: number; after: number; runningSeen: number; audits: number }> {
  const pid = server.pid as number;
  const audits0 = server.tally.byType.audit ?? 0;
  console.error(`memory: starting ${TASKS} × ssh_run_async sleep 5`);
  const started = await Promise.all(
    Array.from({ length: TASKS }, async (_, i) => {
      const r = (await server.client.callTool({
        name: 'ssh_run_async',
        arguments: { alias: aliases[i % ALIASES], command: 'sleep 5' },
      })) as CallToolResult;
      if (r.isError) throw new Error(`ssh_run_async failed: ${JSON.stringify(r.content)}`);
      return (r.structuredContent as { task_id: string }).task_id;
    }),
  );
  const samples: number[] = [];
  let runningSeen = 0;
  for (let i = 0; i < 8; i++) {
    await sleep(500);
    samples.push(rssKiB(pid));
    const ping = (await server.client.callTool({ name: 'ssh_ping', arguments: {} })) as CallToolResult;
    runningSeen = Math.max(runningSeen, (ping.structuredContent as { running_tasks: number }).running_tasks);
  }
  const peak = Math.max(...samples);
  // Wait for every task to finish.
  for (const id of started) {
    for (;;) {
      const r = (await server.client.callTool({
        name: 'ssh_get_task_status',
        arguments: { task_id: id },
      })) as CallToolResult;
      if ((r.structuredContent as { state: string }).state !== 'running') break;
      await sleep(250);
    }
  }
  await sleep(2000);
  return { samples, peak, after: rssKiB(pid), runningSeen, audits: (server.tally.byType.audit ?? 0) - audits0 };
}

async function main(ledger: Ledger): Promise<void> {
  const sshd = await startSshd();
  ledger.defer('stop sshd', () => sshd.stop());
  const receiver = await startOtlpReceiver('ok');
  ledger.defer('close the OTLP receiver', () => receiver.close());
  const aliases = Array.from({ length: ALIASES }, (_, i) => `mem${i}`);
  const fleet = makeFleet(
    [sshd],
    aliases.map((alias) => ({ alias, sshd })),
  );

  let server: Server | undefined;
  ledger.defer('close the server', () => server?.close());
  const base = await ledger.step('this server, just started and idle', async () => {
    server = await startOurs(fleet.configDir, 'mem0', {
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url },
      args: ['--metrics-addr', `127.0.0.1:${await freePort()}`, '--max-concurrency', '128', '--max-per-host', '32'],
    });
    const startup = rssKiB(server.pid as number);
    // Warm: one command per alias (pooled connections open), then settle.
    for (const alias of aliases) {
      await server.client.callTool({ name: 'ssh_run', arguments: { alias, command: 'echo warm' } });
    }
    await sleep(2000);
    return { startup, idle: rssKiB(server.pid as number) };
  });
  const tasks =
    server && base
      ? await ledger.step(`this server, ${TASKS} concurrent tasks`, () => underTasks(server as Server, aliases))
      : undefined;
  const toClose = server;
  server = undefined;
  await toClose?.close();

  const sshMcpIdle = await ledger.step('ssh-mcp, idle after one command', async () => {
    const sshMcp = await startSshMcp(sshd);
    try {
      await sshMcp.exec('echo warm');
      await sleep(2000);
      return rssKiB(sshMcp.pid as number);
    } finally {
      await sshMcp.close();
    }
  });
  const bare = await ledger.step('bare `node -e` process', bareNodeRss);

  const rows: (string | number)[][] = [];
  if (bare !== undefined) rows.push(['bare `node -e` process (floor)', mib(bare)]);
  if (base) {
    rows.push(['this server, just started', mib(base.startup)]);
    rows.push([`this server, idle (${ALIASES} pooled connections, full telemetry)`, mib(base.idle)]);
  }
  if (tasks) {
    rows.push([`this server, ${TASKS} concurrent \`sleep 5\` tasks (peak of 8 samples)`, mib(tasks.peak)]);
    rows.push(['this server, 2 s after they finished', mib(tasks.after)]);
  }
  if (sshMcpIdle !== undefined) rows.push([`ssh-mcp 2.11, idle after one command`, mib(sshMcpIdle)]);
  const table = markdownTable(['process', 'RSS MiB'], rows);
  const perTaskKiB = base && tasks ? round((tasks.peak - base.idle) / TASKS, 1) : undefined;
  console.log(`\n## Memory (VmRSS)\n`);
  console.log(table);
  if (base && tasks && perTaskKiB !== undefined) {
    console.log(
      `\n${TASKS} tasks: peak − idle = ${mib(tasks.peak - base.idle)} MiB (${perTaskKiB} KiB per running task); ` +
        `max running seen by ssh_ping: ${tasks.runningSeen}; audit lines: ${tasks.audits} of ${TASKS}`,
    );
  }
  const notMeasured = ledger.markdown();
  if (notMeasured) console.log(notMeasured);
  const file = writeResults('memory', {
    unmeasured: ledger.unmeasured,
    params: { tasks: TASKS, aliases: ALIASES, command: 'sleep 5', telemetry: 'stderr + OTLP + metrics' },
    results: {
      bare_node_kib: bare ?? null,
      startup_kib: base?.startup ?? null,
      idle_kib: base?.idle ?? null,
      running_samples_kib: tasks?.samples ?? null,
      peak_kib: tasks?.peak ?? null,
      after_kib: tasks?.after ?? null,
      per_running_task_kib: perTaskKiB ?? null,
      max_running_tasks_seen: tasks?.runningSeen ?? null,
      task_audit_lines: tasks?.audits ?? null,
      ssh_mcp_idle_kib: sshMcpIdle ?? null,
    },
    tables: { memory: table, ...(notMeasured ? { not_measured: notMeasured.trim() } : {}) },
  });
  console.error(`\nwrote ${file}`);
}

await runBenchmark('memory', main);
