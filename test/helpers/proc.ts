/**
 * The process table from /proc (Linux): who is whose parent, and the CPU time each process has
 * collected from the children it reaped. Test helpers use it to find an sshd's per-connection
 * processes; benchmarks to add up the CPU of a process tree.
 */
import { readdirSync, readFileSync } from 'node:fs';

export interface ProcEntry {
  pid: number;
  ppid: number;
  /** cutime + cstime: clock ticks of the children this process has reaped. */
  reapedTicks: number;
}

/** Every process visible now; one that exits while the table is read is left out. */
export function procTable(): ProcEntry[] {
  const table: ProcEntry[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited while we looked
    }
    // "pid (comm) state ppid ...": comm may itself contain spaces and parentheses; after it,
    // cutime and cstime are fields 16 and 17 of the line.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    table.push({ pid: Number(entry), ppid: Number(f[1]), reapedTicks: Number(f[13]) + Number(f[14]) });
  }
  return table;
}

/** Children by parent pid, from a table read by procTable(). */
export function childrenByParent(table: readonly ProcEntry[]): Map<number, number[]> {
  const children = new Map<number, number[]>();
  for (const { pid, ppid } of table) children.set(ppid, [...(children.get(ppid) ?? []), pid]);
  return children;
}

/** `roots` and every process below them, breadth first. */
export function processTree(roots: readonly number[], children: ReadonlyMap<number, number[]>): number[] {
  const found: number[] = [];
  const queue = [...roots];
  for (let pid = queue.shift(); pid !== undefined; pid = queue.shift()) {
    found.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return found;
}
