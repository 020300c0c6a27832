import { defineConfig } from 'vitest/config';

// Three lanes (docs/design/testing.md): unit needs nothing; bpf and integration need root
// and real servers, and report "skipped: needs root" when run without it.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['src/**/*.test.ts', 'test/unit/**/*.test.ts'],
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'bpf',
          include: ['test/bpf/**/*.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
          // Tests in this lane share one kernel; files run one at a time so that
          // interface and pin names never race even though each test uses unique names.
          fileParallelism: false,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          testTimeout: 300_000,
          hookTimeout: 180_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
