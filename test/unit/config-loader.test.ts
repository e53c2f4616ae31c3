import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/errors.js';
import type { ConfigDirs } from '../../src/config/load.js';
import { MAX_LISTED_ISSUES, loadConfig, loadConfigHere, resolveConfigDirs } from '../../src/config/load.js';
import { readKeyFile, readSecret } from '../../src/config/safe-paths.js';
import { DEFAULT_DENY_SUBSTRINGS, POLICY_LIMITS } from '../../src/config/schema.js';
import type { SecurityEvent } from '../../src/telemetry/events.js';
import { RecordingEmitter } from '../helpers/recording-emitter.js';

type ConfigFile = 'servers.yml' | 'credentials.yml' | 'policy.yml';

const GOOD: Record<ConfigFile, string> = {
  'servers.yml': [
    'hosts:',
    '  - alias: web1',
    '    host: 10.0.0.1',
    '    credentials: deploy',
    '    tags: [web]',
    '',
  ].join('\n'),
  'credentials.yml': ['entries:', '  - name: deploy', '    username: ubuntu', '    key_path: id_ed25519', ''].join(
    '\n',
  ),
  'policy.yml': ['rules:', '  - id: allow-uptime', '    action: allow', '    commands: ["uptime"]', ''].join('\n'),
};

let root: string;
let dirs: ConfigDirs;

beforeEach(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'mcp-ssh-config-'));
  dirs = {
    configDir: path.join(root, 'config'),
    keysDir: path.join(root, 'keys'),
    secretsDir: path.join(root, 'secrets'),
  };
  await Promise.all([
    mkdir(dirs.configDir),
    mkdir(dirs.keysDir),
    mkdir(dirs.secretsDir),
    mkdir(path.join(root, 'outside')),
  ]);
  await writeFile(path.join(dirs.keysDir, 'id_ed25519'), 'PRIVATE KEY\n');
  await writeFile(path.join(root, 'outside', 'stolen'), 'not yours\n');
  await writeConfig({});
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Writes all three files: the good defaults, replaced by `files` where given. */
async function writeConfig(files: Partial<Record<ConfigFile, string>>): Promise<void> {
  for (const name of Object.keys(GOOD) as ConfigFile[]) {
    await writeFile(path.join(dirs.configDir, name), files[name] ?? GOOD[name]);
  }
}

async function loadError(emitter = new RecordingEmitter()): Promise<ConfigError> {
  const error: unknown = await loadConfig(dirs, emitter).then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof ConfigError)) throw new Error(`expected a ConfigError, got ${String(error)}`);
  return error;
}

function securityEvents(emitter: RecordingEmitter): SecurityEvent[] {
  return emitter.ofType('security_event');
}

const lines = (...l: string[]): string => [...l, ''].join('\n');
const LONG_NAME = 'a'.repeat(101);

interface BrokenCase {
  name: string;
  files?: Partial<Record<ConfigFile, string>>;
  setup?: () => Promise<void>;
  /** The complete ConfigError message; gets the test's dirs for messages naming absolute paths. */
  expected: (d: ConfigDirs) => string;
  /** Security events that must have been emitted (each matched as a subset). */
  events?: (d: ConfigDirs) => Partial<SecurityEvent>[];
}

const brokenCases: BrokenCase[] = [
  {
    name: 'YAML syntax error',
    files: { 'servers.yml': lines('hosts:', '  - alias: "web1', '    host: 10.0.0.1') },
    expected: () => 'servers.yml:4:1: invalid YAML: Missing closing "quote',
  },
  {
    name: 'tab indentation',
    files: { 'policy.yml': lines('limits:', '\tmax_seconds: 5') },
    expected: () => 'policy.yml:2:1: invalid YAML: Tabs are not allowed as indentation',
  },
  {
    name: 'several YAML documents in one file',
    files: { 'policy.yml': lines('rules: []', '---', 'rules: []') },
    expected: () =>
      'policy.yml:2:1: invalid YAML: Source contains multiple documents; please use YAML.parseAllDocuments()',
  },
  {
    name: 'duplicate key in a mapping',
    files: { 'servers.yml': lines('hosts:', '  - alias: web1', '    host: 10.0.0.1', '    host: 10.0.0.2') },
    expected: () => 'servers.yml:4:5 hosts[0].host: duplicate key "host": already defined at line 3',
  },
  {
    name: 'port that is not a number',
    files: {
      'servers.yml': lines(
        'hosts:',
        '  - alias: web1',
        '    host: 10.0.0.1',
        '    port: abc',
        '    credentials: deploy',
      ),
    },
    expected: () => 'servers.yml:4:11 hosts[0].port: expected an integer between 1 and 65535, got "abc"',
  },
  {
    name: 'port out of range',
    files: {
      'servers.yml': lines(
        'hosts:',
        '  - alias: web1',
        '    host: 10.0.0.1',
        '    port: 70000',
        '    credentials: deploy',
      ),
    },
    expected: () => 'servers.yml:4:11 hosts[0].port: expected an integer between 1 and 65535, got 70000',
  },
  {
    name: 'empty port',
    files: {
      'servers.yml': lines('hosts:', '  - alias: web1', '    host: 10.0.0.1', '    port:', '    credentials: deploy'),
    },
    expected: () => 'servers.yml:4:5 hosts[0].port: expected an integer between 1 and 65535, got an empty value',
  },
  {
    name: 'tags that are not a list',
    files: {
      'servers.yml': lines(
        'hosts:',
        '  - alias: web1',
        '    host: 10.0.0.1',
        '    credentials: deploy',
        '    tags: web',
      ),
    },
    expected: () => 'servers.yml:5:11 hosts[0].tags: expected a list of non-empty strings, got "web"',
  },
  {
    name: 'top level that is not a mapping',
    files: { 'credentials.yml': lines('- name: deploy', '  username: ubuntu') },
    expected: () => 'credentials.yml:1:1: expected a mapping, got a list',
  },
  {
    name: 'unknown top-level key',
    files: { 'servers.yml': lines('hosts: []', 'host: []') },
    expected: () => 'servers.yml:2:1 host: unknown key "host" (expected one of: hosts)',
  },
  {
    name: 'unknown host key',
    files: { 'servers.yml': lines('hosts:', '  - alias: web1', '    host: 10.0.0.1', '    portt: 22') },
    expected: () =>
      'servers.yml:4:5 hosts[0].portt: unknown key "portt" (expected one of: alias, host, port, credentials, tags, description)',
  },
  {
    name: 'unknown credential key',
    files: {
      'credentials.yml': lines('entries:', '  - name: deploy', '    username: ubuntu', '    passwrd_secret: db'),
    },
    expected: () =>
      'credentials.yml:4:5 entries[0].passwrd_secret: unknown key "passwrd_secret" (expected one of: name, username, key_path, key_passphrase_secret, password_secret, use_agent)',
  },
  {
    name: 'plaintext password (the Python server reads it; this one refuses and says what to use)',
    files: {
      'credentials.yml': lines('entries:', '  - name: deploy', '    username: ubuntu', '    password: hunter2'),
    },
    expected: () =>
      'credentials.yml:4:5 entries[0].password: unknown key "password": plaintext passwords are not read from config files: ' +
      'put the password in a secret (a file or a .env key in the secrets directory, or the environment variable <NAME> or MCP_SSH_SECRET_<NAME>) ' +
      'and name it with password_secret (expected one of: name, username, key_path, key_passphrase_secret, password_secret, use_agent)',
  },
  {
    name: 'unknown limits key',
    files: { 'policy.yml': lines('limits:', '  max_secs: 5') },
    expected: () =>
      'policy.yml:2:3 limits.max_secs: unknown key "max_secs" (expected one of: max_seconds, max_output_bytes, task_result_ttl, task_progress_interval, host_key_auto_add, require_known_host, deny_substrings, default, overrides)',
  },
  {
    name: 'unknown network key',
    files: { 'policy.yml': lines('network:', '  allow_ip: [10.0.0.1]') },
    expected: () =>
      'policy.yml:2:3 network.allow_ip: unknown key "allow_ip" (expected one of: allow_ips, allow_cidrs, block_ips, block_cidrs, require_known_host, dns_max_per_second, dns_cache_ttl)',
  },
  {
    name: 'a key named like an Object.prototype member',
    files: { 'policy.yml': lines('toString: 1', 'rules: []') },
    expected: () =>
      'policy.yml:1:1 toString: unknown key "toString" (expected one of: version, known_hosts_path, limits, network, rules, overrides)',
  },
  {
    name: 'unknown rule key (and the missing key it was meant to be)',
    files: { 'policy.yml': lines('rules:', '  - action: allow', '    command: ["uptime"]') },
    expected: () =>
      [
        'policy.yml:2:5 rules[0].commands: a rule needs commands (or, in a version 2 policy, simple_binaries or binary)',
        'policy.yml:3:5 rules[0].command: unknown key "command" (expected one of: id, name, description, action, aliases, tags, commands, simple_binaries, simple_max_args, binary, arg_prefix, allow_extra_args, path_args, allow_substitution, allow_syntax, allow_exec, write_paths)',
      ].join('\n'),
  },
  {
    name: 'unknown override key',
    files: { 'policy.yml': lines('overrides:', '  aliases:', '    web1:', '      max_second: 5') },
    expected: () =>
      'policy.yml:4:7 overrides.aliases.web1.max_second: unknown key "max_second" (expected one of: max_seconds, max_output_bytes, task_result_ttl, task_progress_interval, host_key_auto_add, require_known_host, deny_substrings)',
  },
  {
    name: 'unknown overrides section',
    files: { 'policy.yml': lines('overrides:', '  hosts: {}') },
    expected: () => 'policy.yml:2:3 overrides.hosts: unknown key "hosts" (expected one of: aliases, tags)',
  },
  {
    name: 'host_key_auto_add that is not a boolean',
    files: { 'policy.yml': lines('limits:', '  host_key_auto_add: yes please') },
    expected: () => 'policy.yml:2:22 limits.host_key_auto_add: expected true or false, got "yes please"',
  },
  {
    name: 'bad alias',
    files: { 'servers.yml': lines('hosts:', '  - alias: web 1', '    host: 10.0.0.1') },
    expected: () => 'servers.yml:2:12 hosts[0].alias: expected 1-100 characters of A-Z a-z 0-9 . _ -, got "web 1"',
  },
  {
    name: 'bad host',
    files: { 'servers.yml': lines('hosts:', '  - alias: web1', '    host: web_1!.example.com') },
    expected: () =>
      'servers.yml:3:11 hosts[0].host: expected a DNS name, an IPv4 address or an IPv6 address, got "web_1!.example.com"',
  },
  {
    name: 'host that looks like a broken IPv4 address',
    files: { 'servers.yml': lines('hosts:', '  - alias: web1', '    host: 300.1.1.1') },
    expected: () =>
      'servers.yml:3:11 hosts[0].host: expected a DNS name, an IPv4 address or an IPv6 address, got "300.1.1.1"',
  },
  {
    name: 'host of the wrong type',
    files: { 'servers.yml': lines('hosts:', '  - alias: web1', '    host: [a, b]') },
    expected: () =>
      'servers.yml:3:11 hosts[0].host: expected a DNS name, an IPv4 address or an IPv6 address, got a list',
  },
  {
    name: 'missing required field',
    files: { 'servers.yml': lines('hosts:', '  - alias: web1', '    port: 22') },
    expected: () =>
      'servers.yml:2:5 hosts[0].host: required key "host" is missing: expected a DNS name, an IPv4 address or an IPv6 address',
  },
  {
    name: 'bad CIDR',
    files: { 'policy.yml': lines('network:', '  allow_cidrs:', '    - 10.0.0.0/8', '    - 10.0.0.0/33') },
    expected: () =>
      'policy.yml:4:7 network.allow_cidrs[1]: expected a CIDR block such as 10.0.0.0/8 or fd00::/8, got "10.0.0.0/33"',
  },
  {
    name: 'bad IP',
    files: { 'policy.yml': lines('network:', '  block_ips: [10.0.0.256]') },
    expected: () => 'policy.yml:2:15 network.block_ips[0]: expected an IPv4 or IPv6 address, got "10.0.0.256"',
  },
  {
    name: 'bad action',
    files: { 'policy.yml': lines('rules:', '  - action: permit', '    commands: ["uptime"]') },
    expected: () => 'policy.yml:2:13 rules[0].action: expected one of "allow", "deny", got "permit"',
  },
  {
    name: 'non-positive limit',
    files: { 'policy.yml': lines('limits:', '  max_seconds: 0') },
    expected: () => 'policy.yml:2:16 limits.max_seconds: expected a positive integer, got 0',
  },
  {
    name: 'wrong boolean',
    files: { 'credentials.yml': lines('entries:', '  - name: deploy', '    username: ubuntu', '    use_agent: yes') },
    expected: () => 'credentials.yml:4:16 entries[0].use_agent: expected true or false, got "yes"',
  },
  {
    name: 'empty list of hosts written as an empty value',
    files: { 'servers.yml': lines('hosts:') },
    expected: () => 'servers.yml:1:1 hosts: expected a list of mappings, got an empty value',
  },
  {
    name: 'duplicate alias',
    files: {
      'servers.yml': lines('hosts:', '  - alias: web1', '    host: 10.0.0.1', '  - alias: web1', '    host: 10.0.0.2'),
    },
    expected: () => 'servers.yml:4:12 hosts[1].alias: duplicate alias "web1": already used by hosts[0] at line 2',
  },
  {
    name: 'unknown credentials reference',
    files: { 'servers.yml': lines('hosts:', '  - alias: web1', '    host: 10.0.0.1', '    credentials: deplyo') },
    expected: () =>
      'servers.yml:4:18 hosts[0].credentials: unknown credentials "deplyo": expected the name of an entry in credentials.yml (defined: deploy)',
  },
  {
    name: 'duplicate credentials name',
    files: {
      'credentials.yml': lines(
        'entries:',
        '  - name: deploy',
        '    username: a',
        '  - name: deploy',
        '    username: b',
      ),
    },
    expected: () =>
      'credentials.yml:4:11 entries[1].name: duplicate credentials name "deploy": already used by entries[0] at line 2',
  },
  {
    name: 'duplicate rule id',
    files: {
      'policy.yml': lines(
        'rules:',
        '  - id: r1',
        '    action: allow',
        '    commands: [a]',
        '  - id: r1',
        '    action: deny',
        '    commands: [b]',
      ),
    },
    expected: () => 'policy.yml:5:9 rules[1].id: duplicate rule id "r1": already used by rules[0] at line 2',
  },
  {
    name: 'a CIDR block under block_ips',
    files: { 'policy.yml': lines('network:', '  block_ips: ["169.254.0.0/16"]') },
    expected: () =>
      'policy.yml:2:15 network.block_ips[0]: expected an IPv4 or IPv6 address; a CIDR block goes under network.block_cidrs, got "169.254.0.0/16"',
  },
  {
    name: 'key_path traversal',
    files: {
      'credentials.yml': lines(
        'entries:',
        '  - name: deploy',
        '    username: ubuntu',
        '    key_path: ../../etc/passwd',
      ),
    },
    expected: (d) =>
      `credentials.yml:4:15 entries[0].key_path: key_path "../../etc/passwd" contains "..": expected a path inside the keys directory ${d.keysDir}`,
    events: (d) => [
      {
        event_type: 'path_traversal_attempt',
        attempted_path: '../../etc/passwd',
        resolved_path: path.resolve(d.keysDir, '../../etc/passwd'),
        reason: 'contains_traversal_pattern',
        base_dir: d.keysDir,
      },
    ],
  },
  {
    name: 'absolute key_path outside the keys directory',
    files: {
      'credentials.yml': lines(
        'entries:',
        '  - name: deploy',
        '    username: ubuntu',
        '    key_path: /etc/ssh/ssh_host_ed25519_key',
      ),
    },
    expected: (d) =>
      `credentials.yml:4:15 entries[0].key_path: key_path "/etc/ssh/ssh_host_ed25519_key" is outside the keys directory ${d.keysDir}: expected a path relative to it, or an absolute path inside it`,
    events: (d) => [
      {
        event_type: 'path_traversal_attempt',
        attempted_path: '/etc/ssh/ssh_host_ed25519_key',
        resolved_path: '/etc/ssh/ssh_host_ed25519_key',
        reason: 'path_outside_allowed_directory',
        base_dir: d.keysDir,
      },
    ],
  },
  {
    name: 'key_path over 1024 characters',
    files: {
      'credentials.yml': lines(
        'entries:',
        '  - name: deploy',
        '    username: ubuntu',
        `    key_path: ${'k'.repeat(1025)}`,
      ),
    },
    expected: () =>
      `credentials.yml:4:15 entries[0].key_path: key_path "${'k'.repeat(80)}..." is 1025 characters long: expected at most 1024`,
    events: () => [{ event_type: 'input_length_limit_exceeded', field: 'key_path', length: 1025, max_length: 1024 }],
  },
  {
    name: 'key file that is a symlink pointing outside',
    setup: async () => {
      await rm(path.join(dirs.keysDir, 'id_ed25519'));
      await symlink(path.join(root, 'outside', 'stolen'), path.join(dirs.keysDir, 'id_ed25519'));
    },
    expected: (d) =>
      `credentials.yml:4:15 entries[0].key_path: key_path "id_ed25519" is a symlink to ${path.join(root, 'outside', 'stolen')}, outside ${d.keysDir}: symlinks must point inside that directory`,
    events: () => [
      {
        event_type: 'file_validation_failed',
        attempted_path: 'id_ed25519',
        resolved_path: path.join(root, 'outside', 'stolen'),
        reason: 'path_is_symlink',
      },
    ],
  },
  {
    name: 'key_path naming a directory',
    setup: () => mkdir(path.join(dirs.keysDir, 'subdir')),
    files: { 'credentials.yml': lines('entries:', '  - name: deploy', '    username: ubuntu', '    key_path: subdir') },
    expected: () =>
      'credentials.yml:4:15 entries[0].key_path: key_path "subdir" is a directory: expected a regular file',
    events: () => [{ event_type: 'file_validation_failed', attempted_path: 'subdir', reason: 'path_is_directory' }],
  },
  {
    name: 'secret name with a slash',
    files: {
      'credentials.yml': lines('entries:', '  - name: deploy', '    username: ubuntu', '    password_secret: db/pass'),
    },
    expected: (d) =>
      `credentials.yml:4:22 entries[0].password_secret: secret name "db/pass" is invalid: expected only letters, digits, "_" and "-" (it names a file in ${d.secretsDir})`,
    events: () => [
      { event_type: 'invalid_secret_name', attempted_path: 'db/pass', reason: 'contains_invalid_characters' },
    ],
  },
  {
    name: 'secret name of 101 characters',
    files: {
      'credentials.yml': lines(
        'entries:',
        '  - name: deploy',
        '    username: ubuntu',
        `    key_passphrase_secret: ${LONG_NAME}`,
      ),
    },
    expected: () =>
      'credentials.yml:4:28 entries[0].key_passphrase_secret: secret name is 101 characters long: expected at most 100',
    events: () => [
      {
        event_type: 'input_length_limit_exceeded',
        attempted_path: LONG_NAME,
        field: 'secret_name',
        length: 101,
        max_length: 100,
      },
    ],
  },
  {
    name: 'oversized file',
    setup: () => writeFile(path.join(dirs.configDir, 'policy.yml'), `# ${'x'.repeat(10 * 1024 * 1024)}\n`),
    expected: (d) =>
      `policy.yml: ${path.join(d.configDir, 'policy.yml')} is 10485763 bytes: expected at most 10485760 bytes`,
    events: (d) => [
      {
        event_type: 'file_size_limit_exceeded',
        attempted_path: path.join(d.configDir, 'policy.yml'),
        resolved_path: path.join(d.configDir, 'policy.yml'),
        file_size: 10485763,
        max_size: 10485760,
      },
    ],
  },
  {
    name: 'config file that is a directory',
    setup: async () => {
      await rm(path.join(dirs.configDir, 'policy.yml'));
      await mkdir(path.join(dirs.configDir, 'policy.yml'));
    },
    expected: (d) => `policy.yml: ${path.join(d.configDir, 'policy.yml')} is a directory: expected a regular file`,
    events: () => [{ event_type: 'file_validation_failed', reason: 'path_is_directory' }],
  },
  {
    name: 'config file that is a symlink leading outside the config directory',
    setup: async () => {
      await rm(path.join(dirs.configDir, 'servers.yml'));
      await writeFile(path.join(root, 'outside', 'servers.yml'), GOOD['servers.yml']);
      await symlink(path.join(root, 'outside', 'servers.yml'), path.join(dirs.configDir, 'servers.yml'));
    },
    expected: (d) =>
      `servers.yml: ${path.join(d.configDir, 'servers.yml')} is a symlink to ${path.join(root, 'outside', 'servers.yml')}, outside ${d.configDir}: symlinks must point inside that directory`,
    events: () => [{ event_type: 'file_validation_failed', reason: 'path_is_symlink' }],
  },
  {
    name: 'missing servers.yml (credentials.yml and policy.yml may be missing: read as empty)',
    setup: () => rm(path.join(dirs.configDir, 'servers.yml')),
    expected: (d) =>
      `servers.yml: not found at ${path.join(d.configDir, 'servers.yml')}: create it with a "hosts:" list of hosts (an empty list is "hosts: []")`,
  },
  {
    name: 'YAML alias bomb',
    files: {
      'policy.yml': lines(
        'a: &a [x, x, x, x, x, x, x, x, x]',
        'b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]',
        'c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]',
        'd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]',
      ),
    },
    expected: () => 'policy.yml: too many YAML aliases (more than 50 expansions): write the values out instead',
  },
  {
    name: 'problems in several files, reported together in file order',
    files: {
      'servers.yml': lines('hosts:', '  - alias: web1', '    host: 10.0.0.1', '    port: 0', '    credentials: nobody'),
      'policy.yml': lines('rules:', '  - action: maybe', '    commands: [uptime]'),
      'credentials.yml': lines('entries:', '  - name: deploy', '    username: 42'),
    },
    expected: () =>
      [
        'servers.yml:4:11 hosts[0].port: expected an integer between 1 and 65535, got 0',
        'servers.yml:5:18 hosts[0].credentials: unknown credentials "nobody": expected the name of an entry in credentials.yml (defined: deploy)',
        'credentials.yml:3:15 entries[0].username: expected a non-empty string, got 42',
        'policy.yml:2:13 rules[0].action: expected one of "allow", "deny", got "maybe"',
      ].join('\n'),
  },
];

describe('loadConfig rejects broken configuration', () => {
  it.each(brokenCases)('$name', async ({ files, setup, expected, events }) => {
    if (files) await writeConfig(files);
    if (setup) await setup();
    const emitter = new RecordingEmitter();
    const error = await loadError(emitter);
    expect(error.message).toBe(expected(dirs));
    expect(error.issues.length).toBe(error.message.split('\n').length);
    for (const event of events?.(dirs) ?? []) {
      expect(securityEvents(emitter)).toContainEqual(expect.objectContaining({ type: 'security_event', ...event }));
    }
  });

  it('exposes each issue as structured data', async () => {
    await writeConfig({ 'servers.yml': lines('hosts:', '  - alias: web1', '    host: 10.0.0.1', '    port: abc') });
    const error = await loadError();
    expect(error.issues).toEqual([
      {
        file: 'servers.yml',
        line: 4,
        column: 11,
        path: 'hosts[0].port',
        message: 'expected an integer between 1 and 65535, got "abc"',
      },
    ]);
  });
});

describe('loadConfig accepts valid configuration', () => {
  it('applies defaults and indexes hosts and credentials', async () => {
    const emitter = new RecordingEmitter();
    const config = await loadConfig(dirs, emitter);
    expect(config.hosts).toEqual([
      { alias: 'web1', host: '10.0.0.1', port: 22, credentials: 'deploy', tags: ['web'], description: '' },
    ]);
    expect(config.hostsByAlias.get('web1')).toBe(config.hosts[0]);
    expect(config.credentials.get('deploy')).toEqual({
      name: 'deploy',
      username: 'ubuntu',
      key_path: 'id_ed25519',
      use_agent: false,
    });
    // No deny_substrings in policy.yml: the built-in list, as in the Python server.
    expect(config.policy.limits).toEqual({ deny_substrings: [...DEFAULT_DENY_SUBSTRINGS] });
    expect(config.policy.network).toEqual({
      allow_ips: [],
      allow_cidrs: [],
      block_ips: [],
      block_cidrs: [],
      dns_max_per_second: 10,
      dns_cache_ttl: 60,
    });
    expect(config.policy.overrides).toEqual({ aliases: {}, tags: {} });
    expect(config.policy.rules).toEqual([
      {
        id: 'allow-uptime',
        action: 'allow',
        aliases: ['*'],
        tags: [],
        commands: ['uptime'],
        allow_substitution: false,
        allow_syntax: [],
        allow_exec: false,
        write_paths: [],
      },
    ]);
    expect(config.knownHostsPath).toBe(path.join(dirs.keysDir, 'known_hosts'));
    expect(config.dirs).toBe(dirs);
    expect(config.loadedAt).toBeInstanceOf(Date);
    expect(emitter.events).toEqual([]);
  });

  it('treats empty and comment-only files as empty mappings', async () => {
    await writeConfig({ 'servers.yml': '', 'credentials.yml': '# nothing yet\n', 'policy.yml': '\n' });
    const config = await loadConfig(dirs, new RecordingEmitter());
    expect(config.hosts).toEqual([]);
    expect(config.credentials.size).toBe(0);
    expect(config.policy.rules).toEqual([]);
  });

  it('keeps host order and resolves known_hosts_path against the config dir', async () => {
    await writeConfig({
      'servers.yml': lines(
        'hosts:',
        '  - alias: b',
        '    host: b.example.com',
        '    port: 2222',
        '  - alias: a',
        '    host: fd00::1',
      ),
      'credentials.yml': 'entries: []\n',
      'policy.yml': lines('known_hosts_path: known_hosts', 'overrides:', '  aliases:', '    a: { max_seconds: 5 }'),
    });
    const config = await loadConfig(dirs, new RecordingEmitter());
    expect(config.hosts.map((h) => `${h.alias}:${h.port}`)).toEqual(['b:2222', 'a:22']);
    expect(config.knownHostsPath).toBe(path.join(dirs.configDir, 'known_hosts'));
    expect(config.policy.overrides.aliases).toEqual({ a: { max_seconds: 5 } });
  });

  it('accepts an absolute key_path inside the keys directory and valid secret names', async () => {
    await writeConfig({
      'credentials.yml': lines(
        'entries:',
        '  - name: deploy',
        '    username: ubuntu',
        `    key_path: ${path.join(dirs.keysDir, 'id_ed25519')}`,
        '    key_passphrase_secret: deploy-key_pass',
      ),
    });
    const config = await loadConfig(dirs, new RecordingEmitter());
    expect(config.credentials.get('deploy')?.key_passphrase_secret).toBe('deploy-key_pass');
  });

  it('loads with a warning when overrides name an alias servers.yml does not define (as the Python server loads it)', async () => {
    await writeConfig({ 'policy.yml': lines('overrides:', '  aliases:', '    web2:', '      max_seconds: 5') });
    const warning = {
      file: 'policy.yml',
      line: 3,
      column: 5,
      path: 'overrides.aliases.web2',
      message:
        'unknown alias "web2": no host in servers.yml has it, so these overrides apply to no host (a typo leaves that host on the default limits)',
    };
    const emitter = new RecordingEmitter();
    expect((await loadConfigHere(dirs, emitter)).warnings).toEqual([warning]);
    expect((await loadConfig(dirs, emitter)).warnings).toEqual([warning]);
  });

  it('loads with a warning when a key file does not exist yet (it is read at connect), off-thread too', async () => {
    await writeConfig({
      'credentials.yml': lines('entries:', '  - name: deploy', '    username: ubuntu', '    key_path: id_rsa'),
    });
    const warning = {
      file: 'credentials.yml',
      line: 4,
      column: 15,
      path: 'entries[0].key_path',
      message:
        `key file ${path.join(dirs.keysDir, 'id_rsa')} not found: put the private key there or correct key_path. ` +
        'The server starts anyway, but hosts using credentials "deploy" cannot connect until the file exists ' +
        '(it is read at each connection: no reload needed)',
    };
    const emitter = new RecordingEmitter();
    expect((await loadConfigHere(dirs, emitter)).warnings).toEqual([warning]);
    expect((await loadConfig(dirs, emitter)).warnings).toEqual([warning]);
    // A missing file is a deployment step not done yet, not a security event.
    expect(securityEvents(emitter)).toEqual([]);
  });

  it('follows Kubernetes-style symlinks that stay inside the config and keys directories', async () => {
    const data = path.join(dirs.configDir, '..2024_01_01');
    await mkdir(data);
    for (const name of Object.keys(GOOD) as ConfigFile[]) {
      await rm(path.join(dirs.configDir, name));
      await writeFile(path.join(data, name), GOOD[name]);
    }
    await symlink('..2024_01_01', path.join(dirs.configDir, '..data'));
    for (const name of Object.keys(GOOD) as ConfigFile[]) {
      await symlink(path.join('..data', name), path.join(dirs.configDir, name));
    }
    await rm(path.join(dirs.keysDir, 'id_ed25519'));
    await mkdir(path.join(dirs.keysDir, '..data'));
    await writeFile(path.join(dirs.keysDir, '..data', 'id_ed25519'), 'KEY');
    await symlink(path.join('..data', 'id_ed25519'), path.join(dirs.keysDir, 'id_ed25519'));

    const config = await loadConfig(dirs, new RecordingEmitter());
    expect(config.hosts.map((h) => h.alias)).toEqual(['web1']);
  });

  it('allows a few YAML anchors', async () => {
    await writeConfig({
      'servers.yml': lines(
        'hosts:',
        '  - alias: web1',
        '    host: 10.0.0.1',
        '    tags: &webtags [web, prod]',
        '  - alias: web2',
        '    host: 10.0.0.2',
        '    tags: *webtags',
      ),
    });
    const config = await loadConfig(dirs, new RecordingEmitter());
    expect(config.hostsByAlias.get('web2')?.tags).toEqual(['web', 'prod']);
  });
});

describe('policy.yml size limits', () => {
  const LIMITS_DOC = 'see "Size limits" in docs/policy.md';
  /** `count` one-line rules in flow style. */
  const flowRules = (count: number, rule: (i: number) => string = (i) => `{ action: allow, commands: ["c${i}"] }`) =>
    ['rules:', ...Array.from({ length: count }, (_, i) => `  - ${rule(i)}`), ''].join('\n');

  it('refuses a policy.yml over 1 MiB before parsing it, naming the file and the limit', async () => {
    const text = flowRules(3);
    const padded = text + `# ${'x'.repeat(POLICY_LIMITS.bytes - text.length - 2)}\n`;
    expect(padded.length).toBe(POLICY_LIMITS.bytes + 1);
    await writeConfig({ 'policy.yml': padded });
    const emitter = new RecordingEmitter();
    const error = await loadError(emitter);
    expect(error.message).toBe(
      'policy.yml: the file is 1048577 bytes (1.00 MiB): expected at most 1048576 bytes (1 MiB), the limit for ' +
        'policy.yml. A policy this large is usually generated with a rule per host or per command: let one rule ' +
        'cover many hosts (aliases: ["web-*"], tags) and many commands (globs such as "systemctl status *"); ' +
        LIMITS_DOC,
    );
    expect(emitter.events).toEqual([]);
    // One byte less loads.
    await writeConfig({ 'policy.yml': padded.slice(0, -2) + '\n' });
    expect((await loadConfig(dirs, new RecordingEmitter())).policy.rules).toHaveLength(3);
  });

  it('refuses more than 2000 rules, before validating each', async () => {
    // Every rule is also invalid: the count is the one problem reported, not 2001 others.
    await writeConfig({ 'policy.yml': flowRules(POLICY_LIMITS.rules + 1, () => '{ action: maybe }') });
    const error = await loadError();
    expect(error.message).toBe(
      'policy.yml:1:1 rules: 2001 rules: expected at most 2000 (real policies have tens to a few hundred). ' +
        'Merge rules that differ only in their hosts or commands: one rule takes many aliases, tags and command ' +
        `globs; ${LIMITS_DOC}`,
    );
  });

  it('refuses more than 20000 patterns in all, pointing at the longest list', async () => {
    const commands = Array.from({ length: POLICY_LIMITS.patterns - 2 }, (_, i) => `c${i}`).join(', ');
    await writeConfig({
      'policy.yml': lines(
        'limits:',
        '  deny_substrings: [reboot]',
        'rules:',
        '  - { action: allow, aliases: [web1], commands: [uptime] }',
        '  - action: allow',
        `    commands: [${commands}]`,
      ),
    });
    const error = await loadError();
    expect(error.issues).toEqual([
      {
        file: 'policy.yml',
        line: 6,
        column: 5,
        path: 'rules[1].commands',
        message:
          "20001 patterns in all (entries of every rule's commands, aliases, tags, write_paths and of " +
          'limits.deny_substrings): expected at most 20000; this list has the most (19998). One glob covers many ' +
          `commands ("systemctl status *") or hosts ("web-*"); ${LIMITS_DOC}`,
      },
    ]);
  });

  it('refuses more than 1000 network addresses', async () => {
    const ips = Array.from({ length: 600 }, (_, i) => `10.0.${i >> 8}.${i & 255}`).join(', ');
    const cidrs = Array.from({ length: 401 }, (_, i) => `10.1.${i & 255}.0/24`).join(', ');
    await writeConfig({ 'policy.yml': lines('network:', `  block_ips: [${ips}]`, `  allow_cidrs: [${cidrs}]`) });
    const error = await loadError();
    expect(error.message).toBe(
      'policy.yml:1:1 network: 1001 entries in allow_ips, allow_cidrs, block_ips, block_cidrs together: expected ' +
        'at most 1000 (every connection is checked against each one). Use CIDR blocks (10.0.0.0/8) for ranges of ' +
        `addresses; ${LIMITS_DOC}`,
    );
  });

  it('loads a policy at every limit at once, on the config thread, as it would in-line', async () => {
    const text = [
      'network:',
      `  block_cidrs: [${Array.from({ length: POLICY_LIMITS.networkAddresses }, (_, i) => `10.${i >> 8}.${i & 255}.0/24`).join(', ')}]`,
      flowRules(
        POLICY_LIMITS.rules,
        (i) =>
          `{ name: r${i}, action: ${i % 10 === 9 ? 'deny' : 'allow'}, aliases: [web1, "db-*"], ` +
          `commands: [${Array.from({ length: 8 }, (_, c) => `"systemctl status svc${i}-${c} *"`).join(', ')}] }`,
      ),
    ].join('\n');
    await writeConfig({ 'policy.yml': text + `# ${'x'.repeat(POLICY_LIMITS.bytes - text.length - 3)}\n` });
    const config = await loadConfig(dirs, new RecordingEmitter());
    expect(config.policy.rules).toHaveLength(POLICY_LIMITS.rules);
    expect(config.policy.rules[1999]).toMatchObject({ name: 'r1999', action: 'deny', aliases: ['web1', 'db-*'] });
    // The config thread's packing loses nothing.
    const here = await loadConfigHere(dirs, new RecordingEmitter());
    expect(config).toEqual({ ...here, loadedAt: config.loadedAt });
    expect(config.hostsByAlias.get('web1')).toBe(config.hosts[0]);
    expect(config.dirs).toBe(dirs);
  });

  it(`lists at most ${MAX_LISTED_ISSUES} problems, then says how many more`, async () => {
    await writeConfig({ 'policy.yml': flowRules(150, () => '{ action: maybe, commands: [uptime] }') });
    const error = await loadError();
    expect(error.issues).toHaveLength(MAX_LISTED_ISSUES + 1);
    expect(error.issues[0]).toMatchObject({ path: 'rules[0].action', line: 2 });
    expect(error.issues.at(-1)).toEqual({
      file: 'policy.yml',
      path: '',
      message: '50 more problems not listed (only the first 100 are): fix these and check again',
    });
  });
});

describe('resolveConfigDirs', () => {
  it('defaults to ./config with keys/ and secrets/ beside it', () => {
    const resolved = resolveConfigDirs({ env: {} });
    expect(resolved).toEqual({
      configDir: path.resolve('config'),
      keysDir: path.resolve('keys'),
      secretsDir: path.resolve('secrets'),
    });
  });

  it('prefers the CLI option over MCP_SSH_CONFIG_DIR and honours the keys/secrets variables', () => {
    const env = {
      MCP_SSH_CONFIG_DIR: '/etc/mcp/config',
      MCP_SSH_KEYS_DIR: '/run/keys',
      MCP_SSH_SECRETS_DIR: 'rel/secrets',
    };
    expect(resolveConfigDirs({ env })).toEqual({
      configDir: '/etc/mcp/config',
      keysDir: '/run/keys',
      secretsDir: path.resolve('rel/secrets'),
    });
    expect(resolveConfigDirs({ configDir: '/srv/cfg', env: { MCP_SSH_CONFIG_DIR: '/etc/mcp/config' } })).toEqual({
      configDir: '/srv/cfg',
      keysDir: '/srv/keys',
      secretsDir: '/srv/secrets',
    });
  });
});

describe('readSecret', () => {
  it('prefers MCP_SSH_SECRET_<NAME> from the environment', async () => {
    await writeFile(path.join(dirs.secretsDir, 'db-pass'), 'from-file\n');
    const value = await readSecret('db-pass', dirs, new RecordingEmitter(), { MCP_SSH_SECRET_DB_PASS: 'from-env' });
    expect(value).toBe('from-env');
  });

  it('falls back to the secrets file, dropping one trailing newline', async () => {
    await writeFile(path.join(dirs.secretsDir, 'db-pass'), '  s3cret \n\n');
    expect(await readSecret('db-pass', dirs, new RecordingEmitter(), {})).toBe('  s3cret \n');
    await writeFile(path.join(dirs.secretsDir, 'crlf'), 'value\r\n');
    expect(await readSecret('crlf', dirs, new RecordingEmitter(), {})).toBe('value');
  });

  it('refuses a traversal attempt before looking anywhere', async () => {
    const emitter = new RecordingEmitter();
    await expect(
      readSecret('../outside/stolen', dirs, emitter, { 'MCP_SSH_SECRET_../OUTSIDE/STOLEN': 'x' }),
    ).rejects.toThrow(
      `secret name "../outside/stolen" is invalid: expected only letters, digits, "_" and "-" (it names a file in ${dirs.secretsDir})`,
    );
    expect(securityEvents(emitter)).toEqual([
      {
        type: 'security_event',
        event_type: 'path_traversal_attempt',
        attempted_path: '../outside/stolen',
        resolved_path: path.join(root, 'outside', 'stolen'),
        reason: 'contains_traversal_pattern',
        base_dir: dirs.secretsDir,
      },
      {
        type: 'security_event',
        event_type: 'invalid_secret_name',
        attempted_path: '../outside/stolen',
        reason: 'contains_invalid_characters',
      },
    ]);
  });

  it('refuses an absolute name', async () => {
    const emitter = new RecordingEmitter();
    await expect(readSecret('/etc/passwd', dirs, emitter, {})).rejects.toThrow('secret name "/etc/passwd" is invalid');
    expect(securityEvents(emitter).map((e) => e.reason)).toEqual([
      'absolute_path_rejected',
      'contains_invalid_characters',
    ]);
  });

  it('refuses a name over 100 characters', async () => {
    const emitter = new RecordingEmitter();
    await expect(readSecret(LONG_NAME, dirs, emitter, {})).rejects.toThrow(
      'secret name is 101 characters long: expected at most 100',
    );
    expect(securityEvents(emitter)).toEqual([
      {
        type: 'security_event',
        event_type: 'input_length_limit_exceeded',
        attempted_path: LONG_NAME,
        field: 'secret_name',
        length: 101,
        max_length: 100,
      },
    ]);
  });

  it('says where it looked when the secret is missing', async () => {
    await expect(readSecret('db-pass', dirs, new RecordingEmitter(), {})).rejects.toThrow(
      `secret "db-pass" not found; looked in, in order: the environment variables db-pass, DB-PASS, ` +
        `MCP_SSH_SECRET_DB_PASS (none set), the key db-pass or DB-PASS in ${path.join(dirs.secretsDir, '.env')} ` +
        `(no such file), the file ${path.join(dirs.secretsDir, 'db-pass')} (no such file)`,
    );
  });

  it('refuses a secret file that is a symlink leading outside', async () => {
    const emitter = new RecordingEmitter();
    await symlink(path.join(root, 'outside', 'stolen'), path.join(dirs.secretsDir, 'db-pass'));
    await expect(readSecret('db-pass', dirs, emitter, {})).rejects.toThrow('is a symlink to');
    expect(securityEvents(emitter)).toEqual([
      expect.objectContaining({
        event_type: 'file_validation_failed',
        attempted_path: 'db-pass',
        reason: 'path_is_symlink',
      }),
    ]);
  });
});

describe('readKeyFile', () => {
  it('reads a key inside the keys directory, by relative or absolute path', async () => {
    const emitter = new RecordingEmitter();
    expect((await readKeyFile('id_ed25519', dirs, emitter)).toString()).toBe('PRIVATE KEY\n');
    expect((await readKeyFile(path.join(dirs.keysDir, 'id_ed25519'), dirs, emitter)).toString()).toBe('PRIVATE KEY\n');
    expect(emitter.events).toEqual([]);
  });

  it('refuses traversal with an event', async () => {
    const emitter = new RecordingEmitter();
    await expect(readKeyFile('../outside/stolen', dirs, emitter)).rejects.toThrow(
      `key_path "../outside/stolen" contains "..": expected a path inside the keys directory ${dirs.keysDir}`,
    );
    expect(securityEvents(emitter)).toEqual([
      {
        type: 'security_event',
        event_type: 'path_traversal_attempt',
        attempted_path: '../outside/stolen',
        resolved_path: path.join(root, 'outside', 'stolen'),
        reason: 'contains_traversal_pattern',
        base_dir: dirs.keysDir,
      },
    ]);
  });

  it('refuses a key reached through a symlinked directory leading outside', async () => {
    const emitter = new RecordingEmitter();
    await symlink(path.join(root, 'outside'), path.join(dirs.keysDir, 'linked'));
    await expect(readKeyFile('linked/stolen', dirs, emitter)).rejects.toThrow(
      `key_path "linked/stolen" resolves to ${path.join(root, 'outside', 'stolen')}, outside ${dirs.keysDir}`,
    );
    expect(securityEvents(emitter)).toEqual([
      expect.objectContaining({ event_type: 'path_traversal_attempt', reason: 'path_outside_allowed_directory' }),
    ]);
  });

  it('says what to do when the key file is missing', async () => {
    await expect(readKeyFile('id_rsa', dirs, new RecordingEmitter())).rejects.toThrow(
      `key file ${path.join(dirs.keysDir, 'id_rsa')} not found: put the private key there or correct key_path`,
    );
  });
});
