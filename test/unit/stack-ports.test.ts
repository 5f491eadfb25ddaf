import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { parseStackSettings } from '../../src/config.ts';
import { PipelineError } from '../../src/errors.ts';
import { stackStatus, stackUp } from '../../src/stack/stack.ts';

function listen(): Promise<{ server: Server; port: number }> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      resolve({ server, port: typeof address === 'object' && address ? address.port : 0 });
    });
  });
}

test('a taken port stops stack:up with the variable to change, and leaves nothing running', async (t) => {
  const { server, port } = await listen();
  t.teardown(() => server.close());
  const settings = parseStackSettings({
    STACK_DIR: mkdtempSync(join(tmpdir(), 'stack-ports-')),
    STACK_POSTGRES_PORT: String(port),
    // Only PostgreSQL is local here, so nothing is fetched.
    KAFKA_BROKERS: '127.0.0.1:1',
    SCHEMA_REGISTRY_URL: 'http://127.0.0.1:1',
  });
  const error = await t.throwsAsync(
    stackUp(settings, () => undefined),
    { instanceOf: PipelineError },
  );
  t.is(error.code, 'STACK_PORT_TAKEN');
  t.regex(error.message, new RegExp(`port ${port} for PostgreSQL is taken.*STACK_POSTGRES_PORT`));
  const statuses = await stackStatus(settings);
  t.deepEqual(
    statuses.map((s) => s.state),
    ['external', 'external', 'stopped'],
  );
});
