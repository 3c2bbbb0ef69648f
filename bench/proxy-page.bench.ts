// `npm run bench proxy-page`: the proxy bench (proxy-bench.ts) on the app's real page, GET / with the web app
// connected to a real acme-database job (each request counts a visit there), instead of the fixed 3-byte /health.
import { runProxyBench } from './proxy-bench';

runProxyBench({ path: '/' });
