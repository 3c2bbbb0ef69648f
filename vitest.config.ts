import { defineConfig } from 'vitest/config';
import { fileURLToPath } from 'node:url';

const alias = {
  '@': fileURLToPath(new URL('./src', import.meta.url)),
  '@contract': fileURLToPath(new URL('./contract', import.meta.url)),
};

// A committed `.only` would shrink the run without notice: under CI (`.ci/run` sets CI=true) Vitest refuses it and
// the run fails. It is Vitest's own default, written out here; each project needs it (projects don't inherit it).
const allowOnly = !process.env.CI;

export default defineConfig({
  resolve: { alias },
  test: {
    // Two cores: PGlite runs on each worker's JS thread, so more workers only contend.
    maxWorkers: 2,
    projects: [
      {
        resolve: { alias },
        test: {
          name: 'server',
          allowOnly,
          environment: 'node',
          include: ['server/**/*.test.ts', 'contract/**/*.test.ts'],
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
      {
        resolve: { alias },
        test: {
          name: 'web',
          allowOnly,
          environment: 'jsdom',
          include: ['src/**/*.test.{ts,tsx}'],
          setupFiles: ['src/test/setup.ts'],
          // Above src/test/setup.ts's 15 s wait for one condition: a test waits for several.
          testTimeout: 60_000,
        },
      },
    ],
  },
});
