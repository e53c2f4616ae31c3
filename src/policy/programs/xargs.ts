/**
 * GNU xargs runs its command with words read from its input appended (`extraArgs`), or, with
 * `-I R`, with R replaced by each input line: those words become values the policy cannot
 * know. With no command it runs `echo`. A command name built from the input is a program read
 * from stdin.
 */
import { literal, opaque, runs, stdinProgram } from './args.js';
import { named, options, parse } from './getopt.js';
import type { Arg, ProgramAnalyser } from './types.js';

const XARGS = options(
  '--null,-0 --arg-file,-a= --delimiter,-d= -E= --eof,-e=? --replace,-i=? -I= -L= --max-lines,-l=? ' +
    '--max-args,-n= --max-procs,-P= --interactive,-p --process-slot-var= --no-run-if-empty,-r ' +
    '--max-chars,-s= --verbose,-t --exit,-x --show-limits --open-tty,-o --help --version',
);

export const xargs: ProgramAnalyser = (argv) => {
  const parsed = parse(argv, XARGS, { abbreviate: true });
  if (parsed.problem !== undefined) return [opaque(`xargs: ${parsed.problem}`)];
  if (named(parsed, '--help', '--version').length > 0) return [];
  const replace = named(parsed, '-I', '--replace').at(-1);
  const command = argv.slice(parsed.rest);
  if (command.length === 0) return runs('xargs', [literal('echo')], { extraArgs: true });
  if (replace === undefined) return runs('xargs', command, { extraArgs: true });
  const marker = replace.name === '-I' ? replace.value : (replace.value ?? literal('{}'));
  if (marker === undefined || !marker.exact) return [opaque('xargs -I with a replace string not known exactly')];
  if (marker.value === '') return runs('xargs', command);
  if (command[0]!.value.includes(marker.value)) return [stdinProgram('xargs -I builds the program name from input')];
  const inner = command.map((arg): Arg =>
    arg.value.includes(marker.value)
      ? {
          value: arg.value,
          exact: false,
          splits: false,
          mayBeOption: arg.mayBeOption || arg.value.startsWith(marker.value),
        }
      : arg,
  );
  return runs('xargs -I', inner);
};
