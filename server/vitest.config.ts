import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Unit and contract tests beside the code; integration tests (real
    // redis-server, nginx and replicas from server/dist) in test/.
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // Rebuilds server/dist (what the integration tests run) when src is newer.
    // The Redis Cluster and Sentinel set shared by every file that needs one (started on first use).
    globalSetup: ['test/support/build.ts', 'test/support/shared-redis.ts'],
    // One file at a time: the machine has two cores and the integration
    // suites run real processes that must not fight over them.
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
