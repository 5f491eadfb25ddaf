/**
 * `pipeline_offsets`: the next offset to write, per consumer group, topic and partition, stored in the same
 * transaction as the rows. The row lock makes the database, not the Kafka client, the judge of what was
 * already written.
 */
import type pg from 'pg';
import { classifyDatabaseError } from './database.ts';
import { quoteIdentifier } from './sql-identifier.ts';

const OFFSETS = quoteIdentifier('pipeline_offsets');
const WHERE = 'consumer_group = $1 AND topic = $2 AND partition = $3';
const SELECT_FOR_UPDATE = `SELECT next_offset FROM ${OFFSETS} WHERE ${WHERE} FOR UPDATE`;
// A fresh partition starts at 0 (skips nothing); the row is only ever committed with the batch's offset.
const INSERT_MISSING = `INSERT INTO ${OFFSETS} (consumer_group, topic, partition, next_offset, updated_at)
  VALUES ($1, $2, $3, 0, now()) ON CONFLICT (consumer_group, topic, partition) DO NOTHING`;
const UPDATE = `UPDATE ${OFFSETS} SET next_offset = $4, updated_at = now() WHERE ${WHERE}`;

/**
 * Locks the partition's row until the transaction ends, creating it first if missing, and returns the
 * next offset to write. Concurrent writers of the same partition queue here.
 */
export async function lockPartitionOffset(
  client: pg.ClientBase,
  groupId: string,
  topic: string,
  partition: number,
): Promise<bigint> {
  const params = [groupId, topic, partition];
  let result = await client.query<{ next_offset: string }>(SELECT_FOR_UPDATE, params);
  if (result.rows.length === 0) {
    // ON CONFLICT DO NOTHING waits for a concurrent inserter, then the SELECT waits for its lock.
    await client.query(INSERT_MISSING, params);
    result = await client.query<{ next_offset: string }>(SELECT_FOR_UPDATE, params);
  }
  return BigInt(result.rows[0]!.next_offset);
}

/** Stores the next offset to write (last written + 1) in the caller's transaction. */
export async function storePartitionOffset(
  client: pg.ClientBase,
  groupId: string,
  topic: string,
  partition: number,
  nextOffset: bigint,
): Promise<void> {
  await client.query(UPDATE, [groupId, topic, partition, nextOffset.toString()]);
}

/** Next offset to consume per partition of `topic` for the group (kafkajs offset strings), for seeks. */
export async function readNextOffsets(
  pool: pg.Pool,
  groupId: string,
  topic: string,
): Promise<Map<number, string>> {
  try {
    const { rows } = await pool.query<{ partition: number; next_offset: string }>(
      `SELECT partition, next_offset FROM ${OFFSETS} WHERE consumer_group = $1 AND topic = $2`,
      [groupId, topic],
    );
    return new Map(rows.map((r) => [r.partition, r.next_offset]));
  } catch (error) {
    throw classifyDatabaseError(error, 'pipeline_offsets');
  }
}
