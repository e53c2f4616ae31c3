/**
 * A grammar-based fast-check generator of shell command lines for the policy oracle
 * (test/integration/policy-oracle.test.ts).
 *
 * The text is built from a small shell grammar (lists, pipelines, subshells, groups, simple
 * commands with redirections, words made of quoting and expansion parts) so that it is mostly
 * well-formed, and the programs come mostly from the read-only policy's vocabulary (echo, ls,
 * cat, grep, find, ...) so that a good share is allowed and therefore executed. Mixed in: the
 * constructs that hide a second program or a write (`-exec`, sed `e`/`w`, awk `system()`, tar
 * checkpoint actions, `sort -o`, `git log --output`, nested `sh -c`, xargs/env/nice/timeout,
 * substitutions in every quoting context, here-docs, non-ASCII blanks) and payloads that would
 * run a program outside the policy (`id`, `touch`, `rm`) or create a marker file under
 * /tmp/oracle-mark-*.
 *
 * Every generated value is a plain string assembled by `map` from smaller arbitraries, so
 * fast-check shrinks structurally: a counterexample shrinks towards the first alternative of
 * each `oneof` (plain literals, one command, no redirections), which reads well.
 */
import fc from 'fast-check';

/** Where payloads write; the oracle test checks these never appear unless a write was admitted. */
export const MARK_PREFIX = '/tmp/oracle-mark';
export const SCRATCH = '/tmp/oracle-scratch';

/** Programs of the read-only policy (the allowed vocabulary). */
export const VOCABULARY = [
  'echo',
  'ls',
  'cat',
  'grep',
  'find',
  'tail',
  'head',
  'sed',
  'awk',
  'sort',
  'tar',
  'git',
  'wc',
  'uniq',
];

const mark = fc.constantFrom('a', 'b', '1').map((s) => `${MARK_PREFIX}-${s}`);
const scratchFile = fc.constantFrom('out', 'x', 'sub/../y').map((s) => `${SCRATCH}/${s}`);
const fixture = fc.constantFrom('notes.txt', 'data.csv', 'sub', 'sub/a.txt', 'a.tar', '.', 'big.txt');
const variable = fc.constantFrom('HOME', 'USER', 'X', 'PWD', 'IFS', 'PATH');

/** Single-quotes `text` for a shell (`'it'\''s'`). */
export function sq(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/** Double-quotes `text` for a shell, escaping what is special inside double quotes. */
export function dq(text: string): string {
  return `"${text.replace(/[\\"$`]/g, (c) => `\\${c}`)}"`;
}

const literal = fc.oneof(
  { arbitrary: fc.constantFrom('x', 'alpha', 'notes.txt', '-n', '1', 'a=b', 'sub/a.txt', '--', '.'), weight: 6 },
  { arbitrary: fc.string({ unit: fc.constantFrom(...'abxyz019._-/=:,+@%'), minLength: 1, maxLength: 5 }), weight: 2 },
);

/** Text for inside single quotes: the characters another quoting level would treat specially. */
const quotedText = fc.oneof(
  fc.constantFrom('alpha', 'a b', '$(id)', '`id`', '; id', '| id', '&& id', '$HOME', '"', '#', '*', 'x\\', 'it"s'),
  fc.string({ unit: fc.constantFrom(...'ab ;|&$()`"#*\\'), maxLength: 6 }),
);

const payloadProgram = fc.constantFrom('id', 'touch', 'rm', 'sh');

const commentText = fc.constantFrom("it's", '"quoted"', '; id', 'it\'s a "comment" $(id)', '`id`').map((c) => `# ${c}`);

/** A command that writes a marker or runs a program outside the policy. */
const payloadCommand = fc.oneof(
  mark.map((m) => `touch ${m}`),
  mark.map((m) => `> ${m}`),
  fc.constant('id'),
  mark.map((m) => `rm -f ${m}`),
  mark.map((m) => `echo x > ${m}`),
);

export interface Grammar {
  script: string;
  list: string;
  pipeline: string;
  command: string;
  simple: string;
  word: string;
  part: string;
}

/** Every node of the grammar is a string. */
type Tie = (key: keyof Grammar) => fc.Arbitrary<string>;

/**
 * The recursive grammar. `command` is any command (simple, compound, wrapped); `script` is a
 * whole command line (statements, here-docs, comments).
 */
export const grammar = fc.letrec<Grammar>((looseTie) => {
  const tie = looseTie as Tie;
  const cmdText = tie('command');
  const listText = tie('list');
  return {
    script: fc.oneof(
      { arbitrary: listText, weight: 14 },
      { arbitrary: fc.tuple(listText, listText).map(([a, b]) => `${a}\n${b}`), weight: 1 },
      { arbitrary: fc.tuple(listText, commentText).map(([a, c]) => `${a} ${c}`), weight: 1 },
      { arbitrary: fc.tuple(listText, commentText, listText).map(([a, c, b]) => `${a} ${c}\n${b}`), weight: 1 },
      { arbitrary: hereDoc(tie), weight: 1 },
    ),
    list: fc.oneof(
      { depthSize: 'small', maxDepth: 4, depthIdentifier: 'list' },
      { arbitrary: tie('pipeline'), weight: 10 },
      {
        arbitrary: fc
          .tuple(tie('pipeline'), fc.constantFrom(';', '&&', '||', '&', '\n', ' ; '), listText)
          .map(([a, op, b]) => (op === '\n' || op === ' ; ' ? `${a}${op}${b}` : `${a} ${op} ${b}`)),
        weight: 2,
      },
      { arbitrary: tie('pipeline').map((a) => `${a} &`), weight: 1 },
    ),
    pipeline: fc.oneof(
      { depthSize: 'small', maxDepth: 4, depthIdentifier: 'pipe' },
      { arbitrary: cmdText, weight: 10 },
      {
        arbitrary: fc
          .tuple(cmdText, fc.constantFrom('|', '|&'), tie('pipeline'))
          .map(([a, op, b]) => `${a} ${op} ${b}`),
        weight: 2,
      },
      { arbitrary: cmdText.map((c) => `! ${c}`), weight: 1 },
    ),
    command: fc.oneof(
      { depthSize: 'small', maxDepth: 4, depthIdentifier: 'cmd' },
      { arbitrary: tie('simple'), weight: 30 },
      { arbitrary: listText.map((l) => `(${l})`), weight: 1 },
      { arbitrary: listText.map((l) => `{ ${l}; }`), weight: 1 },
      // Nested shells, quoted either way.
      {
        arbitrary: fc
          .tuple(fc.constantFrom('sh', 'bash', '/bin/sh'), listText, fc.boolean())
          .map(([sh, l, single]) => `${sh} -c ${single ? sq(l) : dq(l)}`),
        weight: 2,
      },
      // Wrappers that run another command.
      {
        arbitrary: fc
          .tuple(fc.constantFrom('nice', 'env', 'timeout 5', 'env X=1', 'nice -n 5', 'env -i'), cmdText)
          .map(([w, c]) => `${w} ${c}`),
        weight: 2,
      },
      {
        arbitrary: fc
          .tuple(tie('simple'), fc.constantFrom('-exec', '-execdir', '-ok'))
          .map(([c, ex]) => `find . -name notes.txt ${ex} ${c} {} \\;`),
        weight: 2,
      },
      {
        arbitrary: fc.tuple(fixture, fc.oneof(tie('simple'), payloadProgram)).map(([f, c]) => `echo ${f} | xargs ${c}`),
        weight: 1,
      },
      { arbitrary: payloadCommand, weight: 2 },
    ),
    simple: fc.oneof(
      { depthSize: 'small', maxDepth: 5, depthIdentifier: 'simple' },
      {
        arbitrary: fc
          .tuple(vocabularyCommand(tie), fc.array(redirection(tie), { maxLength: 1 }))
          .map(([c, r]) => [c, ...r].join(' ')),
        weight: 10,
      },
      { arbitrary: fc.tuple(redirection(tie), vocabularyCommand(tie)).map(([r, c]) => `${r} ${c}`), weight: 1 },
      // A non-ASCII blank where the engine may see a separator and the shell does not (or the reverse).
      {
        arbitrary: fc
          .tuple(fc.constantFrom(...VOCABULARY), fc.constantFrom('\u00a0', '\u2028', '\u3000'), payloadProgram)
          .map(([p, ws, q]) => `${p}${ws}${q}`),
        weight: 1,
      },
    ),
    word: fc.array(tie('part'), { minLength: 1, maxLength: 2 }).map((parts) => parts.join('')),
    part: fc.oneof(
      { depthSize: 'small', maxDepth: 3, depthIdentifier: 'part' },
      { arbitrary: literal, weight: 20 },
      { arbitrary: quotedText.map(sq), weight: 3 },
      {
        arbitrary: fc
          .array(
            fc.oneof(
              literal,
              variable.map((v) => `$${v}`),
              cmdText.map((c) => `$(${c})`),
              fc.constant(' '),
            ),
            {
              maxLength: 3,
            },
          )
          .map((ps) => `"${ps.join('')}"`),
        weight: 2,
      },
      { arbitrary: fc.constantFrom(...';|&$ \'"#*()<>`\\').map((c) => `\\${c}`), weight: 2 },
      {
        arbitrary: variable.chain((v) =>
          fc.constantFrom(`$${v}`, `\${${v}}`, `\${${v}:-x}`, `\${${v}@P}`, `\${!${v}}`, `\${#${v}}`, `\${${v}:=y}`),
        ),
        weight: 3,
      },
      { arbitrary: cmdText.map((c) => `$(${c})`), weight: 2 },
      { arbitrary: cmdText.map((c) => `\`${c}\``), weight: 1 },
      { arbitrary: cmdText.map((c) => `\${a[$(${c})]}`), weight: 1 },
      { arbitrary: fc.constantFrom('$((1+2))', '$((x[$(id)]))', '$(( 7 / 1 ))'), weight: 1 },
      { arbitrary: fc.constantFrom("$'\\x69d'", "$'a\\'b'", "$'\\n'", '$"x"', '$"$(id)"'), weight: 1 },
      { arbitrary: fc.constantFrom('*', '?', '*.txt', '[ab]*', 'su?/*', '/???/i?'), weight: 2 },
      { arbitrary: fc.constantFrom('{a,b}', '{id,x}', '{notes,data}.*', '{1..3}'), weight: 1 },
      { arbitrary: fc.constantFrom('~', '~/notes.txt', '~root', '~/../..'), weight: 1 },
      { arbitrary: fc.constantFrom('../../etc/passwd', 'sub/../notes.txt', '/var/log/../../etc/hostname'), weight: 1 },
    ),
  };
});

function redirection(tie: Tie): fc.Arbitrary<string> {
  const word = tie('word');
  const target = fc.oneof(
    { arbitrary: scratchFile, weight: 3 },
    { arbitrary: mark, weight: 3 },
    { arbitrary: fc.constantFrom('/dev/null', 'notes.txt', '~/out', '../x'), weight: 2 },
    { arbitrary: word, weight: 1 },
  );
  return fc.oneof(
    { arbitrary: fc.constantFrom('2>/dev/null', '2>&1', '>/dev/null', '< notes.txt', '<&-'), weight: 4 },
    {
      arbitrary: fc
        .tuple(fc.constantFrom('>', '>>', '>|', '<>', '&>', '>&', '2>', '1>'), target)
        .map(([op, t]) => `${op} ${t}`),
      weight: 4,
    },
    { arbitrary: word.map((w) => `<<< ${w}`), weight: 2 },
  );
}

function hereDoc(tie: Tie): fc.Arbitrary<string> {
  const body = fc.constantFrom('alpha', '$(id)', '`id`', 'id', "it's", '$HOME', `touch ${MARK_PREFIX}-h`);
  return fc
    .tuple(
      fc.constantFrom('cat', 'grep alpha', 'sh', 'bash', 'wc -l', 'sed -n p', 'awk 1', 'tail -n 1'),
      fc.constantFrom('EOF', "'EOF'", '"EOF"', '\\EOF'),
      fc.array(body, { minLength: 1, maxLength: 3 }),
      fc.option(tie('list'), { nil: undefined }),
      fc.boolean(),
    )
    .map(([cmd, delim, lines, after, dash]) => {
      const end = delim.replace(/['"\\]/g, '');
      const text = `${cmd} <<${dash ? '-' : ''}${delim}\n${lines.join('\n')}\n${end}`;
      return after === undefined ? text : `${text}\n${after}`;
    });
}

/** A command of the policy's vocabulary, with arguments typical of it (and of its escape hatches). */
function vocabularyCommand(tie: Tie): fc.Arbitrary<string> {
  const word = tie('word');
  const words = fc.array(word, { minLength: 1, maxLength: 2 }).map((ws) => ws.join(' '));
  const cmd = tie('simple');
  const forms: Array<fc.Arbitrary<string>> = [
    words.map((w) => `echo ${w}`),
    fc.oneof(fc.constantFrom('-la', '-1', 'sub', '.', '-R sub', '~'), words).map((w) => `ls ${w}`),
    fc
      .oneof(fc.constantFrom('fontconfig.log', '../../etc/hostname', 'nosuch', '*.log'), literal)
      .map((f) => `cat /var/log/${f}`),
    fc.tuple(fixture, fc.option(words, { nil: undefined })).map(([f, w]) => `cat ${w ?? f}`),
    fc.tuple(fc.constantFrom('alpha', '-r alpha', '-e x -e alpha', '-c a'), fixture).map(([p, f]) => `grep ${p} ${f}`),
    words.map((w) => `grep ${w}`),
    fc
      .oneof(
        fc.constantFrom('. -name "*.txt"', '. -type f', 'sub -maxdepth 1', `. -fprint ${MARK_PREFIX}-f`, '. -delete'),
        cmd.map((c) => `. -name notes.txt -exec ${c} \\;`),
        words,
      )
      .map((a) => `find ${a}`),
    fc
      .tuple(fc.constantFrom('-n 2', '-c 5', '-n +1', ''), fixture)
      .map(([o, f]) => `tail ${o} ${f}`.replace('  ', ' ')),
    fc.tuple(fc.constantFrom('-n 1', '-c 3', '-1'), fixture).map(([o, f]) => `head ${o} ${f}`),
    fc
      .tuple(
        fc.oneof(
          fc.constantFrom('p', '1p', '$p', '/alpha/p', '1e id', `w ${MARK_PREFIX}-s`, 's/alpha/id/ep', '1!G;h;$p'),
          quotedText,
        ),
        fc.boolean(),
        fixture,
      )
      .map(([script, inPlace, f]) => `sed -n ${inPlace ? '-i ' : ''}${sq(script)} ${f}`),
    fc
      .tuple(
        fc.constantFrom(
          '{print $1}',
          'NR==1',
          'BEGIN{system("id")}',
          `{print > "${MARK_PREFIX}-k"}`,
          'BEGIN{print "id" | "sh"}',
          'BEGIN{"id" | getline x; print x}',
          'END{print NR}',
        ),
        fixture,
      )
      .map(([script, f]) => `awk ${sq(script)} ${f}`),
    fc
      .oneof(
        fc.constantFrom('notes.txt', '-r data.csv', '-u notes.txt', '-S 1 -T /tmp big.txt'),
        mark.map((m) => `-o ${m} notes.txt`),
        scratchFile.map((s) => `-o ${s} notes.txt`),
        fc.constant('-S 1 -T /tmp --compress-program=id big.txt'),
      )
      .map((a) => `sort ${a}`),
    fc
      .oneof(
        fc.constant(''),
        fc.constantFrom(
          ' --checkpoint=1 --checkpoint-action=exec=id',
          ' --use-compress-program=id',
          ` --checkpoint=1 --checkpoint-action=exec='touch ${MARK_PREFIX}-t'`,
          ' -v',
        ),
      )
      .map((o) => `tar -tf a.tar${o}`),
    fc
      .oneof(
        fc.constantFrom('--oneline', '-1', '--format=%s', '-p -1', '--stat'),
        mark.map((m) => `--output=${m}`),
        scratchFile.map((s) => `--output=${s}`),
      )
      .map((o) => `git log ${o}`),
    fc.tuple(fc.constantFrom('-l', '-c', '-w'), fixture).map(([o, f]) => `wc ${o} ${f}`),
    fc
      .oneof(
        fc.constant('notes.txt'),
        fc.constant('-c notes.txt'),
        mark.map((m) => `notes.txt ${m}`),
        scratchFile.map((s) => `notes.txt ${s}`),
      )
      .map((a) => `uniq ${a}`),
  ];
  return fc.oneof(...forms);
}

/** Whole command lines. */
export const commandLine: fc.Arbitrary<string> = grammar.script;
