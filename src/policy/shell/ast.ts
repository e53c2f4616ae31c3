/**
 * The tree of the small shell subset the policy understands (see parse.ts for what it
 * accepts). Quoting is already resolved: a word is a list of parts whose meaning is the same
 * in every POSIX shell, dash and bash alike, once printed by print.ts.
 */

export type WordPart =
  /** Literal characters; `quoted` when they came from quotes or backslashes (never glob or tilde). */
  | { kind: 'lit'; value: string; quoted: boolean }
  /** An unquoted `*`, `?` or bracket expression `[...]`: expanded by the remote shell against file names. */
  | { kind: 'glob'; value: string }
  /** An unquoted `~` at the start of a word, before `/` or the end: the login user's home. */
  | { kind: 'tilde' }
  /** `$NAME` or `${NAME}`; unquoted, the remote shell also splits and globs its value. */
  | { kind: 'param'; name: string; quoted: boolean };

export interface Word {
  parts: WordPart[];
  /** Offset of the word's first character in the text parsed (for messages). */
  pos: number;
}

/** `NAME=value` before a command's name: that command's environment. */
export interface Assign {
  name: string;
  value: Word;
  pos: number;
}

export type RedirOp = '<' | '>' | '>>' | '>|' | '<>' | '<&' | '>&';

export interface Redir {
  /** The file descriptor written before the operator (a single digit), if any. */
  fd: number | undefined;
  op: RedirOp;
  /** A file name; for `<&` and `>&` a single digit or `-` (duplication or close). */
  target: Word;
  pos: number;
}

/** A simple command: assignments, argv words, redirections. */
export interface Call {
  assigns: Assign[];
  args: Word[];
  redirs: Redir[];
  pos: number;
  /** Offset just past its last word or redirection. */
  end: number;
}

export interface Pipeline {
  commands: Call[];
}

export interface AndOr {
  first: Pipeline;
  rest: { op: '&&' | '||'; pipeline: Pipeline }[];
}

export interface Stmt {
  body: AndOr;
  /** Ends with `&`. */
  background: boolean;
}

export interface Script {
  stmts: Stmt[];
}

/** Constructs outside the subset, by the name a rule's `allow_syntax` and the decision use. */
export const UNSUPPORTED_CONSTRUCTS = [
  'command_substitution',
  'arithmetic',
  'process_substitution',
  'parameter_expansion',
  'heredoc',
  'herestring',
  'ansi_c_quoting',
  'locale_quoting',
  'subshell',
  'group',
  'compound_command',
  'function_definition',
  'negation',
  'pipe_stderr',
  'ampersand_redirect',
  'fd_number',
  'redirection_only',
  'assignment',
  'brace_expansion',
  'tilde_prefix',
  'network_redirect',
  'comment_with_quotes',
  'non_ascii_space',
  'invisible_character',
  'control_character',
] as const;
export type UnsupportedConstruct = (typeof UNSUPPORTED_CONSTRUCTS)[number];

/** Why a text could not be read: a construct outside the subset, or text no shell accepts. */
export interface ParseError {
  construct: UnsupportedConstruct | 'syntax';
  message: string;
  /** Offset in the text parsed. */
  pos: number;
}

/** A word's value when every part is literal; undefined when the remote shell computes part of it. */
export function literalValue(word: Word): string | undefined {
  let out = '';
  for (const part of word.parts) {
    if (part.kind !== 'lit') return undefined;
    out += part.value;
  }
  return out;
}

/** The word as a reader sees it: literals as they are, `*`, `~`, `$NAME` for the computed parts. */
export function displayValue(word: Word): string {
  return word.parts
    .map((p) => (p.kind === 'lit' || p.kind === 'glob' ? p.value : p.kind === 'tilde' ? '~' : `$${p.name}`))
    .join('');
}

/** A word made of one literal (used for words the policy builds, such as a re-printed `sh -c` script). */
export function literalWord(value: string, pos = 0): Word {
  return { parts: [{ kind: 'lit', value, quoted: true }], pos };
}
