/**
 * A strict reader of a small shell subset: simple commands (assignments before the command
 * name, argv words, redirections), pipelines `|`, lists `&&` `||`, statements ended by `;`, `&`
 * or a newline, and `#` comments without quotes. Inside words: literal characters, single
 * quotes, double quotes, backslash escapes, `$NAME`/`${NAME}`, unquoted globs `* ? [...]`,
 * and a leading `~` before `/`.
 *
 * Everything else is refused with the construct's name (ast.ts UNSUPPORTED_CONSTRUCTS) rather
 * than read approximately: substitutions, arithmetic, expansions with operators or special
 * parameters, here-docs and here-strings, `$'…'`, subshells, groups, compound commands and
 * functions, `!`, `|&`, `&>` and `>&file`, multi-digit file descriptors, brace expansion,
 * `~user`, comments that contain quotes, non-ASCII spaces, invisible and control characters.
 * Where dash and bash read a form differently (`&>`, `$'…'`, `10>f`, `{a,b}`), it is outside.
 *
 * The reading does not have to match dash or bash in every corner: the policy sends the
 * tree's print (print.ts), never this text, and the print means the same in every shell.
 * One pass, no backtracking: linear in the length of the text.
 */
import type { Assign, ParseError, Redir, RedirOp, Script, Stmt, UnsupportedConstruct, Word, WordPart } from './ast.js';

export type ParseResult = { ok: true; script: Script } | { ok: false; error: ParseError };

class Refusal extends Error {
  constructor(
    readonly construct: UnsupportedConstruct | 'syntax',
    message: string,
    readonly pos: number,
  ) {
    super(message);
  }
}

/** Words that open or close compound commands when they stand where a command name would. */
const RESERVED = new Set([
  'if', 'then', 'else', 'elif', 'fi', 'do', 'done', 'case', 'esac', 'while', 'until', 'for', 'in',
  'select', 'function', 'time', 'coproc', '[[', ']]', '{', '}', '!',
]); // prettier-ignore

const NAME_START = /[A-Za-z_]/;
const NAME_CHAR = /[A-Za-z0-9_]/;
/** Characters that end an unquoted word. */
const WORD_END = new Set([' ', '\t', '\n', ';', '&', '|', '<', '>', '(', ')']);
/** After an unquoted or double-quoted `$`, characters that leave the `$` literal in every shell. */
const LITERAL_DOLLAR_BEFORE = new Set([
  ' ',
  '\t',
  '\n',
  ';',
  '&',
  '|',
  '<',
  '>',
  ')',
  '/',
  '.',
  ':',
  ',',
  '=',
  '%',
  '+',
  '^',
  '~',
  ']',
  '}',
]);
/** Bracket expression contents kept as a glob; anything else makes `[` a literal character. */
const BRACKET_BODY = /^[!^]?[A-Za-z0-9._:+@%,=-]{1,64}$/;

/** Parses `text`; see the module comment for the subset. */
export function parseScript(text: string): ParseResult {
  try {
    checkCharacters(text);
    return { ok: true, script: new Parser(text).script() };
  } catch (err) {
    if (err instanceof Refusal)
      return { ok: false, error: { construct: err.construct, message: err.message, pos: err.pos } };
    throw err;
  }
}

/** Characters refused wherever they stand: controls, non-ASCII spaces, invisible format characters. */
function checkCharacters(text: string): void {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code >= 0x20 && code < 0x7f) continue;
    const hex = `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
    if ((code < 0x20 && code !== 0x09 && code !== 0x0a) || (code >= 0x7f && code <= 0x9f))
      throw new Refusal('control_character', `the control character ${hex} is never allowed`, i);
    if (code < 0xa0) continue;
    if (code === 0xa0 || code === 0x1680 || (code >= 0x2000 && code <= 0x200a) || code === 0x2028 || code === 0x2029 || code === 0x202f || code === 0x205f || code === 0x3000)
      throw new Refusal('non_ascii_space', `the non-ASCII space ${hex} looks like a blank but is not one to a shell`, i);
    if (code === 0xad || (code >= 0x200b && code <= 0x200f) || (code >= 0x202a && code <= 0x202e) || (code >= 0x2060 && code <= 0x2069) || code === 0xfeff || (code >= 0xfff9 && code <= 0xfffb))
      throw new Refusal('invisible_character', `the invisible character ${hex} hides what the text says`, i);
    if (code >= 0xd800 && code <= 0xdfff) {
      const next = text.charCodeAt(i + 1);
      if (code <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) i++;
      else throw new Refusal('control_character', `a lone UTF-16 surrogate ${hex} is not a character`, i);
    }
  }
} // prettier-ignore

type Token =
  | { kind: 'word'; word: Word; bareText: string | undefined; end: number }
  | { kind: 'op'; op: string; pos: number }
  | { kind: 'newline'; pos: number }
  | { kind: 'eof'; pos: number };

class Parser {
  private pos = 0;
  private peeked: Token | undefined;
  /** Text up to here was already scanned for brace expansion (keeps the scan linear). */
  private braceScannedTo = 0;

  constructor(private readonly text: string) {}

  script(): Script {
    const stmts: Stmt[] = [];
    this.skipNewlines();
    while (this.peek().kind !== 'eof') {
      const body = this.andOr();
      const next = this.peek();
      let background = false;
      if (next.kind === 'op' && (next.op === ';' || next.op === '&')) {
        this.take();
        background = next.op === '&';
      } else if (next.kind !== 'newline' && next.kind !== 'eof') {
        throw this.unexpected(next);
      }
      stmts.push({ body, background });
      this.skipNewlines();
    }
    return { stmts };
  }

  private andOr(): Stmt['body'] {
    const first = this.pipeline();
    const rest: Stmt['body']['rest'] = [];
    for (;;) {
      const next = this.peek();
      if (next.kind !== 'op' || (next.op !== '&&' && next.op !== '||')) return { first, rest };
      this.take();
      this.skipNewlines();
      rest.push({ op: next.op, pipeline: this.pipeline() });
    }
  }

  private pipeline(): Stmt['body']['first'] {
    const commands = [this.call()];
    for (;;) {
      const next = this.peek();
      if (next.kind !== 'op' || next.op !== '|') return { commands };
      this.take();
      this.skipNewlines();
      commands.push(this.call());
    }
  }

  private call(): Stmt['body']['first']['commands'][number] {
    const assigns: Assign[] = [];
    const args: Word[] = [];
    const redirs: Redir[] = [];
    const start = this.peek();
    const pos = start.kind === 'word' ? start.word.pos : start.pos;
    let end = pos;
    for (;;) {
      const token = this.peek();
      if (token.kind === 'word') {
        this.take();
        end = token.end;
        if (args.length === 0) {
          const assign = asAssignment(token);
          if (assign !== undefined) {
            assigns.push(assign);
            continue;
          }
          this.checkCommandName(token);
        }
        args.push(token.word);
      } else if (token.kind === 'op' && isRedirStart(token.op)) {
        redirs.push(this.redirection());
        end = this.pos;
      } else if (token.kind === 'op' && token.op === '(') {
        if (args.length === 1 && this.text[token.pos + 1] === ')')
          throw new Refusal('function_definition', 'function definitions are not supported', token.pos);
        throw new Refusal('subshell', 'subshells `( … )` are not supported', token.pos);
      } else {
        break;
      }
    }
    if (args.length === 0) {
      const next = this.peek();
      if (assigns.length > 0)
        throw new Refusal(
          'assignment',
          'a variable assignment without a command is not supported (it would change later commands)',
          pos,
        );
      if (redirs.length > 0)
        throw new Refusal('redirection_only', 'a redirection without a command is not supported', pos);
      throw this.unexpected(next);
    }
    return { assigns, args, redirs, pos, end };
  }

  private checkCommandName(token: Extract<Token, { kind: 'word' }>): void {
    const bare = token.bareText;
    if (bare === undefined || !RESERVED.has(bare)) return;
    const pos = token.word.pos;
    if (bare === '{' || bare === '}') throw new Refusal('group', 'command groups `{ …; }` are not supported', pos);
    if (bare === '!') throw new Refusal('negation', 'negating a pipeline with `!` is not supported', pos);
    if (bare === 'function') throw new Refusal('function_definition', 'function definitions are not supported', pos);
    throw new Refusal(
      'compound_command',
      `the shell keyword '${bare}' is not supported (only simple commands are)`,
      pos,
    );
  }

  private redirection(): Redir {
    const opToken = this.take() as Extract<Token, { kind: 'op' }>;
    const match = /^([0-9]?)(.+)$/.exec(opToken.op) as RegExpExecArray;
    const fd = match[1] === '' ? undefined : Number(match[1]);
    const op = match[2] as RedirOp;
    const target = this.peek();
    if (target.kind !== 'word')
      throw new Refusal('syntax', `a redirection '${opToken.op}' needs a file name after it`, opToken.pos);
    this.take();
    if (op === '<&' || op === '>&') {
      const value = target.bareText;
      if (value === undefined || !/^(?:[0-9]|-)$/.test(value))
        throw new Refusal(
          'ampersand_redirect',
          `'${opToken.op}' followed by anything but one digit or '-' means different things to bash and dash`,
          opToken.pos,
        );
    }
    return { fd, op, target: target.word, pos: opToken.pos };
  }

  private skipNewlines(): void {
    while (this.peek().kind === 'newline') this.take();
  }

  private unexpected(token: Token): Refusal {
    if (token.kind === 'eof') return new Refusal('syntax', 'the command ends where a command was expected', token.pos);
    if (token.kind === 'newline') return new Refusal('syntax', 'a line ends where a command was expected', token.pos);
    if (token.kind === 'op') {
      if (token.op === ')') return new Refusal('subshell', "an unmatched ')'", token.pos);
      return new Refusal('syntax', `'${token.op}' stands where a command was expected`, token.pos);
    }
    return new Refusal('syntax', 'unexpected word', token.word.pos);
  }

  private peek(): Token {
    this.peeked ??= this.lex();
    return this.peeked;
  }

  private take(): Token {
    const token = this.peek();
    this.peeked = undefined;
    return token;
  }

  // ---- lexer ----

  private lex(): Token {
    const text = this.text;
    for (;;) {
      const c = text[this.pos];
      if (c === ' ' || c === '\t') this.pos++;
      else if (c === '\\' && text[this.pos + 1] === '\n') this.pos += 2;
      else if (c === '#') this.comment();
      else break;
    }
    const pos = this.pos;
    const c = text[pos];
    if (c === undefined) return { kind: 'eof', pos };
    if (c === '\n') {
      this.pos++;
      return { kind: 'newline', pos };
    }
    if (c === '&' || c === '|' || c === ';' || c === '(' || c === ')' || c === '<' || c === '>')
      return this.operator(pos);
    if (/[0-9]/.test(c)) {
      // An IO number: digits right before `<` or `>`. dash reads only one digit as a
      // descriptor (`10>f` is the word 10 and `>f`), bash several: more than one is refused.
      let end = pos;
      while (end < text.length && /[0-9]/.test(text[end] as string)) end++;
      const after = text[end];
      if (after === '<' || after === '>') {
        if (end - pos > 1)
          throw new Refusal('fd_number', 'file descriptors above 9 are read differently by dash and bash', pos);
        this.pos = end;
        const op = this.operator(end);
        if (op.kind === 'op') return { ...op, op: c + op.op, pos };
      }
    }
    return this.word();
  }

  private comment(): void {
    const text = this.text;
    let end = text.indexOf('\n', this.pos);
    if (end < 0) end = text.length;
    const body = text.slice(this.pos, end);
    const quote = /['"`\\]/.exec(body);
    if (quote !== null)
      throw new Refusal(
        'comment_with_quotes',
        'a comment containing quotes or backslashes is not supported',
        this.pos + quote.index,
      );
    this.pos = end;
  }

  private operator(pos: number): Token {
    const t = this.text;
    const c = t[pos] as string;
    const n = t[pos + 1];
    const n2 = t[pos + 2];
    let op: string;
    if (c === '&') {
      if (n === '&') op = '&&';
      else if (n === '>') throw new Refusal('ampersand_redirect', "'&>' means 'redirect both' to bash but 'run in background, then redirect' to dash", pos);
      else op = '&';
    } else if (c === '|') {
      if (n === '|') op = '||';
      else if (n === '&') throw new Refusal('pipe_stderr', "'|&' is bash-only", pos);
      else op = '|';
    } else if (c === ';') {
      if (n === ';' || n === '&') throw new Refusal('compound_command', `'${c}${n}' belongs to case statements, which are not supported`, pos);
      op = ';';
    } else if (c === '(') {
      if (n === '(') throw new Refusal('arithmetic', 'arithmetic `(( … ))` is not supported', pos);
      op = '(';
    } else if (c === ')') {
      op = ')';
    } else if (c === '<') {
      if (n === '<') throw n2 === '<' ? new Refusal('herestring', 'here-strings `<<<` are not supported', pos) : new Refusal('heredoc', 'here-documents `<<` are not supported', pos);
      if (n === '(') throw new Refusal('process_substitution', 'process substitution `<( … )` is not supported', pos);
      op = n === '&' ? '<&' : n === '>' ? '<>' : '<';
    } else {
      if (n === '(') throw new Refusal('process_substitution', 'process substitution `>( … )` is not supported', pos);
      op = n === '>' ? '>>' : n === '|' ? '>|' : n === '&' ? '>&' : '>';
      if (op === '>>' && n2 === '&') throw new Refusal('ampersand_redirect', "'>>&' is not supported", pos);
    }
    this.pos = pos + op.length;
    if (this.text[this.pos] === '(' && (op === '<' || op === '>'))
      throw new Refusal('process_substitution', 'process substitution is not supported', pos);
    return { kind: 'op', op, pos };
  } // prettier-ignore

  /** One word: the parts up to the next unquoted blank or operator character. */
  private word(): Token {
    const text = this.text;
    const start = this.pos;
    const parts: WordPart[] = [];
    /** Only unquoted literal characters so far (for reserved words, assignments, `<&N` targets). */
    let bare = true;
    const lit = (value: string, quoted: boolean): void => {
      const last = parts[parts.length - 1];
      if (last?.kind === 'lit' && last.quoted === quoted) last.value += value;
      else parts.push({ kind: 'lit', value, quoted });
    };
    while (this.pos < text.length) {
      const c = text[this.pos] as string;
      if (WORD_END.has(c)) break;
      if (c === "'") {
        const close = text.indexOf("'", this.pos + 1);
        if (close < 0) throw new Refusal('syntax', 'a single quote is never closed', this.pos);
        lit(text.slice(this.pos + 1, close), true);
        this.pos = close + 1;
        bare = false;
      } else if (c === '"') {
        this.doubleQuoted(parts, lit);
        bare = false;
      } else if (c === '\\') {
        const next = text[this.pos + 1];
        if (next === undefined) throw new Refusal('syntax', 'the command ends with a backslash', this.pos);
        if (next === '\n') this.pos += 2;
        else {
          lit(next, true);
          this.pos += 2;
          bare = false;
        }
      } else if (c === '$') {
        this.dollar(parts, lit, false);
        bare = false;
      } else if (c === '`') {
        throw new Refusal('command_substitution', 'backtick command substitution is not supported', this.pos);
      } else if (c === '*' || c === '?') {
        parts.push({ kind: 'glob', value: c });
        this.pos++;
        bare = false;
      } else if (c === '[') {
        // Looked for within a bounded window, so a text full of '[' stays linear.
        const window = text.slice(this.pos + 1, this.pos + 67);
        const close = window.indexOf(']');
        const body = close < 0 ? '' : window.slice(0, close);
        if (close > 0 && BRACKET_BODY.test(body)) {
          parts.push({ kind: 'glob', value: `[${body}]` });
          this.pos += close + 2;
          bare = false;
        } else {
          lit('[', true);
          this.pos++;
        }
      } else if (c === '~' && this.pos === start) {
        const next = text[this.pos + 1];
        if (next !== undefined && next !== '/' && !WORD_END.has(next))
          throw new Refusal('tilde_prefix', "only '~' and '~/' are supported, not '~user', '~+' or '~-'", this.pos);
        parts.push({ kind: 'tilde' });
        this.pos++;
        bare = false;
      } else if (c === '~' && (text[this.pos - 1] === '=' || text[this.pos - 1] === ':')) {
        // bash expands `~` after `=` and `:` in assignment-like words (`a=~/x`), dash does not.
        throw new Refusal(
          'tilde_prefix',
          "an unquoted '~' after '=' or ':' is expanded by bash but not by dash; quote it or write the path",
          this.pos,
        );
      } else if (c === '{') {
        this.checkBraceExpansion();
        lit('{', false);
        this.pos++;
      } else {
        lit(c, false);
        this.pos++;
      }
    }
    const word: Word = { parts, pos: start };
    return {
      kind: 'word',
      word,
      bareText: bare ? parts.map((p) => (p.kind === 'lit' ? p.value : '')).join('') : undefined,
      end: this.pos,
    };
  }

  /** `{a,b}` and `{1..3}` are expanded by bash and kept literally by dash. */
  private checkBraceExpansion(): void {
    const text = this.text;
    if (this.pos < this.braceScannedTo) return;
    let depth = 0;
    let i = this.pos;
    for (; i < text.length; i++) {
      const c = text[i] as string;
      if (WORD_END.has(c) || c === "'" || c === '"' || c === '\\' || c === '$') break;
      if (c === '{') depth++;
      else if (c === '}') {
        depth--;
        if (depth === 0) break;
      } else if (depth > 0 && (c === ',' || (c === '.' && text[i + 1] === '.')))
        throw new Refusal('brace_expansion', 'brace expansion `{a,b}`/`{1..3}` is bash-only', this.pos);
    }
    this.braceScannedTo = i;
  }

  private doubleQuoted(parts: WordPart[], lit: (value: string, quoted: boolean) => void): void {
    const text = this.text;
    const open = this.pos;
    this.pos++;
    for (;;) {
      const c = text[this.pos];
      if (c === undefined) throw new Refusal('syntax', 'a double quote is never closed', open);
      if (c === '"') {
        this.pos++;
        // `""` is an empty word, not nothing.
        if (this.pos === open + 2) lit('', true);
        return;
      }
      if (c === '\\') {
        const next = text[this.pos + 1];
        if (next === '\n') this.pos += 2;
        else if (next === '$' || next === '`' || next === '"' || next === '\\') {
          lit(next, true);
          this.pos += 2;
        } else {
          lit('\\', true);
          this.pos++;
        }
      } else if (c === '$') {
        this.dollar(parts, lit, true);
      } else if (c === '`') {
        throw new Refusal('command_substitution', 'backtick command substitution is not supported', this.pos);
      } else {
        lit(c, true);
        this.pos++;
      }
    }
  }

  /** `$NAME`, `${NAME}`, or a `$` every shell keeps literally; anything else is refused. */
  private dollar(parts: WordPart[], lit: (value: string, quoted: boolean) => void, inDouble: boolean): void {
    const text = this.text;
    const at = this.pos;
    const next = text[at + 1];
    if (next === undefined || LITERAL_DOLLAR_BEFORE.has(next) || (inDouble && (next === '"' || next === "'"))) {
      lit('$', true);
      this.pos++;
      return;
    }
    if (NAME_START.test(next)) {
      let end = at + 2;
      while (end < text.length && NAME_CHAR.test(text[end] as string)) end++;
      parts.push({ kind: 'param', name: text.slice(at + 1, end), quoted: inDouble });
      this.pos = end;
      return;
    }
    if (next === '{') {
      let end = at + 2;
      if (NAME_START.test(text[end] ?? '')) while (end < text.length && NAME_CHAR.test(text[end] as string)) end++;
      if (end > at + 2 && text[end] === '}') {
        parts.push({ kind: 'param', name: text.slice(at + 2, end), quoted: inDouble });
        this.pos = end + 1;
        return;
      }
      throw new Refusal('parameter_expansion', 'only ${NAME} is supported, not expansions with operators, indirection or subscripts', at);
    }
    if (next === '(') {
      if (text[at + 2] === '(') throw new Refusal('arithmetic', 'arithmetic expansion $(( … )) is not supported', at);
      throw new Refusal('command_substitution', 'command substitution $( … ) is not supported', at);
    }
    if (next === "'") throw new Refusal('ansi_c_quoting', "$'…' quoting is bash-only (dash reads it as '$' and a quoted string)", at);
    if (next === '"') throw new Refusal('locale_quoting', '$"…" quoting is bash-only', at);
    throw new Refusal('parameter_expansion', `the special parameter $${next} is not supported`, at);
  } // prettier-ignore
}

function isRedirStart(op: string): boolean {
  return /^[0-9]?(?:<|>|>>|>\||<>|<&|>&)$/.test(op);
}

/** `NAME=value` in command-name position, the name written bare. */
function asAssignment(token: Extract<Token, { kind: 'word' }>): Assign | undefined {
  const first = token.word.parts[0];
  if (first?.kind !== 'lit' || first.quoted) return undefined;
  const m = /^([A-Za-z_][A-Za-z0-9_]*)=/.exec(first.value);
  if (m === null) return undefined;
  const name = m[1] as string;
  const restOfFirst = first.value.slice(name.length + 1);
  const valueParts: WordPart[] = restOfFirst === '' ? [] : [{ kind: 'lit', value: restOfFirst, quoted: false }];
  valueParts.push(...token.word.parts.slice(1));
  return { name, value: { parts: valueParts, pos: token.word.pos + name.length + 1 }, pos: token.word.pos };
}
