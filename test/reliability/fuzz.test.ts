/**
 * Property-based fuzzing (fast-check) of the three parsers that face untrusted input: the
 * shell parser, the policy engine and the config loader. Bounded run counts and a fixed
 * seed keep CI fast and failures reproducible; set FUZZ_RUNS (and FUZZ_SEED) for a longer
 * hunt, e.g. `FUZZ_RUNS=20000 npx vitest run test/reliability/fuzz.test.ts`.
 *
 * - parseScript never throws, whatever the text, and what it accepts prints to text it accepts;
 * - PolicyEngine.decide never throws, and never allows a command that contains a deny
 *   substring, raw or in the text it sends;
 * - deny payloads hidden with quotes, escapes, $IFS, empty positional parameters, brace
 *   expansion, paths, wrappers, nested shells or substitutions are never allowed, even by a
 *   policy that allows every top-level command;
 * - loadConfig on random YAML resolves to a config or rejects with a ConfigError, never
 *   anything else.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/errors.js';
import { loadConfig, type ConfigDirs } from '../../src/config/load.js';
import { policyFileSchema } from '../../src/config/schema.js';
import { PolicyEngine } from '../../src/policy/engine.js';
import { parseScript } from '../../src/policy/shell/parse.js';
import { printScript } from '../../src/policy/shell/print.js';
import { RecordingEmitter } from '../helpers/recording-emitter.js';
import { embed, payload } from './helpers/deny-payloads.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 400);
const SEED = Number(process.env.FUZZ_SEED ?? 20261122);
const params = (factor = 1): fc.Parameters<unknown> => ({
  numRuns: Math.max(1, Math.round(RUNS * factor)),
  seed: SEED,
});

/** Shell-significant characters, over-represented so random text exercises the scanner. */
const SHELL_CHARS = [...'abcdefghijklmnopqrstuvwxyz/-_.= \t\n;&|<>()$`\'"\\{}[]*?!#~,:@%^+0123456789'];
const shellText = fc
  .array(
    fc.oneof(
      { weight: 8, arbitrary: fc.constantFrom(...SHELL_CHARS) },
      { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 2 }) },
    ),
    {
      maxLength: 120,
    },
  )
  .map((parts) => parts.join(''));

/** Literal deny substrings (globs are covered by the unit tests). */
const DENY = ['rm -rf /', 'reboot', 'mkfs ', 'shutdown', 'dd if=/dev/zero'];
/** Allows every top-level command: only the deny machinery and the parser stand between a payload and the host. */
const ALLOW_ALL = new PolicyEngine(
  policyFileSchema.parse({
    limits: { deny_substrings: DENY },
    rules: [
      { name: 'anything', action: 'allow', commands: ['*'] },
      // Programs fed by xargs, named literally (a wildcard never admits a program).
      { name: 'fed', action: 'allow', commands: ['xargs rm *', 'xargs -r rm *', 'xargs reboot*'] },
    ],
  }),
);
/** The same payloads must also be caught by deny rules alone (no deny_substrings). */
const DENY_RULES_ONLY = new PolicyEngine(
  policyFileSchema.parse({
    rules: [
      {
        name: 'no-destruction',
        action: 'deny',
        commands: ['reboot*', 'shutdown *', 'rm -rf *', 'mkfs*', 'dd *'],
      },
      { name: 'anything', action: 'allow', commands: ['*'] },
      { name: 'fed', action: 'allow', commands: ['xargs rm *', 'xargs -r rm *', 'xargs reboot*'] },
    ],
  }),
);
const TARGET = { alias: 'web1', tags: ['web'] };

describe('fuzz: shell parser', () => {
  it('never throws, and what it accepts prints to text it reads back the same', () => {
    fc.assert(
      fc.property(fc.oneof(shellText, fc.string({ unit: 'binary', maxLength: 200 })), (command) => {
        const parsed = parseScript(command);
        if (!parsed.ok) {
          expect(typeof parsed.error.message).toBe('string');
          return;
        }
        const printed = printScript(parsed.script);
        const again = parseScript(printed);
        expect(again.ok, printed).toBe(true);
        if (again.ok) expect(printScript(again.script)).toBe(printed);
      }),
      params(),
    );
  });

  it('survives deep nesting without a stack overflow', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5000 }),
        fc.constantFrom('$(', '"$(', '<(', '`', "'", '"', '(', '{ ', '${'),
        (depth, open) => {
          const parsed = parseScript(`echo ${open.repeat(depth)}x`);
          expect(typeof parsed.ok).toBe('boolean');
        },
      ),
      params(0.1),
    );
  });
});

describe('fuzz: policy engine', () => {
  it('never throws, and never allows text containing a deny substring, raw or as sent', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          shellText,
          fc.string({ unit: 'binary', maxLength: 200 }),
          fc.constantFrom(...DENY).chain((d) => shellText.map((t) => t + d)),
        ),
        (command) => {
          const decision = ALLOW_ALL.decide(TARGET, command);
          expect(typeof decision.allowed).toBe('boolean');
          if (!decision.allowed) return;
          const raw = command.toLowerCase();
          const sent = (decision.sent ?? '').toLowerCase();
          for (const d of DENY) {
            expect(raw, `allowed despite '${d}'`).not.toContain(d);
            expect(sent, `allowed despite '${d}' in the sent text`).not.toContain(d);
          }
        },
      ),
      params(),
    );
  });

  it('never allows a deny payload hidden by quoting, escaping, paths, wrappers, nested shells or substitutions (deny substrings, and deny rules alone)', () => {
    fc.assert(
      fc.property(payload.chain(embed), (command) => {
        for (const engine of [ALLOW_ALL, DENY_RULES_ONLY]) {
          const decision = engine.decide(TARGET, command);
          expect(decision.allowed, `allowed: ${JSON.stringify(command)} (${decision.reason})`).toBe(false);
        }
      }),
      params(),
    );
  });
});

describe('fuzz: config loader', () => {
  let root: string;
  let dirs: ConfigDirs;
  const FILES = ['servers.yml', 'credentials.yml', 'policy.yml'] as const;
  const GOOD: Record<(typeof FILES)[number], unknown> = {
    'servers.yml': { hosts: [{ alias: 'web1', host: '10.0.0.1', credentials: 'deploy', tags: ['web'] }] },
    'credentials.yml': { entries: [{ name: 'deploy', username: 'ubuntu', key_path: 'id_ed25519' }] },
    'policy.yml': { rules: [{ id: 'allow-uptime', action: 'allow', commands: ['uptime'] }] },
  };

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'mcp-ssh-fuzz-config-'));
    dirs = { configDir: join(root, 'config'), keysDir: join(root, 'keys'), secretsDir: join(root, 'secrets') };
    for (const d of Object.values(dirs)) mkdirSync(d);
    writeFileSync(join(dirs.keysDir, 'id_ed25519'), 'PRIVATE KEY\n');
    writeFileSync(join(dirs.keysDir, 'known_hosts'), '');
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  /** A loader outcome must be a config or a ConfigError; anything else escapes as a crash. */
  async function loadsOrConfigError(files: Partial<Record<(typeof FILES)[number], string>>): Promise<void> {
    for (const f of FILES) writeFileSync(join(dirs.configDir, f), files[f] ?? stringify(GOOD[f]));
    try {
      const config = await loadConfig(dirs, new RecordingEmitter());
      expect(Array.isArray(config.hosts)).toBe(true);
      expect(config.hostsByAlias.size).toBe(config.hosts.length);
    } catch (err) {
      if (!(err instanceof ConfigError)) {
        throw new Error(`loadConfig threw ${String(err)} for ${JSON.stringify(files)}`, { cause: err });
      }
      expect(err.issues.length).toBeGreaterThan(0);
    }
  }

  const YAML_CHARS = [...'abcdehklnoprstuy_- :\n\t{}[],&*!|>\'"#%@`?<=0123456789.'];
  const yamlText = fc.array(fc.constantFrom(...YAML_CHARS), { maxLength: 160 }).map((c) => c.join(''));
  const fileName = fc.constantFrom(...FILES);

  /** Values a config field might hold, plausible and not. */
  const leaf = fc.oneof(
    fc.constantFrom(
      'web1',
      '10.0.0.1',
      '::1',
      'host.example.com',
      '*',
      '',
      'deploy',
      'id_ed25519',
      '../etc/passwd',
      'allow',
      'deny',
      'constructor',
      '__proto__',
    ),
    fc.integer({ min: -5, max: 70000 }),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
    fc.string({ maxLength: 12 }),
  );
  const KEYS = [
    'hosts',
    'entries',
    'rules',
    'limits',
    'network',
    'overrides',
    'alias',
    'host',
    'port',
    'credentials',
    'tags',
    'name',
    'username',
    'key_path',
    'password_secret',
    'key_passphrase_secret',
    'use_agent',
    'action',
    'commands',
    'aliases',
    'allow_substitution',
    'deny_substrings',
    'max_seconds',
    'max_output_bytes',
    'allow_cidrs',
    'block_ips',
    'known_hosts_path',
    'id',
    'description',
    '__proto__',
    'constructor',
    'extra',
  ];
  const { tree } = fc.letrec((tie) => ({
    tree: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      leaf,
      fc.array(tie('tree'), { maxLength: 4 }),
      fc.dictionary(fc.constantFrom(...KEYS), tie('tree'), { maxKeys: 5 }),
    ),
  }));

  it('random text: a config or a ConfigError, never another exception', async () => {
    await fc.assert(
      fc.asyncProperty(fileName, yamlText, async (f, text) => loadsOrConfigError({ [f]: text })),
      params(0.5),
    );
  });

  it('random structures in plausible shapes: a config or a ConfigError', async () => {
    await fc.assert(
      fc.asyncProperty(fileName, tree, async (f, value) => loadsOrConfigError({ [f]: stringify(value) })),
      params(0.5),
    );
  });

  it('YAML tags, anchors, aliases and merge keys: a config or a ConfigError', async () => {
    const snippets = fc.constantFrom(
      'hosts: !!binary aGVsbG8=',
      'hosts: !!set { a, b }',
      'hosts: !!omap [ { a: 1 } ]',
      'hosts:\n  - alias: !!timestamp 2001-12-14\n    host: 10.0.0.1',
      'hosts:\n  - !custom { alias: web1, host: 10.0.0.1 }',
      'base: &b { alias: web1, host: 10.0.0.1 }\nhosts:\n  - <<: *b\n    port: 22',
      'hosts: &h [ *h ]',
      'a: &a [1, 2]\nb: &b [*a, *a]\nc: &c [*b, *b]\nd: &d [*c, *c]\nhosts: [*d, *d, *d, *d, *d]',
      'rules:\n  - action: allow\n    commands: [ !!str 1, !!int "2", !!float .nan, !!null ~ ]',
      'entries:\n  - name: deploy\n    username: ubuntu\n    key_path: { nested: map }',
      '%YAML 1.1\n---\nhosts: []',
      '--- \nhosts: []\n---\nhosts: []',
      'hosts: [] # comment\n...\n',
      'limits: { max_seconds: 1e400, max_output_bytes: 0x10, deny_substrings: [ "" ] }',
      'overrides: { aliases: { __proto__: { max_seconds: 1 } }, tags: { constructor: { max_seconds: 2 } } }',
      'network: { allow_cidrs: [ "10.0.0.0/33", "::/129", "1.2.3.4/8/8" ], block_ips: [ "1.2.3.4%eth0" ] }',
      '? [complex, key]\n: value',
      '"\\ud800": unpaired surrogate',
    );
    await fc.assert(
      fc.asyncProperty(fileName, snippets, yamlText, async (f, snippet, tail) =>
        loadsOrConfigError({ [f]: `${snippet}\n${tail}` }),
      ),
      params(0.25),
    );
  });
});
