// Starts the bundled server for the browser journeys on a fresh data directory.
import fs from 'node:fs';

const dataDir = process.env.JOBDECK_DATA_DIR ?? 'test-results/e2e-data';
fs.rmSync(dataDir, { recursive: true, force: true });
process.env.LOG_LEVEL ??= 'warn';
await import('../dist/server/main.js');
