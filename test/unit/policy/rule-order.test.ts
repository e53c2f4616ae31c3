import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { policyFileSchema } from '../../../src/config/schema.js';
import { compileGlob } from '../../../src/policy/glob.js';
import { globIntersection, pythonOrderWarnings } from '../../../src/policy/rule-order.js';

const matches = (pattern: string, text: string): boolean =>
  compileGlob(pattern, { anchored: true, caseInsensitive: false }).matches(text);

describe('globIntersection', () => {
  it('finds a text both globs match, or says there is none', () => {
    expect(globIntersection('rm *', 'rm -f /tmp/*')).toBe('rm -f /tmp/');
    expect(globIntersection('ls*', 'cat *')).toBeUndefined();
    expect(globIntersection('a?c', '*b*')).toBe('abc');
    expect(globIntersection('*', '*')).toBe('');
  });

  it('property: the witness matches both, and when it says none, no sampled text matches both', () => {
    const glob = fc.stringMatching(/^[ab*?]{0,6}$/);
    fc.assert(
      fc.property(glob, glob, fc.array(fc.stringMatching(/^[ab]{0,6}$/), { maxLength: 30 }), (a, b, samples) => {
        const w = globIntersection(a, b);
        if (w !== undefined) {
          expect(matches(a, w), `${a} ~ ${w}`).toBe(true);
          expect(matches(b, w), `${b} ~ ${w}`).toBe(true);
        } else {
          for (const t of samples) expect(matches(a, t) && matches(b, t), `${a} ∩ ${b} ∋ ${t}`).toBe(false);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('pythonOrderWarnings', () => {
  const policy = (rules: unknown[]) => policyFileSchema.parse({ rules });

  it('names a deny rule before an allow rule whose patterns meet, with a command that shows it', () => {
    const warnings = pythonOrderWarnings(
      policy([
        { name: 'no-rm', action: 'deny', commands: ['rm *'] },
        { name: 'tmp-clean', action: 'allow', commands: ['rm -f /tmp/*', 'ls *'] },
        { name: 'late-deny', action: 'deny', commands: ['ls -R*'] },
      ]),
    );
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain("rules 'no-rm' (deny 'rm *') and 'tmp-clean' (allow 'rm -f /tmp/*'");
    expect(warnings[0]).toContain("such as 'rm -f /tmp/'");
  });

  it('says nothing when aliases cannot meet, or when the deny rule comes after the allow rule', () => {
    expect(
      pythonOrderWarnings(
        policy([
          { action: 'deny', aliases: ['db-*'], commands: ['rm *'] },
          { action: 'allow', aliases: ['web-*'], commands: ['rm -f /tmp/*'] },
        ]),
      ),
    ).toEqual([]);
    expect(
      pythonOrderWarnings(
        policy([
          { action: 'allow', commands: ['rm -f /tmp/*'] },
          { action: 'deny', commands: ['rm *'] },
        ]),
      ),
    ).toEqual([]);
  });
});
