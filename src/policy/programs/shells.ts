/**
 * POSIX-like shells: `sh -c STR` runs STR as a script, which the engine parses like a top-level
 * command; every other way of giving a shell its program (stdin, a script file, an interactive
 * shell, an rc file) hides the program from the policy. Shells with another language (fish,
 * csh) are refused whole, since the engine's parser would misread their scripts.
 */
import { exec, mayShift, opaque, runsScript, stdinProgram } from './args.js';
import type { Effect, ProgramAnalyser } from './types.js';

/** Shells whose `-c` script is POSIX shell text; also the shells su/runuser may be given. */
export const KNOWN_SHELLS: ReadonlySet<string> = new Set([
  'sh',
  'dash',
  'bash',
  'rbash',
  'zsh',
  'ksh',
  'ksh93',
  'mksh',
  'lksh',
  'pdksh',
  'ash',
  'yash',
  'posh',
]);

/** Shells with a language of their own. */
const OTHER_SHELLS = ['fish', 'csh', 'tcsh', 'xonsh', 'nu', 'elvish', 'pwsh', 'rc', 'es'];

/** Paths that name the shell's own stdin as its script. */
export const STDIN_PATHS: ReadonlySet<string> = new Set(['-', '/dev/stdin', '/dev/fd/0', '/proc/self/fd/0']);

/** Single-letter options known to change nothing about where the program comes from. */
const FLAG_LETTERS = new Set('abefhklmnprtuvxBCDEHPT');
/** bash long options; `--rcfile`/`--init-file` take a file that runs as shell code. */
const LONG_FLAGS = new Set([
  '--debugger',
  '--dump-po-strings',
  '--dump-strings',
  '--login',
  '--noediting',
  '--noprofile',
  '--norc',
  '--posix',
  '--pretty-print',
  '--restricted',
  '--verbose',
]);
const RC_FILES = new Set(['--rcfile', '--init-file']);
const INFORMATIONAL = new Set(['--help', '--version']);

function posixShell(name: string): ProgramAnalyser {
  return (argv) => {
    let command = false;
    let interactive = false;
    let fromStdin = false;
    let i = 1;
    const effects: Effect[] = [];
    while (i < argv.length) {
      const arg = argv[i]!;
      const word = arg.value;
      const optionLike = word.startsWith('-') || word.startsWith('+');
      if (!arg.exact && optionLike) return [opaque(`${name}: option word ${word} is not known exactly`)];
      if (mayShift(arg)) return [opaque(`${name}: ${word} may expand to options`)];
      if (word === '--' || word === '-') {
        i++;
        break;
      }
      if (!optionLike || word.length < 2) break;
      if (word.startsWith('--')) {
        if (INFORMATIONAL.has(word)) return [];
        if (RC_FILES.has(word)) {
          effects.push(exec(`${name} ${word} runs a file`));
          i += 2;
          continue;
        }
        if (!LONG_FLAGS.has(word)) return [opaque(`${name}: unknown option ${word}`)];
        i++;
        continue;
      }
      // A cluster (`-ec`, `-euo pipefail`, `+x`): each o/O takes the next word as its value.
      let values = 0;
      for (const letter of word.slice(1)) {
        if (letter === 'c') command = true;
        else if (letter === 'i') interactive = true;
        else if (letter === 's') fromStdin = true;
        else if (letter === 'o' || letter === 'O') values++;
        else if (!FLAG_LETTERS.has(letter)) return [opaque(`${name}: unknown option ${word[0]}${letter}`)];
      }
      for (let v = 1; v <= values; v++) {
        const value = argv[i + v];
        if (value?.splits === true) return [opaque(`${name}: option value ${value.value} may split`)];
      }
      i += 1 + values;
    }
    const operand = argv[i];
    if (interactive) effects.push(exec(`${name} -i reads an interactive session`));
    if (command) {
      if (operand !== undefined) effects.push(runsScript(`${name} -c`, i, i + 1));
      return effects;
    }
    if (fromStdin || operand === undefined || (operand.exact && STDIN_PATHS.has(operand.value)))
      return [...effects, stdinProgram(`${name} reads its script from stdin`)];
    return [...effects, exec(`${name} runs the script file ${operand.value}`)];
  };
}

const otherShell =
  (name: string): ProgramAnalyser =>
  (argv) =>
    argv.length === 2 && argv[1]?.exact === true && INFORMATIONAL.has(argv[1].value)
      ? []
      : [exec(`${name} runs a program in a language the policy does not read`)];

export const SHELLS: Record<string, ProgramAnalyser> = {
  ...Object.fromEntries([...KNOWN_SHELLS].map((n) => [n, posixShell(n)])),
  ...Object.fromEntries(OTHER_SHELLS.map((n) => [n, otherShell(n)])),
};
