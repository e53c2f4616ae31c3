/**
 * The printer's promise, checked against the real shells on this machine (dash and bash, run
 * locally — no sshd needed for this layer): the text print.ts produces makes dash and bash
 * build exactly the argv the policy checked. Words are generated with fast-check from the
 * characters shells treat specially, printed after `printf '%s\0'`, and the shells' output is
 * compared with the words. A second property feeds raw shell text through the parser: whatever
 * it accepts, the print of the tree means the same to both shells as the tree says.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { literalValue, type Call, type Word } from '../../../src/policy/shell/ast.js';
import { parseScript } from '../../../src/policy/shell/parse.js';
import { printCall, printScript } from '../../../src/policy/shell/print.js';

const SHELLS = ['/bin/dash', '/bin/bash'].filter((s) => existsSync(s));

/** Characters that mean something to some shell somewhere, plus ordinary ones and non-ASCII. */
const SPECIAL = [...' \t\n\'"\\$`*?[]{}~#!&|;<>()=%^,:@+-./_', 'a', 'Z', '0', '9', 'é', '日', '→'];
const wordText = fc.string({ unit: fc.constantFrom(...SPECIAL), maxLength: 12 });

function literal(value: string): Word {
  return { parts: [{ kind: 'lit', value, quoted: true }], pos: 0 };
}

/** Runs `lines` (one `printf '%s\0' …` per line) in `shell`, returns each line's argv. */
function argvFromShell(shell: string, lines: string[]): string[][] {
  const script = lines.map((l) => `${l}\nprintf '\\001'`).join('\n');
  const out = execFileSync(shell, ['-c', script], {
    encoding: 'utf8',
    env: { PATH: '/usr/bin:/bin', HOME: '/nonexistent' },
  });
  const chunks = out.split('\u0001');
  chunks.pop();
  return chunks.map((c) => (c === '' ? [] : c.slice(0, -1).split('\0')));
}

function printfLine(words: string[]): string {
  const call: Call = {
    assigns: [],
    args: [literal('printf'), literal('%s\\0'), ...words.map(literal)],
    redirs: [],
    pos: 0,
    end: 0,
  };
  return printCall(call);
}

describe.skipIf(SHELLS.length === 0)('print: dash and bash read exactly the words printed', () => {
  it('generated words survive print → real shell', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(wordText, { minLength: 1, maxLength: 5 }), { minLength: 20, maxLength: 20 }),
        (batch) => {
          const lines = batch.map(printfLine);
          for (const shell of SHELLS) {
            const got = argvFromShell(shell, lines);
            batch.forEach((words, i) => expect(got[i], `${shell}: ${lines[i]}`).toEqual(words));
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it('keywords and assignments as command names stay names', () => {
    for (const name of ['if', 'then', 'a=b', '{', '!', 'time', '[[', 'function']) {
      const printed = printCall({ assigns: [], args: [literal(name)], redirs: [], pos: 0, end: 0 });
      const reparsed = parseScript(printed);
      expect(reparsed.ok, printed).toBe(true);
      if (reparsed.ok) {
        const call = reparsed.script.stmts[0]?.body.first.commands[0];
        expect(call?.assigns).toEqual([]);
        expect(call && literalValue(call.args[0] as Word)).toBe(name);
      }
    }
  });
});

/** Shell text built from fragments: quotes, escapes, dollars, operators, comments, non-ASCII. */
const FRAGMENTS = [
  'a', 'b c', "'x y'", '"p q"', '\\ ', '\\"', "\\'", '"\\$"', '"$"', '\\\\', "''", '""', '"a\\"b"', "'it'\\''s'",
  '#c', ' #c', ';', ' ', '\t', '\\\n', '"\\\n"', '=', 'X=1', '~', '~/d', '-n', '--x=y', '%', '@', '\u00e9', '{}', '{a}',
  '"\'"', "'\"'", '\\#', 'a#b', '\\~', '"~"', ',', '+', ':',
]; // prettier-ignore

describe.skipIf(SHELLS.length === 0)('parse → print: what the parser accepts means the same printed', () => {
  it('argv of the tree = argv dash and bash build from the print', () => {
    const text = fc.array(fc.constantFrom(...FRAGMENTS), { minLength: 1, maxLength: 8 }).map((f) => f.join(''));
    fc.assert(
      fc.property(fc.array(text, { minLength: 20, maxLength: 20 }), (texts) => {
        const cases: { words: string[]; printed: string; raw: string }[] = [];
        for (const t of texts) {
          const parsed = parseScript(`printf '%s\\0' ${t}`);
          if (!parsed.ok || parsed.script.stmts.length !== 1) continue;
          const stmt = parsed.script.stmts[0];
          const call = stmt?.body.first.commands[0];
          if (
            stmt === undefined ||
            call === undefined ||
            stmt.body.first.commands.length !== 1 ||
            stmt.body.rest.length > 0
          )
            continue;
          const words = call.args.slice(2).map((w) => literalValue(w));
          // Tilde words expand to a home directory: compared separately below.
          if (words.some((w) => w === undefined) || call.assigns.length > 0 || call.redirs.length > 0) continue;
          cases.push({ words: words as string[], printed: printScript(parsed.script), raw: `printf '%s\\0' ${t}` });
        }
        if (cases.length === 0) return;
        for (const shell of SHELLS) {
          const got = argvFromShell(
            shell,
            cases.map((c) => c.printed),
          );
          // printf with no arguments still prints its format once, with an empty string.
          cases.forEach((c, i) =>
            expect(got[i], `${shell}: ${c.printed}`).toEqual(c.words.length === 0 ? [''] : c.words),
          );
          // And the parser reads the accepted subset as the shells do: the client meant what was checked.
          const raw = argvFromShell(
            shell,
            cases.map((c) => c.raw),
          );
          cases.forEach((c, i) => expect(raw[i], `${shell} reading ${JSON.stringify(c.raw)}`).toEqual(got[i]));
        }
      }),
      { numRuns: Number(process.env.PRINT_RUNS ?? 80) },
    );
  });

  it('print is a fixed point: parse(print(t)) prints the same', () => {
    const text = fc.array(
      fc.constantFrom(...FRAGMENTS, '|', '&&', '||', '&', '>f', '2>&1', '<g', '$HOME', '"$USER"', '*', '?'),
      {
        minLength: 1,
        maxLength: 10,
      },
    );
    fc.assert(
      fc.property(text, (fragments) => {
        const parsed = parseScript(`echo ${fragments.join('')}`);
        if (!parsed.ok) return;
        const printed = printScript(parsed.script);
        const again = parseScript(printed);
        expect(again.ok, printed).toBe(true);
        if (again.ok) expect(printScript(again.script)).toBe(printed);
      }),
      { numRuns: 2000 },
    );
  });
});
