/**
 * A small shell-aware scanner. It does not execute or fully parse shell; it finds the places
 * where one command line becomes several commands, so the policy can judge each one:
 *
 * - segments: split on `;`, `&&`, `||`, `|`, `|&`, `&` and newline, but only outside quotes
 *   and never on an escaped character. `&` inside the redirections `>&`, `<&`, `&>` is not a
 *   separator. Plain parentheses and braces are not understood; text such as `(reboot)` simply
 *   stays in its segment, where no allow rule matches it.
 * - substitutions: `$(...)` (and so also arithmetic `$((...))`), backticks, `<(...)`, `>(...)`
 *   and here-docs `<<` / `<<-`, found outside single quotes (inside double quotes too, where
 *   the shell still expands them). The text inside a substitution is returned as a nested
 *   command line because the shell will run it. Here-strings (`<<<`) feed a word to stdin and
 *   run nothing, so they stay ordinary text of the segment.
 * - here-doc bodies are consumed (they are not segments); when the delimiter is unquoted the
 *   shell expands `$(...)` and backticks in the body, so those are returned as nested too.
 * - what a segment gets on stdin from here-docs and here-strings is kept as `stdinText`, and
 *   whether its stdin is the previous segment's output as `fromPipe`: both are data to most
 *   commands, but the program of a shell that reads stdin (`sh <<<cmd`, `echo cmd | sh`).
 * - `#` comments are not recognised: text after `#` is still scanned, which can only make a
 *   decision stricter.
 *
 * Anything the scanner cannot follow (an unterminated quote, substitution or here-doc) is a
 * parse error, and the policy denies it.
 */

export type SubstitutionKind = 'command_substitution' | 'backticks' | 'process_substitution' | 'heredoc';

export interface ParsedSegment {
  /** The segment's text as written (trimmed), without any here-doc bodies. */
  raw: string;
  /** Kinds of substitution found in this segment, in order of appearance (may repeat). */
  substitutions: SubstitutionKind[];
  /** Command lines the shell will run on behalf of this segment (insides of substitutions). */
  nested: string[];
  /** Text fed to the segment's stdin: here-doc bodies and here-string words (quotes as written). */
  stdinText: string[];
  /** The segment's stdin is the previous segment's output (it follows `|` or `|&`). */
  fromPipe: boolean;
}

export type ParseResult = { ok: true; segments: ParsedSegment[] } | { ok: false; error: string };

class ParseError extends Error {}

/** Deeper nesting of quotes inside substitutions is refused rather than followed. */
const MAX_SCAN_NESTING = 64;

interface PendingHeredoc {
  delimiter: string;
  stripTabs: boolean;
  expands: boolean;
  /** The `nested` list of the segment that opened the here-doc. */
  ownerNested: string[];
  /** The `stdinText` list of the segment that opened the here-doc. */
  ownerStdin: string[];
}

/** Splits a command line into segments; see the module comment for what is recognised. */
export function parseCommand(command: string): ParseResult {
  try {
    return { ok: true, segments: new Scanner(command).scan() };
  } catch (err) {
    if (err instanceof ParseError) return { ok: false, error: err.message };
    throw err;
  }
}

class Scanner {
  private pos = 0;
  private readonly segments: ParsedSegment[] = [];
  private current = '';
  private substitutions: SubstitutionKind[] = [];
  private nested: string[] = [];
  private stdinText: string[] = [];
  private fromPipe = false;
  /** Start of the here-string word being scanned, if any (it ends at an unquoted blank or operator). */
  private hereStringFrom: number | undefined;
  private pendingHeredocs: PendingHeredoc[] = [];

  constructor(
    private readonly text: string,
    private nesting = 0,
  ) {}

  private enter(): void {
    if (++this.nesting > MAX_SCAN_NESTING) throw new ParseError('quotes and substitutions are nested too deeply');
  }

  scan(): ParsedSegment[] {
    const s = this.text;
    while (this.pos < s.length) {
      const c = s[this.pos] as string;
      const next = s[this.pos + 1];
      // Quotes, escapes and substitutions are consumed whole below, so a character seen here
      // is unquoted.
      if (this.hereStringFrom !== undefined && /[\s;&|<>()]/.test(c)) this.endHereString();
      if (c === '\\') {
        this.take(this.pos + 2);
      } else if (c === "'") {
        this.take(this.endOfSingleQuote(this.pos + 1));
      } else if (c === '$' && next === "'") {
        this.take(this.endOfAnsiCQuote(this.pos + 2));
      } else if (c === '"') {
        this.take(this.endOfDoubleQuote(this.pos + 1));
      } else if (c === '`') {
        this.take(this.endOfBackticks(this.pos + 1));
      } else if (c === '$' && next === '(') {
        this.take(this.endOfParenSubstitution(this.pos + 2, 'command_substitution'));
      } else if ((c === '<' || c === '>') && next === '(') {
        this.take(this.endOfParenSubstitution(this.pos + 2, 'process_substitution'));
      } else if (c === '<' && next === '<') {
        this.scanHereOperator();
      } else if (c === '\n') {
        this.endSegment(1);
        this.readHeredocBodies();
      } else if (c === ';') {
        this.endSegment(1);
      } else if (c === '&' && next === '&') {
        this.endSegment(2);
      } else if (c === '|') {
        this.endSegment(next === '|' || next === '&' ? 2 : 1);
        this.fromPipe = next !== '|';
      } else if (c === '&' && !this.isRedirectionAmpersand()) {
        this.endSegment(1);
      } else {
        this.take(this.pos + 1);
      }
    }
    if (this.pendingHeredocs.length > 0) {
      throw new ParseError(`here-doc delimited by '${this.pendingHeredocs[0]?.delimiter}' has no body or end line`);
    }
    this.endHereString();
    this.endSegment(0);
    return this.segments;
  }

  /** Appends text up to `end` to the current segment. */
  private take(end: number): void {
    const stop = Math.min(end, this.text.length);
    this.current += this.text.slice(this.pos, stop);
    this.pos = stop;
  }

  private endSegment(operatorLength: number): void {
    const raw = this.current.trim();
    if (raw !== '') {
      this.segments.push({
        raw,
        substitutions: this.substitutions,
        nested: this.nested,
        stdinText: this.stdinText,
        fromPipe: this.fromPipe,
      });
    }
    this.current = '';
    this.substitutions = [];
    this.nested = [];
    this.stdinText = [];
    this.fromPipe = false;
    this.pos += operatorLength;
  }

  /** `>&`, `<&` (fd duplication) and `&>` (redirect both streams) are not separators. */
  private isRedirectionAmpersand(): boolean {
    const prev = this.text[this.pos - 1];
    const next = this.text[this.pos + 1];
    return prev === '>' || prev === '<' || next === '>';
  }

  private endOfSingleQuote(from: number): number {
    const close = this.text.indexOf("'", from);
    if (close === -1) throw new ParseError('unterminated single quote');
    return close + 1;
  }

  /** `$'...'`: like single quotes, except that a backslash escapes the next character. */
  private endOfAnsiCQuote(from: number): number {
    for (let i = from; i < this.text.length; i++) {
      const c = this.text[i];
      if (c === '\\') i++;
      else if (c === "'") return i + 1;
    }
    throw new ParseError("unterminated $'...' quote");
  }

  /** Inside double quotes `$(...)` and backticks still run commands, so they are recorded. */
  private endOfDoubleQuote(from: number): number {
    this.enter();
    let i = from;
    while (i < this.text.length) {
      const c = this.text[i];
      if (c === '\\') i += 2;
      else if (c === '"') {
        this.nesting--;
        return i + 1;
      } else if (c === '`') i = this.endOfBackticks(i + 1);
      else if (c === '$' && this.text[i + 1] === '(') i = this.endOfParenSubstitution(i + 2, 'command_substitution');
      else i++;
    }
    throw new ParseError('unterminated double quote');
  }

  private endOfBackticks(from: number): number {
    for (let i = from; i < this.text.length; i++) {
      const c = this.text[i];
      if (c === '\\') i++;
      else if (c === '`') {
        this.recordSubstitution('backticks', this.text.slice(from, i));
        return i + 1;
      }
    }
    throw new ParseError('unterminated backtick substitution');
  }

  /** Finds the `)` that closes a `$(`, `<(` or `>(` opened just before `from`. */
  private endOfParenSubstitution(from: number, kind: SubstitutionKind): number {
    this.enter();
    const inner = new Scanner(this.text, this.nesting);
    let depth = 1;
    let i = from;
    while (i < this.text.length) {
      const c = this.text[i];
      if (c === '\\') i += 2;
      else if (c === "'") i = inner.endOfSingleQuote(i + 1);
      else if (c === '"') i = inner.endOfDoubleQuote(i + 1);
      else if (c === '`') i = inner.endOfBackticks(i + 1);
      else if (c === '(') {
        depth++;
        i++;
      } else if (c === ')') {
        depth--;
        if (depth === 0) {
          // Substitutions nested in this one belong to its inner command line, which the
          // policy parses again; only this level's text is recorded here.
          this.recordSubstitution(kind, this.text.slice(from, i));
          this.nesting--;
          return i + 1;
        }
        i++;
      } else i++;
    }
    throw new ParseError(
      kind === 'process_substitution' ? 'unterminated process substitution' : 'unterminated $( substitution',
    );
  }

  private recordSubstitution(kind: SubstitutionKind, innerCommand: string): void {
    this.substitutions.push(kind);
    if (innerCommand.trim() !== '') this.nested.push(innerCommand);
  }

  /** At `<<`: a here-string `<<<` stays plain text; otherwise read a here-doc's delimiter word. */
  private scanHereOperator(): void {
    if (this.text[this.pos + 2] === '<') {
      this.take(this.pos + 3);
      while (this.text[this.pos] === ' ' || this.text[this.pos] === '\t') this.take(this.pos + 1);
      this.hereStringFrom = this.pos;
      return;
    }
    const stripTabs = this.text[this.pos + 2] === '-';
    this.take(this.pos + (stripTabs ? 3 : 2));
    while (this.text[this.pos] === ' ' || this.text[this.pos] === '\t') this.take(this.pos + 1);
    const start = this.pos;
    let delimiter = '';
    let quoted = false;
    while (this.pos < this.text.length && !/[\s;&|<>()]/.test(this.text[this.pos] as string)) {
      const c = this.text[this.pos] as string;
      if (c === "'" || c === '"') {
        const close = this.text.indexOf(c, this.pos + 1);
        if (close === -1) throw new ParseError('unterminated quote in here-doc delimiter');
        delimiter += this.text.slice(this.pos + 1, close);
        quoted = true;
        this.pos = close + 1;
      } else if (c === '\\') {
        delimiter += this.text[this.pos + 1] ?? '';
        quoted = true;
        this.pos += 2;
      } else {
        delimiter += c;
        this.pos++;
      }
    }
    this.current += this.text.slice(start, this.pos);
    if (delimiter === '') throw new ParseError('here-doc operator without a delimiter word');
    this.substitutions.push('heredoc');
    this.pendingHeredocs.push({
      delimiter,
      stripTabs,
      expands: !quoted,
      ownerNested: this.nested,
      ownerStdin: this.stdinText,
    });
  }

  /** Records the here-string word that ends at the current position. */
  private endHereString(): void {
    if (this.hereStringFrom === undefined) return;
    const word = this.text.slice(this.hereStringFrom, this.pos);
    if (word !== '') this.stdinText.push(word);
    this.hereStringFrom = undefined;
  }

  /** After a newline, consume the bodies of here-docs opened on the line just ended. */
  private readHeredocBodies(): void {
    for (const heredoc of this.pendingHeredocs) {
      const bodyLines: string[] = [];
      let terminated = false;
      while (this.pos < this.text.length) {
        const lineEnd = this.text.indexOf('\n', this.pos);
        const line = this.text.slice(this.pos, lineEnd === -1 ? this.text.length : lineEnd);
        this.pos = lineEnd === -1 ? this.text.length : lineEnd + 1;
        const stripped = heredoc.stripTabs ? line.replace(/^\t+/, '') : line;
        if (stripped === heredoc.delimiter) {
          terminated = true;
          break;
        }
        bodyLines.push(stripped);
      }
      if (!terminated) throw new ParseError(`here-doc is not closed by a '${heredoc.delimiter}' line`);
      // The body is the stdin of the command: data to most, the program of a shell.
      heredoc.ownerStdin.push(bodyLines.join('\n'));
      if (heredoc.expands) heredoc.ownerNested.push(...Scanner.substitutionsInText(bodyLines.join('\n')));
    }
    this.pendingHeredocs = [];
  }

  /** Command lines inside `$(...)` and backticks of text the shell expands (a here-doc body). */
  private static substitutionsInText(body: string): string[] {
    const probe = new Scanner(body);
    let i = 0;
    while (i < body.length) {
      const c = body[i];
      if (c === '\\') i += 2;
      else if (c === '`') i = probe.endOfBackticks(i + 1);
      else if (c === '$' && body[i + 1] === '(') i = probe.endOfParenSubstitution(i + 2, 'command_substitution');
      else i++;
    }
    return probe.nested;
  }
}
