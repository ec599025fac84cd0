import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Real redis-server, nginx and replicas: generous limits, and one file at
    // a time so that suites do not fight over the two cores.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    fileParallelism: false,
  },
});
