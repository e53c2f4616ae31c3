/**
 * Programs usually allowed to read that change files or the system through an ordinary-looking
 * option or operand: compressors that replace their input (`gzip /var/log/x`), `sysctl x=y`,
 * `date -s`, `hwclock --systohc`, `hostname NAME`, `dmesg -C`. Reported as writes: of the file
 * they change where there is one (the compressed file; `/proc/sys/vm/swappiness` for
 * `sysctl vm.swappiness=10`; `/proc/sys/kernel/hostname`), so `write_paths` can admit them;
 * clocks and the kernel log have no file, and are refused.
 */
import { literal, opaque, write } from './args.js';
import type { Arg, ProgramAnalyser } from './types.js';

const isOption = (a: Arg): boolean => a.value.startsWith('-');
const operands = (argv: readonly Arg[]): Arg[] => argv.slice(1).filter((a) => !isOption(a));
const hasOption = (argv: readonly Arg[], short: string, long: readonly string[]): boolean =>
  argv
    .slice(1)
    .some(
      (a) =>
        long.some((l) => a.value === l || a.value.startsWith(`${l}=`)) ||
        (short !== '' && /^-[A-Za-z0-9]+$/.test(a.value) && [...short].some((c) => a.value.slice(1).includes(c))),
    );
const mayHideOption = (argv: readonly Arg[]): Arg | undefined => argv.slice(1).find((a) => !a.exact && a.mayBeOption);

/** gzip and friends replace each file operand unless they write to stdout, list or test. */
const compressor =
  (name: string, suffix: string): ProgramAnalyser =>
  (argv) => {
    const hidden = mayHideOption(argv);
    if (hidden !== undefined) return [opaque(`${name}: ${hidden.value} may be any option`)];
    if (hasOption(argv, 'cltLVh', ['--stdout', '--to-stdout', '--list', '--test', '--help', '--version', '--license']))
      return [];
    const decompress =
      name.startsWith('un') || name === 'gunzip' || hasOption(argv, 'd', ['--decompress', '--uncompress']);
    const feature = `${name} replaces its files in place`;
    // The file it removes and the one it creates (`x` and `x.gz`, or back).
    return operands(argv).flatMap((file) => {
      if (!file.exact) return [write(feature, file)];
      const other = !decompress
        ? `${file.value}${suffix}`
        : file.value.endsWith(suffix)
          ? file.value.slice(0, -suffix.length)
          : undefined;
      return [write(feature, file), other === undefined ? write(feature) : write(feature, literal(other))];
    });
  };

/** `sysctl a.b.c=v` writes /proc/sys/a/b/c; `-p`/`--system` load files of settings. */
const sysctl: ProgramAnalyser = (argv) => {
  if (hasOption(argv, 'p', ['--load', '--system'])) return [write('sysctl loads settings from files')];
  const settings = operands(argv).filter((a) => !a.exact || a.value.includes('='));
  return settings.map((a) =>
    a.exact
      ? write('sysctl sets a kernel parameter', literal(`/proc/sys/${a.value.split('=')[0]!.replace(/\./g, '/')}`))
      : write('sysctl sets a kernel parameter'),
  );
};

/** `date -s STRING`, or the POSIX operand `MMDDhhmm[[CC]YY][.ss]`, sets the clock. */
const date: ProgramAnalyser = (argv) =>
  hasOption(argv, 's', ['--set']) ||
  operands(argv).some((a) => !a.exact || /^\d{8}(?:\d{2}){0,2}(?:\.\d{2})?$/.test(a.value))
    ? [write('date sets the clock')]
    : [];

const hwclock: ProgramAnalyser = (argv) =>
  hasOption(argv, 'wsa', ['--systohc', '--hctosys', '--set', '--adjust', '--systz'])
    ? [write('hwclock sets a clock')]
    : [];

const hostname: ProgramAnalyser = (argv) =>
  hasOption(argv, 'bF', ['--boot', '--file']) || operands(argv).length > 0
    ? [write('hostname sets the host name', literal('/proc/sys/kernel/hostname'))]
    : [];

const dmesg: ProgramAnalyser = (argv) =>
  hasOption(argv, 'cCDEn', ['--clear', '--read-clear', '--console-off', '--console-on', '--console-level'])
    ? [write('dmesg changes the kernel log')]
    : [];

const COMPRESSED_SUFFIX: Record<string, string> = {
  gzip: '.gz',
  gunzip: '.gz',
  pigz: '.gz',
  bzip2: '.bz2',
  bunzip2: '.bz2',
  pbzip2: '.bz2',
  xz: '.xz',
  unxz: '.xz',
  lzma: '.lzma',
  unlzma: '.lzma',
  zstd: '.zst',
  unzstd: '.zst',
  lz4: '.lz4',
};

export const IN_PLACE: Record<string, ProgramAnalyser> = {
  ...Object.fromEntries(Object.entries(COMPRESSED_SUFFIX).map(([n, suffix]) => [n, compressor(n, suffix)])),
  sysctl,
  date,
  hwclock,
  hostname,
  dmesg,
};
