import { join } from 'node:path';
import test from 'ava';
import { TypedProducer } from '../../src/producer/typed-producer.ts';
import { readPid } from '../../src/stack/service-process.ts';
import { stackDown, stackUp } from '../../src/stack/stack.ts';
import { spawnPipeline, waitUntil } from '../support/cli-process.ts';
import { pageViews } from '../support/page-views.ts';
import { createPipelineFixture } from '../support/pipeline-fixture.ts';
import { startPrivateBroker } from '../support/private-broker.ts';

// A broker of this test's own, restarted under a running consumer: the shared one is never touched. The
// artifacts come from the project's cache (STACK_CACHE_DIR), where `npm run stack:up` fetched them.
const PORT = 23010;

test('SIGTERM after a broker restart, with it frozen or gone, exits within CONSUMER_SHUTDOWN_TIMEOUT_MS (was: unbounded)', async (t) => {
  const settings = await startPrivateBroker(t, PORT);

  const fx = await createPipelineFixture(t, { partitions: 3, brokers: [`127.0.0.1:${PORT}`] });
  const views = fx.topic('shop.page-views');
  const send = async (from: number, count: number) => {
    const producer = new TypedProducer({ kafka: fx.kafka, catalog: fx.catalog, registry: fx.registry });
    await producer.connect();
    await producer.sendUnchecked(views, undefined, pageViews(from, count));
    await producer.disconnect();
  };
  const count = async () => Number((await fx.pool.query('SELECT count(*) AS n FROM page_views')).rows[0].n);
  const shutdownMs = 5000;
  const env = { ...fx.env, CONSUMER_SHUTDOWN_TIMEOUT_MS: String(shutdownMs) };
  const consume = () => spawnPipeline(t, ['consume', '--topic', views, '--progress-seconds', '0'], env);
  /** SIGTERM, then the exit code and how long it took. */
  const terminate = async (member: ReturnType<typeof consume>) => {
    const sent = Date.now();
    member.child.kill('SIGTERM');
    const code = await member.exited;
    return { code, ms: Date.now() - sent };
  };
  // The consumer's deadline, then the CLI's own backstop 5 s later; a bit of slack for a loaded machine.
  const bound = shutdownMs + 5000 + 3000;

  await send(0, 1000);
  const first = consume();
  await waitUntil('the first events are written', async () => (await count()) >= 1000, 90_000);

  // The broker restarts under the running consumer, which recovers and goes on writing.
  await stackDown(settings, () => undefined);
  await stackUp(settings, () => undefined);
  await send(1000, 1000);
  await waitUntil(
    'the consumer writes again after the restart',
    async () => (await count()) >= 2000,
    120_000,
  );
  const afterRestart = await terminate(first);
  t.true(afterRestart.ms < bound, `took ${afterRestart.ms} ms:\n${first.output()}`);
  t.true(afterRestart.code === 0 || afterRestart.code === 6, first.output());
  t.notRegex(first.output(), /MaxListenersExceededWarning/);

  // A broker that holds its connections and answers nothing (frozen): the leave is never answered, and the
  // deadline closes the sockets that kafkajs would otherwise keep open forever.
  const frozen = consume();
  await frozen.waitFor(/consuming/, 90_000);
  const brokerPid = readPid(join(settings.dir, 'run', 'kafka.pid'))!;
  process.kill(brokerPid, 'SIGSTOP');
  let thawed = false;
  const thaw = () => {
    if (!thawed) process.kill(brokerPid, 'SIGCONT');
    thawed = true;
  };
  t.teardown(thaw);
  const brokerFrozen = await terminate(frozen);
  thaw();
  t.true(brokerFrozen.ms < bound, `took ${brokerFrozen.ms} ms:\n${frozen.output()}`);
  t.is(brokerFrozen.code, 6, frozen.output());
  t.regex(frozen.output(), /error \[SHUTDOWN_TIMEOUT\]: the consumer did not leave the group within 5 s/);

  // And with the broker gone for good.
  const second = consume();
  await second.waitFor(/consuming/, 90_000);
  await stackDown(settings, () => undefined);
  const brokerGone = await terminate(second);
  t.true(brokerGone.ms < bound, `took ${brokerGone.ms} ms:\n${second.output()}`);
  t.true(brokerGone.code === 0 || brokerGone.code === 6, second.output());
  t.log(
    `after a restart: exit ${afterRestart.code} in ${afterRestart.ms} ms; frozen: exit ${brokerFrozen.code} in ${brokerFrozen.ms} ms; broker gone: exit ${brokerGone.code} in ${brokerGone.ms} ms`,
  );
  t.is(await count(), 2000);
});
