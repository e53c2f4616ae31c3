/**
 * Version 2 policies, the Python server's argv rules, on the policy AST: the fixture's decision
 * table, and a differential check against a reference of Python's version 2 reading (written
 * here from its documented semantics: deny_substrings, a program by path refused, then the
 * rules in order — simple_binaries, binary/arg_prefix/allow_extra_args/path_args, commands —
 * the first match deciding) over generated simple commands. Where this engine is stricter by
 * design (`..` resolved in paths), it may deny what the reference allows, never the reverse.
 */
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { describe, expect, it } from 'vitest';
import { policyFileSchema, type PolicyFile } from '../../src/config/schema.js';
import { PolicyEngine } from '../../src/policy/engine.js';

const FIXTURE = fileURLToPath(new URL('../fixtures/python-compat/v2/policy.yml', import.meta.url));
const policy: PolicyFile = policyFileSchema.parse(parseYaml(readFileSync(FIXTURE, 'utf8')));
const engine = new PolicyEngine(policy);
const HOSTS = { 'web-1': ['linux', 'web'], 'bare-1': [] as string[] };

function decide(alias: keyof typeof HOSTS, command: string): string {
  const d = engine.decide({ alias, tags: HOSTS[alias] }, command);
  return `${d.allowed ? 'allow' : 'deny'}:${d.rule}`;
}

describe('a version 2 policy (test/fixtures/python-compat/v2)', () => {
  it.each([
    ['web-1', 'uptime', 'allow:inspect'],
    ['web-1', 'df -h /', 'allow:inspect'],
    ['web-1', 'ls -la /etc /var', 'allow:inspect'],
    // Four arguments: past simple_max_args, and no later rule admits it.
    ['web-1', 'ls -la /etc /var /tmp', 'deny:deny-rest'],
    ['web-1', 'tail -n 200 /var/log/syslog', 'allow:tail-logs'],
    ['web-1', 'tail -n 200 /etc/shadow', 'deny:deny-rest'],
    ['web-1', 'tail -n 200 /var/log/syslog /etc/shadow', 'deny:deny-rest'],
    ['web-1', 'tail -n 50 /var/log/syslog', 'deny:deny-rest'],
    ['web-1', 'tail -n 200 /var/log/../../etc/shadow', 'deny:deny-rest'],
    ['web-1', "tail -n 200 '/var/log/syslog'", 'allow:tail-logs'],
    ['web-1', 'grep -n root /var/log/auth.log', 'allow:grep-logs'],
    ['web-1', 'journalctl -f -u nginx', 'deny:no-journal-follow'],
    ['web-1', 'journalctl -u nginx --no-pager -n 50', 'allow:journal'],
    ['web-1', 'systemctl status nginx', 'allow:service-status'],
    ['web-1', 'systemctl restart nginx', 'deny:deny-rest'],
    ['web-1', 'cat /etc/os-release', 'allow:release-files'],
    ['web-1', 'cat /etc/hostname /etc/shadow', 'deny:deny-rest'],
    ['web-1', 'cat /etc/shadow', 'deny:deny-rest'],
    ['web-1', 'echo hello', 'allow:legacy-globs'],
    ['web-1', 'uptime; whoami && id', 'allow:inspect'],
    ['web-1', 'uptime | grep -n load /var/log/x', 'allow:inspect, grep-logs'],
    ['web-1', '/usr/bin/uptime', 'deny:deny-rest'],
    ['web-1', 'curl http://example.com', 'deny:deny_substrings'],
    ['web-1', 'sudo uptime', 'deny:deny-rest'],
    // What the engine adds applies to version 2 rules too.
    ['web-1', 'echo hello > /tmp/x', 'deny:write_denied'],
    ['web-1', 'uptime $(whoami)', 'deny:unsupported_syntax:command_substitution'],
    // sh is a command of its own: the first rule matching it is deny-rest.
    ['web-1', 'ls -la | sh', 'deny:deny-rest'],
    // No rule applies to a host without tags.
    ['bare-1', 'uptime', 'deny:default_deny'],
    ['bare-1', './uptime', 'deny:program_path'],
  ] as const)('%s: %s → %s', (alias, command, expected) => {
    expect(decide(alias, command)).toBe(expected);
  });

  it('argv rules see the argv, not the text: quotes and escapes change nothing, a variable never matches a prefix', () => {
    expect(decide('web-1', 'systemctl "status" nginx')).toBe('allow:service-status');
    expect(decide('web-1', 'systemctl st\\atus nginx')).toBe('allow:service-status');
    expect(decide('web-1', 'systemctl $ACTION nginx')).toBe('deny:deny-rest');
    // A word that may split defeats a count.
    expect(decide('web-1', 'ls $DIRS')).toBe('deny:deny-rest');
  });

  it('a version 1 policy using a version 2 key is refused, saying what to write', () => {
    const result = policyFileSchema.safeParse({ rules: [{ action: 'allow', binary: 'uptime' }] });
    expect(result.success).toBe(false);
    expect(JSON.stringify(result.error?.issues)).toContain('put \\"version: 2\\" at the top of policy.yml');
  });
});

// ---- the reference: Python's version 2 reading of one simple command ----

function fnmatch(pattern: string, text: string): boolean {
  const re = new RegExp(
    `^${[...pattern].map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&'))).join('')}$`,
    's',
  );
  return re.test(text);
}

function reference(tags: readonly string[], command: string): boolean {
  for (const s of policy.limits.deny_substrings) if (command.includes(s)) return false;
  const argv = command.split(' ').filter((w) => w !== '');
  if (argv.length === 0 || argv[0]!.includes('/')) return false;
  const [binary, ...args] = argv;
  for (const rule of policy.rules) {
    const tagsOk = rule.tags.length === 0 || tags.some((t) => rule.tags.some((p) => fnmatch(p, t)));
    if (!tagsOk) continue;
    let matched = false;
    if (rule.simple_binaries?.includes(binary!)) {
      matched = rule.simple_max_args === undefined || args.length <= rule.simple_max_args;
    }
    if (!matched && rule.binary !== undefined && rule.binary === binary) {
      const prefix = rule.arg_prefix ?? [];
      const indices = rule.path_args?.indices ?? [];
      matched = prefix.every((p, i) => args[i] === p);
      if (matched && rule.allow_extra_args === false)
        matched = argv.length === Math.max(1 + prefix.length, ...indices.map((i) => i + 1));
      if (matched)
        matched = indices.every(
          (i) => argv[i] !== undefined && (rule.path_args?.patterns ?? []).some((p) => fnmatch(p, argv[i]!)),
        );
    }
    if (!matched) matched = rule.commands.some((p) => fnmatch(p, command));
    if (matched) return rule.action === 'allow';
  }
  return false;
}

describe('differential: this engine against the reference, on generated simple commands', () => {
  const program = fc.constantFrom(
    'uptime',
    'whoami',
    'ls',
    'df',
    'cat',
    'tail',
    'grep',
    'journalctl',
    'systemctl',
    'echo',
    'id',
  );
  const arg = fc.constantFrom(
    '-n',
    '200',
    '50',
    '-h',
    '-la',
    '-u',
    '-f',
    'status',
    'restart',
    'nginx',
    'root',
    '--no-pager',
    '/var/log/syslog',
    '/var/log/auth.log',
    '/etc/os-release',
    '/etc/redhat-release',
    '/etc/hostname',
    '/etc/shadow',
    '/',
    '/var/log/../../etc/shadow',
  );
  it('same decision for every generated command, except `..` paths, where this engine may only be stricter', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...(Object.keys(HOSTS) as (keyof typeof HOSTS)[])),
        program,
        fc.array(arg, { maxLength: 5 }),
        (alias, p, args) => {
          const command = [p, ...args].join(' ');
          const ours = engine.decide({ alias, tags: HOSTS[alias] }, command).allowed;
          const theirs = reference(HOSTS[alias], command);
          if (command.includes('..')) expect(!ours || theirs, command).toBe(true);
          else expect(ours, `${alias}: ${command}`).toBe(theirs);
        },
      ),
      { numRuns: 3000 },
    );
  });
});

describe('the version 2 layout of limits: limits.default and a list of limits.overrides', () => {
  const layout = policyFileSchema.parse(
    parseYaml(
      [
        'version: 2',
        'limits:',
        '  default:',
        '    max_seconds: 30',
        '    max_output_bytes: 1048576',
        '    host_key_auto_add: false',
        '    deny_substrings: ["rm -rf /", "curl http"]',
        '  overrides:',
        '    - aliases: ["*"]',
        '      tags: ["prod"]',
        '      max_seconds: 15',
        '    - aliases: ["lab-*"]',
        '      max_seconds: 90',
        '      deny_substrings: ["reboot"]',
        'rules:',
        '  - action: allow',
        '    simple_binaries: [uptime, echo, curl]',
        '',
      ].join('\n'),
    ),
  );
  const e = new PolicyEngine(layout);
  const at = (alias: string, tags: string[] = []) => ({ alias, tags });

  it('takes the base from limits.default, then each matching entry in order', () => {
    expect(e.limitsFor(at('web-1')).max_seconds).toBe(30);
    expect(e.limitsFor(at('web-1', ['prod'])).max_seconds).toBe(15);
    expect(e.limitsFor(at('lab-1', ['prod'])).max_seconds).toBe(90);
    expect(e.limitsFor(at('web-1')).max_output_bytes).toBe(1048576);
  });

  it("limits.default's deny list is the global one, a matching entry's replaces it", () => {
    expect(e.decide(at('web-1'), 'curl http://x').allowed).toBe(false);
    expect(e.decide(at('web-1'), 'echo reboot').allowed).toBe(true);
    expect(e.decide(at('lab-1'), 'curl http://x').allowed).toBe(true);
    expect(e.decide(at('lab-1'), 'echo reboot').allowed).toBe(false);
  });
});
