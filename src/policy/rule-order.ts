/**
 * Where a version 1 policy reads differently here than in the Python server. Python takes the
 * last matching rule; this server lets a deny rule win over any allow rule (stricter). The two
 * differ only where a deny rule comes before an allow rule, both can apply to one host, and one
 * command matches a pattern of each: Python allows it, this server denies it. `check` names
 * each such pair of patterns, with a command that shows it.
 */
import type { PolicyFile, RuleConfig } from '../config/schema.js';
import { ruleName } from './rules.js';

/**
 * A text that both globs (`*` any run, `?` one character) match, or undefined when none does.
 * A walk over pairs of positions, memoised, so O(|a|·|b|).
 */
export function globIntersection(a: string, b: string, caseInsensitive = false): string | undefined {
  const p = caseInsensitive ? a.toLowerCase() : a;
  const q = caseInsensitive ? b.toLowerCase() : b;
  const memo = new Map<number, string | null>();
  const walk = (i: number, j: number): string | null => {
    const key = i * (q.length + 1) + j;
    const known = memo.get(key);
    if (known !== undefined) return known;
    memo.set(key, null); // cycles through star-star steps end here
    let found: string | null = null;
    if (i === p.length && j === q.length) found = '';
    else if (p[i] === '*' || q[j] === '*') {
      // A star matches nothing, or takes one character of the other side.
      const skips = [p[i] === '*' ? walk(i + 1, j) : null, q[j] === '*' ? walk(i, j + 1) : null];
      found = skips.find((s) => s !== null) ?? null;
      if (found === null && p[i] === '*' && j < q.length && q[j] !== '*') {
        const rest = walk(i, j + 1);
        if (rest !== null) found = (q[j] === '?' ? 'x' : q[j]!) + rest;
      }
      if (found === null && q[j] === '*' && i < p.length && p[i] !== '*') {
        const rest = walk(i + 1, j);
        if (rest !== null) found = (p[i] === '?' ? 'x' : p[i]!) + rest;
      }
    } else if (i < p.length && j < q.length && (p[i] === q[j] || p[i] === '?' || q[j] === '?')) {
      const rest = walk(i + 1, j + 1);
      if (rest !== null) found = (p[i] === '?' ? (q[j] === '?' ? 'x' : q[j]!) : p[i]!) + rest;
    }
    memo.set(key, found);
    return found;
  };
  return walk(0, 0) ?? undefined;
}

/**
 * Whether one host could carry both rules: an alias both match. Tags never rule it out: a host
 * has several, so each rule may apply through another one.
 */
function canShareHost(a: RuleConfig, b: RuleConfig): boolean {
  return a.aliases.some((x) => b.aliases.some((y) => globIntersection(x, y) !== undefined));
}

/** At most this many pairs are named; a generated policy could have thousands. */
const MAX_WARNINGS = 20;

export function pythonOrderWarnings(policy: PolicyFile): string[] {
  if (policy.version === 2) return [];
  const warnings: string[] = [];
  let more = 0;
  policy.rules.forEach((deny, d) => {
    if (deny.action !== 'deny') return;
    for (let a = d + 1; a < policy.rules.length; a++) {
      const allow = policy.rules[a]!;
      if (allow.action !== 'allow' || !canShareHost(deny, allow)) continue;
      for (const dp of deny.commands) {
        for (const ap of allow.commands) {
          // Deny patterns fold case here: a pair meets when they meet case folded.
          const example = globIntersection(ap, dp) ?? globIntersection(ap, dp, true);
          if (example === undefined) continue;
          if (warnings.length >= MAX_WARNINGS) {
            more++;
            continue;
          }
          warnings.push(
            `rules '${ruleName(deny, d)}' (deny '${dp}') and '${ruleName(allow, a)}' (allow '${ap}', later in the file): ` +
              `a command matching both, such as '${example}', is denied here (a deny rule always wins) but allowed by the ` +
              'Python server (the last matching rule wins); put the deny rule after the allow rule (both servers then deny it) or narrow a pattern',
          );
        }
      }
    }
  });
  if (more > 0) warnings.push(`${more} more rule pairs read differently by the Python server (not listed)`);
  return warnings;
}
