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
  return new CompiledGlob(pattern, options.anchored, options.caseInsensitive);
}

/**
 * One compiled glob: a few strings and methods on the prototype, so a policy at the size limits
 * (20,000 patterns) holds ~30 bytes per glob rather than two closures and an eager code-point
 * array each (~1 KB). The code points are computed only when a surrogate pair needs them.
 */
class CompiledGlob implements Glob {
  readonly literalPrefix: string;
  /** The folded pattern, with `*` around it when not anchored. */
  private readonly chars: string;
  private readonly foldedPrefix: string;
  private points: string[] | undefined;

  constructor(
    readonly pattern: string,
    anchored: boolean,
    private readonly caseInsensitive: boolean,
  ) {
    const body = this.fold(pattern);
    this.chars = anchored ? body : `*${body}*`;
    const wildcard = pattern.search(/[*?]/);
    this.literalPrefix = anchored ? (wildcard < 0 ? pattern : pattern.slice(0, wildcard)) : '';
    // Most rules fail on their first characters: check the literal prefix before the wildcard walk.
    this.foldedPrefix = this.fold(this.literalPrefix);
  }

  matches(text: string): boolean {
    const folded = this.fold(text);
    if (!folded.startsWith(this.foldedPrefix)) return false;
    // `?` is one character: code units are characters unless the text has surrogate pairs.
    if (SURROGATE.test(folded) || SURROGATE.test(this.chars)) {
      this.points ??= Array.from(this.chars);
      return wildcardMatch(this.points, Array.from(folded));
    }
    return wildcardMatch(this.chars, folded);
  }

  private fold(text: string): string {
    return this.caseInsensitive ? text.toLowerCase() : text;
  }
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
