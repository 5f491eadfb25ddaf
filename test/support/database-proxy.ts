import type { ExecutionContext } from 'ava';
import type { PipelineFixture } from './pipeline-fixture.ts';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.ts';

/**
 * A TCP proxy in front of the fixture's PostgreSQL (closed when the test ends) and the DATABASE_URL that goes
 * through it: what a test cuts or freezes to take the database away from the code under test.
 */
export async function proxyDatabase(
  t: ExecutionContext,
  fx: PipelineFixture,
): Promise<{ proxy: TcpProxy; url: string }> {
  const target = new URL(fx.config.database.connectionString);
  const proxy = await startTcpProxy(target.hostname, Number(target.port));
  t.teardown(() => proxy.close());
  const proxied = new URL(target);
  proxied.port = String(proxy.port);
  return { proxy, url: proxied.toString() };
}
