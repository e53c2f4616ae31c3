import { describe, expect, it } from 'vitest';
import { argv, kinds } from './programs-helpers.js';

const sed = (...words: string[]): string[] => kinds(argv('sed', ...words));
const awk = (...words: string[]): string[] => kinds(argv('awk', ...words));

describe('sed', () => {
  it.each([
    [['-n', '1,5p', 'f']],
    [['s/a/b/g', 'f']],
    [['-n', '/err/p']],
    [['-E', 's/([0-9]+)/<\\1>/', 'f']],
    [['/^#/d']],
    [['-n', '$p']],
    [['s|/usr|/opt|g']],
    [['-e', 's/a/b/', '-e', 's/c/d/', 'f']],
    [['--expression=s/a/b/', 'f']],
    [['s/a\\/b/c/', 'f']],
    [['s,x\\,y,z,2', 'f']],
    [['y/abc/xyz/']],
    [[':a;N;$!ba;s/\\n/ /g']],
    [['/start/,/end/{/x/d;p}']],
    [['-n', '/a/{p;q}']],
    [['1~2d']],
    [['0,/re/s//x/']],
    [['$!N;P;D']],
    [['/x/a appended; e id']],
    [['1i\\\nheader']],
    [['/x/c\\\nnew line']],
    [['s/x/y/ # comment']],
    [['-s', '-n', '-z', '-u', '--posix', '--debug', '-l', '80', 'l', 'f']],
    [['=;F;z;h;H;g;G;x;l 5;q 3']],
    [['r /etc/hosts']],
    [['s/x/y/w /dev/stdout']],
    [['--version']],
  ])('allows sed %j', (words) => {
    expect(sed(...words)).toEqual([]);
  });

  it.each([
    [['e id'], ['exec']],
    [['1e id'], ['exec']],
    [['s/x/id/e'], ['exec']],
    [['s/x/id/ge'], ['exec']],
    [['s|x|id|e'], ['exec']],
    [['s/x/y/w /tmp/out'], ['write']],
    [['-n', 'w /tmp/x'], ['write']],
    [['W /tmp/x'], ['write']],
    [['/a/{p;w /tmp/x\n}'], ['write']],
    [['-i', 's/a/b/', 'f'], ['write']],
    [['--in-place=.bak', 's/a/b/', 'f'], ['write']],
    [
      ['--in-pl', 's/a/b/', 'f', 'g'],
      ['write', 'write'],
    ],
    [['-i.bak', '-e', 's/a/b/', 'f'], ['write']],
    [['-f', 'script'], ['opaque']],
    [['--file=script'], ['opaque']],
    [['--frob', 'p'], ['opaque']],
    [['-c', 'p'], ['opaque']],
    [['k'], ['opaque']],
    [['s/a/b'], ['opaque']],
    [['s/a/b/X'], ['opaque']],
    [['{p'], ['opaque']],
    [['p}'], ['opaque']],
    [['p x'], ['opaque']],
    [['-e', 'a\\', '-e', 'text', '-e', 'e id'], ['exec']],
    [['s/x/y/;e'], ['exec']],
    [['1!e'], ['exec']],
    [['/a/,+3e id'], ['exec']],
    [['y/a/b/;W f'], ['write']],
    [['s/a/b/', 'f', '-i'], ['write']],
  ])('refuses sed %j', (words, expected) => {
    expect(sed(...words)).toEqual(expected);
  });
});

describe('awk', () => {
  it.each([
    [['{print $1}', 'f']],
    [['-F:', '{print $1}', '/etc/passwd']],
    [['-F', ':', '-v', 'x=1', '{print $1, x}']],
    [['$3 > 100 {print}', 'f']],
    [['NR==1']],
    [['{s+=$2} END {print s}']],
    [['/err/ {c++} END {print c}']],
    [['{ if ($1 > 5) print $2 }']],
    [['{ print ($1 > 5) }']],
    [['{ printf "%s > %s\\n", $1, $2 }']],
    [['$1 ~ /a|b/ { print }']],
    [['/a|b/']],
    [['!/x/ && $2 >= 3 || $3 < 1']],
    [['{ a[$1]++ } END { for (k in a) print k, a[k] }']],
    [['{ x = $1 / 2; print x }']],
    [['{ print (length($0) > 3 ? "a" : "b") > "/dev/stderr" }']],
    [['BEGIN { FS = ":" } { print $NF }']],
    [['{ print > "/dev/stdout" }']],
    [['{ print toupper($1) } # comment | x']],
    [['{print $1}', 'x=1', 'f']],
    [['--sandbox', '{print}']],
    [['-S', '{print}']],
    [['{ if (x) /re/ ; print }']],
    [['--version']],
    [['{ gsub(/\\//, "-"); print }']],
  ])('allows awk %j', (words) => {
    expect(awk(...words)).toEqual([]);
  });

  it.each([
    [['BEGIN {system("id")}'], ['exec']],
    [['{print | "sh"}'], ['exec']],
    [['{print |& "sh"}'], ['exec']],
    [['{print > "/tmp/x"}'], ['write']],
    [['{printf "%s", $0 >> "f"}'], ['write']],
    [['BEGIN {"id" | getline x}'], ['exec', 'exec']],
    [['BEGIN { while (("cat /etc/shadow" | getline l) > 0) print l }'], ['exec', 'exec']],
    [['{ getline line < "/etc/shadow" }'], ['exec']],
    [['-f', 'prog.awk'], ['exec']],
    [['--file=prog.awk'], ['exec']],
    [['-f', '-'], ['stdin_program']],
    [['@load "x"'], ['exec']],
    [['{ @f() }'], ['exec']],
    [['{print $1 > $2}'], ['write']],
    [['{ print length($0) > 3 }'], ['write']],
    [['{ printf("%s", $1) > "out" }'], ['write']],
    [['{ print $1, $2 > "out" }'], ['write']],
    [['-i', 'lib', '{print}'], ['exec']],
    [['-l', 'ext', '{print}'], ['exec']],
    [['-E', 'prog'], ['exec']],
    [['-o', '{print}'], ['write']],
    [['-p', '{print}'], ['write']],
    [['-d', '{print}'], ['write']],
    [['-D', '{print}'], ['exec']],
    [['-W', 'exec', 'prog'], ['opaque']],
    [['--frob', '{print}'], ['opaque']],
    [['-e', 'BEGIN { system("id") }'], ['exec']],
    [['{ print "system" }'], ['exec']],
    [['{ print /"/ }'], []],
    [['{ print "unterminated }'], ['opaque']],
    [['$0 ~ /[/]/'], ['opaque']],
    [['{ x++ /2/ 1 }'], ['opaque']],
    [["{ print 'x' }"], ['opaque']],
  ])('refuses awk %j', (words, expected) => {
    expect(awk(...words)).toEqual(expected);
  });

  it('treats gawk, mawk, nawk and busybox awk alike', () => {
    for (const name of ['gawk', 'mawk', 'nawk', '/usr/bin/awk'])
      expect(kinds(argv(name, 'BEGIN {system("id")}'))).toEqual(['exec']);
    expect(kinds(argv('busybox', 'awk', '{print | "sh"}'))).toEqual(['exec']);
    expect(kinds(argv('gawk', '@include "x"'))).toEqual(['exec']);
  });
});
