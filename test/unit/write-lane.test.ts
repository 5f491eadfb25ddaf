import test from 'ava';
import { parseConfig } from '../../src/config.ts';
import { type LaneWriteResult, WriteLane } from '../../src/consumer/write-lane.ts';
import { WriteSlots } from '../../src/consumer/write-slots.ts';

/** A write the test finishes by hand, recording when it started. */
function manualWrite(log: string[], name: string) {
  let finish!: (result: LaneWriteResult) => void;
  let fail!: (error: unknown) => void;
  const done = new Promise<LaneWriteResult>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  return {
    job: () => {
      log.push(`start ${name}`);
      return done.then((r) => {
        log.push(`end ${name}`);
        return r;
      });
    },
    finish: (result: LaneWriteResult = 'written') => finish(result),
    fail: (error: unknown) => fail(error),
  };
}

const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

function lane(writeAhead: number, errors: unknown[] = [], follows?: string) {
  return new WriteLane(
    { writeAhead, onError: (e) => errors.push(e) },
    follows === undefined ? {} : { follows, next: String(Number(follows) + 1) },
  );
}

test('chunks are written one after the other, in the order they were accepted', async (t) => {
  const log: string[] = [];
  const l = lane(2);
  const a = manualWrite(log, 'a');
  const b = manualWrite(log, 'b');
  const c = manualWrite(log, 'c');
  t.true(l.accept(a.job, '9'));
  t.true(l.accept(b.job, '19'));
  t.true(l.accept(c.job, '29'));
  await settle();
  t.deepEqual(log, ['start a']);
  c.finish();
  b.finish();
  await settle();
  t.deepEqual(log, ['start a'], 'b and c wait for a however they end');
  a.finish();
  await l.idle();
  t.deepEqual(log, ['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
  t.is(l.pending, 0);
  t.false(l.broken);
  t.is(l.follows, '29');
});

test('a failed write drops every chunk queued behind it, and the lane takes nothing more', async (t) => {
  const log: string[] = [];
  const errors: unknown[] = [];
  const l = lane(2, errors);
  const a = manualWrite(log, 'a');
  const b = manualWrite(log, 'b');
  const c = manualWrite(log, 'c');
  l.accept(a.job, '9');
  l.accept(b.job, '19');
  const refused = new Error('refused');
  a.fail(refused);
  await l.idle();
  t.true(l.broken);
  t.deepEqual(errors, [refused]);
  t.false(l.accept(c.job, '29'), 'a broken lane accepts nothing');
  b.finish();
  c.finish();
  await settle();
  t.deepEqual(log, ['start a'], 'neither b (queued behind) nor c (offered after) ran');
  t.is(l.pending, 0);
});

test('an abandoned write (a stop) breaks the lane without an error, and what was queued behind it never runs', async (t) => {
  const log: string[] = [];
  const errors: unknown[] = [];
  const l = lane(1, errors);
  const a = manualWrite(log, 'a');
  const b = manualWrite(log, 'b');
  l.accept(a.job, '9');
  l.accept(b.job, '19');
  a.finish('abandoned');
  await l.idle();
  t.true(l.broken);
  t.deepEqual(errors, []);
  b.finish();
  await settle();
  t.deepEqual(log, ['start a', 'end a']);
});

test('room() lets at most writeAhead chunks wait behind the one being written (0: every write ends first)', async (t) => {
  for (const writeAhead of [0, 1, 2]) {
    const log: string[] = [];
    const l = lane(writeAhead);
    const writes = [0, 1, 2, 3].map((i) => manualWrite(log, String(i)));
    let accepted = 0;
    const feeder = (async () => {
      for (const w of writes) {
        await l.room();
        l.accept(w.job, String(accepted * 10 + 9));
        accepted++;
      }
    })();
    await settle();
    t.is(accepted, writeAhead + 1, `writeAhead ${writeAhead}: one written and ${writeAhead} waiting`);
    t.true(l.pending <= writeAhead + 1);
    for (const w of writes) {
      w.finish();
      await settle();
      t.true(l.pending <= writeAhead + 1);
    }
    await feeder;
    await l.idle();
    t.is(accepted, 4);
  }
});

test('room() gives up waiting when its stop condition turns true and the lane is woken', async (t) => {
  const log: string[] = [];
  const l = lane(0);
  const a = manualWrite(log, 'a');
  l.accept(a.job, '9');
  let stopping = false;
  let returned = false;
  const waiting = l
    .room(() => stopping)
    .then(() => {
      returned = true;
    });
  await settle();
  t.false(returned);
  stopping = true;
  l.wake();
  await waiting;
  t.true(returned);
  t.is(l.pending, 1, 'the write itself goes on');
  a.finish();
  await l.idle();
});

test('follows and next start where the lane was sought to and move past each accepted chunk', (t) => {
  const l = lane(1, [], '41');
  t.is(l.follows, '41');
  t.is(l.next, '42');
  l.accept(async () => 'written', '50');
  t.is(l.follows, '50');
  t.is(l.next, '51', 'kafkajs fetches next from past the last chunk accepted');
});

test('write slots: at most `size` writes at once, a slot given back when a write throws', async (t) => {
  const slots = new WriteSlots(2);
  let running = 0;
  let most = 0;
  const work = (fail: boolean) => async () => {
    running++;
    most = Math.max(most, running);
    await settle();
    running--;
    if (fail) throw new Error('write failed');
    return 'ok';
  };
  const results = await Promise.allSettled(Array.from({ length: 7 }, (_, i) => slots.run(work(i % 3 === 0))));
  t.is(most, 2);
  t.is(results.filter((r) => r.status === 'rejected').length, 3);
  t.is(await slots.run(work(false)), 'ok', 'no slot was lost to the failures');
});

test('CONSUMER_WRITE_AHEAD is 1 by default, 0 to 8', (t) => {
  const env = {
    KAFKA_BROKERS: '127.0.0.1:19092',
    SCHEMA_REGISTRY_URL: 'http://127.0.0.1:18081/apis/ccompat/v7',
    DATABASE_URL: 'postgres://postgres:postgres@127.0.0.1:15432/postgres',
  };
  t.is(parseConfig(env).consumer.writeAhead, 1);
  t.is(parseConfig({ ...env, CONSUMER_WRITE_AHEAD: '0' }).consumer.writeAhead, 0);
  t.throws(() => parseConfig({ ...env, CONSUMER_WRITE_AHEAD: '9' }), {
    message: /CONSUMER_WRITE_AHEAD=9 must be a whole number from 0 to 8/,
  });
});

test('a retired lane (replaced by an assignment) finishes the write in flight, drops what is queued, accepts nothing, reports no error', async (t) => {
  const log: string[] = [];
  const errors: unknown[] = [];
  const l = lane(2, errors);
  const a = manualWrite(log, 'a');
  const b = manualWrite(log, 'b');
  const c = manualWrite(log, 'c');
  l.accept(a.job, '9');
  l.accept(b.job, '19');
  await settle();
  l.retire();
  t.true(l.broken);
  t.is(l.pending, 1, 'the write in flight is still pending');
  t.false(l.accept(c.job, '29'), 'a batch still holding the old lane can queue nothing');
  await l.room();
  let idle = false;
  const idled = l.idle().then(() => {
    idle = true;
  });
  await settle();
  t.false(idle, 'idle() waits for the write in flight');
  a.finish();
  await idled;
  b.finish();
  c.finish();
  await settle();
  t.deepEqual(log, ['start a', 'end a']);
  t.deepEqual(errors, []);
});

test('a retired idle lane has nothing pending', (t) => {
  const l = lane(1);
  l.retire();
  t.is(l.pending, 0);
  t.false(l.accept(async () => 'written', '9'));
});

test('room() with a lower limit waits for fewer pending chunks (a caught-up partition: every write ends first)', async (t) => {
  const log: string[] = [];
  const l = lane(2);
  const a = manualWrite(log, 'a');
  l.accept(a.job, '9');
  let returned = false;
  const waiting = l.room(undefined, 0).then(() => {
    returned = true;
  });
  await l.room();
  await settle();
  t.false(returned, 'writeAhead 2 would let a batch return; the limit 0 does not');
  a.finish();
  await waiting;
  t.is(l.pending, 0);
});
