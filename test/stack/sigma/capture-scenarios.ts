/**
 * Writes the golden scenarios the Sigma rules need beyond scripts/golden's (the rate
 * correlations and the destructive rule's host filter): test/pipelines/sigma-<scenario>.log,
 * stderr lines of the REAL orchestrator (dist/cli.js driven by the MCP SDK client) against a
 * real sshd on 127.0.0.1, kept exactly as written, in the same habit as
 * scripts/golden/generate-pipeline-logs.ts.
 *
 *   npm run build && npx tsx test/stack/sigma/capture-scenarios.ts [scenario ...]
 *   GENERATE_EXPECTED=1 npx vitest run test/stack/pipelines.test.ts -t sigma-   # their ECS documents
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeFleet, type Fleet } from '../../helpers/fleet.js';
import { startSession, type McpSession } from '../../helpers/mcp-session.js';
import { startSshd, type TestSshd } from '../../helpers/sshd.js';

const OUT = resolve(fileURLToPath(new URL('../../pipelines/', import.meta.url)));

async function capture(fleet: Fleet, drive: (s: McpSession) => Promise<void>): Promise<string[]> {
  const s = await startSession(fleet.configDir);
  try {
    await drive(s);
  } finally {
    await s.close();
  }
  await new Promise((r) => setTimeout(r, 200)); // the last audit/trace lines may be in flight
  return s
    .rawStderr()
    .split('\n')
    .filter((l) => l.length > 0);
}

/** Waits, if needed, so that the next `seconds` fall inside one calendar minute. */
async function sameMinute(seconds: number): Promise<void> {
  const into = (Date.now() / 1000) % 60;
  if (into + seconds > 58) await new Promise((r) => setTimeout(r, (61 - into) * 1000));
}

const SCENARIOS: Record<string, (sshd: TestSshd) => Promise<string[]>> = {
  // Five authentication failures on one alias within five minutes: the spike rule fires (gte 5).
  'sigma-auth-failure-spike': (sshd) =>
    capture(makeFleet([sshd], [{ alias: 'web1', sshd, credentials: 'unauthorized' }]), async (s) => {
      for (let i = 0; i < 5; i++) await s.call('ssh_run', { alias: 'web1', command: 'whoami' });
    }),

  // 110 commands on one alias inside one calendar minute (ES|QL date_trunc buckets): 5 allowed,
  // 105 refused by the default deny. The rate rule fires (gt 100).
  'sigma-high-command-rate': async (sshd) => {
    await sameMinute(30);
    return capture(makeFleet([sshd], [{ alias: 'web1', sshd }]), async (s) => {
      for (let i = 0; i < 5; i++) await s.call('ssh_run', { alias: 'web1', command: 'true' });
      for (let i = 0; i < 105; i++)
        await s.call('ssh_run', { alias: 'web1', command: `curl http://example.invalid/${i}` });
    });
  },

  // Destructive commands on hosts meant for them (aliases backup*, maintenance*): refused by
  // deny_substrings and caught as a bypass attempt, but the destructive rule's filter keeps quiet.
  'sigma-destructive-expected-host': (sshd) =>
    capture(
      makeFleet(
        [sshd],
        [
          { alias: 'backup1', sshd },
          { alias: 'maintenance-db', sshd },
        ],
      ),
      async (s) => {
        await s.call('ssh_run', { alias: 'backup1', command: 'rm -rf /var/backups/old' });
        await s.call('ssh_run', { alias: 'maintenance-db', command: "r''eboot" });
      },
    ),
};

async function main(): Promise<void> {
  const wanted = process.argv.slice(2);
  const names = wanted.length ? wanted : Object.keys(SCENARIOS);
  for (const n of names)
    if (!SCENARIOS[n]) throw new Error(`unknown scenario ${n}; known: ${Object.keys(SCENARIOS).join(', ')}`);
  mkdirSync(OUT, { recursive: true });
  const sshd = await startSshd();
  try {
    for (const name of names) {
      const lines = await (SCENARIOS[name] as (s: TestSshd) => Promise<string[]>)(sshd);
      if (lines.length === 0) throw new Error(`${name}: the server wrote no stderr line`);
      for (const l of lines) JSON.parse(l);
      writeFileSync(join(OUT, `${name}.log`), lines.join('\n') + '\n');
      process.stderr.write(`${name}: ${lines.length} lines\n`);
    }
  } finally {
    await sshd.stop();
  }
}

await main();
