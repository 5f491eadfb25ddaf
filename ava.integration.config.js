// Integration tests: real Kafka, registry and PostgreSQL (the local stack, or the services configured in the
// environment). Each test owns its topics, consumer group, registry subjects and database schema, so files
// run in parallel; two workers keep the two cores of the reference machine from thrashing.
export default {
  files: ['test/integration/**/*.test.ts'],
  extensions: { ts: 'module' },
  nodeArguments: ['--import=tsx'],
  // tsx's loader hooks register per process; worker threads would not inherit them.
  workerThreads: false,
  concurrency: 2,
  timeout: '3m',
};
