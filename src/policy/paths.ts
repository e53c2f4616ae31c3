/**
 * Lexical path resolution for rule matching: `/var/log/../../etc/passwd` is `/etc/passwd`
 * before it meets a rule such as `cat /var/log/*`. Lexical only (no file system), so the policy
 * requires a rule to match both the text as written and the resolved form.
 */

/** True when the text has a `..` path segment. */
export function hasDotDot(text: string): boolean {
  return /(?:^|\/)\.\.(?:\/|$)/.test(text);
}

/** `..` and `.` segments resolved; a relative path keeps the `..` it cannot resolve. */
export function resolveDotDot(text: string): string {
  if (!hasDotDot(text)) return text;
  const absolute = text.startsWith('/');
  const out: string[] = [];
  for (const segment of text.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') {
      if (out.length > 0 && out[out.length - 1] !== '..') out.pop();
      else if (!absolute) out.push('..');
      continue;
    }
    out.push(segment);
  }
  const joined = out.join('/');
  if (absolute) return `/${joined}`;
  return joined === '' ? '.' : joined;
}
