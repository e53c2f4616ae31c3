import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { effectsOf } from '../../../src/policy/programs/index.js';
import type { Arg } from '../../../src/policy/programs/index.js';
import { argv, glob, lit } from './programs-helpers.js';

/** Every prefix of `--name` from `min` characters on: GNU getopt_long accepts unique ones. */
const prefixes = (long: string, min: number): string[] =>
  Array.from({ length: long.length - min + 1 }, (_, i) => long.slice(0, min + i));

/** Spellings of a long option with a value: `--opt=v`, `--opt v`, and abbreviations of both. */
const longSpellings = (long: string, min: number, value?: string): string[][] =>
  prefixes(long, min).flatMap((p) => (value === undefined ? [[p]] : [[`${p}=${value}`], [p, value]]));

/** A short option clustered behind harmless flags, its value attached or separate. */
const shortSpelling = (flags: string, letter: string, value?: string): fc.Arbitrary<string[]> =>
  fc.tuple(fc.subarray([...flags]), fc.boolean()).map(([before, attached]) => {
    const cluster = `-${before.join('')}${letter}`;
    if (value === undefined) return [cluster];
    return attached ? [`${cluster}${value}`] : [cluster, value];
  });

interface Program {
  /** Words before the options (program name, subcommand, start point). */
  head: string[];
  /** Harmless word groups that may come before or after the dangerous one. */
  filler: string[][];
  /** Dangerous spellings. */
  dangerous: fc.Arbitrary<string[]>;
}

const oneOf = (groups: string[][]): fc.Arbitrary<string[]> => fc.constantFrom(...groups);

const PROGRAMS: Record<string, Program> = {
  tar: {
    head: ['tar', '-v'],
    filler: [['-f', 'a.tar'], ['-z'], ['-t'], ['--verbose'], ['dir'], ['-C', '/srv']],
    dangerous: fc.oneof(
      oneOf([
        ...longSpellings('--to-command', 4, 'sh'),
        ...longSpellings('--checkpoint-action', 13, 'exec=sh'),
        ...longSpellings('--use-compress-program', 5, 'sh'),
        ...longSpellings('--rsh-command', 4, 'sh'),
        ...longSpellings('--info-script', 6, 'sh'),
        ...longSpellings('--new-volume-script', 6, 'sh'),
        ...longSpellings('--extract', 5),
        ...longSpellings('--create', 5),
        ...longSpellings('--remove-files', 5),
      ]),
      shortSpelling('vzp', 'I', 'sh'),
      shortSpelling('vzp', 'F', 'sh'),
      shortSpelling('vzp', 'x'),
      shortSpelling('vzp', 'c'),
      shortSpelling('vzp', 'r'),
    ),
  },
  sort: {
    head: ['sort'],
    filler: [['-n'], ['-r'], ['-k', '2'], ['-t', ':'], ['file'], ['--unique'], ['-T', '/tmp']],
    dangerous: fc.oneof(
      oneOf([...longSpellings('--output', 3, '/tmp/o'), ...longSpellings('--compress-program', 5, 'sh')]),
      shortSpelling('nrub', 'o', '/tmp/o'),
    ),
  },
  sed: {
    head: ['sed'],
    filler: [['-n'], ['-E'], ['-s'], ['-u'], ['file'], ['--posix']],
    dangerous: fc.oneof(
      oneOf([
        ...longSpellings('--in-place', 3),
        ...longSpellings('--file', 4, 'script'),
        ...longSpellings('--expression', 3, 'e id'),
        ...longSpellings('--expression', 3, 's/a/b/e'),
        ...longSpellings('--expression', 3, 'w /tmp/x'),
        ['1e id'],
        ['s/x/y/w /tmp/o'],
      ]),
      shortSpelling('nEsu', 'i'),
      shortSpelling('nEsu', 'f', 'script'),
      shortSpelling('nEsu', 'e', 'e id'),
    ),
  },
  curl: {
    head: ['curl'],
    filler: [['-s'], ['-S'], ['-L'], ['https://x'], ['-H', 'A: b'], ['--retry', '3']],
    dangerous: fc.oneof(
      oneOf([
        ...longSpellings('--output', 5, '/tmp/o'),
        ...longSpellings('--dump-header', 6, '/tmp/h'),
        ...longSpellings('--cookie-jar', 9, '/tmp/j'),
        ...longSpellings('--config', 6, 'cfg'),
        ...longSpellings('--remote-name', 9),
        ...longSpellings('--libcurl', 4, '/tmp/c'),
      ]),
      shortSpelling('sSLf', 'o', '/tmp/o'),
      shortSpelling('sSLf', 'O'),
      shortSpelling('sSLf', 'K', 'cfg'),
    ),
  },
  wget: {
    head: ['wget', '-O', '-'],
    filler: [['-q'], ['-c'], ['https://x'], ['-t', '3']],
    dangerous: fc.oneof(
      oneOf([
        ...longSpellings('--execute', 4, 'x'),
        ...longSpellings('--output-file', 9, '/tmp/l'),
        ...longSpellings('--append-output', 4, '/tmp/l'),
        ...longSpellings('--use-askpass', 6, 'x'),
      ]),
      shortSpelling('qc', 'e', 'x'),
      shortSpelling('qc', 'o', '/tmp/l'),
    ),
  },
  git: {
    head: ['git', 'fetch'],
    filler: [['origin'], ['--prune'], ['--tags'], ['-q']],
    dangerous: oneOf([...longSpellings('--upload-pack', 4, 'x'), ['-u']]),
  },
  'git log': {
    head: ['git', 'log'],
    filler: [['--oneline'], ['-n', '5'], ['main'], ['--stat']],
    dangerous: oneOf([
      ...longSpellings('--output', 8, '/tmp/x'),
      ...longSpellings('--ext-diff', 6),
      ...longSpellings('--textconv', 4),
    ]),
  },
  find: {
    head: ['find', '.'],
    filler: [['-name', 'x'], ['-type', 'f'], ['-print'], ['-maxdepth', '2'], ['!', '-empty']],
    dangerous: oneOf([
      ['-exec', 'rm', '{}', ';'],
      ['-execdir', 'rm', '{}', '+'],
      ['-ok', 'rm', '{}', ';'],
      ['-delete'],
      ['-fprint', '/tmp/o'],
      ['-fls', '/tmp/o'],
      ['-fprintf', '/tmp/o', '%p'],
      ['-frobnicate'],
    ]),
  },
};

/** The head, then filler groups and the dangerous group in a random order. */
const invocation = (program: Program): fc.Arbitrary<Arg[]> =>
  fc.tuple(fc.subarray(program.filler), program.dangerous, fc.nat()).map(([filler, dangerous, at]) => {
    const groups = [...filler];
    groups.splice(at % (groups.length + 1), 0, dangerous);
    return argv(...program.head, ...groups.flat());
  });

describe('dangerous spellings are never missed', () => {
  for (const [name, program] of Object.entries(PROGRAMS)) {
    it(`${name}: any clustering, abbreviation or position`, () => {
      fc.assert(
        fc.property(invocation(program), (words) => {
          const found = effectsOf(words);
          expect(found, words.map((w) => w.value).join(' ')).not.toEqual([]);
        }),
        { numRuns: 300 },
      );
    });
  }

  it('a glob among the options of tar, sort, sed or curl is never harmless', () => {
    const programs = fc.constantFrom(PROGRAMS.tar!, PROGRAMS.sort!, PROGRAMS.sed!, PROGRAMS.curl!);
    fc.assert(
      fc.property(programs, fc.nat(), (program, at) => {
        const words = argv(...program.head, 'x', 'y');
        words.splice(1 + (at % words.length), 0, glob('*'));
        expect(effectsOf(words).map((e) => e.kind)).toContain('opaque');
      }),
    );
  });

  it('never throws on arbitrary words', () => {
    const word = fc.oneof(
      fc.string().map(lit),
      fc.constantFrom('-', '--', '-e', '-c', '-o', '{}', ';', '+', '-exec', 's/a/b/e').map(lit),
      fc.string().map(glob),
    );
    const program = fc.constantFrom(
      'sudo',
      'env',
      'tar',
      'sed',
      'awk',
      'find',
      'git',
      'ssh',
      'sh',
      'xargs',
      'busybox',
      'kubectl',
      'docker',
      'su',
      'ip',
      'zip',
      'vim',
      'curl',
    );
    fc.assert(
      fc.property(program, fc.array(word, { maxLength: 8 }), (name, rest) => {
        expect(Array.isArray(effectsOf([lit(name), ...rest]))).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('speed', () => {
  it('analyses a typical argv well under 20 µs', () => {
    const samples = [
      argv('sudo', '-u', 'root', 'systemctl', 'restart', 'nginx'),
      argv('find', '/var/log', '-name', '*.gz', '-mtime', '+7', '-delete'),
      argv('tar', '-czf', '/backups/a.tgz', '/srv/app'),
      argv('awk', '-F:', '$3 > 100 {print $1}', '/etc/passwd'),
      argv('sed', '-n', '/error/p', '/var/log/syslog'),
      argv('git', 'log', '--oneline', '-n', '20'),
      argv('ls', '-la'),
    ];
    const rounds = 2000;
    const batch = (): number => {
      const start = process.hrtime.bigint();
      for (let r = 0; r < rounds; r++) for (const s of samples) effectsOf(s);
      return Number(process.hrtime.bigint() - start) / 1000 / (rounds * samples.length);
    };
    batch(); // warm up the JIT
    // The fastest of a few batches, so that a busy machine does not fail the test.
    const perCall = Math.min(batch(), batch(), batch(), batch());
    expect(perCall).toBeLessThan(20);
  });
});
