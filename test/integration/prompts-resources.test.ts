/**
 * The six prompts (the Python server's names, no arguments) and the per-host tags and
 * capabilities resources, read through the official MCP SDK client from the built server, with
 * a policy that scopes rules by alias and tag and overrides limits for a tag and an alias.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_TEST_POLICY, makeFleet, type Fleet, type FleetHost } from '../helpers/fleet.js';
import { startSession, type McpSession } from '../helpers/mcp-session.js';
import { startSshd, type TestSshd } from '../helpers/sshd.js';

const PROMPT_NAMES = [
  'ssh_orchestrator_usage',
  'ssh_policy_denied_guidance',
  'ssh_network_denied_guidance',
  'ssh_missing_host_guidance',
  'ssh_missing_credentials_guidance',
  'ssh_config_change_workflow',
];

const POLICY = {
  ...DEFAULT_TEST_POLICY,
  network: { allow_cidrs: ['127.0.0.0/8', '::1/128'], block_ips: ['192.0.2.7'] },
  overrides: {
    tags: { web: { max_seconds: 20, max_output_bytes: 2048 } },
    aliases: { web1: { max_seconds: 30 } },
  },
  rules: [
    ...DEFAULT_TEST_POLICY.rules,
    {
      name: 'web-logs',
      description: 'nginx logs, and reports written under /srv/reports',
      action: 'allow',
      tags: ['web'],
      commands: ['tail -n * /var/log/nginx/*', 'sort -o /srv/reports/* *'],
      write_paths: ['/srv/reports/*'],
    },
    { name: 'db-admin', action: 'allow', aliases: ['db*'], commands: ['psql -c *'], allow_exec: true },
    { name: 'docker-read', action: 'allow', tags: ['docker'], commands: ['docker ps*'] },
    { action: 'deny', aliases: ['web2'], commands: ['curl *'] },
    { name: 'templating', action: 'allow', aliases: ['web1'], allow_syntax: ['heredoc'], commands: ['cat <<*'] },
  ],
};

interface RuleView {
  index: number;
  name: string;
  action: string;
  commands: string[];
  write_paths?: string[];
  allow_exec?: boolean;
  allow_syntax?: string[];
  description?: string;
}

interface Capabilities {
  alias: string;
  tags: string[];
  config_generation: number;
  login: { credentials: string; username: string; methods: string[] } | null;
  limits: Record<string, unknown>;
  limit_overrides: string[];
  rules: RuleView[];
  allow_rules: number;
  deny_rules: number;
  policy_probes: { probe: string; command: string; allowed: boolean; rule: string }[];
  network: { allowlist_enabled: boolean; blocklist_enabled: boolean; address: unknown; note?: string };
  features: Record<string, boolean>;
}

describe('MCP prompts and per-host resources', () => {
  let sshd: TestSshd;
  let fleet: Fleet;
  let s: McpSession;
  let hosts: FleetHost[];

  beforeAll(async () => {
    sshd = await startSshd();
    hosts = [
      { alias: 'web1', sshd, tags: ['web', 'linux'] },
      { alias: 'web2', sshd, tags: ['web', 'docker'], credentials: 'ecdsa' },
      { alias: 'db1', sshd, tags: ['db'], credentials: 'ed25519_pass' },
      // A DNS name: the capabilities resource does not resolve it.
      { alias: 'cache1', sshd, host: 'localhost' },
    ];
    fleet = makeFleet([sshd], hosts, POLICY);
    s = await startSession(fleet.configDir);
  });

  afterAll(async () => {
    await s?.close();
    await sshd?.stop();
  });

  async function prompt(name: string): Promise<string> {
    const r = await s.client.getPrompt({ name });
    expect(r.messages.length, name).toBeGreaterThan(0);
    return r.messages
      .map((m) => {
        expect(m.role, name).toBe('user');
        return m.content.type === 'text' ? m.content.text : '';
      })
      .join('\n');
  }

  async function readJson<T>(uri: string): Promise<T> {
    const r = await s.client.readResource({ uri });
    const first = r.contents[0];
    expect(first?.mimeType).toBe('application/json');
    if (!first || !('text' in first)) throw new Error(`${uri}: no text content`);
    return JSON.parse(first.text) as T;
  }

  it('the server announces prompts and lists exactly the six Python prompts, without arguments', async () => {
    expect(s.client.getServerCapabilities()?.prompts).toBeDefined();
    const { prompts } = await s.client.listPrompts();
    expect(prompts.map((p) => p.name).sort()).toEqual([...PROMPT_NAMES].sort());
    for (const p of prompts) {
      expect(p.arguments ?? [], p.name).toEqual([]);
      expect(p.title, p.name).toBeTruthy();
      expect(p.description?.length, p.name).toBeGreaterThan(20);
    }
  });

  it('every prompt names this server and the next tool to call; an unknown prompt is an error', async () => {
    for (const name of PROMPT_NAMES) {
      const text = await prompt(name);
      expect(text.length, name).toBeGreaterThan(500);
      expect(text, name).toContain('ssh_');
    }
    await expect(s.client.getPrompt({ name: 'ssh_nope' })).rejects.toThrow(/ssh_nope/);
  });

  it('ssh_orchestrator_usage lists the tools and the live aliases and tags', async () => {
    const text = await prompt('ssh_orchestrator_usage');
    for (const tool of [
      'ssh_list_hosts',
      'ssh_describe_host',
      'ssh_plan',
      'ssh_run',
      'ssh_run_on_tag',
      'ssh_run_async',
      'ssh_get_task_status',
      'ssh_get_task_output',
      'ssh_get_task_result',
      'ssh_cancel_async_task',
      'ssh_reload_config',
      'ssh://host/{alias}/capabilities',
    ])
      expect(text).toContain(tool);
    expect(text).toContain('generation 1, 4 in all');
    expect(text).toContain('- web1 [web, linux]');
    expect(text).toContain('- web2 [web, docker]');
    expect(text).toContain('- db1 [db]');
    expect(text).toMatch(/^- cache1$/m);
    expect(text).toMatch(/Tags: .*web \(2\)/);
    expect(text).toMatch(/Tags: .*docker \(1\)/);
    for (const other of PROMPT_NAMES.filter((n) => n !== 'ssh_orchestrator_usage')) expect(text).toContain(other);
  });

  it('ssh_policy_denied_guidance sends the model to ssh_plan and the operator to policy.yml and ssh_reload_config', async () => {
    const text = await prompt('ssh_policy_denied_guidance');
    for (const needle of [
      'ssh_plan',
      'reason',
      'sent',
      'programs',
      'writes',
      'policy.yml',
      join(fleet.configDir, 'policy.yml'),
      'ssh_reload_config',
      'mcp-ssh-orchestrator check',
      'commands',
      'write_paths',
      'allow_exec',
      'allow_syntax',
      'deny_substrings',
      'default_deny',
      'write_denied',
      'unsupported_syntax:',
      'command_bypass_attempt',
      'docs/policy.md',
    ])
      expect(text).toContain(needle);
    // Counts from the running policy: 6 allow rules, 2 deny rules, 4 deny_substrings.
    expect(text).toContain('now 6 allow rules, 2 deny rules, 4 deny_substrings');
  });

  it('ssh_network_denied_guidance explains the lists, the unspecified addresses and shows the running lists', async () => {
    const text = await prompt('ssh_network_denied_guidance');
    for (const needle of [
      'allow_ips',
      'allow_cidrs',
      'block_ips',
      'block_cidrs',
      '0.0.0.0',
      ' :: ',
      'ssh_plan',
      'resolved_ips',
      'policy.yml',
      'ssh_reload_config',
    ])
      expect(text).toContain(needle);
    expect(text).toContain('allow_cidrs: 127.0.0.0/8, ::1/128');
    expect(text).toContain('block_ips: 192.0.2.7');
    expect(text).toMatch(/allow_ips: \(none\)/);
  });

  it('ssh_missing_host_guidance names the servers.yml fields, the configured aliases and known_hosts', async () => {
    const text = await prompt('ssh_missing_host_guidance');
    for (const needle of [
      'servers.yml',
      'alias:',
      'host:',
      'port:',
      'credentials:',
      'tags:',
      'description:',
      'ssh_list_hosts',
      'ssh_reload_config',
      'ssh-keyscan',
      fleet.knownHostsPath,
    ])
      expect(text).toContain(needle);
    expect(text).toContain('Configured now: web1, web2, db1, cache1.');
    expect(text).toContain('defined now: ed25519, ecdsa, rsa, ed25519_pass, unauthorized');
  });

  it('ssh_missing_credentials_guidance names every credentials.yml field, the secret sources and the live entries', async () => {
    const text = await prompt('ssh_missing_credentials_guidance');
    for (const needle of [
      'credentials.yml',
      'username',
      'key_path',
      'key_passphrase_secret',
      'password_secret',
      'use_agent',
      'MCP_SSH_SECRET_<NAME>',
      'plaintext password:',
      fleet.keysDir,
      fleet.secretsDir,
      'ssh_describe_host',
      'ssh_reload_config',
    ])
      expect(text).toContain(needle);
    expect(text).toContain(`ed25519_pass (user ${sshd.username}; key with passphrase)`);
    expect(text).toContain(`ecdsa (user ${sshd.username}; key)`);
    expect(text).toContain('hosts without credentials: (none)');
  });

  it('ssh_config_change_workflow covers the three files, check, reload and a bad file', async () => {
    const text = await prompt('ssh_config_change_workflow');
    for (const needle of [
      'servers.yml',
      'credentials.yml',
      'policy.yml',
      'overrides',
      `mcp-ssh-orchestrator check --config-dir ${fleet.configDir}`,
      'ssh_reload_config',
      'generation 1 stays in force',
      'which file, line and field',
    ])
      expect(text).toContain(needle);
  });

  it('ssh://host/{alias}/tags gives the alias and its tags', async () => {
    expect(await readJson('ssh://host/web2/tags')).toEqual({ alias: 'web2', tags: ['web', 'docker'] });
    expect(await readJson('ssh://host/cache1/tags')).toEqual({ alias: 'cache1', tags: [] });
  });

  it('capabilities of a host with a tag and an alias override: merged limits, the rules that apply, verdicts', async () => {
    const web1 = await readJson<Capabilities>('ssh://host/web1/capabilities');
    expect(web1).toMatchObject({ alias: 'web1', tags: ['web', 'linux'], config_generation: 1 });
    // limits.max_seconds 10 → overrides.tags.web 20 → overrides.aliases.web1 30; bytes from the tag.
    expect(web1.limits).toEqual({
      max_seconds: 30,
      max_output_bytes: 2048,
      task_result_ttl: 300,
      task_progress_interval: 0.5,
      require_known_host: true,
      host_key_auto_add: false,
      deny_patterns_enabled: true,
      deny_substrings_count: 4,
    });
    expect(web1.limit_overrides).toEqual(['overrides.tags.web', 'overrides.aliases.web1']);
    expect(web1.rules.map((r) => r.name)).toEqual(['read-only', 'test-helpers', 'no-rm', 'web-logs', 'templating']);
    expect(web1.rules.find((r) => r.name === 'web-logs')).toEqual({
      index: 3,
      name: 'web-logs',
      action: 'allow',
      description: 'nginx logs, and reports written under /srv/reports',
      aliases: ['*'],
      tags: ['web'],
      commands: ['tail -n * /var/log/nginx/*', 'sort -o /srv/reports/* *'],
      write_paths: ['/srv/reports/*'],
    });
    expect(web1.rules.find((r) => r.name === 'templating')).toMatchObject({ allow_syntax: ['heredoc'] });
    expect(web1.rules.find((r) => r.name === 'no-rm')).toMatchObject({ action: 'deny', commands: ['rm *'] });
    expect(web1).toMatchObject({ allow_rules: 4, deny_rules: 1 });
    expect(web1.login).toEqual({ credentials: 'ed25519', username: sshd.username, methods: ['key'] });
    expect(web1.network).toMatchObject({
      allowlist_enabled: true,
      blocklist_enabled: true,
      address: { ip: '127.0.0.1', allowed: true },
    });
    expect(web1.features).toMatchObject({ supports_async: true, supports_cancellation: true });
    // No docker tag: no docker probe.
    expect(web1.policy_probes.map((p) => p.probe)).toEqual(['basic_diagnostics', 'filesystem_overview']);
    expect(web1.policy_probes[0]).toEqual({
      probe: 'basic_diagnostics',
      command: 'uptime',
      allowed: true,
      rule: 'read-only',
    });
    expect(web1.policy_probes[1]).toMatchObject({ command: 'df -h', allowed: false, rule: 'default_deny' });

    // The ssh://host/{alias} resource reports the same merged limits.
    expect(await readJson('ssh://host/web1')).toMatchObject({
      limits: { max_seconds: 30, max_output_bytes: 2048 },
    });
  });

  it('capabilities differ per host: tag-only override, tag- and alias-scoped rules, an unnamed deny rule', async () => {
    const web2 = await readJson<Capabilities>('ssh://host/web2/capabilities');
    expect(web2.limits).toMatchObject({ max_seconds: 20, max_output_bytes: 2048 });
    expect(web2.limit_overrides).toEqual(['overrides.tags.web']);
    expect(web2.rules.map((r) => r.name)).toEqual([
      'read-only',
      'test-helpers',
      'no-rm',
      'web-logs',
      'docker-read',
      'rules[6]',
    ]);
    expect(web2.rules.find((r) => r.name === 'rules[6]')).toMatchObject({ action: 'deny', commands: ['curl *'] });
    expect(web2.policy_probes.find((p) => p.probe === 'docker_status')).toEqual({
      probe: 'docker_status',
      command: 'docker ps',
      allowed: true,
      rule: 'docker-read',
    });
    expect(web2.login?.methods).toEqual(['key']);

    const db1 = await readJson<Capabilities>('ssh://host/db1/capabilities');
    expect(db1.limits).toMatchObject({ max_seconds: 10, max_output_bytes: 65536 });
    expect(db1.limit_overrides).toEqual([]);
    expect(db1.rules.map((r) => r.name)).toEqual(['read-only', 'test-helpers', 'no-rm', 'db-admin']);
    expect(db1.rules.find((r) => r.name === 'db-admin')).toMatchObject({ allow_exec: true, aliases: ['db*'] });
    expect(db1.rules.find((r) => r.name === 'read-only')).not.toHaveProperty('allow_exec');
    expect(db1.login?.methods).toEqual(['key', 'key_passphrase']);

    const cache1 = await readJson<Capabilities>('ssh://host/cache1/capabilities');
    expect(cache1.network.address).toBeNull();
    expect(cache1.network.note).toContain('ssh_plan');
  });

  it('what capabilities lists agrees with the policy engine (ssh_plan) for each host', async () => {
    // [alias, command, the rule ssh_plan reports, a rule that admits it elsewhere but must not be listed here]
    const cases: [string, string, string, string?][] = [
      ['web1', 'tail -n 5 /var/log/nginx/access.log', 'web-logs'],
      ['db1', 'tail -n 5 /var/log/nginx/access.log', 'default_deny', 'web-logs'],
      ['web2', 'docker ps -a', 'docker-read'],
      ['web1', 'docker ps -a', 'default_deny', 'docker-read'],
      ['db1', 'psql -c x', 'db-admin'],
      ['web2', 'psql -c x', 'default_deny', 'db-admin'],
      ['web2', 'curl -s http://127.0.0.1/', 'rules[6]'],
      ['web1', 'curl -s http://127.0.0.1/', 'default_deny', 'rules[6]'],
    ];
    for (const [alias, command, rule, elsewhere] of cases) {
      const plan = await s.call('ssh_plan', { alias, command });
      expect(plan.structuredContent, `${alias}: ${command}`).toMatchObject({ rule });
      const listed = (await readJson<Capabilities>(`ssh://host/${alias}/capabilities`)).rules.map((r) => r.name);
      if (rule !== 'default_deny') expect(listed, alias).toContain(rule);
      if (elsewhere !== undefined) expect(listed, alias).not.toContain(elsewhere);
    }
  });

  it('the new resources are templates (not per-host list entries); an unknown alias is resource-not-found (-32002 with data.uri for this 2025 client)', async () => {
    const { resourceTemplates } = await s.client.listResourceTemplates();
    expect(resourceTemplates.map((t) => t.uriTemplate)).toEqual(
      expect.arrayContaining(['ssh://host/{alias}', 'ssh://host/{alias}/tags', 'ssh://host/{alias}/capabilities']),
    );
    for (const t of resourceTemplates) expect(t.mimeType, t.uriTemplate).toBe('application/json');
    const { resources } = await s.client.listResources();
    expect(resources.map((r) => r.uri).sort()).toEqual(
      ['ssh://hosts', ...hosts.map((h) => `ssh://host/${h.alias}`)].sort(),
    );
    for (const uri of ['ssh://host/nope/tags', 'ssh://host/nope/capabilities', 'ssh://host/WEB1/capabilities'])
      await expect(s.client.readResource({ uri }), uri).rejects.toMatchObject({
        code: -32002,
        data: { uri },
        message: expect.stringContaining('read ssh://hosts'),
      });
  });

  // Last: it changes the config the other tests read.
  it('prompts and resources follow a reload: the new alias, tags, generation and a host without credentials', async () => {
    writeFileSync(
      join(fleet.configDir, 'servers.yml'),
      stringify({
        hosts: [
          { alias: 'web1', host: sshd.address, port: sshd.port, credentials: 'ed25519', tags: ['web', 'linux'] },
          { alias: 'batch9', host: sshd.address, port: sshd.port, tags: ['batch'] },
        ],
      }),
    );
    const reload = await s.call('ssh_reload_config');
    expect(reload.structuredContent).toMatchObject({ reloaded: true, generation: 2 });
    const usage = await prompt('ssh_orchestrator_usage');
    expect(usage).toContain('generation 2, 2 in all');
    expect(usage).toContain('- batch9 [batch]');
    expect(usage).not.toContain('web2');
    expect(await prompt('ssh_missing_credentials_guidance')).toContain('hosts without credentials: batch9');
    expect(await prompt('ssh_config_change_workflow')).toContain('generation 2 stays in force');
    expect(await readJson('ssh://host/batch9/tags')).toEqual({ alias: 'batch9', tags: ['batch'] });
    const caps = await readJson<Capabilities>('ssh://host/batch9/capabilities');
    expect(caps).toMatchObject({ config_generation: 2, login: null, limit_overrides: [] });
    await expect(s.client.readResource({ uri: 'ssh://host/web2/capabilities' })).rejects.toMatchObject({
      code: -32002,
    });
  });
});
