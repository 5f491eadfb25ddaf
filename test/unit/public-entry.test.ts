import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { promisify } from 'node:util';
import test from 'ava';
import { projectRoot } from '../../src/config.ts';

const run = promisify(execFile);

// Every service points at a listener of this test: an import that connected anywhere would be counted.
async function listener(): Promise<{ port: number; connections: () => number; close: () => void }> {
  let count = 0;
  const server = createServer((socket) => {
    count += 1;
    socket.destroy();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  return { port, connections: () => count, close: () => server.close() };
}

test('importing the public entry and the CLI module runs nothing (was: the CLI module printed its usage and set exit code 2)', async (t) => {
  const services = await listener();
  t.teardown(services.close);
  const script = [
    "const api = await import('./src/index.ts');",
    "await import('./src/contracts/generated/events.ts');",
    "const cli = await import('./src/cli/main.ts');",
    "if (typeof api.TypedProducer !== 'function' || typeof api.PipelineConsumer !== 'function') process.exit(3);",
    "if (typeof api.loadCatalog !== 'function' || typeof cli.main !== 'function') process.exit(3);",
  ].join('\n');
  const { stdout, stderr } = await run(
    process.execPath,
    ['--import', 'tsx', '--input-type=module', '--eval', script],
    {
      cwd: projectRoot,
      // Exits by itself: nothing left open (a timer, a socket) would hold it past the timeout.
      timeout: 20_000,
      env: {
        PATH: process.env.PATH,
        KAFKA_BROKERS: `127.0.0.1:${services.port}`,
        SCHEMA_REGISTRY_URL: `http://127.0.0.1:${services.port}`,
        DATABASE_URL: `postgres://u:p@127.0.0.1:${services.port}/db`,
      },
    },
  );
  t.is(stdout, '');
  t.is(stderr, '');
  t.is(services.connections(), 0);
});
