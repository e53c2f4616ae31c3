/**
 * Normalisation of one command segment, so that quoting, escaping, whitespace and path tricks
 * cannot hide a command from the policy. It imitates what the shell does to the text before
 * running it, as far as that can be known without running anything:
 *
 * - quote removal: `'...'`, `"..."`, `$'...'` (with its escapes decoded), `$"..."`, and
 *   backslash escapes (`\rm` → `rm`, backslash-newline disappears);
 * - word splitting on unquoted blanks, with `$IFS` / `${IFS}` / `${IFS...}` acting as a blank;
 * - expansions that are empty in `ssh host 'cmd'` are dropped: `$1`…`$9`, `$@`, `$*` (the
 *   shell there has no positional parameters); `${PATH:0:1}`-style slices of PATH, HOME, PWD
 *   and SHELL become `/`;
 * - brace expansion of unquoted `{a,b}` (`{rm,-rf,/}` → `rm -rf /`);
 * - the command word is reduced to its file name (`/usr/bin/../bin/rm` → `rm`, `./rm` → `rm`)
 *   for deny checks. For allow checks only system directories are stripped (see
 *   `allowMatchForms`), so a binary dropped in /tmp cannot borrow an allowed command's name.
 *
 * Wrappers (`sudo`, `env`, `nohup`, ...) are NOT removed from the normalised text: a rule must
 * name them to allow them (`sudo systemctl restart *`). `wrapperViews` peels them off only to
 * produce extra forms for deny checks, so a wrapper can never hide a denied command and never
 * turn a denied command into an allowed one.
 */
import { posix } from 'node:path';
import { interpreterProgram, interpreterReadingStdin, STDIN_PATHS } from './interpreters.js';

/** Directories whose programs may be named by file name alone in allow rules. */
const SYSTEM_BIN_DIRS = new Set(['/bin', '/sbin', '/usr/bin', '/usr/sbin', '/usr/local/bin', '/usr/local/sbin']);

// Unquoted brace syntax is marked with characters that cannot occur in an accepted command
// (the policy rejects control characters first), so quoted braces stay literal.
const BRACE_OPEN = '\u0001';
const BRACE_COMMA = '\u0002';
const BRACE_CLOSE = '\u0003';
const MAX_BRACE_WORDS = 256;
const MAX_BRACE_CHARS = 65_536;

// Sticky (`y`) patterns are matched at a position, so scanning stays linear in the text length.
const IFS_EXPANSION = /\$(?:IFS(?![A-Za-z0-9_])|\{IFS[^}]*\})/y;
const EMPTY_POSITIONAL = /\$(?:[1-9@*]|\{[1-9@*]\})/y;
const SLASH_SLICE = /\$\{(?:PATH|HOME|PWD|SHELL):0:1\}/y;

/** What a `$` expansion at `index` becomes when it is one the normaliser knows. */
type KnownExpansion = { kind: 'blank' | 'nothing' | 'slash'; length: number };

function knownExpansionAt(text: string, index: number): KnownExpansion | undefined {
  const candidates: [RegExp, KnownExpansion['kind']][] = [
    [IFS_EXPANSION, 'blank'],
    [EMPTY_POSITIONAL, 'nothing'],
    [SLASH_SLICE, 'slash'],
  ];
  for (const [pattern, kind] of candidates) {
    const match = matchAt(pattern, text, index);
    if (match !== undefined) return { kind, length: match.length };
  }
  return undefined;
}

function matchAt(stickyPattern: RegExp, text: string, index: number): string | undefined {
  stickyPattern.lastIndex = index;
  return stickyPattern.exec(text)?.[0];
}

/** Splits a segment into the words the shell would pass, with quotes and escapes removed. */
export function shellWords(segment: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let wordHasBrace = false;
  const endWord = (): void => {
    if (inWord) words.push(...(wordHasBrace ? expandBraces(word) : [word]));
    word = '';
    inWord = false;
    wordHasBrace = false;
  };
  const add = (text: string): void => {
    word += text;
    inWord = true;
  };
  // Quoted text never takes part in brace expansion, even if it spells a marker character.
  const addQuoted = (text: string): void => add(unmarkable(text));

  let i = 0;
  while (i < segment.length) {
    const c = segment[i] as string;
    const expansion = c === '$' ? knownExpansionAt(segment, i) : undefined;
    if (c === ' ' || c === '\t' || c === '\n') {
      endWord();
      i++;
    } else if (c === '\\') {
      if (segment[i + 1] !== '\n') addQuoted(segment[i + 1] ?? '');
      i += 2;
    } else if (c === "'") {
      const close = segment.indexOf("'", i + 1);
      const end = close === -1 ? segment.length : close;
      addQuoted(segment.slice(i + 1, end));
      i = end + 1;
    } else if (segment.startsWith("$'", i)) {
      const { text, end } = readAnsiC(segment, i + 2);
      addQuoted(text);
      i = end;
    } else if (c === '"' || segment.startsWith('$"', i)) {
      const { text, end } = readDoubleQuoted(segment, i + (c === '"' ? 1 : 2));
      addQuoted(text);
      i = end;
    } else if (expansion !== undefined) {
      if (expansion.kind === 'blank') endWord();
      if (expansion.kind === 'slash') add('/');
      i += expansion.length;
    } else if (c === '{' && segment[i - 1] !== '$') {
      add(BRACE_OPEN);
      wordHasBrace = true;
      i++;
    } else if (c === ',' && wordHasBrace) {
      add(BRACE_COMMA);
      i++;
    } else if (c === '}' && wordHasBrace) {
      add(BRACE_CLOSE);
      i++;
    } else {
      add(c);
      i++;
    }
  }
  endWord();
  return words.filter((w) => w !== '');
}

/** The segment as deny checks see it: words joined by one space, command word as a file name. */
export function normalizeSegment(segment: string): string {
  return wordsToText(withCommandName(shellWords(segment)));
}

/**
 * Forms an allow rule may match: the words as written, and, when the command word is a path
 * into a system bin directory, the same with just the file name (`/usr/bin/uptime` → `uptime`).
 */
export function allowMatchForms(segment: string): string[] {
  const words = shellWords(segment);
  const forms = [wordsToText(words)];
  const first = words[0];
  if (first !== undefined && first.includes('/')) {
    const resolved = posix.normalize(first);
    if (SYSTEM_BIN_DIRS.has(posix.dirname(resolved)))
      forms.push(wordsToText([posix.basename(resolved), ...words.slice(1)]));
  }
  return forms;
}

/** The whole command line with quotes and escapes removed, separators kept (`uptime;rm -rf /`). */
export function normalizeWhole(command: string): string {
  return wordsToText(shellWords(command));
}

interface WrapperSpec {
  /** Options that take the next word as their value. */
  optionsWithValue: ReadonlySet<string>;
  /** Positional words between the options and the wrapped command (`timeout 5 cmd`). */
  positionalBeforeCommand?: number;
}

const plain: WrapperSpec = { optionsWithValue: new Set() };
const WRAPPERS = new Map<string, WrapperSpec>([
  [
    'sudo',
    {
      optionsWithValue: new Set([
        '-u',
        '-g',
        '-h',
        '-p',
        '-C',
        '-D',
        '-r',
        '-t',
        '-U',
        '-T',
        '--user',
        '--group',
        '--host',
        '--prompt',
        '--close-from',
        '--chdir',
        '--role',
        '--type',
        '--other-user',
        '--command-timeout',
      ]),
    },
  ],
  ['doas', { optionsWithValue: new Set(['-u', '-C']) }],
  ['env', { optionsWithValue: new Set(['-u', '-C', '--unset', '--chdir']) }],
  ['nice', { optionsWithValue: new Set(['-n', '--adjustment']) }],
  [
    'ionice',
    { optionsWithValue: new Set(['-c', '-n', '-p', '-P', '-u', '--class', '--classdata', '--pid', '--pgid', '--uid']) },
  ],
  ['timeout', { optionsWithValue: new Set(['-s', '-k', '--signal', '--kill-after']), positionalBeforeCommand: 1 }],
  ['stdbuf', { optionsWithValue: new Set(['-i', '-o', '-e', '--input', '--output', '--error']) }],
  ['time', { optionsWithValue: new Set(['-f', '-o', '--format', '--output']) }],
  [
    'xargs',
    {
      optionsWithValue: new Set([
        '-a',
        '-d',
        '-E',
        '-I',
        '-L',
        '-n',
        '-P',
        '-s',
        '--arg-file',
        '--delimiter',
        '--max-args',
        '--max-procs',
        '--max-chars',
      ]),
    },
  ],
  ['watch', { optionsWithValue: new Set(['-n', '-d', '--interval']) }],
  ['exec', { optionsWithValue: new Set(['-a']) }],
  ['chroot', { optionsWithValue: new Set(), positionalBeforeCommand: 1 }],
  ['command', plain],
  ['builtin', plain],
  ['nohup', plain],
  ['setsid', plain],
  ['busybox', plain],
]);

/** Programs whose `-c` argument is itself a command line. */
const COMMAND_STRING_RUNNERS = new Set([
  'sh',
  'bash',
  'dash',
  'zsh',
  'ksh',
  'mksh',
  'ash',
  'fish',
  'su',
  'runuser',
  'script',
]);
/** Shells (and `su`-likes) whose operand is a user or log file, not a script (see `shellReadsStdin`). */
const NON_SCRIPT_OPERAND_RUNNERS = new Set(['su', 'runuser', 'script']);
/** Shell options that take the next word as their value (`-C` is fish's init command). */
const SHELL_OPTIONS_WITH_VALUE = new Set(['-o', '+o', '-O', '+O', '-C', '--rcfile', '--init-file', '--init-command']);
const FIND_EXEC_ACTIONS = new Set(['-exec', '-execdir', '-ok', '-okdir']);
const ASSIGNMENT = /^[A-Za-z_][A-Za-z0-9_]*\+?=/;
const MAX_PEEL_STEPS = 16;

export interface WrapperViews {
  /** Normalised forms of the commands hidden behind wrappers and assignments. */
  views: string[];
  /** Command lines handed to another interpreter (`sh -c`, `eval`, `env -S`), to parse again. */
  innerCommandLines: string[];
  /**
   * The peeled command is a shell that reads its program from stdin: `sh`, `bash -s`,
   * `sh /dev/stdin`, `su`, `sudo -s`. Shells inside `innerCommandLines` are not included; the
   * engine re-analyses those lines and combines the answers.
   */
  readsStdin: boolean;
  /** The peeled command is another interpreter reading its program from stdin (`python3`, `perl`). */
  stdinInterpreter: string | undefined;
  /**
   * `xargs` builds the program it runs from its input: `xargs sudo`, `xargs sh -c`,
   * `xargs -I{} sh -c '{}'`, `xargs python3 -c`. The words of that command, else undefined.
   */
  xargsProgramFromInput: string | undefined;
}

/**
 * Deny-check forms of a segment with leading assignments and wrappers peeled off one at a
 * time: `sudo -u root /sbin/reboot now` → [`reboot now`]. Never used to allow anything.
 */
export function wrapperViews(segment: string): WrapperViews {
  const views: string[] = [];
  const innerCommandLines: string[] = [];
  let readsStdin = false;
  let stdinInterpreter: string | undefined;
  let xargsProgramFromInput: string | undefined;
  let rest = shellWords(segment);
  for (let step = 0; step < MAX_PEEL_STEPS && rest.length > 0; step++) {
    const assignments = countWhile(rest, 0, (w) => ASSIGNMENT.test(w));
    if (assignments > 0) {
      rest = rest.slice(assignments);
      if (rest.length > 0) views.push(wordsToText(withCommandName(rest)));
      continue;
    }
    const name = posix.basename(rest[0] ?? '');
    if (COMMAND_STRING_RUNNERS.has(name)) {
      const flag = rest.findIndex((w, idx) => idx > 0 && /^-[A-Za-z]*c[A-Za-z]*$/.test(w));
      if (flag > 0 && flag + 1 < rest.length) innerCommandLines.push(rest.slice(flag + 1).join(' '));
      // `su --command=CMD` / `runuser --command CMD` / `script --command CMD`.
      const long = NON_SCRIPT_OPERAND_RUNNERS.has(name) ? longCommandOption(rest) : undefined;
      if (long !== undefined) innerCommandLines.push(long);
      readsStdin = flag <= 0 && long === undefined && shellReadsStdin(name, rest);
      break;
    }
    if (name === 'eval') {
      innerCommandLines.push(rest.slice(1).join(' '));
      break;
    }
    if (name === 'find') {
      const actions = rest.flatMap((w, idx) => (FIND_EXEC_ACTIONS.has(w) && idx + 1 < rest.length ? [idx] : []));
      for (const idx of actions.slice(0, MAX_PEEL_STEPS)) views.push(wordsToText(withCommandName(rest.slice(idx + 1))));
      break;
    }
    const spec = WRAPPERS.get(name);
    if (spec === undefined) {
      stdinInterpreter = interpreterReadingStdin(withoutRedirections(rest));
      break;
    }
    const start = skipWrapperOptions(name, spec, rest, innerCommandLines);
    if (name === 'xargs' && xargsProgramFromInput === undefined) {
      const command = rest.slice(start);
      if (runsProgramFromArguments(command, xargsReplaceString(rest.slice(1, start)))) {
        xargsProgramFromInput = wordsToText(['xargs', ...command]);
      }
    }
    // `sudo -s` / `sudo -i` / `doas -s` with no command start a shell that reads stdin.
    if (start >= rest.length && (name === 'sudo' || name === 'doas')) {
      readsStdin ||= rest
        .slice(1)
        .some((w) => /^-[A-Za-z]*[si][A-Za-z]*$/.test(w) || w === '--shell' || w === '--login');
    }
    rest = rest.slice(start);
    if (rest.length > 0) views.push(wordsToText(withCommandName(rest)));
  }
  return { views, innerCommandLines, readsStdin, stdinInterpreter, xargsProgramFromInput };
}

/** The command string of `--command=CMD` or `--command CMD`, if any. */
function longCommandOption(words: string[]): string | undefined {
  for (let i = 1; i < words.length; i++) {
    const w = words[i] as string;
    if (w.startsWith('--command=')) return w.slice('--command='.length);
    if (w === '--command') return words[i + 1];
  }
  return undefined;
}

/** xargs's replace string: `-I R`, `-IR`, `-i` / `--replace` (`{}`), `-iR`, `--replace=R`. */
function xargsReplaceString(options: string[]): string | undefined {
  for (let i = 0; i < options.length; i++) {
    const w = options[i] as string;
    if (w === '-I') return options[i + 1];
    if (w.startsWith('-I')) return w.slice(2);
    if (w === '-i' || w === '--replace') return '{}';
    if (w.startsWith('--replace=')) return w.slice('--replace='.length);
    if (w.startsWith('-i')) return w.slice(2);
  }
  return undefined;
}

/**
 * Whether `command`, run by xargs with words from its input appended (or put in place of
 * `replace`), gets its program from those words: a wrapper left with no command of its own
 * (`xargs sudo`), a shell whose `-c` string is missing or templated (`xargs sh -c`,
 * `xargs -I{} sh -c '{}'`) or that has no script, an interpreter with no program, or a program
 * whose name is the replace string. Plain `xargs` runs `echo`.
 */
function runsProgramFromArguments(command: string[], replace: string | undefined): boolean {
  const templated = (text: string | undefined): boolean =>
    text === undefined || (replace !== undefined && replace !== '' && text.includes(replace));
  let rest = command;
  for (let step = 0; step < MAX_PEEL_STEPS; step++) {
    if (rest.length === 0) return step > 0;
    const first = rest[0] as string;
    if (replace !== undefined && replace !== '' && first.includes(replace)) return true;
    const name = posix.basename(first);
    if (COMMAND_STRING_RUNNERS.has(name)) {
      const flag = rest.findIndex((w, idx) => idx > 0 && /^-[A-Za-z]*c[A-Za-z]*$/.test(w));
      if (flag > 0) return templated(rest[flag + 1]);
      const long = NON_SCRIPT_OPERAND_RUNNERS.has(name) ? longCommandOption(rest) : undefined;
      if (long !== undefined || rest.some((w) => w === '--command')) return templated(long);
      return shellReadsStdin(name, rest);
    }
    const interpreter = interpreterProgram(rest);
    if (interpreter !== undefined) {
      const source = interpreter.source;
      if (source.from === 'stdin') return true;
      // A script operand counts only when the input names it (`xargs -I{} python3 {}`).
      return source.from === 'inline' || source.from === 'operand' ? templated(source.text) : false;
    }
    const spec = WRAPPERS.get(name);
    if (spec === undefined) return false;
    rest = rest.slice(skipWrapperOptions(name, spec, rest, []));
  }
  return true;
}

/**
 * Whether a command-string runner called without `-c` takes its program from stdin: a shell
 * does unless it has a script operand (or has one that names stdin); `su`, `runuser` and
 * `script` start a shell on stdin whatever their operands (a user name, a log file). Unknown
 * options are assumed to take no value, which can only turn a script into "reads stdin": a
 * stricter answer.
 */
function shellReadsStdin(name: string, segmentWords: string[]): boolean {
  const words = withoutRedirections(segmentWords);
  if (NON_SCRIPT_OPERAND_RUNNERS.has(name)) return !words.some((w) => w === '--command' || w.startsWith('--command='));
  let i = 1;
  while (i < words.length) {
    const w = words[i] as string;
    if (w === '--') {
      i++;
      break;
    }
    if (w === '-' || !/^[-+]./.test(w)) break;
    // `-s`: commands come from stdin and every operand is a positional parameter.
    if (/^-[A-Za-z]*s[A-Za-z]*$/.test(w)) return true;
    i += SHELL_OPTIONS_WITH_VALUE.has(w) ? 2 : 1;
  }
  const script = words[i];
  return script === undefined || STDIN_PATHS.has(script);
}

const REDIRECTION = /^[0-9]*(?:<<<|<<-?|<>|<&|>&|>>|&>>?|>\||<|>)(.*)$/s;

/** Words without redirections (`<<EOF`, `<<< word`, `2>&1`, `> out`), which are no operands. */
function withoutRedirections(words: string[]): string[] {
  const kept: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const match = REDIRECTION.exec(words[i] as string);
    if (match === null) kept.push(words[i] as string);
    else if (match[1] === '') i++; // the target is the next word
  }
  return kept;
}

/** Index of the wrapped command's first word after a wrapper's options and leading values. */
function skipWrapperOptions(name: string, spec: WrapperSpec, words: string[], innerCommandLines: string[]): number {
  let i = 1;
  while (i < words.length) {
    const w = words[i] as string;
    if (w === '--') {
      i++;
      break;
    }
    if (
      name === 'env' &&
      (w === '-S' || w === '--split-string' || w.startsWith('-S') || w.startsWith('--split-string='))
    ) {
      // `env -S 'cmd args'` splits its argument into a new command line.
      const attached = w.startsWith('--split-string=')
        ? w.slice('--split-string='.length)
        : w.startsWith('-S')
          ? w.slice(2)
          : '';
      innerCommandLines.push([attached, ...words.slice(i + 1)].join(' ').trim());
      return words.length;
    }
    if (w.startsWith('-') && w.length > 1) {
      i += spec.optionsWithValue.has(w) ? 2 : 1;
    } else if (name === 'env' && ASSIGNMENT.test(w)) {
      i++;
    } else break;
  }
  return i + (spec.positionalBeforeCommand ?? 0);
}

function countWhile(words: string[], from: number, predicate: (w: string) => boolean): number {
  let n = 0;
  while (from + n < words.length && predicate(words[from + n] as string)) n++;
  return n;
}

/** Replaces a path in the command word by its file name; `..` and `.` are resolved first. */
function withCommandName(words: string[]): string[] {
  const first = words[0];
  if (first === undefined || !first.includes('/') || first.endsWith('/')) return words;
  return [posix.basename(posix.normalize(first)), ...words.slice(1)];
}

function wordsToText(words: string[]): string {
  return words.join(' ').replace(/\s+/g, ' ').trim();
}

/** Reads a double-quoted string from `from` (just after the quote) to its closing quote. */
function readDoubleQuoted(text: string, from: number): { text: string; end: number } {
  let out = '';
  let i = from;
  while (i < text.length) {
    const c = text[i] as string;
    const expansion = c === '$' ? knownExpansionAt(text, i) : undefined;
    if (c === '"') return { text: out, end: i + 1 };
    if (c === '\\') {
      const next = text[i + 1] ?? '';
      // Inside double quotes a backslash only escapes $ ` " \ and newline.
      if (next === '\n') out += '';
      else if ('$`"\\'.includes(next)) out += next;
      else out += c + next;
      i += 2;
    } else if (expansion !== undefined) {
      out += expansion.kind === 'blank' ? ' ' : expansion.kind === 'slash' ? '/' : '';
      i += expansion.length;
    } else {
      out += c;
      i++;
    }
  }
  return { text: out, end: text.length };
}

const ANSI_C_SIMPLE: Record<string, string> = {
  a: '\x07',
  b: '\b',
  e: '\x1b',
  E: '\x1b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
  '\\': '\\',
  "'": "'",
  '"': '"',
  '?': '?',
};

const ANSI_C_HEX = /x[0-9A-Fa-f]{1,2}|u[0-9A-Fa-f]{1,4}|U[0-9A-Fa-f]{1,8}/y;
const ANSI_C_OCTAL = /[0-7]{1,3}/y;

/** Decodes a `$'...'` string from `from` (just after `$'`), as bash does. */
function readAnsiC(text: string, from: number): { text: string; end: number } {
  let out = '';
  let i = from;
  while (i < text.length) {
    const c = text[i] as string;
    if (c === "'") return { text: out, end: i + 1 };
    if (c !== '\\') {
      out += c;
      i++;
      continue;
    }
    const next = text[i + 1] ?? '';
    const simple = ANSI_C_SIMPLE[next];
    const hex = matchAt(ANSI_C_HEX, text, i + 1);
    const octal = matchAt(ANSI_C_OCTAL, text, i + 1);
    if (simple !== undefined) {
      out += simple;
      i += 2;
    } else if (hex !== undefined) {
      out += safeCodePoint(parseInt(hex.slice(1), 16));
      i += 1 + hex.length;
    } else if (octal !== undefined) {
      out += safeCodePoint(parseInt(octal, 8));
      i += 1 + octal.length;
    } else if (next === 'c' && i + 2 < text.length) {
      out += String.fromCharCode((text.charCodeAt(i + 2) & 0x1f) >>> 0);
      i += 3;
    } else {
      out += c + next;
      i += 2;
    }
  }
  return { text: out, end: text.length };
}

function safeCodePoint(code: number): string {
  return code <= 0x10ffff ? String.fromCodePoint(code) : '';
}

/**
 * Bash brace expansion of the marked unquoted `{a,b}` groups in one word. Stops (leaving the
 * rest literal) before the words or their total length grow past a bound, so input cannot
 * explode. Text big enough to hit the bound repeats every alternative, which garbles any
 * command it might hide.
 */
function expandBraces(word: string): string[] {
  if (!word.includes(BRACE_OPEN)) return [word];
  let results = [word];
  for (;;) {
    const groups = results.map(findGroup);
    if (groups.every((g) => g === undefined)) break;
    const words = groups.reduce((sum, g) => sum + (g === undefined ? 1 : g.commas.length + 1), 0);
    const chars = results.reduce((sum, w, k) => sum + w.length * ((groups[k]?.commas.length ?? 0) + 1), 0);
    if (words > MAX_BRACE_WORDS || chars > Math.max(MAX_BRACE_CHARS, word.length)) break;
    results = results.flatMap((w, k) => expandGroup(w, groups[k]));
  }
  return results.map(unmarkBraces);
}

interface BraceGroup {
  open: number;
  close: number;
  /** Positions of the group's own commas (not those of groups nested in it). */
  commas: number[];
}

/** The leftmost complete `{...}` group that has a comma, found in one pass with a stack. */
function findGroup(word: string): BraceGroup | undefined {
  const stack: { open: number; commas: number[] }[] = [];
  let best: BraceGroup | undefined;
  for (let i = 0; i < word.length; i++) {
    const c = word[i];
    if (c === BRACE_OPEN) stack.push({ open: i, commas: [] });
    else if (c === BRACE_COMMA) stack[stack.length - 1]?.commas.push(i);
    else if (c === BRACE_CLOSE) {
      const group = stack.pop();
      if (group !== undefined && group.commas.length > 0 && (best === undefined || group.open < best.open)) {
        best = { open: group.open, close: i, commas: group.commas };
      }
    }
  }
  return best;
}

function expandGroup(word: string, group: BraceGroup | undefined): string[] {
  if (group === undefined) return [word];
  const prefix = word.slice(0, group.open);
  const suffix = word.slice(group.close + 1);
  const bounds = [group.open, ...group.commas, group.close];
  const out: string[] = [];
  for (let k = 0; k + 1 < bounds.length; k++) {
    out.push(prefix + word.slice((bounds[k] as number) + 1, bounds[k + 1]) + suffix);
  }
  return out;
}

function unmarkable(text: string): string {
  return text.replaceAll(BRACE_OPEN, '\ufffd').replaceAll(BRACE_COMMA, '\ufffd').replaceAll(BRACE_CLOSE, '\ufffd');
}

function unmarkBraces(word: string): string {
  return word.replaceAll(BRACE_OPEN, '{').replaceAll(BRACE_COMMA, ',').replaceAll(BRACE_CLOSE, '}');
}
