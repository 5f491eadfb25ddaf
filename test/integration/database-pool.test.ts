import test from 'ava';
import { createPool } from '../../src/sink/database.ts';
import { waitUntil } from '../support/cli-process.ts';
import { config, databasePool, uniqueName } from '../support/services.ts';

async function terminate(pid: number): Promise<void> {
  const admin = databasePool();
  try {
    await admin.query('SELECT pg_terminate_backend($1)', [pid]);
  } finally {
    await admin.end();
  }
}

test('a broken idle connection is logged through the caller (was: swallowed without a line)', async (t) => {
  const lines: string[] = [];
  const pool = createPool(
    { ...config.database, schema: uniqueName('idle') },
    { max: 1, log: (l) => lines.push(l) },
  );
  t.teardown(() => pool.end());
  const { rows } = await pool.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  await terminate(rows[0]!.pid);
  await waitUntil('the idle connection break is logged', async () => lines.length > 0, 30_000);
  t.regex(
    lines[0]!,
    /^database: an idle connection broke: terminating connection due to administrator command \(57P01\); the next query opens a new one$/,
  );
  t.is(lines.length, 1, 'logged once');
  t.deepEqual((await pool.query<{ one: number }>('SELECT 1 AS one')).rows, [{ one: 1 }], 'the pool recovers');
});

test('a connection broken while checked out is logged through the caller', async (t) => {
  const lines: string[] = [];
  const pool = createPool(
    { ...config.database, schema: uniqueName('busy') },
    { max: 1, log: (l) => lines.push(l) },
  );
  t.teardown(() => pool.end());
  const client = await pool.connect();
  const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  await terminate(rows[0]!.pid);
  await waitUntil('the checked-out connection break is logged', async () => lines.length > 0, 30_000);
  client.release(true);
  t.regex(
    lines[0]!,
    /^database: a connection in use broke: .*\(57P01\); its next statement fails and is retried$/,
  );
});
