import { mkdtemp, readdir, rm, writeFile, mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KIT_ENTRIES, PACKAGE_ROOT, exportKit, runKitCommand } from '../../src/kit.js';

let tmp: string;
beforeEach(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'mcp-ssh-kit-'));
});
afterEach(async () => {
  await rm(tmp, { recursive: true, force: true });
});

function io() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (t: string) => void out.push(t), err: (t: string) => void err.push(t) } };
}

describe('kit', () => {
  it('path prints the package root, where every kit entry of this checkout is', async () => {
    const r = io();
    expect(await runKitCommand(['path'], r.io)).toBe(0);
    const root = r.out.join('').trim();
    expect(root).toBe(PACKAGE_ROOT.replace(/\/$/, ''));
    const present = await readdir(root);
    for (const entry of KIT_ENTRIES) expect(present, entry).toContain(entry);
  });

  it('export copies the whole kit into a new directory, and refuses a non-empty one without --force', async () => {
    const dest = path.join(tmp, 'kit');
    const r = io();
    expect(await runKitCommand(['export', dest], r.io)).toBe(0);
    expect((await readdir(dest)).sort()).toEqual([...KIT_ENTRIES].sort());
    expect(await readdir(path.join(dest, 'elk'))).toContain('kibana');
    const again = io();
    expect(await runKitCommand(['export', dest], again.io)).toBe(1);
    expect(again.err.join('')).toContain('is not empty');
    expect(await runKitCommand(['export', dest, '--force'], io().io)).toBe(0);
  });

  it('exports what a partial installation has, and says so when it has nothing', async () => {
    const root = path.join(tmp, 'pkg');
    await mkdir(path.join(root, 'elk'), { recursive: true });
    await writeFile(path.join(root, 'elk', 'x.json'), '{}');
    expect(await exportKit(path.join(tmp, 'out'), { root })).toEqual(['elk']);
    await expect(exportKit(path.join(tmp, 'out2'), { root: path.join(tmp, 'none') })).rejects.toThrow(/no kit found/);
  });

  it('usage errors exit 2 with the help', async () => {
    const r = io();
    expect(await runKitCommand(['frobnicate'], r.io)).toBe(2);
    expect(r.err.join('')).toContain('Usage: mcp-ssh-orchestrator kit path');
    expect(await runKitCommand([], io().io)).toBe(2);
    expect(await runKitCommand(['--help'], io().io)).toBe(0);
  });
});
