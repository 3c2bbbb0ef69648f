import { execFile } from 'node:child_process';
import type { SeedCall } from '../../contract/fixtures/seed-payloads';

/**
 * Runs a seed's curl command as the seed prints it — same method, headers (including the seeds' odd
 * `Content-Type: content-type: ...`) and body bytes — substituting only $host, $accessToken and the
 * ids named in `ids` (seed id → id the server returned).
 */
export function runSeedCurl(
  host: string,
  accessToken: string,
  call: SeedCall,
  ids: Record<string, string> = {},
): Promise<{ status: number; body: unknown }> {
  let body = call.bodyText;
  for (const [from, to] of Object.entries(ids)) body = body.split(`"${from}"`).join(`"${to}"`);
  const args = [
    '-s',
    '-w',
    '\n%{http_code}',
    `-X${call.method}`,
    '-H',
    `Authorization: Bearer ${accessToken}`,
    '-H',
    'Content-Type: content-type: application/json; charset=utf-8',
    `${host}${call.path}`,
    '-d',
    body,
  ];
  return new Promise((resolve, reject) => {
    execFile('curl', args, (error, stdout) => {
      if (error) return reject(error);
      const cut = stdout.lastIndexOf('\n');
      const text = stdout.slice(0, cut);
      resolve({ status: Number(stdout.slice(cut + 1)), body: text ? JSON.parse(text) : null });
    });
  });
}
