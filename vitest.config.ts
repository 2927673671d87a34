import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Integration tests start real servers and talk to a real Redis; give them room on 2 cores.
    testTimeout: 20_000,
    hookTimeout: 20_000,
    pool: 'forks',
  },
});
