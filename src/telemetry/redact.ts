/**
 * Removes secrets from command text before it is written anywhere (security events carry
 * the original and normalised command). Conservative: it is better to hide a harmless value
 * than to leak a password into a SIEM that keeps data for seven years.
 */
const REDACTED = '[REDACTED]';

const PATTERNS: Array<[RegExp, string]> = [
  // --password=x, --token x, -p'x' style flags whose value is a secret.
  [
    /(--?(?:pass(?:word|wd)?|token|secret|api[-_]?key|access[-_]?key|auth)(?:=|\s+))("[^"]*"|'[^']*'|\S+)/gi,
    `$1${REDACTED}`,
  ],
  // NAME=value assignments whose name says secret.
  [
    /\b([A-Za-z_][A-Za-z0-9_]*(?:PASSWORD|PASSWD|SECRET|TOKEN|API_KEY|APIKEY|ACCESS_KEY|PRIVATE_KEY)[A-Za-z0-9_]*=)("[^"]*"|'[^']*'|\S+)/gi,
    `$1${REDACTED}`,
  ],
  // HTTP authorization headers.
  [/(authorization:\s*(?:bearer|basic|token)\s+)\S+/gi, `$1${REDACTED}`],
  // user:password@ in URLs.
  [/(\b[a-z][a-z0-9+.-]*:\/\/[^\s:/@]+:)[^\s@/]+@/gi, `$1${REDACTED}@`],
  // mysql -pSECRET (the value glued to -p).
  [/(\s-p)(?!\s)(\S+)/g, `$1${REDACTED}`],
  // AWS access key ids and common token shapes.
  [/\bAKIA[0-9A-Z]{16}\b/g, REDACTED],
  [/\b(?:ghp|gho|ghs|ghu|github_pat|glpat|xox[abp])_[A-Za-z0-9_-]{10,}\b/g, REDACTED],
];

export function redactSecrets(command: string): string {
  let out = command;
  for (const [pattern, replacement] of PATTERNS) out = out.replace(pattern, replacement);
  return out;
}
