/** Builders of argv words for the program table tests. */
import type { Arg, Effect } from '../../../src/policy/programs/index.js';
import { effectsOf } from '../../../src/policy/programs/index.js';

/** A word known exactly (quoted or plain text). */
export const lit = (value: string): Arg => ({ value, exact: true, splits: false, mayBeOption: false });
/** An unquoted variable: not known, splits, may be an option. */
export const unquotedVar = (name: string): Arg => ({
  value: `$${name}`,
  exact: false,
  splits: true,
  mayBeOption: true,
});
/** A quoted variable: one word, not known, may start with `-`. */
export const quotedVar = (name: string): Arg => ({ value: `$${name}`, exact: false, splits: false, mayBeOption: true });
/** A glob like `*`: several words, any of which may start with `-`. */
export const glob = (pattern: string): Arg => ({ value: pattern, exact: false, splits: true, mayBeOption: true });

export type Word = string | Arg;
export const argv = (...words: Word[]): Arg[] => words.map((w) => (typeof w === 'string' ? lit(w) : w));

/** Splits a command written with blanks (no quoting: use `argv` for words with blanks). */
export const words = (text: string): Arg[] => argv(...text.split(' ').filter((w) => w !== ''));

export const effects = (input: string | Arg[]): Effect[] => effectsOf(typeof input === 'string' ? words(input) : input);
export const kinds = (input: string | Arg[]): string[] =>
  effects(input)
    .map((e) => e.kind)
    .sort();

/** The inner argv values of every `runs` effect. */
export const inner = (input: string | Arg[]): string[][] =>
  effects(input).flatMap((e) => (e.kind === 'runs' ? [e.argv.map((a) => a.value)] : []));

/** The script words of every `runs_script` effect, joined as the engine joins them. */
export const scripts = (input: Arg[]): string[] =>
  effects(input).flatMap((e) =>
    e.kind === 'runs_script'
      ? [
          input
            .slice(e.from, e.to)
            .map((a) => a.value)
            .join(' '),
        ]
      : [],
  );
