/**
 * Benchmark 5 — memory: resident set size (VmRSS from /proc) of the server process idle, and
 * with 100 concurrent long-running tasks (`ssh_run_async` of `sleep 5`), sampled while they
 * run and again after they finished. Full telemetry on (stderr, OTLP to a local receiver,
 * metrics). For scale: a bare Node process, and ssh-mcp 2.11 idle.
 *
 * 100 tasks run at once: --max-concurrency 128 and --max-per-host 32 over 4 aliases (the test
 * sshd allows 64 sessions per connection).
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

const TASKS = numberArg('tasks', 100);
const ALIASES = 4;

const mib = (kib: number): number => round(kib / 1024, 1);

async function bareNodeRss(): Promise<number> {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  await sleep(1000);
  const rss = rssKiB(child.pid as number);
  child.kill();
  return rss;
}

async function main(): Promise<void> {
  const sshd = await startSshd();
  const receiver = await startOtlpReceiver('ok');
  const aliases = Array.from({ length: ALIASES }, (_, i) => `mem${i}`);
  const fleet = makeFleet(
    [sshd],
    aliases.map((alias) => ({ alias, sshd })),
  );
  const server = await startOurs(fleet.configDir, 'mem0', {
    env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url },
    args: ['--metrics-addr', `127.0.0.1:${await freePort()}`, '--max-concurrency', '128', '--max-per-host', '32'],
  });
  const pid = server.pid as number;
  const startup = rssKiB(pid);
  // Warm: one command per alias (pooled connections open), then settle.
  for (const alias of aliases) {
    await server.client.callTool({ name: 'ssh_run', arguments: { alias, command: 'echo warm' } });
  }
  await sleep(2000);
  const idle = rssKiB(pid);

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
  const after = rssKiB(pid);
  const audits = server.tally.byType.audit ?? 0;
  await server.close();

  const sshMcp = await startSshMcp(sshd);
  await sshMcp.exec('echo warm');
  await sleep(2000);
  const sshMcpIdle = rssKiB(sshMcp.pid as number);
  await sshMcp.close();
  const bare = await bareNodeRss();

  const rows: (string | number)[][] = [
    ['bare `node -e` process (floor)', mib(bare)],
    ['this server, just started', mib(startup)],
    [`this server, idle (${ALIASES} pooled connections, full telemetry)`, mib(idle)],
    [`this server, ${TASKS} concurrent \`sleep 5\` tasks (peak of 8 samples)`, mib(peak)],
    ['this server, 2 s after they finished', mib(after)],
    [`ssh-mcp 2.11, idle after one command`, mib(sshMcpIdle)],
  ];
  const table = markdownTable(['process', 'RSS MiB'], rows);
  const perTaskKiB = round((peak - idle) / TASKS, 1);
  console.log(`\n## Memory (VmRSS)\n`);
  console.log(table);
  console.log(
    `\n${TASKS} tasks: peak − idle = ${mib(peak - idle)} MiB (${perTaskKiB} KiB per running task); ` +
      `max running seen by ssh_ping: ${runningSeen}; audit lines: ${audits - ALIASES} of ${TASKS}`,
  );
  const file = writeResults('memory', {
    params: { tasks: TASKS, aliases: ALIASES, command: 'sleep 5', telemetry: 'stderr + OTLP + metrics' },
    results: {
      bare_node_kib: bare,
      startup_kib: startup,
      idle_kib: idle,
      running_samples_kib: samples,
      peak_kib: peak,
      after_kib: after,
      per_running_task_kib: perTaskKiB,
      max_running_tasks_seen: runningSeen,
      task_audit_lines: audits - ALIASES,
      ssh_mcp_idle_kib: sshMcpIdle,
    },
    tables: { memory: table },
  });
  console.error(`\nwrote ${file}`);
  await receiver.close();
  await sshd.stop();
}

await main();
