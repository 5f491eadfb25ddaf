import pg from 'pg';
import { loadConfig } from '../src/config.ts';

const config = loadConfig();
const c = new pg.Client({ connectionString: config.database.connectionString });
await c.connect();
for (const s of [
  'synchronous_commit',
  'fsync',
  'wal_sync_method',
  'commit_delay',
  'shared_buffers',
  'max_wal_size',
  'checkpoint_timeout',
  'wal_level',
  'full_page_writes',
])
  console.log(s, (await c.query(`SHOW ${s}`)).rows[0]);
await c.query('CREATE TEMP TABLE t (id int primary key, v bigint)');
await c.query('INSERT INTO t VALUES (1, 0)');
await c.query('CREATE TABLE IF NOT EXISTS scratch_tx (id int primary key, v bigint)');
await c.query('INSERT INTO scratch_tx VALUES (1,0) ON CONFLICT DO NOTHING');
for (const table of ['t', 'scratch_tx']) {
  const t0 = performance.now();
  for (let i = 0; i < 200; i++) {
    await c.query('BEGIN');
    await c.query(`SELECT v FROM ${table} WHERE id = 1 FOR UPDATE`);
    await c.query(`UPDATE ${table} SET v = $1 WHERE id = 1`, [i]);
    await c.query('COMMIT');
  }
  console.log(table, 'ms per tx', ((performance.now() - t0) / 200).toFixed(2));
  const t1 = performance.now();
  for (let i = 0; i < 200; i++) await c.query('SELECT 1');
  console.log('round trip ms', ((performance.now() - t1) / 200).toFixed(2));
}
await c.query('DROP TABLE scratch_tx');
await c.end();
