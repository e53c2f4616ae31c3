/**
 * Interpreters other than shells that take their program from stdin when no program is given
 * on the command line: `echo '…' | python3`, `base64 -d x | perl`, `curl … | node`. Their
 * program is the upstream output, as opaque to a policy as a piped shell script, so the engine
 * treats such a segment like a shell fed by a pipe (rule `shell_from_stdin`).
 *
 * Each entry says how the interpreter is told where its program is: options that carry it
 * inline (`python -c`, `perl -e`, `node --eval`), options that name a program file (`awk -f`,
 * `php -f`, `R --file`), and what its first operand is. Options not listed are taken to have
 * no value, so the word after one would be read as the script: list every option of an
 * interpreter that takes a separate value.
 */
import { posix } from 'node:path';

interface InterpreterSpec {
  /** Short option letters that give the program on the command line (or a module to run). */
  inline: string;
  inlineLong?: readonly string[];
  /** Short option letters that take a value, attached (`-Wignore`) or as the next word. */
  withValue: string;
  withValueLong?: readonly string[];
  /** Short option letters whose value can only be attached (`perl -i.bak`, `ruby -x/dir`). */
  attachedValue?: string;
  /** Short option letters whose value is the program file (stdin when it names stdin). */
  programFile?: string;
  programFileLong?: readonly string[];
  /** Options that print something and exit without running a program. */
  informational: readonly string[];
  /** The first operand: the script (python), the program text itself (awk), or never a program (R). */
  operand: 'script' | 'program_text' | 'not_a_program';
}

const SCRIPT_FIRST = { operand: 'script' } as const;

const INTERPRETERS: readonly { name: RegExp; spec: InterpreterSpec }[] = [
  {
    name: /^(?:python|pypy)[0-9.]*$/,
    spec: { ...SCRIPT_FIRST, inline: 'cm', withValue: 'WX', informational: ['-h', '-V', '-?', '--help', '--version'] },
  },
  {
    name: /^perl[0-9.]*$/,
    spec: {
      ...SCRIPT_FIRST,
      inline: 'eE',
      withValue: 'IMm',
      attachedValue: 'ixCdD',
      informational: ['-v', '-V', '-h'],
    },
  },
  {
    name: /^ruby[0-9.]*$/,
    spec: {
      ...SCRIPT_FIRST,
      inline: 'e',
      withValue: 'CEFIr',
      attachedValue: 'xiKTW',
      informational: ['-h', '--help', '--version'],
    },
  },
  {
    name: /^(?:node|nodejs)$/,
    spec: {
      ...SCRIPT_FIRST,
      inline: 'ep',
      inlineLong: ['--eval', '--print'],
      withValue: 'rC',
      withValueLong: ['--require', '--import', '--loader', '--experimental-loader', '--input-type', '--conditions'],
      informational: ['-v', '-h', '--version', '--help', '--v8-options'],
    },
  },
  {
    name: /^php[0-9.]*$/,
    spec: {
      ...SCRIPT_FIRST,
      inline: 'rBRE',
      withValue: 'cdz',
      programFile: 'fF',
      informational: ['-v', '-h', '-i', '-m', '--version', '--help', '--info', '--modules'],
    },
  },
  {
    name: /^(?:lua|luajit)[0-9.]*$/,
    spec: { ...SCRIPT_FIRST, inline: 'e', withValue: 'l', informational: ['-v'] },
  },
  { name: /^(?:tclsh|wish)[0-9.]*$/, spec: { ...SCRIPT_FIRST, inline: '', withValue: '', informational: [] } },
  {
    name: /^Rscript$/,
    spec: { ...SCRIPT_FIRST, inline: 'e', withValue: '', informational: ['--help', '--version'] },
  },
  {
    // R reads its program from stdin unless given -e or --file; operands are never scripts.
    name: /^R$/,
    spec: {
      operand: 'not_a_program',
      inline: 'e',
      withValue: 'fd',
      programFile: 'f',
      programFileLong: ['--file'],
      informational: ['--help', '--version', 'CMD'],
    },
  },
  {
    name: /^(?:awk|gawk|mawk|nawk)$/,
    spec: {
      operand: 'program_text',
      inline: 'e',
      inlineLong: ['--source'],
      withValue: 'vF',
      withValueLong: ['--assign', '--field-separator'],
      programFile: 'f',
      programFileLong: ['--file'],
      informational: ['--version', '--help', '-V'],
    },
  },
];

/** Script operands and program files that name the process's own stdin. */
export const STDIN_PATHS: ReadonlySet<string> = new Set(['-', '/dev/stdin', '/dev/fd/0', '/proc/self/fd/0']);

/** Where an interpreter invocation takes its program from. */
export type ProgramSource =
  | { from: 'stdin' }
  /** On the command line (`-c TEXT`); `text` is undefined when the option ends the words. */
  | { from: 'inline'; text: string | undefined }
  /** A file (`python3 tool.py`, `awk -f prog.awk`), or awk's program text as its first operand. */
  | { from: 'operand'; text: string }
  /** It runs no program (`--version`) or its program text is not an operand (awk without one). */
  | { from: 'none' };

/**
 * The interpreter's name when `words` (a command without wrappers or redirections) runs an
 * interpreter that reads its program from stdin; undefined otherwise, and for shells (see
 * normalize.ts) and every other command.
 */
export function interpreterReadingStdin(words: readonly string[]): string | undefined {
  const found = interpreterProgram(words);
  return found?.source.from === 'stdin' ? found.name : undefined;
}

/** For an interpreter (python3, perl, …): its name and where its program comes from. */
export function interpreterProgram(words: readonly string[]): { name: string; source: ProgramSource } | undefined {
  const name = posix.basename(words[0] ?? '');
  const spec = INTERPRETERS.find((i) => i.name.test(name))?.spec;
  return spec === undefined ? undefined : { name, source: programSource(spec, words) };
}

function programSource(spec: InterpreterSpec, words: readonly string[]): ProgramSource {
  const fileOrStdin = (path: string | undefined): ProgramSource =>
    path === undefined || STDIN_PATHS.has(path) ? { from: 'stdin' } : { from: 'operand', text: path };
  let i = 1;
  while (i < words.length) {
    const word = words[i] as string;
    if (spec.informational.includes(word)) return { from: 'none' };
    if (word === '--') {
      i++;
      break;
    }
    if (word === '-' || !word.startsWith('-')) break;
    if (word.startsWith('--')) {
      const eq = word.indexOf('=');
      const option = eq < 0 ? word : word.slice(0, eq);
      const attached = eq < 0 ? undefined : word.slice(eq + 1);
      if (spec.inlineLong?.includes(option)) return { from: 'inline', text: attached ?? words[i + 1] };
      if (spec.programFileLong?.includes(option)) return fileOrStdin(attached ?? words[i + 1]);
      i += spec.withValueLong?.includes(option) && attached === undefined ? 2 : 1;
      continue;
    }
    // A cluster of short options: `-uc`, `-ne`, `-Wignore`, `-I lib`.
    let consumesNext = false;
    for (let j = 1; j < word.length; j++) {
      const letter = word[j] as string;
      const rest = word.slice(j + 1);
      if (spec.inline.includes(letter)) return { from: 'inline', text: rest !== '' ? rest : words[i + 1] };
      if (spec.programFile?.includes(letter)) return fileOrStdin(rest !== '' ? rest : words[i + 1]);
      if (spec.withValue.includes(letter)) {
        consumesNext = rest === '';
        break;
      }
      if (spec.attachedValue?.includes(letter)) break;
    }
    i += consumesNext ? 2 : 1;
  }
  const operand = words[i];
  switch (spec.operand) {
    case 'script':
      return fileOrStdin(operand);
    case 'program_text':
      return operand === undefined ? { from: 'none' } : { from: 'operand', text: operand };
    case 'not_a_program':
      return { from: 'stdin' };
  }
}
