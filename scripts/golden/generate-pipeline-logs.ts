/**
 * Writes test/pipelines/<scenario>.log: stderr lines produced by the REAL orchestrator
 * (dist/cli.js, spawned over stdio and driven by the MCP SDK client) against real OpenSSH
 * sshd instances on 127.0.0.1, one scenario per file, in the elastic-package habit.
 *
 *   npm run build && npx tsx scripts/golden/generate-pipeline-logs.ts [scenario ...]
 *
 * Then regenerate the expected ECS documents with
 *   GENERATE_EXPECTED=1 npx vitest run test/stack/pipelines.test.ts
 * and review the diff. malformed.log is hand-written and never touched here, and so are
 * python-seed-001.log and python-seed-002.log: every example line of the Python server's
 * documentation (shared seeds 001 and 002), in its own json.dumps spacing, compacted where the
 * documentation pretty-prints it; the error and trace lines there have no ts.
 *
 * The lines are kept exactly as the server wrote them (ts, task ids, ports and temp paths
 * included): the golden files are real captures, not fixtures typed by hand.
 */
import { copyFileSync, mkdirSync, readFileSync, realpathSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { DEFAULT_TEST_POLICY, makeFleet, type Fleet } from '../../test/helpers/fleet.js';
import { startSession, type McpSession } from '../../test/helpers/mcp-session.js';
import { startOtlpReceiver } from '../../test/helpers/otlp-receiver.js';
import { freePort, startSshd, type TestSshd } from '../../test/helpers/sshd.js';

const OUT = resolve(fileURLToPath(new URL('../../test/pipelines/', import.meta.url)));

interface Ctx {
  sshd: TestSshd;
  other: TestSshd;
}

type Scenario = (ctx: Ctx) => Promise<string[]>;

/** The raw stderr lines of a session, exactly as written. */
function rawLines(s: McpSession): string[] {
  return s
    .rawStderr()
    .split('\n')
    .filter((l) => l.length > 0);
}

async function withSession(
  fleet: Fleet,
  drive: (s: McpSession) => Promise<void>,
  opts: { env?: Record<string, string>; args?: string[] } = {},
): Promise<string[]> {
  const s = await startSession(fleet.configDir, opts);
  try {
    await drive(s);
  } finally {
    await s.close();
  }
  // The last lines (audit, trace) may still be in flight when close() returns.
  await new Promise((r) => setTimeout(r, 200));
  return rawLines(s);
}

const web1 = (ctx: Ctx, extra: Record<string, unknown> = {}): Fleet =>
  makeFleet([ctx.sshd], [{ alias: 'web1', sshd: ctx.sshd, tags: ['web'], ...extra }]);

/** Writes credentials.yml with the fleet's entries plus `extra`, reloads (expected to fail), restores. */
async function reloadWithCredentials(s: McpSession, fleet: Fleet, extra: Record<string, unknown>[]): Promise<void> {
  const path = join(fleet.configDir, 'credentials.yml');
  const good = readFileSync(path, 'utf8');
  const creds = parse(good) as { entries: Record<string, unknown>[] };
  const username = (creds.entries[0] as { username: string }).username;
  creds.entries.push(...extra.map((e) => ({ username, ...e })));
  writeFileSync(path, stringify(creds));
  try {
    await s.call('ssh_reload_config');
  } finally {
    writeFileSync(path, good);
  }
}

const SCENARIOS: Record<string, Scenario> = {
  allowed: async (ctx) =>
    withSession(web1(ctx), async (s) => {
      await s.call('ssh_run', { alias: 'web1', command: 'hostname' });
    }),

  denied: async (ctx) =>
    withSession(web1(ctx), async (s) => {
      await s.call('ssh_run', { alias: 'web1', command: 'rm -rf /tmp/golden' });
      await s.call('ssh_run', { alias: 'web1', command: 'curl http://example.invalid' });
    }),

  failing: async (ctx) =>
    withSession(web1(ctx), async (s) => {
      await s.call('ssh_run', { alias: 'web1', command: 'sh -c "echo oops >&2; exit 3"' });
    }),

  timeout: async (ctx) => {
    const fleet = makeFleet([ctx.sshd], [{ alias: 'web1', sshd: ctx.sshd, tags: ['slow'] }], {
      ...DEFAULT_TEST_POLICY,
      overrides: { tags: { slow: { max_seconds: 1 } } },
    });
    return withSession(fleet, async (s) => {
      await s.call('ssh_run', { alias: 'web1', command: 'sleep 5' });
    });
  },

  cancel: async (ctx) =>
    withSession(web1(ctx), async (s) => {
      const started = await s.call('ssh_run_async', { alias: 'web1', command: 'sleep 30' });
      const taskId = (started.structuredContent as { task_id: string }).task_id;
      await s.waitForLine((l) => l.type === 'progress' && l.phase === 'running' && l.task_id === taskId);
      await s.call('ssh_cancel', { task_id: taskId });
      await s.waitForLine((l) => l.type === 'trace' && l.task_id === taskId);
    }),

  progress: async (ctx) =>
    withSession(web1(ctx), async (s) => {
      await s.client.callTool({
        name: 'ssh_run',
        arguments: { alias: 'web1', command: 'sleep 1.2' },
        _meta: { progressToken: 'golden-progress' },
      });
    }),

  trace: async (ctx) => {
    const receiver = await startOtlpReceiver();
    try {
      return await withSession(
        web1(ctx),
        async (s) => {
          const traceId = randomBytes(16).toString('hex');
          const spanId = randomBytes(8).toString('hex');
          await s.client.callTool({
            name: 'ssh_run',
            arguments: { alias: 'web1', command: 'uptime' },
            _meta: { traceparent: `00-${traceId}-${spanId}-01` },
          });
        },
        { env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_SERVICE_NAME: 'mcp-ssh-orchestrator' } },
      );
    } finally {
      await receiver.close();
    }
  },

  'audit-chain': async (ctx) =>
    withSession(
      web1(ctx),
      async (s) => {
        await s.call('ssh_run', { alias: 'web1', command: 'whoami' });
        await s.call('ssh_run', { alias: 'web1', command: 'rm -rf /tmp/golden' });
      },
      { args: ['--audit-chain'], env: { MCP_SSH_AUDIT_CHAIN_KEY: 'golden-chain-key' } },
    ),

  error: async (ctx) => {
    // A port where nothing listens: connection refused, an error line and an audit with -1.
    const closed = await freePort();
    const fleet = makeFleet([ctx.sshd], [{ alias: 'db1', sshd: ctx.sshd, port: closed }]);
    return withSession(fleet, async (s) => {
      await s.call('ssh_run', { alias: 'db1', command: 'uptime' });
    });
  },

  'network-blocked': async (ctx) => {
    const fleet = makeFleet([ctx.sshd], [{ alias: 'web1', sshd: ctx.sshd }], {
      ...DEFAULT_TEST_POLICY,
      network: { block_ips: ['127.0.0.1'] },
    });
    return withSession(fleet, async (s) => {
      await s.call('ssh_run', { alias: 'web1', command: 'uptime' });
    });
  },

  'config-reload': async (ctx) => {
    const fleet = web1(ctx);
    return withSession(fleet, async (s) => {
      await s.call('ssh_reload_config');
      const servers = join(fleet.configDir, 'servers.yml');
      const good = readFileSync(servers, 'utf8');
      writeFileSync(servers, good.replace('port:', 'prot:'));
      try {
        await s.call('ssh_reload_config');
      } finally {
        writeFileSync(servers, good);
      }
    });
  },

  'security-path-traversal': async (ctx) => {
    const fleet = web1(ctx);
    return withSession(fleet, async (s) => {
      await reloadWithCredentials(s, fleet, [{ name: 'evil', key_path: '../../etc/passwd' }]);
    });
  },

  'security-file-too-large': async (ctx) => {
    const fleet = web1(ctx);
    return withSession(fleet, async (s) => {
      const servers = join(fleet.configDir, 'servers.yml');
      const good = readFileSync(servers, 'utf8');
      truncateSync(servers, 10 * 1024 * 1024 + 1);
      try {
        await s.call('ssh_reload_config');
      } finally {
        writeFileSync(servers, good);
      }
    });
  },

  'security-invalid-secret-name': async (ctx) => {
    const fleet = web1(ctx);
    return withSession(fleet, async (s) => {
      await reloadWithCredentials(s, fleet, [{ name: 'spaces', key_path: 'ed25519', password_secret: 'bad name!' }]);
    });
  },

  'security-input-length': async (ctx) => {
    const fleet = web1(ctx);
    return withSession(fleet, async (s) => {
      await reloadWithCredentials(s, fleet, [{ name: 'long', key_path: 'ed25519', password_secret: 's'.repeat(101) }]);
    });
  },

  'security-symlink': async (ctx) => {
    const fleet = web1(ctx);
    const outside = join(fleet.root, 'outside');
    mkdirSync(outside);
    copyFileSync(join(fleet.keysDir, 'ed25519'), join(outside, 'stolen_key'));
    symlinkSync(join(outside, 'stolen_key'), join(fleet.keysDir, 'linked_key'));
    realpathSync(join(fleet.keysDir, 'linked_key'));
    return withSession(fleet, async (s) => {
      await reloadWithCredentials(s, fleet, [{ name: 'linked', key_path: 'linked_key' }]);
    });
  },

  'security-dns-rate-limit': async (ctx) => {
    const fleet = makeFleet([ctx.sshd], [{ alias: 'named', sshd: ctx.sshd, host: 'localhost' }], {
      ...DEFAULT_TEST_POLICY,
      network: { dns_max_per_second: 1, dns_cache_ttl: 0 },
    });
    return withSession(fleet, async (s) => {
      await s.call('ssh_plan', { alias: 'named', command: 'uptime' });
      await s.call('ssh_plan', { alias: 'named', command: 'uptime' });
    });
  },

  'security-bypass-attempt': async (ctx) =>
    withSession(web1(ctx), async (s) => {
      await s.call('ssh_run', { alias: 'web1', command: "r''eboot --password=hunter2" });
    }),

  'security-auth-failure': async (ctx) =>
    withSession(web1(ctx, { credentials: 'unauthorized' }), async (s) => {
      await s.call('ssh_run', { alias: 'web1', command: 'whoami' });
    }),

  'security-host-key-mismatch': async (ctx) => {
    // known_hosts claims sshd's key for other's port: the key `other` offers does not match.
    const fleet = makeFleet([ctx.sshd, ctx.other], [{ alias: 'changed', sshd: ctx.other }]);
    const [, type, key] = ctx.sshd.knownHostsLine.split(' ');
    writeFileSync(fleet.knownHostsPath, `[127.0.0.1]:${ctx.other.port} ${type} ${key}\n`);
    return withSession(fleet, async (s) => {
      await s.call('ssh_run', { alias: 'changed', command: 'whoami' });
    });
  },
};

async function main(): Promise<void> {
  const wanted = process.argv.slice(2);
  const names = wanted.length ? wanted : Object.keys(SCENARIOS);
  for (const n of names)
    if (!SCENARIOS[n]) throw new Error(`unknown scenario ${n}; known: ${Object.keys(SCENARIOS).join(', ')}`);
  mkdirSync(OUT, { recursive: true });
  const [sshd, other] = await Promise.all([startSshd(), startSshd()]);
  try {
    for (const name of names) {
      const lines = await (SCENARIOS[name] as Scenario)({ sshd, other });
      if (lines.length === 0) throw new Error(`${name}: the server wrote no stderr line`);
      for (const l of lines) JSON.parse(l); // every captured line must be JSON, or the capture is wrong
      writeFileSync(join(OUT, `${name}.log`), lines.join('\n') + '\n');
      process.stderr.write(`${name}: ${lines.length} lines\n`);
    }
  } finally {
    await Promise.all([sshd.stop(), other.stop()]);
  }
}

await main();
