/**
 * Rule globs: `*` (any characters, blanks and `/` included) and `?` (one character); every
 * other character is literal. Matched with the two-pointer wildcard algorithm
 * (O(pattern × text)), not a backtracking RegExp, so a pattern with many stars cannot be made
 * slow by a long command.
 */

export interface Glob {
  pattern: string;
  /** The pattern's text before its first wildcard: what it names literally. */
  literalPrefix: string;
  matches(text: string): boolean;
}

export function compileGlob(pattern: string, options: { anchored: boolean; caseInsensitive: boolean }): Glob {
  const fold = (text: string): string[] => Array.from(options.caseInsensitive ? text.toLowerCase() : text);
  const body = fold(pattern);
  const chars = options.anchored ? body : ['*', ...body, '*'];
  const wildcard = pattern.search(/[*?]/);
  const literalPrefix = options.anchored ? (wildcard < 0 ? pattern : pattern.slice(0, wildcard)) : '';
  return { pattern, literalPrefix, matches: (text) => wildcardMatch(chars, fold(text)) };
}

/** A deny substring: a glob matched anywhere when it has `*`, otherwise a literal substring. */
export function compileDenySubstring(pattern: string): Glob {
  if (pattern.includes('*')) return compileGlob(pattern, { anchored: false, caseInsensitive: true });
  const needle = pattern.toLowerCase();
  return { pattern, literalPrefix: '', matches: (text) => text.toLowerCase().includes(needle) };
}

function wildcardMatch(pattern: string[], text: string[]): boolean {
  let p = 0;
  let t = 0;
  let starAt = -1;
  let textAtStar = 0;
  while (t < text.length) {
    const pc = pattern[p];
    if (pc !== undefined && pc !== '*' && (pc === '?' || pc === text[t])) {
      p++;
      t++;
    } else if (pc === '*') {
      starAt = p++;
      textAtStar = t;
    } else if (starAt !== -1) {
      p = starAt + 1;
      t = ++textAtStar;
    } else {
      return false;
    }
  }
  while (pattern[p] === '*') p++;
  return p === pattern.length;
}
