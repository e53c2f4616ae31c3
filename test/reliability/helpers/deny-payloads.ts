/**
 * fast-check generators of deny payloads (reboot, rm -rf /, mkfs, dd, shutdown) hidden with
 * transformations that keep their meaning to sh, and of the places in a command line where
 * sh would still run them. Shared by fuzz.test.ts and policy-stdin-shell.test.ts.
 */
import fc from 'fast-check';

/** Hides one word; each variant is read back by sh as the same word. */
export const hideWord = (word: string): fc.Arbitrary<string> => {
  const splitAt = fc.integer({ min: 1, max: Math.max(1, word.length - 1) });
  const variants: fc.Arbitrary<string>[] = [
    fc.constant(word),
    fc.constant(`'${word}'`),
    fc.constant(`"${word}"`),
    fc.constant(word.toUpperCase()),
    splitAt.map((i) => `${word.slice(0, i)}''${word.slice(i)}`),
    splitAt.map((i) => `${word.slice(0, i)}""${word.slice(i)}`),
    splitAt.map((i) => `${word.slice(0, i)}\\${word.slice(i)}`),
    splitAt.map((i) => `${word.slice(0, i)}\\\n${word.slice(i)}`),
    splitAt.map((i) => `${word.slice(0, i)}$@${word.slice(i)}`),
    splitAt.map((i) => `${word.slice(0, i)}\${1}${word.slice(i)}`),
    fc.constant(`$'\\x${word.charCodeAt(0).toString(16)}${word.slice(1)}'`),
    fc.constant(`$'\\${word.charCodeAt(0).toString(8)}${word.slice(1)}'`),
  ];
  if (word === '/') variants.push(fc.constant('${PATH:0:1}'), fc.constant('${HOME:0:1}'));
  return fc.oneof(...variants);
};

/** Joins words with blanks sh treats alike. */
export const blank = fc.constantFrom(' ', '  ', '\t', '${IFS}');
export const hidden = (words: string[]): fc.Arbitrary<string> =>
  fc
    .tuple(fc.tuple(...words.map(hideWord)), fc.array(blank, { minLength: words.length, maxLength: words.length }))
    .map(([ws, bs]) => ws.map((w, i) => (i === 0 ? w : `${bs[i] as string}${w}`)).join(''));

export const payload: fc.Arbitrary<string> = fc.oneof(
  hidden(['reboot']),
  hidden(['reboot', 'now']),
  hidden(['shutdown', '-h', 'now']),
  hidden(['rm', '-rf', '/']),
  hidden(['mkfs', 'ext4', '/dev/sda1']),
  hidden(['dd', 'if=/dev/zero', 'of=/dev/sda']),
  fc.constantFrom(
    '{rm,-rf,/}',
    '{reboot,now}',
    '/sbin/reboot',
    '/usr/bin/../sbin/reboot',
    './reboot',
    '/bin//rm -rf /',
  ),
  fc.constantFrom('reboot', 'rm -rf /').map((p) => p.replace(/ /g, '${IFS}')),
  // Part of the payload in a variable the same line sets, then expanded where it counts.
  fc
    .tuple(
      fc.constantFrom(
        "export V=' /';",
        "export V=' /' &&",
        "declare -x V=' /';",
        "typeset V=' /';",
        "readonly V=' /';",
      ),
      fc.constantFrom('rm -rf$V', 'rm -rf${V}', "sh -c 'rm -rf$V'"),
    )
    .map(([set, use]) => `${set} ${use}`),
  fc.constantFrom("printf -v V ' /'; rm -rf$V", "V=' /' sh -c 'rm -rf$V'", 'cd /; rm -rf $PWD', 'read V; rm -rf $V'),
  // The rest of the payload as xargs' input.
  fc.constantFrom(
    'echo / | xargs rm -rf',
    'echo -rf / | xargs rm',
    'echo now | xargs reboot',
    'echo / | xargs -r rm -rf',
  ),
);

/** Places a payload where sh would still run it. */
export const embed = (p: string): fc.Arbitrary<string> => {
  const contexts: fc.Arbitrary<string>[] = [
    fc.constant(p),
    fc.constantFrom(';', '&&', '||', '|', '&', '\n').map((op) => `echo hi ${op} ${p}`),
    fc.constant(`${p} &`),
    fc
      .constantFrom(
        'sudo',
        'sudo -u root',
        'env FOO=1',
        'nohup',
        'timeout 5',
        'nice -n 5',
        'command',
        'exec',
        'FOO=bar',
        'xargs',
        'setsid',
      )
      .map((w) => `${w} ${p}`),
    fc.constant(`find / -maxdepth 0 -exec ${p} \\;`),
    fc.constant(`echo $(${p})`),
    fc.constant(`echo "$(${p})"`),
    fc.constant(`cat <(${p})`),
  ];
  if (!p.includes('`')) contexts.push(fc.constant(`echo \`${p}\``));
  if (!p.includes("'")) {
    contexts.push(
      fc.constantFrom('sh', 'bash', '/bin/sh', 'dash').map((sh) => `${sh} -c '${p}'`),
      fc.constant(`eval '${p}'`),
      fc.constant(`sudo sh -c 'echo start; ${p}'`),
      fc.constant(`env -S '${p}'`),
    );
  }
  if (!/["\\$`]/.test(p)) contexts.push(fc.constant(`sh -c "${p}"`));
  return fc.oneof(...contexts);
};

/**
 * Places a payload where a shell reads it as its program from stdin: a here-doc, a here-string,
 * or a pipe. The engine denies a piped shell and analyses here-doc and here-string programs
 * (policy-stdin-shell.test.ts).
 */
export const feedShell = (p: string): fc.Arbitrary<string> => {
  const contexts: fc.Arbitrary<string>[] = [fc.constant(`sh <<<${p.includes(' ') ? `"${p}"` : p}`)];
  if (!p.includes('\n') && !p.includes('EOF')) {
    contexts.push(fc.constantFrom('sh', 'bash').map((sh) => `${sh} <<EOF\n${p}\nEOF`));
    contexts.push(fc.constant(`sh <<'EOF'\n${p}\nEOF`));
  }
  if (!p.includes("'")) contexts.push(fc.constant(`echo '${p}' | sh`), fc.constant(`printf '%s\\n' '${p}' | bash`));
  return fc.oneof(...contexts);
};
