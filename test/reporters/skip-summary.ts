/**
 * The last thing `npm test` prints: every test layer that skipped tests, how many, and the one
 * command that enables it. Without it a fresh machine passes `npm test` while the whole stack
 * layer (real Elasticsearch, Collector, promtool…) silently did nothing.
 */
import path from 'node:path';
import type { Reporter, TestModule } from 'vitest/node';

/** What provisions each layer that can skip (under CI, .ci/run does all of it first). */
const ENABLE: Record<string, string> = {
  stack: 'bash scripts/engines/provision-all.sh   (Elasticsearch, OpenSearch, otelcol, promtool, …)',
  package:
    "bash scripts/engines/node.sh && bash scripts/engines/mcp-registry.sh   (Node 22, 24 and 26; the registry's server.json validator)",
  integration: 'run as root with strace, dash and bash installed (password logins, the policy oracle)',
  unit: 'install dash and bash (the printer is checked against both)',
  reliability: 'npm run build (the stderr test runs the built process guard)',
};

export default class SkipSummary implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const skipped = new Map<string, number>();
    for (const module of testModules) {
      // A module whose hook failed shows its tests as skipped: that is a failure, reported as one.
      if (module.state() === 'failed') continue;
      const relative = path.relative(process.cwd(), module.moduleId);
      const layer = relative.split(path.sep)[1] ?? relative;
      let n = 0;
      for (const _ of module.children.allTests('skipped')) n++;
      if (n > 0) skipped.set(layer, (skipped.get(layer) ?? 0) + n);
    }
    if (skipped.size === 0) return;
    const lines = ['', 'Skipped test layers (they tested nothing):'];
    for (const [layer, n] of [...skipped].sort()) {
      lines.push(
        `  ${layer}: ${n} test${n === 1 ? '' : 's'} skipped — enable with: ${ENABLE[layer] ?? 'see docs/testing.md'}`,
      );
    }
    lines.push('  or everything at once, as CI does: bash .ci/run', '');
    // A reporter's own output: stdout of the test run, not an MCP stream.
    console.log(lines.join('\n'));
  }
}
