/**
 * The stderr contract, checked on every server process the suite starts: each complete line is
 * one JSON object. The session helpers call this when a test closes its server, so a warning
 * printed by Node, a crash trace or a stray console.log anywhere in the suite fails the test
 * that caused it (the README's `jq` filter would stop at that line in production).
 */
export function assertStderrIsJson(stderr: string, label: string): void {
  const complete = stderr.slice(0, stderr.lastIndexOf('\n') + 1);
  const bad: string[] = [];
  for (const [i, line] of complete.split('\n').slice(0, -1).entries()) {
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      value = undefined;
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value))
      bad.push(`line ${i + 1}: ${line.slice(0, 300)}`);
  }
  if (bad.length > 0) {
    throw new Error(`${label}: ${bad.length} stderr line(s) are not JSON objects:\n${bad.slice(0, 5).join('\n')}`);
  }
}
