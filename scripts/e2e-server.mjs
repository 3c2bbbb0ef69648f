// Starts the bundled server for the browser journeys on a fresh data directory. What it prints also goes to
// test-results/e2e-server.log, so a journey can sign in with the link the server printed.
import fs from 'node:fs';

const dataDir = process.env.JOBDECK_DATA_DIR ?? 'test-results/e2e-data';
const logFile = 'test-results/e2e-server.log';
fs.rmSync(dataDir, { recursive: true, force: true });
fs.mkdirSync('test-results', { recursive: true });
fs.writeFileSync(logFile, '');
const write = process.stdout.write.bind(process.stdout);
process.stdout.write = (chunk, ...rest) => {
  fs.appendFileSync(logFile, chunk);
  return write(chunk, ...rest);
};
process.env.LOG_LEVEL ??= 'warn';
await import('../dist/server/main.js');
