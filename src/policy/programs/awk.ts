/**
 * awk, gawk, mawk, nawk (and busybox awk): the program text (the first operand, or `-e`/
 * `--source` texts) is scanned by awk-scan.ts. Options that load code (`-f`, `-i`, `-l`,
 * `-E`), start the debugger (`-D`) or write profile and dump files (`-o`, `-p`, `-d`) are
 * reported; others must be known. awk stops reading options at the program text.
 */
import { exec, opaque, stdinProgram, write } from './args.js';
import { has, named, options, parse } from './getopt.js';
import { scanAwkProgram } from './awk-scan.js';
import { STDIN_PATHS } from './shells.js';
import type { Arg, Effect, ProgramAnalyser } from './types.js';

const AWK = options(
  '--field-separator,-F= --assign,-v= --file,-f= --source,-e= --include,-i= --load,-l= --exec,-E= ' +
    '--pretty-print,-o=? --profile,-p=? --dump-variables,-d=? --debug,-D=? --bignum,-M --non-decimal-data,-n ' +
    '--use-lc-numeric,-N --optimize,-O --posix,-P --re-interval,-r --no-optimize,-s --sandbox,-S ' +
    '--lint-old,-t --lint,-L=? --traditional,--compat,-c --copyright,-C --version,-V --help,-h,-u ' +
    '--characters-as-bytes,-b --gen-pot,-g --csv,-k --usage -W=',
);

export const awk: ProgramAnalyser = (argv) => {
  const parsed = parse(argv, AWK, { abbreviate: true });
  if (parsed.problem !== undefined) return [opaque(`awk: ${parsed.problem}`)];
  if (has(parsed, '--version', '--help', '--copyright', '--usage')) return [];
  const effects: Effect[] = [];
  for (const w of named(parsed, '-W')) {
    // mawk and gawk's `-W long-option`; only the informational ones are read.
    if (w.value?.exact === true && /^(?:v|version|usage|help)$/.test(w.value.value)) return [];
    effects.push(opaque(`awk -W ${w.value?.value ?? ''}`));
  }
  for (const f of named(parsed, '--file')) {
    const file = f.value;
    effects.push(
      file !== undefined && file.exact && STDIN_PATHS.has(file.value)
        ? stdinProgram('awk -f - reads its program from stdin')
        : exec('awk -f runs a program file'),
    );
  }
  for (const o of named(parsed, '--include', '--load', '--exec')) effects.push(exec(`awk ${o.name} loads code`));
  if (has(parsed, '--debug')) effects.push(exec('gawk --debug reads debugger commands'));
  for (const o of named(parsed, '--pretty-print', '--profile', '--dump-variables'))
    effects.push(write(`awk ${o.name}`, o.value));
  const sources = named(parsed, '--source').map((s) => s.value);
  const programs: (Arg | undefined)[] =
    sources.length > 0 || has(parsed, '--file', '--exec') ? sources : [argv[parsed.rest]];
  if (programs.length === 1 && programs[0] === undefined) return effects; // no program: awk prints usage
  for (const program of programs) {
    if (program === undefined || !program.exact) {
      effects.push(opaque('awk program not known exactly'));
      continue;
    }
    const scan = scanAwkProgram(program.value);
    effects.push(...scan.effects);
    if (scan.problem !== undefined) effects.push(opaque(scan.problem));
  }
  return effects;
};
