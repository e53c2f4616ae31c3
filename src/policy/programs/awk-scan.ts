/**
 * A conservative scan of an awk program. It tokenizes the program (skipping string literals,
 * regex literals and comments) and reports what it does beyond printing: `system()`,
 * `getline` (from a file or a command), a `|` pipe to or from a command (`||` is only "or"),
 * `>`/`>>` redirection of a `print`/`printf` at the statement's own parenthesis depth, and `@`
 * (gawk's @load/@include and indirect calls). Where awk implementations could read the text
 * differently (a `/` that might be a regex or a division, a regex with `[/]`), the scan gives
 * up, so a program is only accepted when every reading of it is harmless.
 */
import { literal } from './args.js';
import type { Effect } from './types.js';

export interface AwkScan {
  effects: Effect[];
  problem: string | undefined;
}

/** Words after which a `/` starts a regex, like operators and punctuation. */
const KEYWORDS = new Set(
  (
    'BEGIN END BEGINFILE ENDFILE function func if else while for do break continue next nextfile exit ' +
    'return delete in print printf getline case default switch'
  ).split(' '),
);
const STANDARD_FILES = new Set(['/dev/stdout', '/dev/stderr']);
/** Keywords whose parenthesised condition is followed by a statement, where `/` starts a regex. */
const CONDITIONS = new Set(['if', 'while', 'for']);
const IDENT_START = /[A-Za-z_]/;
const IDENT = /[A-Za-z0-9_]/;

type Previous = 'operand' | 'operator' | 'incdec';

export function scanAwkProgram(program: string): AwkScan {
  const effects: Effect[] = [];
  const fail = (problem: string): AwkScan => ({ effects, problem: `awk program: ${problem}` });
  // Names that could be spelled inside strings and then called indirectly are refused anywhere.
  if (/system|getline/.test(program)) {
    if (/\bsystem\b/.test(program)) effects.push({ kind: 'exec', feature: 'awk system()' });
    if (/\bgetline\b/.test(program)) effects.push({ kind: 'exec', feature: 'awk getline' });
  }
  let depth = 0;
  /** Parenthesis depth of the print/printf statement being read, or -1. */
  let printDepth = -1;
  let previous: Previous = 'operator';
  let lastWord = '';
  /** For each open parenthesis: whether it holds an if/while/for condition. */
  const parens: boolean[] = [];
  let i = 0;
  const n = program.length;
  while (i < n) {
    const c = program[i]!;
    if (c === '\\' && program[i + 1] === '\n') {
      i += 2;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r') {
      i++;
      continue;
    }
    if (c === '#') {
      while (i < n && program[i] !== '\n') i++;
      continue;
    }
    if (c === '\n' || c === ';' || c === '{' || c === '}') {
      if (c === '\n' || c === ';' || c === '}') printDepth = -1;
      previous = 'operator';
      i++;
      continue;
    }
    if (c === '"') {
      const end = stringEnd(program, i);
      if (end < 0) return fail('unterminated string');
      previous = 'operand';
      i = end;
      continue;
    }
    if (c === '/') {
      if (previous === 'incdec') return fail('/ after ++ or -- may be a regex or a division');
      if (previous === 'operator') {
        const end = regexEnd(program, i);
        if (typeof end === 'string') return fail(end);
        previous = 'operand';
        i = end;
        continue;
      }
      previous = 'operator';
      i += program[i + 1] === '=' ? 2 : 1;
      continue;
    }
    if (IDENT_START.test(c)) {
      const start = i;
      while (i < n && IDENT.test(program[i]!)) i++;
      const word = program.slice(start, i);
      if (word === 'print' || word === 'printf') printDepth = depth;
      previous = KEYWORDS.has(word) ? 'operator' : 'operand';
      lastWord = word;
      continue;
    }
    if (/[0-9.]/.test(c)) {
      while (i < n && /[0-9A-Za-z.]/.test(program[i]!)) i++;
      previous = 'operand';
      continue;
    }
    if (c === '@')
      return {
        effects: [...effects, { kind: 'exec', feature: 'gawk @ directive or indirect call' }],
        problem: undefined,
      };
    if (c === '|') {
      if (program[i + 1] === '|') {
        i += 2;
        previous = 'operator';
        continue;
      }
      effects.push({ kind: 'exec', feature: 'awk | pipe to or from a command' });
      i++;
      previous = 'operator';
      continue;
    }
    if (c === '>') {
      const append = program[i + 1] === '>';
      if (printDepth >= 0 && depth === printDepth) {
        const effect = redirection(program, i + (append ? 2 : 1));
        if (effect !== undefined) effects.push(effect);
        i += append ? 2 : 1;
        previous = 'operator';
        continue;
      }
      i += program[i + 1] === '=' ? 2 : 1;
      previous = 'operator';
      continue;
    }
    if (c === '(' || c === '[') {
      if (c === '(') {
        depth++;
        parens.push(previous === 'operator' && CONDITIONS.has(lastWord));
      }
      previous = 'operator';
      lastWord = '';
      i++;
      continue;
    }
    if (c === ')' || c === ']') {
      previous = 'operand';
      if (c === ')') {
        if (--depth < 0) return fail('unbalanced )');
        if (parens.pop() === true) previous = 'operator';
      }
      i++;
      continue;
    }
    if ((c === '+' || c === '-') && program[i + 1] === c) {
      previous = previous === 'operand' ? 'incdec' : 'operator';
      i += 2;
      continue;
    }
    if (c === '$') {
      if (program[i + 1] === '/') return fail('$/ is not read');
      previous = 'operator';
      i++;
      continue;
    }
    if ('=!<~?:,+-*%^&'.includes(c)) {
      previous = 'operator';
      i++;
      continue;
    }
    return fail(`unexpected character ${c}`);
  }
  return { effects, problem: undefined };
}

/** Index after the string literal starting at `start`; -1 if it does not end on its line. */
function stringEnd(text: string, start: number): number {
  for (let i = start + 1; i < text.length; i++) {
    const c = text[i];
    if (c === '\\') i++;
    else if (c === '"') return i + 1;
    else if (c === '\n') return -1;
  }
  return -1;
}

/**
 * Index after the regex literal at `start`. gawk lets `[/]` stand inside a bracket
 * expression, the one true awk does not: when the two readings end in different places, the
 * program is refused.
 */
function regexEnd(text: string, start: number): number | string {
  let naive = -1;
  let bracketed = -1;
  let inBracket = false;
  for (let i = start + 1; i < text.length && (naive < 0 || bracketed < 0); i++) {
    const c = text[i];
    if (c === '\n') return 'unterminated regex';
    if (c === '\\') {
      i++;
      continue;
    }
    if (c === '/' && naive < 0) naive = i + 1;
    if (inBracket) {
      if (c === ']') inBracket = false;
    } else if (c === '[') {
      inBracket = true;
      if (text[i + 1] === '^') i++;
      if (text[i + 1] === ']') i++;
    } else if (c === '/' && bracketed < 0) bracketed = i + 1;
  }
  if (naive < 0 || bracketed < 0) return 'unterminated regex';
  return naive === bracketed ? naive : 'regex with / in brackets is read differently by awk versions';
}

/** A `print … > TARGET`: the file when TARGET is one plain string ending the statement. */
function redirection(text: string, from: number): Effect | undefined {
  let i = from;
  while (text[i] === ' ' || text[i] === '\t') i++;
  const feature = 'awk print redirection to a file';
  if (text[i] !== '"') return { kind: 'write', feature, path: undefined };
  const end = stringEnd(text, i);
  const name = end < 0 ? undefined : text.slice(i + 1, end - 1);
  let j = end;
  while (text[j] === ' ' || text[j] === '\t') j++;
  const ends = j >= text.length || ';\n}'.includes(text[j]!);
  if (name === undefined || name.includes('\\') || !ends) return { kind: 'write', feature, path: undefined };
  if (STANDARD_FILES.has(name)) return undefined;
  return { kind: 'write', feature, path: literal(name) };
}
