/**
 * Shell builtins that run text the policy does not parse, or change what a later command name
 * runs: `eval`, `source`/`.`, `trap`, `alias NAME=…` (sh expands aliases in scripts), `hash -p`,
 * `enable -f` (loads a shared object), `fc`, `mapfile -C`, and `export`-like builtins that set a
 * variable which makes later programs run other code (PATH, LD_PRELOAD, BASH_ENV, …).
 */
import { exec, opaque } from './args.js';
import type { Arg, ProgramAnalyser } from './types.js';

/** Variables that choose which code later commands run. */
export const CODE_VARIABLES: ReadonlySet<string> = new Set([
  'PATH',
  'LD_PRELOAD',
  'LD_LIBRARY_PATH',
  'LD_AUDIT',
  'BASH_ENV',
  'ENV',
  'SHELLOPTS',
  'BASHOPTS',
  'PS4',
  'PROMPT_COMMAND',
  'IFS',
  'GCONV_PATH',
  'PYTHONPATH',
  'PYTHONSTARTUP',
  'PERL5LIB',
  'PERL5OPT',
  'RUBYOPT',
  'RUBYLIB',
  'NODE_OPTIONS',
  'NODE_PATH',
  'LESSOPEN',
  'LESSCLOSE',
  'PAGER',
  'EDITOR',
  'VISUAL',
  'GIT_SSH',
  'GIT_SSH_COMMAND',
  'GIT_EXTERNAL_DIFF',
  'GIT_PAGER',
  'GIT_EDITOR',
  'GIT_CONFIG_GLOBAL',
  'SUDO_ASKPASS',
  'SSH_ASKPASS',
  'TAR_OPTIONS',
]);

const always =
  (feature: string): ProgramAnalyser =>
  () => [exec(feature)];

/** `export`, `declare`, `typeset`, `readonly`, `local`: refused when they set a code variable. */
const declares =
  (name: string): ProgramAnalyser =>
  (argv) => {
    for (const arg of argv.slice(1)) {
      if (!arg.exact && arg.mayBeOption) return [opaque(`${name}: ${arg.value} may be any assignment`)];
      if (subscriptRisk(arg))
        return [exec(`${name}: bash evaluates the array subscript in '${arg.value}' as arithmetic`)];
      const variable = arg.value.split(/[=+[]/, 1)[0] ?? '';
      if (CODE_VARIABLES.has(variable)) return [exec(`${name} ${variable}`)];
    }
    return [];
  };

/**
 * bash evaluates an array subscript in a variable name as arithmetic, and `$(…)` inside it runs
 * (`test -v 'a[$(id)]'`, `printf -v 'a[$(id)]' x`, `read 'a[$(id)]'`); dash has no arrays.
 */
const SUBSCRIPT_WITH_EXPANSION = /\[.*[$`]/;
const subscriptRisk = (arg: Arg): boolean =>
  arg.exact ? SUBSCRIPT_WITH_EXPANSION.test(arg.value) : arg.value.includes('[');

/** Builtins whose operands include variable names: refused on a risky subscript or a code variable. */
const setsVariables =
  (name: string): ProgramAnalyser =>
  (argv) => {
    for (const arg of argv.slice(1)) {
      if (subscriptRisk(arg))
        return [exec(`${name}: bash evaluates the array subscript in '${arg.value}' as arithmetic`)];
      if (CODE_VARIABLES.has(arg.value)) return [exec(`${name} sets ${arg.value}`)];
    }
    return [];
  };

const hasOption = (argv: readonly Arg[], letter: string): boolean =>
  argv.some(
    (a, i) => i > 0 && (!a.exact || (a.value.startsWith('-') && !a.value.startsWith('--') && a.value.includes(letter))),
  );

export const BUILTINS: Record<string, ProgramAnalyser> = {
  eval: always('eval runs text as a script'),
  source: always('source runs a script file'),
  '.': always('. runs a script file'),
  fc: always('fc runs commands from history'),
  trap: (argv) =>
    argv.length <= 1 || argv.every((a, i) => i === 0 || (a.exact && /^-[lp]$/.test(a.value)))
      ? []
      : [exec('trap sets commands to run later')],
  alias: (argv) =>
    argv.some((a, i) => i > 0 && (!a.exact || a.value.includes('='))) ? [exec('alias defines a command')] : [],
  hash: (argv) => (hasOption(argv, 'p') ? [exec('hash -p binds a name to a path')] : []),
  enable: (argv) => (hasOption(argv, 'f') ? [exec('enable -f loads a shared object')] : []),
  mapfile: (argv) => (hasOption(argv, 'C') ? [exec('mapfile -C runs a callback')] : setsVariables('mapfile')(argv)),
  readarray: (argv) =>
    hasOption(argv, 'C') ? [exec('readarray -C runs a callback')] : setsVariables('readarray')(argv),
  let: always('let evaluates arithmetic, where bash runs substitutions in array subscripts'),
  test: setsVariables('test'),
  '[': setsVariables('['),
  printf: setsVariables('printf'),
  read: setsVariables('read'),
  unset: setsVariables('unset'),
  getopts: setsVariables('getopts'),
  wait: setsVariables('wait'),
  export: declares('export'),
  declare: declares('declare'),
  typeset: declares('typeset'),
  readonly: declares('readonly'),
  local: declares('local'),
};
