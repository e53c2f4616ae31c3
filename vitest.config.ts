import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Integration tests each start their own sshd and server processes; two cores.
    maxWorkers: 2,
    // The default report, then which layers skipped tests and how to enable them.
    reporters: ['default', './test/reporters/skip-summary.ts'],
  },
});
