/**
 * A conservative reader of GNU sed scripts. It walks the script as GNU sed does (addresses,
 * `!`, `{…}` blocks, `;`/newline separators, `s` and `y` with any delimiter, `a`/`i`/`c` text,
 * labels, file names) and reports what the script does beyond editing its input: the `e`
 * command and `s///e` run a shell, `w`/`W` and `s///w` write a file. Anything it cannot read
 * is a problem, so a script is only accepted when every command in it is known.
 */
import { literal } from './args.js';
import type { Effect } from './types.js';

export interface SedScan {
  effects: Effect[];
  /** Set when the script could not be read with certainty. */
  problem: string | undefined;
}

/** Commands without an argument. */
const PLAIN = new Set('=dDgGhHnNpPxzF');
/** Files GNU sed writes to without opening a file. */
const STANDARD_FILES = new Set(['/dev/stdout', '/dev/stderr']);

class Reader {
  pos = 0;
  constructor(readonly text: string) {}
  peek(): string | undefined {
    return this.text[this.pos];
  }
  atEnd(): boolean {
    return this.pos >= this.text.length;
  }
  skipBlanks(): void {
    while (this.peek() === ' ' || this.peek() === '\t') this.pos++;
  }
  /** The rest of the line (for file names and labels), not including the newline. */
  line(stopAtSemicolon: boolean): string {
    const start = this.pos;
    while (!this.atEnd() && this.peek() !== '\n' && !(stopAtSemicolon && this.peek() === ';')) this.pos++;
    return this.text.slice(start, this.pos);
  }
  /** Text up to an unescaped `delimiter`, consumed; false when the script ends first. */
  delimited(delimiter: string): boolean {
    while (!this.atEnd()) {
      const c = this.text[this.pos++];
      if (c === '\\') this.pos++;
      else if (c === delimiter) return true;
    }
    return false;
  }
}

export function scanSedScript(script: string): SedScan {
  const r = new Reader(script);
  const effects: Effect[] = [];
  const fail = (problem: string): SedScan => ({ effects, problem: `sed script: ${problem}` });
  let depth = 0;
  for (;;) {
    while (!r.atEnd() && ' \t\n;'.includes(r.peek()!)) r.pos++;
    if (r.atEnd()) break;
    if (r.peek() === '#') {
      r.line(false);
      continue;
    }
    const addressProblem = readAddresses(r);
    if (addressProblem !== undefined) return fail(addressProblem);
    r.skipBlanks();
    while (r.peek() === '!') {
      r.pos++;
      r.skipBlanks();
    }
    const command = r.text[r.pos++];
    if (command === undefined) return fail('address without a command');
    if (command === '{') {
      depth++;
      continue;
    }
    if (command === '}') {
      if (--depth < 0) return fail('unexpected }');
    } else if (PLAIN.has(command)) {
      // nothing to read
    } else if (command === 'q' || command === 'Q' || command === 'l' || command === 'L') {
      r.skipBlanks();
      while (/[0-9]/.test(r.peek() ?? '')) r.pos++;
    } else if (command === ':') {
      r.skipBlanks();
      if (r.line(true).trim() === '') return fail('empty label');
    } else if (command === 'b' || command === 't' || command === 'T') {
      r.skipBlanks();
      r.line(true);
    } else if (command === 'v') {
      r.skipBlanks();
      r.line(true);
    } else if (command === 'a' || command === 'i' || command === 'c') {
      readText(r);
      continue;
    } else if (command === 'r' || command === 'R') {
      r.skipBlanks();
      r.line(false); // reads a file: harmless
      continue;
    } else if (command === 'w' || command === 'W') {
      r.skipBlanks();
      pushWrite(effects, `sed ${command} command`, r.line(false));
      continue;
    } else if (command === 'e') {
      effects.push({ kind: 'exec', feature: 'sed e command' });
      r.line(false);
      continue;
    } else if (command === 's' || command === 'y') {
      const delimiter = r.text[r.pos++];
      if (delimiter === undefined || delimiter === '\n' || delimiter === '\\') return fail(`bad ${command} delimiter`);
      if (!r.delimited(delimiter) || !r.delimited(delimiter)) return fail(`unterminated ${command} command`);
      if (command === 's') {
        const flags = readSubstituteFlags(r, effects);
        if (typeof flags === 'string') return fail(flags);
        if (flags.wroteFile) continue;
      }
    } else {
      return fail(`unknown command ${command}`);
    }
    r.skipBlanks();
    const next = r.peek();
    if (next !== undefined && !';\n}#'.includes(next)) return fail(`unexpected ${next} after ${command}`);
  }
  if (depth !== 0) return fail('unbalanced {');
  return { effects, problem: undefined };
}

/** `ADDR`, `ADDR,ADDR`: numbers, `first~step`, `$`, `/re/I`, `\cREc`, `+N`, `~N`. */
function readAddresses(r: Reader): string | undefined {
  for (let n = 0; n < 2; n++) {
    const c = r.peek();
    if (c === undefined) return undefined;
    if (/[0-9]/.test(c)) {
      while (/[0-9~]/.test(r.peek() ?? '')) r.pos++;
    } else if (c === '$') {
      r.pos++;
    } else if (c === '/' || c === '\\') {
      r.pos++;
      const delimiter = c === '/' ? '/' : r.text[r.pos++];
      if (delimiter === undefined || delimiter === '\n' || delimiter === '\\') return 'bad address delimiter';
      if (!r.delimited(delimiter)) return 'unterminated address';
      while (r.peek() === 'I' || r.peek() === 'M') r.pos++;
    } else if (n === 1 && (c === '+' || c === '~')) {
      r.pos++;
      while (/[0-9]/.test(r.peek() ?? '')) r.pos++;
    } else {
      return n === 0 ? undefined : 'bad second address';
    }
    r.skipBlanks();
    if (n === 1 || r.peek() !== ',') return undefined;
    r.pos++;
    r.skipBlanks();
  }
  return undefined;
}

/** The flags of `s`: g p i I m M and a number are harmless; e runs, w writes (to the line's end). */
function readSubstituteFlags(r: Reader, effects: Effect[]): string | { wroteFile: boolean } {
  for (;;) {
    const c = r.peek();
    if (c === undefined || ';\n}# \t'.includes(c)) return { wroteFile: false };
    r.pos++;
    if (c === 'e') effects.push({ kind: 'exec', feature: 'sed s///e flag' });
    else if (c === 'w') {
      r.skipBlanks();
      pushWrite(effects, 'sed s///w flag', r.line(false));
      return { wroteFile: true };
    } else if (!'gpiImM0123456789'.includes(c)) return `unknown s flag ${c}`;
  }
}

/** `a text`, `a\` NEWLINE `text`, continued by a backslash at the end of a line: data. */
function readText(r: Reader): void {
  r.skipBlanks();
  if (r.peek() === '\\') {
    r.pos++;
    r.skipBlanks();
    if (r.peek() === '\n') r.pos++;
  }
  while (!r.atEnd()) {
    const c = r.text[r.pos++];
    if (c === '\\') r.pos++;
    else if (c === '\n') return;
  }
}

function pushWrite(effects: Effect[], feature: string, file: string): void {
  if (STANDARD_FILES.has(file)) return;
  effects.push({ kind: 'write', feature, path: file === '' ? undefined : literal(file) });
}
