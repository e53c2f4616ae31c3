/**
 * GNU sed: its scripts (every `-e`, or the first operand) are read by sed-script.ts; `-f`
 * hides the script, `-i` rewrites every input file. GNU sed reads options anywhere among the
 * operands and accepts abbreviated long options (`--in-pl`, `--exp=…`).
 */
import { opaque, write } from './args.js';
import { has, named, options, parse } from './getopt.js';
import { scanSedScript } from './sed-script.js';
import type { Arg, Effect, ProgramAnalyser } from './types.js';

const SED = options(
  '--quiet,--silent,-n --expression,-e= --file,-f= --follow-symlinks --in-place,-i=? --line-length,-l= ' +
    '--posix --regexp-extended,-E,-r --separate,-s --sandbox --unbuffered,-u --null-data,-z --debug ' +
    '--binary,-b --help --version',
);

export const sed: ProgramAnalyser = (argv) => {
  const parsed = parse(argv, SED, { abbreviate: true, permute: true });
  if (parsed.problem !== undefined) return [opaque(`sed: ${parsed.problem}`)];
  if (has(parsed, '--help', '--version')) return [];
  if (has(parsed, '--file')) return [opaque('sed -f: the script is in a file the policy cannot see')];
  const expressions = named(parsed, '--expression');
  let files = parsed.operands.map((i) => argv[i] as Arg);
  const scripts: (Arg | undefined)[] = expressions.map((e) => e.value);
  if (expressions.length === 0) {
    scripts.push(files[0]);
    files = files.slice(1);
  }
  const effects: Effect[] = [];
  if (has(parsed, '--in-place')) {
    if (files.length === 0) effects.push(write('sed -i'));
    for (const file of files) effects.push(write('sed -i', file));
  }
  if (scripts.some((s) => s === undefined || !s.exact)) return [...effects, opaque('sed script not known exactly')];
  // GNU sed joins the -e scripts with newlines (so `-e 'a\' -e text` is one command).
  const scan = scanSedScript(scripts.map((s) => s!.value).join('\n'));
  effects.push(...scan.effects);
  if (scan.problem !== undefined) effects.push(opaque(scan.problem));
  return effects;
};
