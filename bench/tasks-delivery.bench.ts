// `npm run bench` picks up *.bench.ts; the benchmark itself is bench/tasks-delivery.ts (see its header for options).
import './tasks-delivery';
