import test from 'ava';
import { quoteIdentifier } from '../../src/sink/sql-identifier.ts';
import { spawnPipeline } from '../support/cli-process.ts';
import { startPrivateBroker } from '../support/private-broker.ts';
import { databasePool, config as shared, uniqueName } from '../support/services.ts';
import { uniqueCatalog } from '../support/unique-catalog.ts';

// A fresh broker of this test's own, in this helper's port range: its group coordinator is still loading
// when the demo's consumer first asks for it, which is what printed kafkajs ERROR lines.
const PORT = 30020;

test('the demo on a fresh broker logs no error line (was: kafkajs ERROR "The coordinator is loading" in its own JSON)', async (t) => {
  const broker = await startPrivateBroker(t, PORT);

  const id = uniqueName('demo');
  const catalog = uniqueCatalog(id);
  const pool = databasePool();
  t.teardown(async () => {
    await pool.query(`DROP SCHEMA IF EXISTS ${quoteIdentifier(id)} CASCADE`).catch(() => undefined);
    await pool.end();
    catalog.remove();
  });
  const demo = spawnPipeline(t, ['demo', '--events', '50', '--timeout-seconds', '120'], {
    ...process.env,
    STACK_DIR: broker.dir,
    KAFKA_BROKERS: `127.0.0.1:${PORT}`,
    SCHEMA_REGISTRY_URL: shared.registry.url,
    DATABASE_URL: shared.database.connectionString,
    DATABASE_SCHEMA: id,
    PIPELINE_SCHEMAS_DIR: catalog.dir,
    CONSUMER_GROUP_ID: `${id}-group`,
    LOG_FORMAT: 'json',
    // Debug shows everything kafkajs says, so that no line escapes the grading unseen.
    LOG_LEVEL: 'debug',
  });
  const code = await demo.exited;
  const output = demo.output();
  t.is(code, 0, output);
  t.regex(output, /6\/6 summary/);
  const logged = output
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { level: string; msg: string });
  t.deepEqual(
    logged.filter((l) => l.level === 'error' || l.level === 'fatal'),
    [],
    output,
  );
  // At debug the retriable states are there to see, at debug level: graded, not hidden.
  const transient = logged.filter((l) => /coordinator is loading/.test(JSON.stringify(l)));
  t.log(
    `${transient.length} "coordinator is loading" line(s), all at ${[...new Set(transient.map((l) => l.level))]}`,
  );
  t.true(transient.every((l) => l.level === 'debug'));
});
