/**
 * One option parser for every table, in the manner of getopt_long: short option clusters
 * (`-xzf FILE`, `-uroot`), long options with `=VALUE` or a separate value, `--`, and, where a
 * program allows it, GNU permutation (options after operands) and abbreviated long options
 * (`--to-com=x` is tar's `--to-command`). Tables describe their options in a short notation:
 *
 *   options('--user,-u= --login,-i --preserve-env=? -E')
 *
 * Each blank-separated token is one option; its comma-separated spellings are aliases and the
 * first is the name the parser reports. A trailing `=` means a required value (attached or the
 * next word), `=?` an optional value (attached only, as getopt does).
 *
 * Strict tables report any unknown option as a problem (the caller answers opaque), since an
 * unknown option may take a value and shift every later word. Lenient tables treat unknown
 * options as flags, which reads more words as options, never fewer: a table that is lenient
 * must only list options that really take a value.
 */
import { mayShift, tail } from './args.js';
import type { Arg } from './types.js';

type ValueKind = 'none' | 'required' | 'optional';

export interface OptionTable {
  readonly short: ReadonlyMap<string, OptionDef>;
  readonly long: ReadonlyMap<string, OptionDef>;
  readonly longNames: readonly string[];
}

interface OptionDef {
  readonly name: string;
  readonly value: ValueKind;
}

export interface ParsedOption {
  /** The option's first spelling in the table, or the word itself when it is unknown (lenient). */
  name: string;
  value: Arg | undefined;
  /** Index of the word holding the option. */
  index: number;
  /** Index of the separate value word, when the value is one. */
  valueIndex?: number;
}

export interface Parsed {
  options: ParsedOption[];
  /** Indices of operand words, in order (after `--` too). */
  operands: number[];
  /** Without permutation: index of the first word after the options (argv.length if none). */
  rest: number;
  /** Index of the `--` that ended the options, or -1. */
  dashdash: number;
  /** Why the words cannot be read for sure; the caller reports it as opaque. */
  problem: string | undefined;
}

export interface ParseMode {
  /** Options may follow operands until `--` (GNU getopt without `+`). */
  permute?: boolean;
  /** Long options may be abbreviated to a unique prefix (GNU getopt_long, git's parse-options). */
  abbreviate?: boolean;
  /** Unknown options are flags instead of a problem (see the file comment). */
  lenient?: boolean;
  /** Index of the first word to read (default 1, after the program name). */
  start?: number;
}

const tables = new Map<string, OptionTable>();

/** The option table for a notation string (see the file comment); built once per string. */
export function options(spec: string): OptionTable {
  const cached = tables.get(spec);
  if (cached !== undefined) return cached;
  const short = new Map<string, OptionDef>();
  const long = new Map<string, OptionDef>();
  for (const token of spec.split(/\s+/)) {
    if (token === '') continue;
    const value: ValueKind = token.endsWith('=?') ? 'optional' : token.endsWith('=') ? 'required' : 'none';
    const names = token.replace(/=\??$/, '').split(',');
    const def: OptionDef = { name: names[0] as string, value };
    for (const name of names) (name.startsWith('--') ? long : short).set(name, def);
  }
  const table = { short, long, longNames: [...long.keys()] };
  tables.set(spec, table);
  return table;
}

/** Long options of `table` that `name` abbreviates (itself alone when it is one). */
export function longMatches(table: OptionTable, name: string, abbreviate: boolean): OptionDef[] {
  const exact = table.long.get(name);
  if (exact !== undefined) return [exact];
  if (!abbreviate) return [];
  const found = new Set<OptionDef>();
  for (const candidate of table.longNames) if (candidate.startsWith(name)) found.add(table.long.get(candidate)!);
  return [...found];
}

export function parse(argv: readonly Arg[], table: OptionTable, mode: ParseMode = {}): Parsed {
  const result: Parsed = { options: [], operands: [], rest: argv.length, dashdash: -1, problem: undefined };
  const fail = (problem: string): Parsed => ({ ...result, problem });
  let stopped = false;
  let i = mode.start ?? 1;
  while (i < argv.length) {
    const arg = argv[i] as Arg;
    const word = arg.value;
    if (stopped) {
      result.operands.push(i++);
      continue;
    }
    if (arg.exact && word === '--') {
      result.dashdash = i;
      stopped = true;
      i++;
      if (mode.permute !== true) result.rest = i;
      continue;
    }
    if (!arg.exact && word.startsWith('-')) return fail(`option word ${word} is not known exactly`);
    if (mayShift(arg)) return fail(`${word} may expand to options`);
    if (word.length < 2 || !word.startsWith('-')) {
      result.operands.push(i);
      if (mode.permute !== true) {
        result.rest = i;
        stopped = true;
      }
      i++;
      continue;
    }
    // A separate value: the next word, which must stay one word.
    const next = (): Arg | undefined => {
      const value = argv[i + 1];
      if (value === undefined) return undefined;
      i++;
      return value;
    };
    if (word.startsWith('--')) {
      const eq = word.indexOf('=');
      const name = eq < 0 ? word : word.slice(0, eq);
      const attached = eq < 0 ? undefined : tail(arg, eq + 1);
      const defs = longMatches(table, name, mode.abbreviate === true);
      const index = i;
      if (defs.length !== 1) {
        if (mode.lenient !== true) return fail(defs.length === 0 ? `unknown option ${name}` : `ambiguous ${name}`);
        // Every option the word might abbreviate is reported; none takes a separate value.
        if (defs.length === 0) result.options.push({ name, value: attached, index });
        for (const def of defs) result.options.push({ name: def.name, value: attached, index });
        i++;
        continue;
      }
      const def = defs[0] as OptionDef;
      const separate = def.value === 'required' && attached === undefined;
      const value = separate ? next() : attached;
      if (value?.splits === true) return fail(`the value of ${name} may split into words`);
      result.options.push({
        name: def.name,
        value,
        index,
        ...(separate && value !== undefined ? { valueIndex: i } : {}),
      });
      i++;
      continue;
    }
    const index = i;
    for (let j = 1; j < word.length; j++) {
      const letter = `-${word[j] as string}`;
      const def = table.short.get(letter);
      if (def === undefined) {
        if (mode.lenient !== true) return fail(`unknown option ${letter}`);
        result.options.push({ name: letter, value: undefined, index });
        continue;
      }
      if (def.value === 'none') {
        result.options.push({ name: def.name, value: undefined, index });
        continue;
      }
      const attached = j + 1 < word.length ? tail(arg, j + 1) : undefined;
      const separate = attached === undefined && def.value === 'required';
      const value = separate ? next() : attached;
      if (value?.splits === true) return fail(`the value of ${letter} may split into words`);
      result.options.push({
        name: def.name,
        value,
        index,
        ...(separate && value !== undefined ? { valueIndex: i } : {}),
      });
      break;
    }
    i++;
  }
  return result;
}

/** The options of `parsed` named `name` (their first spelling in the table). */
export function named(parsed: Parsed, ...names: string[]): ParsedOption[] {
  return parsed.options.filter((o) => names.includes(o.name));
}

export function has(parsed: Parsed, ...names: string[]): boolean {
  return parsed.options.some((o) => names.includes(o.name));
}
