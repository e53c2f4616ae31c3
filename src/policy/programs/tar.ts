/**
 * GNU tar. Options that run programs (`--to-command`, `-I`/`--use-compress-program`,
 * `--rsh-command`, `-F`/`--info-script`, `--checkpoint-action=exec=…`, …) are exec; extracting
 * writes the archive's members (paths unknown), creating or changing an archive writes the
 * archive. The old bundled form (`tar xzf A.tar`, `tar cfT A.tar LIST`) gives values to its
 * value-taking letters from the following words in order. A word that may expand to an option
 * is opaque: the classic `tar cf x.tar *` with a file named `--checkpoint-action=exec=sh`.
 */
import { exec, opaque, write } from './args.js';
import { has, named, options, parse } from './getopt.js';
import type { Arg, Effect, ProgramAnalyser } from './types.js';

/** Short letters taking a value; also drives the old bundled form, so it must be complete. */
const VALUE_LETTERS = 'bCfFgHIKLNTVX';

const TAR = options(
  '--blocking-factor,-b= --directory,-C= --file,-f= --info-script,--new-volume-script,-F= ' +
    '--listed-incremental,-g= --format,-H= --use-compress-program,-I= --starting-file,-K= --tape-length,-L= ' +
    '--newer,--after-date,-N= --files-from,-T= --label,-V= --exclude-from,-X= --to-command= ' +
    '--checkpoint-action= --checkpoint=? --rsh-command= --rmt-command= --set-mtime-command= --index-file= ' +
    '--volno-file= --remove-files --to-stdout,-O --force-local --verbatim-files-from ' +
    '--create,-c --append,-r --update,-u --extract,--get,-x --catenate,--concatenate,-A --delete ' +
    '--list,-t --diff,--compare,-d --test-label --exclude= --owner= --group= --mode= --mtime= ' +
    '--transform,--xform= --strip-components= --suffix= --record-size= --occurrence=? --quoting-style= ' +
    '--newer-mtime= --backup=? --exclude-tag= --exclude-tag-all= --exclude-tag-under= --warning= ' +
    '--sparse-version= --pax-option= --level= --atime-preserve=? --one-top-level=? --xattrs-include= ' +
    '--xattrs-exclude= --hole-detection= --set-mtime-format= --owner-map= --group-map= --quote-chars= ' +
    '--no-quote-chars= --add-file= --check-links,-l --help --version --usage',
);

const EXEC_OPTIONS = [
  '--to-command',
  '--use-compress-program',
  '--rsh-command',
  '--rmt-command',
  '--info-script',
  '--set-mtime-command',
];
/** --checkpoint-action values that only print or wait. */
const QUIET_CHECKPOINT = /^(?:bell|dot|\.|totals|echo(?:=.*)?|ttyout(?:=.*)?|sleep=[0-9]+|wait=.*)$/;
const ARCHIVE_CHANGES = ['--create', '--append', '--update', '--catenate', '--delete'];

/** `tar xzf A.tar B` → `tar -x -z -f A.tar B`. */
function unbundle(argv: readonly Arg[]): Arg[] {
  const bundle = argv[1];
  if (bundle === undefined || bundle.value.startsWith('-') || !bundle.exact) return [...argv];
  const out: Arg[] = [argv[0]!];
  let next = 2;
  for (const letter of bundle.value) {
    out.push({ value: `-${letter}`, exact: true, splits: false, mayBeOption: false });
    if (VALUE_LETTERS.includes(letter) && argv[next] !== undefined) out.push(argv[next++]!);
  }
  return [...out, ...argv.slice(next)];
}

export const tar: ProgramAnalyser = (original) => {
  const argv = unbundle(original);
  const parsed = parse(argv, TAR, { abbreviate: true, permute: true, lenient: true });
  if (parsed.problem !== undefined) return [opaque(`tar: ${parsed.problem}`)];
  if (has(parsed, '--help', '--version', '--usage')) return [];
  const effects: Effect[] = [];
  for (const o of parsed.options) {
    if (EXEC_OPTIONS.includes(o.name)) effects.push(exec(`tar ${o.name}`));
    if (o.name === '--checkpoint-action' && !(o.value?.exact === true && QUIET_CHECKPOINT.test(o.value.value)))
      effects.push(exec('tar --checkpoint-action'));
    if (o.name === '--listed-incremental' || o.name === '--index-file' || o.name === '--volno-file')
      effects.push(write(`tar ${o.name}`, o.value));
  }
  if (has(parsed, '--files-from') && !has(parsed, '--verbatim-files-from'))
    effects.push(opaque('tar -T: a names file may hold options'));
  if (has(parsed, '--remove-files')) effects.push(write('tar --remove-files'));
  const archives = named(parsed, '--file').map((o) => o.value);
  const local = has(parsed, '--force-local');
  for (const archive of archives) {
    if (archive === undefined || !archive.exact) continue;
    const colon = archive.value.indexOf(':');
    const slash = archive.value.indexOf('/');
    if (!local && colon > 0 && (slash < 0 || colon < slash)) effects.push(exec('tar -f HOST:FILE runs a remote shell'));
  }
  if (has(parsed, '--extract') && !has(parsed, '--to-stdout')) effects.push(write('tar extract writes files'));
  if (has(parsed, ...ARCHIVE_CHANGES)) {
    if (archives.length === 0) effects.push(write('tar writes the default archive'));
    for (const archive of archives) {
      if (!(archive?.exact === true && archive.value === '-')) effects.push(write('tar writes the archive', archive));
    }
  }
  return effects;
};
