/**
 * GNU find. `-exec`/`-execdir`/`-ok`/`-okdir` run their words up to `;` (or `{} +`) as a
 * command, with `{}` replaced by found paths (which start with the starting point, so they
 * are never options); `-delete` and the `-fprint*`/`-fls` actions write. Every other word
 * starting with `-` must be a primary find knows, or the invocation is opaque. A word the shell
 * may split or turn into an option (`find * …` with a file named `-delete`) is opaque too.
 */
import { opaque, runs, write } from './args.js';
import type { Arg, Effect, ProgramAnalyser } from './types.js';

/** Primaries that take one value word. */
const WITH_VALUE = new Set(
  (
    '-name -iname -path -ipath -regex -iregex -type -xtype -size -mtime -mmin -atime -amin -ctime -cmin ' +
    '-newer -anewer -cnewer -user -group -uid -gid -perm -maxdepth -mindepth -printf -links -inum ' +
    '-samefile -lname -ilname -wholename -iwholename -fstype -context -used -files0-from -regextype'
  ).split(' '),
);
/** Tests, actions, options and operators without a value. */
const WITHOUT_VALUE = new Set(
  (
    '-print -print0 -ls -prune -quit -empty -true -false -readable -writable -executable -nouser ' +
    '-nogroup -depth -d -xdev -mount -follow -daystart -noleaf -ignore_readdir_race ' +
    '-noignore_readdir_race -warn -nowarn -not ! -a -and -o -or ( ) , -help --help -version --version'
  ).split(' '),
);
const EXEC_ACTIONS = new Set(['-exec', '-execdir', '-ok', '-okdir']);
/** Actions writing the file named by their first value; the number of values they take. */
const FILE_ACTIONS = new Map([
  ['-fprint', 1],
  ['-fprint0', 1],
  ['-fls', 1],
  ['-fprintf', 2],
]);
const NEWER_XY = /^-newer[aBcmt][aBcmt]$/;
const PLACEHOLDER = '{}';

export const find: ProgramAnalyser = (argv) => {
  if (argv.some((a) => a.splits)) return [opaque('find: a word may split into find expression words')];
  let i = 1;
  // Leading options: -H -L -P, -D DEBUGOPTS, -O LEVEL.
  for (; i < argv.length; i++) {
    const word = argv[i]!.value;
    if (word === '-H' || word === '-L' || word === '-P' || /^-O[0-9]$/.test(word)) continue;
    if (word === '-D') {
      i++;
      continue;
    }
    if (word === '--') i++;
    break;
  }
  // Starting points: until the first word that starts an expression.
  for (; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg.mayBeOption) return [opaque(`find: ${arg.value} may expand to a find expression`)];
    if (!arg.exact && arg.value.startsWith('-')) return [opaque(`find: ${arg.value} is not known exactly`)];
    if (arg.value.startsWith('-') || arg.value === '(' || arg.value === '!') break;
  }
  const effects: Effect[] = [];
  while (i < argv.length) {
    const arg = argv[i]!;
    const word = arg.value;
    if (!arg.exact && (arg.mayBeOption || word.startsWith('-')))
      return [opaque(`find: expression word ${word} is not known exactly`)];
    if (EXEC_ACTIONS.has(word)) {
      const end = terminator(argv, i + 1);
      if (end < 0) return [opaque(`find ${word} without a terminating ;`)];
      effects.push(...runs(`find ${word}`, argv.slice(i + 1, end).map(substituted)));
      i = end + 1;
      continue;
    }
    if (word === '-delete') {
      effects.push(write('find -delete'));
      i++;
      continue;
    }
    const fileValues = FILE_ACTIONS.get(word);
    if (fileValues !== undefined) {
      effects.push(write(`find ${word}`, argv[i + 1]));
      i += 1 + fileValues;
      continue;
    }
    if (WITH_VALUE.has(word) || NEWER_XY.test(word)) i += 2;
    else if (WITHOUT_VALUE.has(word) || !word.startsWith('-')) i++;
    else return [opaque(`find: unknown primary ${word}`)];
  }
  return effects;
};

/** Index of the word ending an -exec: `;`, or `+` right after a `{}` word. */
function terminator(argv: readonly Arg[], from: number): number {
  for (let i = from; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.exact) continue;
    if (arg.value === ';') return i;
    if (arg.value === '+' && i > from && argv[i - 1]!.value === PLACEHOLDER) return i;
  }
  return -1;
}

/** A word with `{}` in it stands for paths find substitutes: not known, never an option. */
function substituted(arg: Arg): Arg {
  return arg.value.includes(PLACEHOLDER) ? { value: arg.value, exact: false, splits: false, mayBeOption: false } : arg;
}
