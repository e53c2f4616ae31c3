/**
 * The KQL the kit's saved searches and Lens panels use, translated into query DSL the way
 * Kibana does it, so the stack tests can run each saved search against a real engine:
 *
 *   field: "value"   → match_phrase        field: value → match (true/false/numbers too)
 *   field: *         → exists               not X        → bool.must_not
 *   X and Y          → bool.filter          X or Y       → bool.should, minimum_should_match 1
 *   ( ... )          → grouping
 *
 * Anything else (wildcards in values, ranges, nested queries) is refused, so a saved search
 * that grows beyond this subset fails the test instead of being half-translated.
 */
type Dsl = Record<string, unknown>;

type Token = { kind: 'word' | 'string' | 'lparen' | 'rparen' | 'colon'; value: string };

function tokenize(kql: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < kql.length) {
    const c = kql[i] as string;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '(' || c === ')' || c === ':') {
      tokens.push({ kind: c === '(' ? 'lparen' : c === ')' ? 'rparen' : 'colon', value: c });
      i++;
    } else if (c === '"') {
      let j = i + 1;
      let value = '';
      while (j < kql.length && kql[j] !== '"') {
        if (kql[j] === '\\') j++;
        value += kql[j];
        j++;
      }
      if (j >= kql.length) throw new Error(`KQL: unterminated string in ${kql}`);
      tokens.push({ kind: 'string', value });
      i = j + 1;
    } else {
      let j = i;
      while (j < kql.length && !/[\s():"]/.test(kql[j] as string)) j++;
      tokens.push({ kind: 'word', value: kql.slice(i, j) });
      i = j;
    }
  }
  return tokens;
}

export function kqlToDsl(kql: string): Dsl {
  if (kql.trim() === '') return { match_all: {} };
  const tokens = tokenize(kql);
  let pos = 0;
  const peek = (): Token | undefined => tokens[pos];
  const isWord = (w: string): boolean => peek()?.kind === 'word' && peek()?.value.toLowerCase() === w;

  const parseOr = (): Dsl => {
    const parts = [parseAnd()];
    while (isWord('or')) {
      pos++;
      parts.push(parseAnd());
    }
    return parts.length === 1 ? (parts[0] as Dsl) : { bool: { should: parts, minimum_should_match: 1 } };
  };
  const parseAnd = (): Dsl => {
    const parts = [parseNot()];
    while (isWord('and')) {
      pos++;
      parts.push(parseNot());
    }
    return parts.length === 1 ? (parts[0] as Dsl) : { bool: { filter: parts } };
  };
  const parseNot = (): Dsl => {
    if (isWord('not')) {
      pos++;
      return { bool: { must_not: [parseNot()] } };
    }
    return parseAtom();
  };
  const parseAtom = (): Dsl => {
    const t = peek();
    if (!t) throw new Error(`KQL: unexpected end of ${kql}`);
    if (t.kind === 'lparen') {
      pos++;
      const inner = parseOr();
      if (peek()?.kind !== 'rparen') throw new Error(`KQL: missing ) in ${kql}`);
      pos++;
      return inner;
    }
    if (t.kind !== 'word') throw new Error(`KQL: expected a field name at "${t.value}" in ${kql}`);
    const field = t.value;
    pos++;
    if (peek()?.kind !== 'colon') throw new Error(`KQL: free-text queries are not in the subset (${kql})`);
    pos++;
    const v = peek();
    if (!v || (v.kind !== 'word' && v.kind !== 'string')) throw new Error(`KQL: expected a value after ${field}:`);
    pos++;
    if (v.kind === 'string') return { match_phrase: { [field]: v.value } };
    if (v.value === '*') return { exists: { field } };
    if (v.value.includes('*')) throw new Error(`KQL: wildcard values are not in the subset (${kql})`);
    return { match: { [field]: v.value } };
  };

  const dsl = parseOr();
  if (pos !== tokens.length) throw new Error(`KQL: unexpected "${tokens[pos]?.value}" in ${kql}`);
  return dsl;
}
