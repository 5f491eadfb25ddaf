import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { loadStackSettings, parseStackSettings, type StackSettings } from '../../src/config.ts';
import { stackDown, stackUp } from '../../src/stack/stack.ts';
import { config as shared } from './services.ts';

/**
 * A Kafka broker of the test's own (listener `port`, controller `port + 1`), for a test that restarts or
 * otherwise disturbs it: the shared one is never touched. The registry and PostgreSQL stay the shared ones
 * (the stack counts them as external); the broker's artifacts come from the project's cache
 * (STACK_CACHE_DIR), where `npm run stack:up` fetched them. Stopped and removed when the test ends.
 */
export async function startPrivateBroker(t: ExecutionContext, port: number): Promise<StackSettings> {
  const dir = mkdtempSync(join(tmpdir(), `private-broker-${port}-`));
  const settings = parseStackSettings({
    STACK_DIR: dir,
    STACK_CACHE_DIR: loadStackSettings().cacheDir,
    STACK_KAFKA_PORT: String(port),
    STACK_KAFKA_CONTROLLER_PORT: String(port + 1),
    SCHEMA_REGISTRY_URL: shared.registry.url,
    DATABASE_URL: shared.database.connectionString,
  });
  t.teardown(async () => {
    await stackDown(settings, () => undefined);
    rmSync(dir, { recursive: true, force: true });
  });
  await stackUp(settings, () => undefined);
  return settings;
}
