/**
 * Language interpreters (python, perl, ruby, node, php, lua, tcl, R, expect): whatever program
 * they run is code the policy cannot read. An inline program (`python3 -c`, `perl -e`) or a
 * script file is `exec`; no program at all means the program comes from stdin; only
 * informational options (`--version`) run nothing. Options are read as each interpreter does,
 * so that the word after an option taking a value is not taken for the script.
 */
import { exec, mayShift, opaque, stdinProgram } from './args.js';
import { STDIN_PATHS } from './shells.js';
import type { Arg, Effect, ProgramAnalyser } from './types.js';

interface InterpreterSpec {
  /** Short option letters giving the program inline (or a module to run). */
  inline: string;
  inlineLong?: readonly string[];
  /** Short option letters taking a value, attached or as the next word. */
  withValue: string;
  withValueLong?: readonly string[];
  /** Short letters whose value can only be attached (`perl -i.bak`). */
  attachedValue?: string;
  /** Short letters whose value is the program file. */
  programFile?: string;
  programFileLong?: readonly string[];
  /** Options that print something and exit. */
  informational: readonly string[];
  /** The first operand is the script, or never a program (R reads stdin). */
  operand: 'script' | 'not_a_program';
}

const python: InterpreterSpec = {
  operand: 'script',
  inline: 'cm',
  withValue: 'WX',
  informational: ['-h', '-V', '-VV', '-?', '--help', '--version'],
};
const perl: InterpreterSpec = {
  operand: 'script',
  inline: 'eE',
  withValue: 'IMm',
  attachedValue: 'ixCdD',
  informational: ['-v', '-V', '-h', '--version', '--help'],
};
const ruby: InterpreterSpec = {
  operand: 'script',
  inline: 'e',
  withValue: 'CEFIr',
  attachedValue: 'xiKTW',
  informational: ['-h', '-v', '--help', '--version'],
};
const node: InterpreterSpec = {
  operand: 'script',
  inline: 'ep',
  inlineLong: ['--eval', '--print'],
  withValue: 'rC',
  withValueLong: ['--require', '--import', '--loader', '--experimental-loader', '--input-type', '--conditions'],
  informational: ['-v', '-h', '--version', '--help', '--v8-options'],
};
const php: InterpreterSpec = {
  operand: 'script',
  inline: 'rBRE',
  withValue: 'cdz',
  programFile: 'fF',
  informational: ['-v', '-h', '-i', '-m', '--version', '--help', '--info', '--modules'],
};
const lua: InterpreterSpec = { operand: 'script', inline: 'e', withValue: 'l', informational: ['-v'] };
const tcl: InterpreterSpec = { operand: 'script', inline: '', withValue: '', informational: [] };
const rscript: InterpreterSpec = {
  operand: 'script',
  inline: 'e',
  withValue: '',
  informational: ['--help', '--version'],
};
// R reads its program from stdin unless given -e or --file; its operands are never scripts.
const r: InterpreterSpec = {
  operand: 'not_a_program',
  inline: 'e',
  withValue: 'fd',
  programFile: 'f',
  programFileLong: ['--file'],
  informational: ['--help', '--version'],
};
const expect: InterpreterSpec = {
  operand: 'script',
  inline: 'c',
  withValue: 'D',
  programFile: 'f',
  informational: ['-v'],
};

type Source = 'inline' | 'file' | 'stdin' | 'none';

function programSource(spec: InterpreterSpec, argv: readonly Arg[]): Source | string {
  const fileOrStdin = (arg: Arg | undefined): Source =>
    arg === undefined || (arg.exact && STDIN_PATHS.has(arg.value)) ? 'stdin' : 'file';
  let i = 1;
  while (i < argv.length) {
    const arg = argv[i]!;
    const word = arg.value;
    if (!arg.exact && word.startsWith('-')) return `option word ${word} is not known exactly`;
    if (mayShift(arg)) return `${word} may expand to options`;
    if (spec.informational.includes(word)) return 'none';
    if (word === '--') {
      i++;
      break;
    }
    if (word === '-' || !word.startsWith('-')) break;
    if (word.startsWith('--')) {
      const eq = word.indexOf('=');
      const option = eq < 0 ? word : word.slice(0, eq);
      if (spec.inlineLong?.includes(option)) return 'inline';
      if (spec.programFileLong?.includes(option)) return eq < 0 ? fileOrStdin(argv[i + 1]) : 'file';
      i += spec.withValueLong?.includes(option) && eq < 0 ? 2 : 1;
      continue;
    }
    let consumesNext = false;
    for (let j = 1; j < word.length; j++) {
      const letter = word[j]!;
      const rest = word.slice(j + 1);
      if (spec.inline.includes(letter)) return 'inline';
      if (spec.programFile?.includes(letter)) return rest !== '' ? 'file' : fileOrStdin(argv[i + 1]);
      if (spec.withValue.includes(letter)) {
        consumesNext = rest === '';
        break;
      }
      if (spec.attachedValue?.includes(letter)) break;
    }
    i += consumesNext ? 2 : 1;
  }
  return spec.operand === 'script' ? fileOrStdin(argv[i]) : 'stdin';
}

function interpreter(spec: InterpreterSpec): ProgramAnalyser {
  return (argv) => {
    const name = argv[0]?.value.slice(argv[0].value.lastIndexOf('/') + 1) ?? '';
    const source = programSource(spec, argv);
    const effect: Effect | undefined =
      source === 'inline'
        ? exec(`${name} inline program`)
        : source === 'file'
          ? exec(`${name} runs a script file`)
          : source === 'stdin'
            ? stdinProgram(`${name} reads its program from stdin`)
            : source === 'none'
              ? undefined
              : opaque(`${name}: ${source}`);
    return effect === undefined ? [] : [effect];
  };
}

/** Interpreters by name; versioned names (`python3.11`, `perl5.36`) are looked up without digits. */
export const INTERPRETERS: Record<string, ProgramAnalyser> = {
  python: interpreter(python),
  pypy: interpreter(python),
  perl: interpreter(perl),
  ruby: interpreter(ruby),
  node: interpreter(node),
  nodejs: interpreter(node),
  php: interpreter(php),
  lua: interpreter(lua),
  luajit: interpreter(lua),
  tclsh: interpreter(tcl),
  wish: interpreter(tcl),
  Rscript: interpreter(rscript),
  R: interpreter(r),
  expect: interpreter(expect),
};
