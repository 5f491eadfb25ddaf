import type pg from 'pg';

/**
 * Makes the transaction that stores a next offset crossing `crossing` (from below it to it or above) sleep
 * `seconds` in its pipeline_offsets update: a write held at a chosen point of the log.
 */
export async function slowOffsetAt(pool: pg.Pool, crossing: number, seconds: number): Promise<void> {
  await pool.query(`
    CREATE FUNCTION slow_offset() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NEW.next_offset >= ${crossing} AND OLD.next_offset < ${crossing} THEN PERFORM pg_sleep(${seconds}); END IF;
      RETURN NEW;
    END $$;
    CREATE TRIGGER slow_offset BEFORE UPDATE ON pipeline_offsets
      FOR EACH ROW EXECUTE FUNCTION slow_offset();`);
}

/**
 * Refuses (check_violation, after a 0.5 s pause) the first transaction that would store a next offset
 * crossing `crossing`, once only: a sequence counts outside the transaction that rolls back. PostgreSQL
 * refusing the pipeline's own bookkeeping is final for the consumer, not retried. Dropped by
 * `DROP TRIGGER refuse_offset ON pipeline_offsets`.
 */
export async function refuseOffsetOnceAt(pool: pg.Pool, crossing: number): Promise<void> {
  await pool.query(`
    CREATE SEQUENCE refusals;
    CREATE FUNCTION refuse_offset() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NEW.next_offset >= ${crossing} AND OLD.next_offset < ${crossing} THEN
        IF nextval('refusals') = 1 THEN
          PERFORM pg_sleep(0.5);
          RAISE EXCEPTION 'offset % refused by the test', NEW.next_offset USING ERRCODE = '23514';
        END IF;
      END IF;
      RETURN NEW;
    END $$;
    CREATE TRIGGER refuse_offset BEFORE UPDATE ON pipeline_offsets
      FOR EACH ROW EXECUTE FUNCTION refuse_offset();`);
}
