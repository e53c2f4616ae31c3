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
  const fold = (text: string): string => (options.caseInsensitive ? text.toLowerCase() : text);
  const body = fold(pattern);
  const chars = options.anchored ? body : `*${body}*`;
  const wildcard = pattern.search(/[*?]/);
  const literalPrefix = options.anchored ? (wildcard < 0 ? pattern : pattern.slice(0, wildcard)) : '';
  // Most rules fail on their first characters: check the literal prefix before the wildcard walk.
  const foldedPrefix = fold(literalPrefix);
  const patternPoints = Array.from(chars);
  return {
    pattern,
    literalPrefix,
    matches: (text) => {
      const folded = fold(text);
      if (!folded.startsWith(foldedPrefix)) return false;
      // `?` is one character: code units are characters unless the text has surrogate pairs.
      return SURROGATE.test(folded) || SURROGATE.test(chars)
        ? wildcardMatch(patternPoints, Array.from(folded))
        : wildcardMatch(chars, folded);
    },
  };
}

const SURROGATE = /[\uD800-\uDFFF]/;

/** A deny substring: a glob matched anywhere when it has `*`, otherwise a literal substring. */
export function compileDenySubstring(pattern: string): Glob {
  if (pattern.includes('*')) return compileGlob(pattern, { anchored: false, caseInsensitive: true });
  const needle = pattern.toLowerCase();
  return { pattern, literalPrefix: '', matches: (text) => text.toLowerCase().includes(needle) };
}

/** Over strings (code units) or arrays of code points: the same two-pointer walk. */
function wildcardMatch(pattern: ArrayLike<string>, text: ArrayLike<string>): boolean {
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
