/**
 * Programs that run code by design (src/policy/programs/code-runners.ts): a rule naming the
 * program with a wildcard admits its read-only uses, and refuses the ones that run what the
 * policy cannot see unless the rule says allow_exec (GTFOBins' shell, command and library-load
 * entries among them), and programs usually allowed to read that change files or the system
 * in place (src/policy/programs/in-place.ts).
 */
import { describe, expect, it } from 'vitest';
import { policyFileSchema } from '../../../src/config/schema.js';
import { PolicyEngine } from '../../../src/policy/engine.js';

function decideUnder(command: string, allowExec = false): { allowed: boolean; rule: string } {
  const program = command.split(' ')[0]!;
  const engine = new PolicyEngine(
    policyFileSchema.parse({
      limits: { deny_substrings: [] },
      rules: [
        {
          name: 'named',
          action: 'allow',
          commands: [program, `${program} *`],
          write_paths: ['/tmp/*'],
          allow_exec: allowExec,
        },
      ],
    }),
  );
  const d = engine.decide({ alias: 'web1', tags: [] }, command);
  return { allowed: d.allowed, rule: d.rule };
}

const refused: [string, string][] = [
  ['ssh-keygen -D ./pkcs11.so', 'exec_option'],
  ['ssh-add -s ./pkcs11.so', 'exec_option'],
  ['openssl engine -t ./x.so', 'exec_option'],
  ['gcc -wrapper /bin/sh,-s -o /tmp/a x.c', 'exec_option'],
  ['gcc -fplugin=./x.so -o /tmp/a x.c', 'exec_option'],
  ['gcc x.c', 'write_denied'],
  ["mysql -e '\\! id'", 'exec_option'],
  ['mysql -u app shop', 'shell_from_stdin'],
  ["psql -c '\\! id'", 'exec_option'],
  ["sqlite3 /tmp/x.db '.shell id'", 'exec_option'],
  ['sqlite3 /tmp/x.db', 'shell_from_stdin'],
  ['ed -s /etc/hostname', 'shell_from_stdin'],
  ['emacs --batch --eval x', 'exec_option'],
  ['make', 'exec_option'],
  ['make -f ./Makefile all', 'exec_option'],
  ['cmake -P x.cmake', 'exec_option'],
  ['npm exec x', 'exec_option'],
  ['npm install', 'exec_option'],
  ['npx cowsay hi', 'exec_option'],
  ['yarn', 'exec_option'],
  ['pip install ./pkg', 'exec_option'],
  ['apt-get install -y nginx', 'exec_option'],
  ['apt-get -o APT::Update::Pre-Invoke::=id update', 'exec_option'],
  ['dpkg -i x.deb', 'exec_option'],
  ['rpm -ivh x.rpm', 'exec_option'],
  ['dnf install x', 'exec_option'],
  ['cargo build', 'exec_option'],
  ['go run .', 'exec_option'],
  ['ansible-playbook site.yml', 'exec_option'],
  ['terraform apply', 'exec_option'],
  ['unzip x.zip', 'write_denied'],
  ['7z x x.7z', 'write_denied'],
  ['cpio -idv', 'write_denied'],
  // Changed in place: the write_paths of the rule (/tmp/*) do not cover these.
  ['gzip /var/log/syslog.1', 'write_denied'],
  ['gunzip /var/log/x.gz', 'write_denied'],
  ['sysctl vm.swappiness=1', 'write_denied'],
  ['sysctl -w kernel.panic=1', 'write_denied'],
  ['date -s 2020-01-01', 'write_denied'],
  ['date 010112002020', 'write_denied'],
  ['hwclock --systohc', 'write_denied'],
  ['hostname evil', 'write_denied'],
  ['dmesg -C', 'write_denied'],
  ["ssh-keygen -t ed25519 -f /etc/ssh/evil -N ''", 'write_denied'],
  ['ssh-keygen -R web1', 'write_denied'],
  // Ways out GTFOBins lists (src/policy/programs/escapes.ts), with a payload of our own.
  ['cpulimit -l 50 -f -- touch /etc/x', 'default_deny'],
  ['valgrind -q touch /etc/x', 'default_deny'],
  ['setarch -3 touch /etc/x', 'exec_option'],
  ['nc -e /bin/sh 127.0.0.1 4444', 'exec_option'],
  ["socat - 'exec:touch /etc/x'", 'exec_option'],
  ["openvpn --dev null --script-security 2 --up 'touch /etc/x'", 'exec_option'],
  ["tex --shell-escape '\\write18{touch /etc/x}'", 'exec_option'],
  ['run-parts /tmp', 'exec_option'],
  ["tmux -c 'touch /etc/x'", 'exec_option'],
  ['screen -dmS x touch /etc/x', 'exec_option'],
  ['systemctl link /tmp/x.service', 'exec_option'],
  ["rpm --eval '%(touch /etc/x)'", 'exec_option'],
  ["pip config --editor 'touch /etc/x' edit", 'exec_option'],
  ['curl --engine /tmp/x.so https://example.com', 'exec_option'],
  ["exiftool -if 'system(1)' /etc/hosts", 'exec_option'],
  ['redis-cli -h 127.0.0.1 config set dir /etc/', 'exec_option'],
  ['bundler exec touch /etc/x', 'exec_option'],
  ['git apply --unsafe-paths --directory / /tmp/x.patch', 'write_denied'],
  ['ftp', 'shell_from_stdin'],
  ['smbclient //host/share', 'shell_from_stdin'],
];

const plain = [
  'npm ls',
  'npm view express version',
  'pip list -o',
  'pip3 show requests',
  'apt list --installed',
  'apt show nginx',
  'dnf info nginx',
  'rpm -qi bash',
  'rpm -qa',
  'dpkg -l',
  'dpkg -s bash',
  'gcc --version',
  'gcc -fsyntax-only x.c',
  'gcc -o /tmp/a.out x.c',
  "mysql -e 'select 1'",
  "psql -c 'select 1'",
  'psql -l',
  "sqlite3 /tmp/x.db 'select 1'",
  'ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub',
  'ssh-add -l',
  'make --version',
  'terraform version',
  'cargo --version',
  'go version',
  'go env GOPATH',
  'unzip -l x.zip',
  '7z l x.7z',
  'cpio -o',
  'gzip -dc /var/log/x.gz',
  'gzip -l /var/log/x.gz',
  'gzip /tmp/x',
  'sysctl -a',
  'sysctl kernel.hostname',
  'date +%s',
  "date -d '2 days ago' +%F",
  'hwclock -r',
  'hostname -f',
  'dmesg -T',
  "ssh-keygen -t ed25519 -f /tmp/k -N ''",
  'ssh-keygen -y -f /tmp/k',
  'ssh-keygen -F web1',
  'nc -z 127.0.0.1 22',
  'screen -ls',
  'tmux ls',
  'systemctl status nginx',
  'systemctl restart nginx',
  'exiftool /tmp/x.jpg',
  'redis-cli -h 127.0.0.1 ping',
  'java -version',
  'setarch --list',
];

describe('programs that run code by design', () => {
  it.each(refused)('%s is refused (%s) under a rule naming the program', (command, rule) => {
    expect(decideUnder(command)).toEqual({ allowed: false, rule });
  });
  it.each(refused.filter(([, rule]) => rule === 'exec_option'))('%s is admitted by allow_exec', (command) => {
    expect(decideUnder(command, true)).toEqual({ allowed: true, rule: 'named' });
  });
  it.each(plain)('%s (read-only) is admitted', (command) => {
    expect(decideUnder(command)).toEqual({ allowed: true, rule: 'named' });
  });
});
