/**
 * Reading what is new since the previous check: the complete lines a file gained (followed by
 * byte offset, rotation and truncation told by inode and a fingerprint of the last bytes read),
 * or the documents an Elasticsearch index gained (by @timestamp).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { InputError, splitLines, type ParsedLine, type RawLine } from '../input.js';
import { elasticsearchSource } from '../sources.js';
import type { Cursor } from './state.js';

/**
 * The complete lines a file gained since the cursor (a line not yet ended by a newline is
 * left for the next check). A file that was replaced (new inode) or truncated is read
 * from its start. .gz files are read once, whole.
 */
export async function* newLinesOf(path: string, cursor: Cursor): AsyncGenerator<RawLine> {
  const key = resolve(path);
  const st = await stat(path).catch((err: NodeJS.ErrnoException) => {
    throw new InputError(`${path}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`);
  });
  let cur = cursor.files[key];
  if (!cur || cur.ino !== st.ino || st.size < cur.offset || (await markAt(path, cur.offset)) !== cur.mark) {
    cur = { ino: st.ino, offset: 0, line: 0, mark: '' };
  }
  cursor.files[key] = cur;
  if (st.size === cur.offset) return;
  if (path.endsWith('.gz')) {
    const { createGunzip } = await import('node:zlib');
    for await (const l of splitLines(createReadStream(path).pipe(createGunzip()), path)) yield l;
    cur.offset = st.size;
    cur.mark = await markAt(path, cur.offset);
    return;
  }
  const stream = createReadStream(path, { start: cur.offset, end: st.size - 1 });
  let carry: Buffer = Buffer.alloc(0);
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    const buf = carry.length > 0 ? Buffer.concat([carry, chunk]) : chunk;
    let start = 0;
    for (let nl = buf.indexOf(10, start); nl !== -1; nl = buf.indexOf(10, start)) {
      let text = buf.toString('utf8', start, nl);
      if (text.endsWith('\r')) text = text.slice(0, -1);
      cur.offset += nl + 1 - start;
      cur.line++;
      start = nl + 1;
      yield { ref: { file: path, line: cur.line }, text };
    }
    carry = buf.subarray(start);
  }
  cur.mark = await markAt(path, cur.offset);
}

const MARK_BYTES = 256;

/** The fingerprint of the bytes before `offset` ('' at the start of a file). */
async function markAt(path: string, offset: number): Promise<string> {
  if (offset === 0) return '';
  const fh = await open(path, 'r');
  try {
    const len = Math.min(MARK_BYTES, offset);
    const buf = Buffer.alloc(len);
    const { bytesRead } = await fh.read(buf, 0, len, offset - len);
    return createHash('sha256').update(buf.subarray(0, bytesRead)).digest('hex');
  } finally {
    await fh.close();
  }
}

/**
 * The documents Elasticsearch gained since the cursor: from the latest @timestamp read (the
 * millisecond included, the documents of it already read left out), or from --from (else
 * everything) on the first check.
 */
export async function* newDocumentsOf(
  url: string,
  index: string | undefined,
  headers: Record<string, string>,
  cursor: Cursor,
  firstFrom: number | undefined,
): AsyncGenerator<ParsedLine> {
  const since = cursor.es?.since;
  const ms = (t: string): string => t.slice(0, 23);
  let latest = since ?? '';
  let ids = new Set(cursor.es?.ids ?? []);
  const seen = new Set<string>();
  const source = elasticsearchSource({
    url,
    index,
    headers,
    from: since !== undefined ? Date.parse(`${ms(since)}Z`) / 1000 : firstFrom,
    skipIds: ids,
    onHit: (hit) => {
      if (hit.timestamp > latest) {
        if (ms(hit.timestamp) !== ms(latest)) seen.clear();
        latest = hit.timestamp;
      }
      if (ms(hit.timestamp) === ms(latest)) seen.add(hit.id);
    },
  });
  yield* source.lines();
  if (latest !== '') {
    if (since !== undefined && ms(latest) === ms(since)) for (const id of seen) ids.add(id);
    else ids = seen;
    cursor.es = { since: latest, ids: [...ids] };
  }
}
