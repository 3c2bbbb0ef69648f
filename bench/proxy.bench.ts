// `npm run bench proxy` or `npx tsx bench/proxy.bench.ts`: the proxy bench (proxy-bench.ts) on GET /health, a fixed
// 3-byte answer, so what is measured is the HTTP path and not the app's work.
import { runProxyBench } from './proxy-bench';

runProxyBench({ path: '/health' });
