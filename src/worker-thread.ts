/**
 * Starts a worker thread whose script sits beside the caller (`<name>.js` when built, `<name>.ts`
 * from sources). From sources the .ts is loaded through tsx, which a worker's entry cannot get
 * from --import: a bootstrap registers it first. Undefined when no such script is there or the
 * worker cannot start; the caller then does the work in-line.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

export function startSiblingWorker(callerUrl: string, name: string): Worker | undefined {
  const here = fileURLToPath(callerUrl);
  const fromSource = here.endsWith('.ts');
  const script = here.replace(/[^/]+\.(ts|js)$/, `${name}.${fromSource ? 'ts' : 'js'}`);
  if (!existsSync(script)) return undefined;
  try {
    // stdout/stderr: true keeps anything the thread might print away from MCP's stdout. They are
    // not read (nothing is printed there): a flowing stream would keep the process alive.
    const options = { stdout: true, stderr: true } as const;
    if (!fromSource) return new Worker(script, options);
    const bootstrap = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(pathToFileURL(script).href)}); })`;
    return new Worker(bootstrap, { ...options, eval: true });
  } catch {
    return undefined;
  }
}
