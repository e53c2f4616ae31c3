/**
 * `mcp-ssh-orchestrator demo`: a complete session on one machine with nothing else installed.
 * Starts a local SSH server, writes a small fleet config, spawns the orchestrator and drives it
 * with the official MCP client through allowed, denied, bypass, timeout and fan-out commands,
 * printing each stderr JSON line as it is written and a summary at the end.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import ssh2 from 'ssh2';
import { writeDemoFleet } from './fleet.js';
import { startLocalSshd } from './local-sshd.js';

export interface DemoOptions {
  out: Writable;
  /** Send OTel logs and traces to this OTLP/HTTP endpoint. */
  otlp?: string;
  /** Leave the SSH server running and print the client config for the user's own MCP client. */
  keep?: boolean;
  /** Use the embedded ssh2 server even when OpenSSH is installed. */
  embedded?: boolean;
  /** Use OpenSSH whenever it is installed, even as root. */
  openssh?: boolean;
  dir?: string;
  color?: boolean;
  /** Drive an existing config directory instead of starting a local SSH server (compose stack). */
  configDir?: string;
  /** Pass the server's stderr through unchanged (for Docker's log driver) instead of narrating it. */
  rawStderr?: (line: string) => void;
  /** Repeat the session every this many seconds until SIGINT/SIGTERM (a long-running traffic source). */
  everySeconds?: number;
  /** Extra arguments for the spawned server, e.g. --metrics-addr 0.0.0.0:9464. */
  serverArgs?: string[];
}

interface Step {
  title: string;
  tool: string;
  args: Record<string, unknown>;
}

const STEPS: Step[] = [
  { title: 'List the fleet', tool: 'ssh_list_hosts', args: {} },
  { title: 'An allowed command', tool: 'ssh_run', args: { alias: 'web1', command: 'uptime' } },
  { title: 'A dry run: what would the policy say?', tool: 'ssh_plan', args: { alias: 'web1', command: 'rm -rf /' } },
  { title: 'A denied command', tool: 'ssh_run', args: { alias: 'web1', command: 'rm -rf /' } },
  { title: 'A bypass attempt (quoting trick)', tool: 'ssh_run', args: { alias: 'web1', command: "r''eboot" } },
  {
    title: 'A command that hits max_seconds (db hosts: 2 s)',
    tool: 'ssh_run',
    args: { alias: 'db1', command: 'sleep 10' },
  },
  { title: 'Fan-out over every host tagged "web"', tool: 'ssh_run_on_tag', args: { tag: 'web', command: 'hostname' } },
];

export const CLI_JS = fileURLToPath(new URL('../cli.js', import.meta.url));

type Say = (text?: string) => void;
type Paint = (code: string, text: string) => string;

/** Where the session runs: a generated fleet on a local SSH server, or an existing config. */
async function prepareFleet(opts: DemoOptions, say: Say): Promise<{ configDir: string; stop: () => Promise<void> }> {
  if (opts.configDir !== undefined) {
    say(`config:     ${resolve(opts.configDir)} (existing fleet)`);
    return { configDir: resolve(opts.configDir), stop: async () => undefined };
  }
  const created = opts.dir === undefined;
  const root = resolve(opts.dir ?? mkdtempSync(join(tmpdir(), 'mcp-ssh-demo-')));
  const hostKey = ssh2.utils.generateKeyPairSync('ed25519');
  const userKey = ssh2.utils.generateKeyPairSync('ed25519');
  const sshd = await startLocalSshd({
    dir: root,
    hostPrivateKey: hostKey.private,
    authorizedPublicKey: userKey.public,
    preferEmbedded: opts.embedded ?? false,
    preferOpenSsh: opts.openssh ?? false,
  });
  const fleet = writeDemoFleet(root, {
    port: sshd.port,
    username: sshd.username,
    userPrivateKey: userKey.private,
    hostPublicKey: hostKey.public,
  });
  const kind = sshd.kind === 'openssh' ? 'OpenSSH sshd' : `embedded ssh2 server (${sshd.reason ?? 'no OpenSSH'})`;
  say(`SSH server: ${kind} on 127.0.0.1:${sshd.port}, user ${sshd.username}`);
  say(`config:     ${fleet.configDir}`);
  // A directory the demo made holds a private key: removed at the end unless --keep.
  const stop = async (): Promise<void> => {
    await sshd.stop();
    if (created && opts.keep !== true) rmSync(root, { recursive: true, force: true });
  };
  return { configDir: fleet.configDir, stop };
}

/** The server's environment: ours minus everything but what it reads (PATH, HOME, MCP_SSH_*, OTEL_*). */
function serverEnv(opts: DemoOptions): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && (k === 'PATH' || k === 'HOME' || k.startsWith('MCP_SSH_') || k.startsWith('OTEL_')))
      env[k] = v;
  }
  if (opts.otlp) env.OTEL_EXPORTER_OTLP_ENDPOINT = opts.otlp;
  return env;
}

async function runSteps(client: Client, say: Say, paint: Paint): Promise<number> {
  let failures = 0;
  for (const [i, step] of STEPS.entries()) {
    say();
    say(paint('1;36', `▶ ${i + 1}. ${step.title}`) + paint('2', `  ${step.tool} ${JSON.stringify(step.args)}`));
    try {
      const result = (await client.callTool({ name: step.tool, arguments: step.args })) as CallToolResult;
      const text = result.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');
      say((result.isError ? paint('33', '  tool error: ') : '  ') + text.split('\n').join('\n  '));
    } catch (err) {
      failures++;
      say(paint('31', `  demo step failed: ${err instanceof Error ? err.message : String(err)}`));
    }
    // Let the last lines of a command (audit, trace) arrive before the next step.
    await new Promise((r) => setTimeout(r, 100));
  }
  return failures;
}

function summarise(lines: Record<string, unknown>[], say: Say, paint: Paint): void {
  const count = (pred: (l: Record<string, unknown>) => boolean): number => lines.filter(pred).length;
  const securityTypes = [...new Set(lines.filter((l) => l.type === 'security_event').map((l) => String(l.event_type)))];
  say();
  say(paint('1', 'Summary'));
  say(`  stderr lines:        ${lines.length} (${count((l) => l._raw !== undefined)} not JSON)`);
  say(
    `  policy decisions:    ${count((l) => l.type === 'policy_decision')} (${count((l) => l.type === 'policy_decision' && l.allowed === false)} denied)`,
  );
  say(
    `  executions audited:  ${count((l) => l.type === 'audit')} (${count((l) => l.type === 'audit' && l.timeout === true)} timed out)`,
  );
  say(`  security events:     ${count((l) => l.type === 'security_event')} (${securityTypes.join(', ') || 'none'})`);
  say(`  progress lines:      ${count((l) => l.type === 'progress')}`);
  say();
  say(`Filter the trail with jq, e.g.:  jq -c 'select(.type=="audit")'   (executions)`);
  say(`                                  jq -c 'select(.alias=="web1")'   (one host's whole trail)`);
}

function untilSignal(): Promise<void> {
  return new Promise<void>((done) => {
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
  });
}

export async function runDemo(opts: DemoOptions): Promise<number> {
  const paint: Paint = (code, text) => (opts.color ? `\x1b[${code}m${text}\x1b[0m` : text);
  const say: Say = (text = '') => void opts.out.write(text + '\n');
  say(paint('1', 'mcp-ssh-orchestrator demo'));
  const fleet = await prepareFleet(opts, say);
  if (opts.otlp) say(`OTLP:       ${opts.otlp}`);

  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [CLI_JS, '--config-dir', fleet.configDir, ...(opts.serverArgs ?? [])],
    env: serverEnv(opts),
    stderr: 'pipe',
  });
  const lines: Record<string, unknown>[] = [];
  let partial = '';
  transport.stderr?.on('data', (chunk: Buffer) => {
    const parts = (partial + chunk.toString('utf8')).split('\n');
    partial = parts.pop() ?? '';
    for (const line of parts.filter(Boolean)) {
      try {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        lines.push({ _raw: line });
      }
      if (opts.rawStderr) opts.rawStderr(line);
      else say(paint('2', `  stderr │ ${line}`));
    }
  });
  const client = new Client({ name: 'mcp-ssh-orchestrator-demo', version: '1.0.0' });
  await client.connect(transport);

  let failures = 0;
  try {
    if (opts.everySeconds !== undefined) {
      // A traffic source: the same session again and again until stopped.
      let stopped = false;
      void untilSignal().then(() => (stopped = true));
      while (!stopped) {
        failures += await runSteps(client, say, paint);
        for (let waited = 0; waited < opts.everySeconds * 10 && !stopped; waited++)
          await new Promise((r) => setTimeout(r, 100));
      }
    } else {
      failures += await runSteps(client, say, paint);
    }
  } finally {
    await client.close();
  }
  summarise(lines, say, paint);

  if (opts.keep && opts.configDir === undefined) {
    say();
    say(paint('1', 'The SSH server keeps running. Point your MCP client at this config:'));
    say(
      JSON.stringify(
        { mcpServers: { 'ssh-demo': { command: process.execPath, args: [CLI_JS, '--config-dir', fleet.configDir] } } },
        null,
        2,
      ),
    );
    say('Press Ctrl-C to stop.');
    await untilSignal();
  }
  await fleet.stop();
  return failures === 0 && lines.every((l) => l._raw === undefined) ? 0 : 1;
}
