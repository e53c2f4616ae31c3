/**
 * What `check` says about a policy beyond "it loads": rules that send text unchecked, and rules
 * whose wildcard stands where a program name would be — since a wildcard never admits a
 * program run by another command, such a rule admits less than it seems to.
 */
import type { PolicyFile } from '../config/schema.js';
import { effectsOf } from './programs/index.js';
import type { Arg } from './programs/types.js';
import { pythonOrderWarnings } from './rule-order.js';
import { ruleName, SUBSTITUTION_CONSTRUCTS } from './rules.js';

const PROBE = '\u0000program';

function lit(value: string): Arg {
  return { value, exact: true, splits: false, mayBeOption: false };
}

export function lintPolicy(policy: PolicyFile): string[] {
  const warnings: string[] = [];
  policy.rules.forEach((rule, index) => {
    if (rule.action !== 'allow') return;
    const name = ruleName(rule, index);
    const unchecked = new Set<string>(rule.allow_syntax);
    if (rule.allow_substitution) for (const c of SUBSTITUTION_CONSTRUCTS) unchecked.add(c);
    if (unchecked.size > 0)
      warnings.push(
        `rule '${name}': commands it matches that use ${[...unchecked].join(', ')} are sent as written, unchecked (allow_syntax${rule.allow_substitution ? ' / allow_substitution' : ''})`,
      );
    for (const pattern of rule.commands) {
      const wildcard = pattern.search(/[*?]/);
      if (wildcard < 0) continue;
      const prefix = pattern.slice(0, wildcard);
      if (!prefix.includes(' ')) {
        if (wildcard === 0)
          warnings.push(
            `rule '${name}': '${pattern}' admits any command on its own, but no program run by another command (sudo, find -exec, sh -c …): name those programs literally`,
          );
        continue;
      }
      // The words spelled out before the wildcard, then a probe where the wildcard stands.
      const words = prefix.trimEnd().split(/ +/);
      const endsWithWord = !prefix.endsWith(' ');
      const argv = [...words.map(lit), ...(endsWithWord ? [] : [lit(PROBE)])];
      const runsProbe = effectsOf(argv).some((e) => e.kind === 'runs' && e.argv[0]?.value === PROBE);
      if (runsProbe)
        warnings.push(
          `rule '${name}': in '${pattern}' the wildcard stands where the program ${words[0]} runs would be named, and a wildcard never admits a program; it no longer admits '${prefix}PROGRAM …' unless PROGRAM is allowed on its own — spell the programs out (e.g. '${prefix}systemctl restart *')`,
        );
    }
  });
  warnings.push(...pythonOrderWarnings(policy));
  return warnings;
}
