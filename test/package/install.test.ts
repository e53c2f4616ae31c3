/**
 * The package as users get it: packed from a clean checkout of HEAD (prepare builds dist/),
 * installed with `npm install -g` into a temporary prefix, and run from there on every Node
 * line the project supports — --version, init, check, kit path, and an MCP tools/list over
 * stdio with the official client. Node 22, 24 and 26 come from scripts/engines/node.sh (CI
 * provisions them); outside CI a missing runtime is skipped and named.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const VERSION = (JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { version: string }).version;

function nodeBinary(major: string): string | undefined {
  const r = spawnSync('bash', [path.join(REPO, 'scripts/engines/node.sh'), '--bin', major], {
    encoding: 'utf8',
    env: {
      ...process.env,
      ENGINES_CACHE:
        process.env.ENGINES_CACHE ??
        (process.getuid?.() === 0 ? '/var/cache/mcp-ssh-orchestrator/engines' : path.join(REPO, '.cache/engines')),
    },
  });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

const RUNTIMES: { label: string; node: string | undefined }[] = [
  { label: `this runtime (${process.version})`, node: process.execPath },
  { label: 'Node 22', node: nodeBinary('22') },
  { label: 'Node 24', node: nodeBinary('24') },
  { label: 'Node 26', node: nodeBinary('26') },
];

describe('packed, installed, run', () => {
  let work: string;
  let installed: string;
  let tarball: string;

  beforeAll(() => {
    work = mkdtempSync(path.join(tmpdir(), 'mcp-ssh-pkg-'));
    const clone = path.join(work, 'clone');
    execFileSync('git', ['clone', '--quiet', '--no-hardlinks', REPO, clone]);
    // prepare needs the dev dependencies (tsc): the checkout's own, not a second npm ci.
    symlinkSync(path.join(REPO, 'node_modules'), path.join(clone, 'node_modules'));
    execFileSync('npm', ['pack', '--silent', '--pack-destination', work], {
      cwd: clone,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    tarball = path.join(work, readdirSync(work).find((f) => f.endsWith('.tgz')) ?? 'missing.tgz');
    const prefix = path.join(work, 'prefix');
    execFileSync('npm', ['install', '--global', '--prefix', prefix, '--no-audit', '--no-fund', tarball], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    installed = path.join(prefix, 'lib', 'node_modules', 'mcp-ssh-orchestrator');
  }, 300_000);

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('the tarball carries dist/, the whole kit, LICENSE, CHANGELOG and server.json, and no tests', () => {
    const listing = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).split('\n');
    for (const entry of [
      'package/dist/cli.js',
      'package/elk/kibana/mcp_ssh.ndjson',
      'package/otel-collector/agent.yaml',
      'package/pipelines/logstash/',
      'package/monitoring/',
      'package/docker-compose.yml',
      'package/docs/events.md',
      'package/LICENSE',
      'package/CHANGELOG.md',
      'package/server.json',
    ]) {
      expect(
        listing.some((l) => l === entry || l.startsWith(entry)),
        entry,
      ).toBe(true);
    }
    expect(listing.some((l) => l.startsWith('package/test/') || l.startsWith('package/src/'))).toBe(false);
    expect(existsSync(path.join(installed, '..', '..', '..', 'bin', 'mcp-ssh-orchestrator'))).toBe(true);
  });

  for (const runtime of RUNTIMES) {
    const run = runtime.node === undefined && process.env.CI !== 'true' ? it.skip : it;
    run(
      `on ${runtime.label}: --version, init, check, kit path, tools/list over stdio`,
      async () => {
        const node = runtime.node;
        if (node === undefined) throw new Error(`${runtime.label} is not provisioned: run scripts/engines/node.sh`);
        const cli = path.join(installed, 'dist', 'cli.js');
        const sh = (...args: string[]) =>
          spawnSync(node, [cli, ...args], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '', HOME: work } });
        expect(sh('--version').stdout.trim()).toBe(VERSION);
        const config = path.join(work, `config-${runtime.label.replace(/\W+/g, '-')}`);
        expect(sh('init', config).stdout).toContain('created');
        const check = sh('check', '--config-dir', config);
        expect(check.stdout, check.stderr).toContain('config ok');
        expect(check.status).toBe(0);
        expect(sh('kit', 'path').stdout.trim()).toBe(installed.replace(/\/$/, ''));

        const client = new Client({ name: 'mcp-ssh-package-test', version: '1.0.0' });
        await client.connect(
          new StdioClientTransport({
            command: node,
            args: [cli, '--config-dir', config],
            env: { PATH: process.env.PATH ?? '', HOME: work, OTEL_SDK_DISABLED: 'true' },
            stderr: 'pipe',
          }),
        );
        try {
          const { tools } = await client.listTools();
          expect(tools.map((t) => t.name)).toContain('ssh_run');
          expect(client.getServerVersion()).toMatchObject({ name: 'mcp-ssh-orchestrator', version: VERSION });
        } finally {
          await client.close();
        }
      },
      60_000,
    );
  }
});
