/**
 * MCP resources, all JSON from the current config snapshot: the host inventory whole
 * (`ssh://hosts`) and per alias (`ssh://host/{alias}`), a host's tags (`…/tags`) and what the
 * policy lets a client do there (`…/capabilities`). Same URIs as the Python server.
 */
import { isIP } from 'node:net';
import {
  ResourceNotFoundError,
  ResourceTemplate,
  type CacheHint,
  type McpServer,
  type ReadResourceResult,
  type Variables,
} from '@modelcontextprotocol/server';
import type { HostConfig, PolicyFile, RuleConfig } from '../config/schema.js';
import { compileGlob, type Glob } from '../policy/glob.js';
import { SUBSTITUTION_CONSTRUCTS, ruleName } from '../policy/rules.js';
import type { RuntimeSnapshot } from '../tasks/snapshot.js';
import type { ToolContext } from './context.js';
import { hostSummary } from './tools/ssh-list-hosts.js';

/**
 * How long a 2026-07-28 client may keep a resource it read (`ttlMs`, `cacheScope`): the host
 * inventory and policy only change with a config reload, which an operator makes by hand, so a
 * short lifetime keeps a reload visible within seconds. Private: the capabilities view is
 * policy, not for shared caches. 2025-era replies carry no cache fields.
 */
export const RESOURCE_CACHE_HINT: CacheHint = { ttlMs: 10_000, cacheScope: 'private' };

export function registerResources(server: McpServer, ctx: ToolContext): void {
  server.registerResource(
    'hosts',
    'ssh://hosts',
    {
      title: 'SSH hosts',
      description: 'All configured host aliases with address, port, tags and description',
      mimeType: 'application/json',
      cacheHint: RESOURCE_CACHE_HINT,
    },
    (uri) => json(uri, { hosts: ctx.orchestrator.snapshot.config.hosts.map(hostSummary) }),
  );

  server.registerResource(
    'host',
    new ResourceTemplate('ssh://host/{alias}', {
      list: () => ({
        resources: ctx.orchestrator.snapshot.config.hosts.map((h) => ({
          uri: `ssh://host/${h.alias}`,
          name: h.alias,
          description: h.description || `${h.host}:${h.port}`,
          mimeType: 'application/json',
        })),
      }),
    }),
    {
      title: 'SSH host',
      description: 'One host alias with its address, tags and effective limits',
      mimeType: 'application/json',
      cacheHint: RESOURCE_CACHE_HINT,
    },
    (uri, variables) => {
      const snap = ctx.orchestrator.snapshot;
      const host = hostFor(snap, uri, variables);
      const limits = snap.policy.limitsFor({ alias: host.alias, tags: host.tags });
      return json(uri, { ...hostSummary(host), limits });
    },
  );

  // Templates only (resources/templates/list): listing them per host would triple resources/list.
  server.registerResource(
    'host-tags',
    new ResourceTemplate('ssh://host/{alias}/tags', { list: undefined }),
    {
      title: 'SSH host tags',
      description: 'The tags of one host alias (what ssh_run_on_tag, rules and overrides match)',
      mimeType: 'application/json',
      cacheHint: RESOURCE_CACHE_HINT,
    },
    (uri, variables) => {
      const host = hostFor(ctx.orchestrator.snapshot, uri, variables);
      return json(uri, { alias: host.alias, tags: host.tags });
    },
  );

  server.registerResource(
    'host-capabilities',
    new ResourceTemplate('ssh://host/{alias}/capabilities', { list: undefined }),
    {
      title: 'SSH host capabilities',
      description:
        'What the current policy lets a client do on one host: effective limits and the overrides that set them, the rules ' +
        'that apply to the alias and its tags, sample command verdicts, the network policy and the login it uses',
      mimeType: 'application/json',
      cacheHint: RESOURCE_CACHE_HINT,
    },
    (uri, variables) => {
      const snap = ctx.orchestrator.snapshot;
      return json(uri, hostCapabilities(snap, hostFor(snap, uri, variables)));
    },
  );
}

function json(uri: URL, value: unknown): ReadResourceResult {
  return { contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify(value, null, 2) }] };
}

/**
 * The host a template URI names, or "resource not found" (the uri in data) saying where the
 * aliases are listed.
 */
function hostFor(snap: RuntimeSnapshot, uri: URL, { alias }: Variables): HostConfig {
  const name = Array.isArray(alias) ? alias[0] : alias;
  const host = name === undefined ? undefined : snap.config.hostsByAlias.get(name);
  if (!host) {
    const message = `unknown host alias "${String(name)}": read ssh://hosts for the list`;
    // The SDK answers -32602 in both eras; stdio-transport.ts gives 2025-era clients their -32002.
    throw new ResourceNotFoundError(uri.href, message);
  }
  return host;
}

/**
 * Sample commands and whether the policy allows them here (Python's `policy_probes`, same ids):
 * a quick picture of the host's policy without reading the rules.
 */
const PROBES: readonly { probe: string; command: string; requiredTag?: string }[] = [
  { probe: 'basic_diagnostics', command: 'uptime' },
  { probe: 'filesystem_overview', command: 'df -h' },
  { probe: 'docker_status', command: 'docker ps', requiredTag: 'docker' },
];

/** A rule's host scope compiled once per loaded policy: which aliases and tags it applies to. */
interface RuleScope {
  index: number;
  rule: RuleConfig;
  aliases: Glob[];
  tags: Glob[];
}

const scopesByPolicy = new WeakMap<PolicyFile, RuleScope[]>();

function ruleScopes(policy: PolicyFile): RuleScope[] {
  let scopes = scopesByPolicy.get(policy);
  if (scopes === undefined) {
    // As rules.ts compiles them: anchored, case-sensitive.
    const glob = (pattern: string): Glob => compileGlob(pattern, { anchored: true, caseInsensitive: false });
    scopes = policy.rules.map((rule, index) => ({
      index,
      rule,
      aliases: rule.aliases.map(glob),
      tags: rule.tags.map(glob),
    }));
    scopesByPolicy.set(policy, scopes);
  }
  return scopes;
}

/** rules.ts `appliesTo`: an alias glob matches, and the rule names no tags or one of the host's tags matches. */
function scopeApplies(scope: RuleScope, host: HostConfig): boolean {
  return (
    scope.aliases.some((g) => g.matches(host.alias)) &&
    (scope.tags.length === 0 || host.tags.some((tag) => scope.tags.some((g) => g.matches(tag))))
  );
}

/** A rule as a client should read it: what it matches and what it lets admitted commands do (effective values). */
function ruleView({ index, rule }: RuleScope): Record<string, unknown> {
  const syntax = new Set<string>(rule.allow_syntax);
  if (rule.allow_substitution) for (const c of SUBSTITUTION_CONSTRUCTS) syntax.add(c);
  const allowExec = rule.allow_exec || rule.allow_substitution;
  return {
    index,
    name: ruleName(rule, index),
    action: rule.action,
    ...(rule.description !== undefined ? { description: rule.description } : {}),
    aliases: rule.aliases,
    tags: rule.tags,
    commands: rule.commands,
    ...(rule.write_paths.length > 0 ? { write_paths: rule.write_paths } : {}),
    ...(allowExec ? { allow_exec: true } : {}),
    ...(syntax.size > 0 ? { allow_syntax: [...syntax] } : {}),
  };
}

/**
 * What can be done on `host` under the snapshot's policy. Python's capabilities resource
 * reports limits, sample verdicts, network and features; this adds the rules that apply (the
 * host's policy as data), which overrides set its limits, the login it uses and, for an IP
 * address, the network verdict. Deny substrings are counted, not listed. Nothing is resolved
 * or dialled: `ssh_plan` does that for one command.
 */
export function hostCapabilities(snap: RuntimeSnapshot, host: HostConfig): Record<string, unknown> {
  const policy = snap.config.policy;
  const target = { alias: host.alias, tags: host.tags };
  const limits = snap.policy.limitsFor(target);
  // In the order limitsFor applies them (the alias last, so it wins).
  const overrides = [
    ...host.tags.filter((tag) => Object.hasOwn(policy.overrides.tags, tag)).map((tag) => `overrides.tags.${tag}`),
    ...(Object.hasOwn(policy.overrides.aliases, host.alias) ? [`overrides.aliases.${host.alias}`] : []),
  ];
  const rules = ruleScopes(policy)
    .filter((scope) => scopeApplies(scope, host))
    .map(ruleView);
  const probes = PROBES.filter((p) => p.requiredTag === undefined || host.tags.includes(p.requiredTag)).map((p) => {
    const decision = snap.policy.decide(target, p.command);
    return { probe: p.probe, command: p.command, allowed: decision.allowed, rule: decision.rule };
  });
  const cred = host.credentials === undefined ? undefined : snap.config.credentials.get(host.credentials);
  const net = policy.network;
  const literal = isIP(host.host) !== 0;
  return {
    alias: host.alias,
    host: host.host,
    port: host.port,
    tags: host.tags,
    config_generation: snap.generation,
    login: cred
      ? {
          credentials: cred.name,
          username: cred.username,
          methods: [
            ...(cred.key_path !== undefined ? ['key'] : []),
            ...(cred.key_passphrase_secret !== undefined ? ['key_passphrase'] : []),
            ...(cred.password_secret !== undefined ? ['password'] : []),
            ...(cred.use_agent ? ['agent'] : []),
          ],
        }
      : null,
    limits: {
      ...limits,
      require_known_host: true,
      host_key_auto_add: false,
      // The host's own list: an alias or tag override's deny_substrings replaces the global one.
      deny_patterns_enabled: snap.policy.denySubstringsFor(target).length > 0,
      deny_substrings_count: snap.policy.denySubstringsFor(target).length,
    },
    limit_overrides: overrides,
    rules,
    allow_rules: rules.filter((r) => r.action === 'allow').length,
    deny_rules: rules.filter((r) => r.action === 'deny').length,
    policy_probes: probes,
    network: {
      require_known_host: true,
      allowlist_enabled: net.allow_ips.length > 0 || net.allow_cidrs.length > 0,
      blocklist_enabled: net.block_ips.length > 0 || net.block_cidrs.length > 0,
      ...(literal
        ? { address: { ip: host.host, ...snap.network.check(host.host) } }
        : {
            address: null,
            note: `${host.host} is resolved and each address checked when connecting; ssh_plan shows the verdicts`,
          }),
    },
    features: { supports_async: true, supports_cancellation: true, supports_dry_run: true },
  };
}
