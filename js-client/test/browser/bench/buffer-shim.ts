// rsocket-js uses Node's Buffer: the benchmark bundle (only) injects the `buffer` package
// for every free `Buffer` (esbuild `inject`).
export { Buffer } from 'buffer';
