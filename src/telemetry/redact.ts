/**
 * Removes secrets from command text before it is written anywhere (security events carry
 * the original and the parsed command). Conservative: it is better to hide a harmless value
 * than to leak a password into a SIEM that keeps data for seven years.
 *
 * Two entry points: `redactSecrets` for text as the client wrote it (values may be quoted,
 * spaces included), and `redactWords` for argv words after quote removal — the parsed form is
 * redacted word by word, before the words are joined, so a quoted value with spaces cannot
 * leak its tail.
 */
const REDACTED = '[REDACTED]';

/** A value in shell text: double-quoted, single-quoted, or up to the next blank. */
const VALUE = `("[^"]*"|'[^']*'|\\S+)`;
/** Option names whose value is a secret. */
const SECRET_OPTION =
  '(?:pass(?:word|wd|phrase)?|token|secret|api[-_]?key|access[-_]?key|auth(?:-token)?|private[-_]?key)';
/** Variable names that hold secrets: any name containing one of these. */
const SECRET_NAME = /[A-Za-z0-9_]*(?:PASS|TOKEN|SECRET|KEY|CREDENTIAL)[A-Za-z0-9_]*/i;

const PATTERNS: Array<[RegExp, string]> = [
  // --password=x, --token x, --passphrase 'a b' style flags whose value is a secret.
  [new RegExp(`(--?${SECRET_OPTION}(?:=|\\s+))${VALUE}`, 'gi'), `$1${REDACTED}`],
  // NAME=value assignments whose name says secret (DB_PASS, API_KEY, GITHUB_TOKEN, …).
  [new RegExp(`\\b(${SECRET_NAME.source}=)${VALUE}`, 'gi'), `$1${REDACTED}`],
  // sshpass -p SECRET (a separate value), mysql -pSECRET (the value glued to -p).
  [new RegExp(`(\\bsshpass\\s+(?:-\\S+\\s+)*-p\\s*)${VALUE}`, 'g'), `$1${REDACTED}`],
  [/(\s-p)(?!\s)(\S+)/g, `$1${REDACTED}`],
  // curl/wget -u user:SECRET, --user=user:SECRET.
  [/((?:\s|^)(?:-u|--user|--proxy-user)(?:=|\s+)['"]?[A-Za-z0-9._@-]*:)("[^"]*"|'[^']*'|[^\s'"]+)/g, `$1${REDACTED}`],
  // HTTP authorization headers.
  [/(authorization:\s*(?:bearer|basic|token)\s+)[^\s'"]+/gi, `$1${REDACTED}`],
  // user:password@host, with or without a scheme.
  [/(\b[a-z][a-z0-9+.-]*:\/\/[^\s:/@]+:)[^\s@/]+@/gi, `$1${REDACTED}@`],
  [/((?:^|[\s'"=])[A-Za-z0-9._-]+:)(?!\/\/)[^\s@/:'"]+@(?=[A-Za-z0-9[])/g, `$1${REDACTED}@`],
  // AWS access key ids and common token shapes.
  [/\bAKIA[0-9A-Z]{16}\b/g, REDACTED],
  [/\b(?:ghp|gho|ghs|ghu|github_pat|glpat|xox[abp])_[A-Za-z0-9_-]{10,}\b/g, REDACTED],
];

export function redactSecrets(command: string): string {
  let out = command;
  for (const [pattern, replacement] of PATTERNS) out = out.replace(pattern, replacement);
  return out;
}

/** Options whose next word is a secret, and `-u`/`--user` whose next word holds one after `:`. */
const SECRET_NEXT = new RegExp(`^--?${SECRET_OPTION}$`, 'i');
const USER_NEXT = /^(?:-u|--user|--proxy-user)$/;

/** Redacts argv words (quotes already removed): each word is one value, spaces and all. */
export function redactWords(words: readonly string[]): string[] {
  return words.map((word, i) => {
    const previous = i > 0 ? (words[i - 1] as string) : '';
    if (SECRET_NEXT.test(previous)) return REDACTED;
    if (previous === '-p' && words.slice(0, i).some((w) => w === 'sshpass' || w.endsWith('/sshpass'))) return REDACTED;
    if (USER_NEXT.test(previous) && word.includes(':')) return `${word.slice(0, word.indexOf(':') + 1)}${REDACTED}`;
    // A URL's userinfo, spaces and all (the word is one value).
    const url = /^([a-z][a-z0-9+.-]*:\/\/[^:/@]+:)[^@]*@/i.exec(word);
    if (url !== null) return `${url[1] as string}${REDACTED}@${word.slice(url[0].length)}`;
    const eq = word.indexOf('=');
    if (eq > 0) {
      const name = word.slice(0, eq);
      const bare = name.replace(/^--?/, '');
      if (new RegExp(`^${SECRET_OPTION}$`, 'i').test(bare) || (/^[A-Za-z_]\w*$/.test(name) && SECRET_NAME.test(name)))
        return `${name}=${REDACTED}`;
    }
    return redactSecrets(word);
  });
}
