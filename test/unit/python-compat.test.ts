/**
 * Python compatibility of the loader and the policy: a config directory written the way the
 * Python mcp-ssh-orchestrator's documentation writes one (test/fixtures/python-compat/v1, our
 * own words) loads as it is, with Python's meaning for each key, and strict where a value would
 * weaken host-key checking. Decisions are checked against what Python's reading gives.
 */
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ConfigDirs, LoadedConfig } from '../../src/config/load.js';
import { loadConfigHere } from '../../src/config/load.js';
import { DEFAULT_DENY_SUBSTRINGS } from '../../src/config/schema.js';
import { PolicyEngine } from '../../src/policy/engine.js';
import { RecordingEmitter } from '../helpers/recording-emitter.js';

const FIXTURE = fileURLToPath(new URL('../fixtures/python-compat/v1', import.meta.url));

let root: string;
let dirs: ConfigDirs;

beforeEach(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'mcp-ssh-pycompat-'));
  dirs = {
    configDir: path.join(root, 'config'),
    keysDir: path.join(root, 'keys'),
    secretsDir: path.join(root, 'secrets'),
  };
  await cp(FIXTURE, dirs.configDir, { recursive: true });
  for (const key of ['prod/id_ed25519', 'staging/id_rsa']) {
    await mkdir(path.dirname(path.join(dirs.keysDir, key)), { recursive: true });
    await writeFile(path.join(dirs.keysDir, key), 'PRIVATE KEY\n');
  }
  await mkdir(dirs.secretsDir);
  await writeFile(path.join(dirs.keysDir, 'known_hosts'), '');
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const load = (): Promise<LoadedConfig> => loadConfigHere(dirs, new RecordingEmitter());

function engineOf(config: LoadedConfig): {
  decide: (alias: string, command: string) => string;
  limits: (alias: string) => number;
} {
  const engine = new PolicyEngine(config.policy);
  const target = (alias: string) => {
    const host = config.hostsByAlias.get(alias);
    if (!host) throw new Error(`no host ${alias}`);
    return { alias, tags: host.tags };
  };
  return {
    decide: (alias, command) => {
      const d = engine.decide(target(alias), command);
      return d.allowed ? `allow:${d.rule}` : `deny:${d.rule}`;
    },
    limits: (alias) => engine.limitsFor(target(alias)).max_seconds,
  };
}

describe('a config directory written like the Python project’s', () => {
  it('loads: empty strings read as unset, an empty plaintext password says nothing', async () => {
    const config = await load();
    expect(config.hostsByAlias.get('orphan-1')?.credentials).toBeUndefined();
    expect(config.credentials.get('lab-maint')).toEqual({
      name: 'lab-maint',
      username: 'maint',
      password_secret: 'lab_maint_password',
      use_agent: false,
    });
    expect(config.credentials.get('prod-admin')).toMatchObject({ key_path: 'prod/id_ed25519' });
    expect(config.credentials.get('prod-admin')?.key_passphrase_secret).toBeUndefined();
    // known_hosts_path: "" is unset: the default beside the keys.
    expect(config.knownHostsPath).toBe(path.join(dirs.keysDir, 'known_hosts'));
  });

  it('weakening host-key switches load, are ignored, and say so once each, with their place', async () => {
    const config = await load();
    expect(config.warnings.map((w) => `${w.file}:${w.line} ${w.path}`)).toEqual([
      'policy.yml:8 limits.host_key_auto_add',
      'policy.yml:9 limits.require_known_host',
      'policy.yml:17 network.require_known_host',
    ]);
    for (const w of config.warnings) expect(w.message).toMatch(/is ignored: host keys are always verified/);
  });

  it('no limits.deny_substrings: the 20 built-in patterns apply, as in Python', async () => {
    const config = await load();
    expect(config.policy.limits.deny_substrings).toEqual(DEFAULT_DENY_SUBSTRINGS);
    expect(DEFAULT_DENY_SUBSTRINGS).toHaveLength(20);
    const p = engineOf(config);
    expect(p.decide('prod-web-1', 'uptime')).toBe('allow:rules[0]');
    // The rule allows curl; Python's built-in list still refuses it.
    expect(p.decide('prod-web-1', 'curl http://example.com')).toBe('deny:deny_substrings');
    expect(p.decide('stg-app-1', 'echo rm -rf /')).toBe('deny:deny_substrings');
    expect(p.decide('stg-app-1', 'echo :(){ :|:& };:')).toBe('deny:deny_substrings');
  });

  it('deny_substrings under a tag override replace the list for its hosts (last tag with a list wins)', async () => {
    const p = engineOf(await load());
    // lab-box-1 carries [lab, longrun]; lab replaces the list with ["reboot"].
    expect(p.decide('lab-box-1', 'curl http://example.com')).toBe('allow:rules[0]');
    expect(p.decide('lab-box-1', 'echo reboot now')).toBe('deny:deny_substrings');
    // Limits merge as Python merges them: the last tag's max_seconds, alias over tags.
    expect(p.limits('lab-box-1')).toBe(180);
    expect(p.limits('prod-web-1')).toBe(30);
  });

  it('an alias override list wins over tag lists, and an explicit [] turns the built-in list off', async () => {
    const policy = path.join(dirs.configDir, 'policy.yml');
    await writeFile(
      policy,
      [
        'limits:',
        '  deny_substrings: []',
        'rules:',
        '  - action: allow',
        '    commands: ["curl *", "echo *"]',
        'overrides:',
        '  aliases:',
        '    lab-box-1:',
        '      deny_substrings: ["curl "]',
        '  tags:',
        '    lab:',
        '      deny_substrings: ["echo "]',
        '',
      ].join('\n'),
    );
    const p = engineOf(await load());
    expect(p.decide('prod-web-1', 'curl http://example.com')).toBe('allow:rules[0]');
    expect(p.decide('lab-box-1', 'curl http://example.com')).toBe('deny:deny_substrings');
    expect(p.decide('lab-box-1', 'echo hi')).toBe('allow:rules[0]');
  });

  it('keys the Python docs show where its server never reads them load, are not applied, and say so', async () => {
    await writeFile(
      path.join(dirs.configDir, 'policy.yml'),
      [
        'host_key_auto_add: true',
        'require_known_host: false',
        'deny_substrings: ["uptime"]',
        'network:',
        '  allow: ["10.0.0.0/8"]',
        '  deny: ["0.0.0.0/0"]',
        'rules:',
        '  - action: allow',
        '    commands: ["uptime"]',
        '',
      ].join('\n'),
    );
    const config = await load();
    expect(config.warnings.map((w) => `${w.line} ${w.path}`)).toEqual([
      '1 host_key_auto_add',
      '2 require_known_host',
      '3 deny_substrings',
      '5 network.allow',
      '6 network.deny',
    ]);
    expect(config.warnings[2]!.message).toContain('write it as limits.deny_substrings');
    // Not applied, as in Python: the built-in list is in force, the address is not blocked.
    const p = engineOf(config);
    expect(p.decide('prod-web-1', 'uptime')).toBe('allow:rules[0]');
    expect(config.policy.limits.deny_substrings).toEqual(DEFAULT_DENY_SUBSTRINGS);
    expect(config.policy.network.block_cidrs).toEqual([]);
  });

  it('aliases: [] applies to every host, as in Python (a deny rule so written still denies)', async () => {
    await writeFile(
      path.join(dirs.configDir, 'policy.yml'),
      [
        'limits:',
        '  deny_substrings: []',
        '  overrides: [{ aliases: [], tags: [lab], max_seconds: 7 }]',
        'rules:',
        '  - action: deny',
        '    aliases: []',
        '    tags: ["production"]',
        '    commands: ["systemctl restart*"]',
        '  - action: allow',
        '    aliases: []',
        '    commands: ["systemctl *", "uptime"]',
        '',
      ].join('\n'),
    );
    const p = engineOf(await load());
    expect(p.decide('prod-web-1', 'uptime')).toBe('allow:rules[1]');
    expect(p.decide('prod-web-1', 'systemctl restart nginx')).toBe('deny:rules[0]');
    expect(p.decide('stg-app-1', 'systemctl restart nginx')).toBe('allow:rules[1]');
    expect(p.limits('lab-box-1')).toBe(7);
  });

  it('a missing credentials.yml or policy.yml reads as empty, with a warning; every command is then denied', async () => {
    await rm(path.join(dirs.configDir, 'credentials.yml'));
    await rm(path.join(dirs.configDir, 'policy.yml'));
    // servers.yml names credentials that no longer exist: drop the references.
    await writeFile(path.join(dirs.configDir, 'servers.yml'), 'hosts:\n  - alias: a1\n    host: 10.0.0.1\n');
    const config = await load();
    expect(config.warnings.map((w) => w.file)).toEqual(['credentials.yml', 'policy.yml']);
    expect(config.warnings[1]!.message).toContain('read as empty');
    expect(config.credentials.size).toBe(0);
    expect(engineOf(config).decide('a1', 'uptime')).toBe('deny:default_deny');
    expect(engineOf(config).decide('a1', 'reboot')).toBe('deny:deny_substrings');
  });
});
