/**
 * Prints a tree from ast.ts as the text the SSH layer sends. Every literal is either made of
 * characters no POSIX shell treats specially, or single-quoted; the only unquoted syntax left
 * is the operators `; & && || |`, redirections with one-digit descriptors, `$NAME`/`${NAME}`,
 * the globs `* ? [...]` and a leading `~/`. dash, bash and any POSIX sh read that text into
 * exactly the argv the policy checked. Comments are dropped; parse(print(t)) is t.
 */
import type { Call, Redir, Script, Stmt, Word, WordPart } from './ast.js';

/** Characters printed bare: none of them is special to any shell in any position of a word. */
const SAFE = /^[A-Za-z0-9_./:@%+,=-]+$/;
/** Bare words that would be keywords where a command name stands. */
const KEYWORD = /^(?:if|then|else|elif|fi|do|done|case|esac|while|until|for|in|select|function|time|coproc)$/;

export function printScript(script: Script): string {
  let out = '';
  script.stmts.forEach((stmt, i) => {
    if (i > 0) out += script.stmts[i - 1]?.background ? ' ' : '; ';
    out += printStmt(stmt);
  });
  return out;
}

function printStmt(stmt: Stmt): string {
  const { first, rest } = stmt.body;
  let out = first.commands.map(printCall).join(' | ');
  for (const { op, pipeline } of rest) out += ` ${op} ${pipeline.commands.map(printCall).join(' | ')}`;
  return stmt.background ? `${out} &` : out;
}

/** One simple command: assignments, words, then redirections in their order. */
export function printCall(call: Call): string {
  const words: string[] = [];
  for (const a of call.assigns) words.push(`${a.name}=${printWord(a.value, false, true)}`);
  call.args.forEach((w, i) => words.push(printWord(w, i === 0, false)));
  for (const r of call.redirs) words.push(printRedir(r));
  return words.join(' ');
}

function printRedir(r: Redir): string {
  const fd = r.fd === undefined ? '' : String(r.fd);
  return `${fd}${r.op}${printWord(r.target, false, false)}`;
}

/**
 * A word, parts in order. `commandName`: a bare keyword or a `NAME=` would not be a name
 * there, so they are quoted. `inAssignment`: an empty value stays empty (`X=`).
 */
export function printWord(word: Word, commandName = false, inAssignment = false): string {
  const parts = mergeLiterals(word.parts);
  if (parts.length === 0) return inAssignment ? '' : "''";
  let out = '';
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i];
    if (part === undefined) continue;
    switch (part.kind) {
      case 'lit': {
        let value = part.value;
        // `~/…`: the `/` after a tilde must stay bare, or the shell would not expand it.
        if (i === 1 && parts[0]?.kind === 'tilde' && value.startsWith('/')) {
          out += '/';
          value = value.slice(1);
          if (value === '') break;
        }
        // A command name is quoted when it would read as a keyword (only a whole bare word can)
        // or as an assignment (any `=` in its first literal).
        const asName = commandName && i === 0;
        out += quote(value, asName && parts.length === 1, asName);
        break;
      }
      case 'glob':
        out += part.value;
        break;
      case 'tilde':
        out += '~';
        break;
      case 'param': {
        const next = parts[i + 1];
        const glued = next?.kind === 'lit' && /^[A-Za-z0-9_]/.test(next.value) && !part.quoted;
        const ref = glued ? `\${${part.name}}` : `$${part.name}`;
        out += part.quoted ? `"${ref}"` : ref;
        break;
      }
    }
  }
  return out;
}

/**
 * A literal: bare when every character is safe (and, as a command name, neither a keyword nor
 * holding `=`), else single-quoted.
 */
export function quote(value: string, wholeCommandName = false, commandName = false): string {
  if (value === '') return "''";
  // A lone bracket is literal to every shell (an unmatched `[` is no glob): `[ -f x ]` stays readable.
  if (value === '[' || value === ']') return value;
  const bareOk =
    SAFE.test(value) && !(wholeCommandName && KEYWORD.test(value)) && !(commandName && value.includes('='));
  return bareOk ? value : `'${value.replaceAll("'", `'\\''`)}'`;
}

/** Adjacent literal parts as one, so a word is quoted once (`'a~$'`, not `'a~''$'`). */
function mergeLiterals(parts: readonly WordPart[]): WordPart[] {
  const out: WordPart[] = [];
  for (const part of parts) {
    const last = out[out.length - 1];
    if (part.kind === 'lit' && last?.kind === 'lit') out[out.length - 1] = { ...last, value: last.value + part.value };
    else out.push(part);
  }
  return out;
}
