// Unit tests: no services, run in parallel, fast.
export default {
  files: ['test/unit/**/*.test.ts'],
  extensions: { ts: 'module' },
  nodeArguments: ['--import=tsx'],
  // tsx's loader hooks register per process; worker threads would not inherit them.
  workerThreads: false,
  timeout: '30s',
};
