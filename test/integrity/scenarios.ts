/**
 * The scenarios of issue #8. Each runs the pipeline as separate processes against the private stack, with
 * the producer sending throughout, injects its faults at seeded moments, then lets the group catch up and
 * hands over to the independent checker.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { registerSchema } from './avro-codec.ts';
import type { Member } from './members.ts';
import type { ScenarioContext, TrafficSettings } from './scenario-context.ts';
import { pageViewWithCampaign } from './traffic.ts';

export interface Scenario {
  name: string;
  traffic: TrafficSettings;
  run(ctx: ScenarioContext): Promise<void>;
}

/** The last lines a member printed, on one line. */
const tail = (output: string) => output.trim().split('\n').slice(-3).join(' ⏎ ');

const usual: TrafficSettings = { hostileRatio: 0.05, tombstoneRatio: 0.05 };

/** Stored next offset per topic:partition, in PostgreSQL. */
async function storedOffsets(ctx: ScenarioContext): Promise<Map<string, bigint>> {
  const { rows } = await ctx.pool.query<{ topic: string; partition: number; next_offset: string }>(
    `SELECT topic, partition, next_offset::text FROM ${ctx.q('pipeline_offsets')} WHERE consumer_group = $1`,
    [ctx.groupId],
  );
  return new Map(rows.map((r) => [`${r.topic}:${r.partition}`, BigInt(r.next_offset)]));
}

/** The group's committed offsets in Kafka. */
async function kafkaCommitted(ctx: ScenarioContext): Promise<Map<string, bigint>> {
  const admin = ctx.kafka.admin();
  await admin.connect();
  try {
    const result = new Map<string, bigint>();
    for (const { topic, partitions } of await admin.fetchOffsets({
      groupId: ctx.groupId,
      topics: Object.values(ctx.topics),
    })) {
      for (const p of partitions) result.set(`${topic}:${p.partition}`, BigInt(p.offset));
    }
    return result;
  } finally {
    await admin.disconnect();
  }
}

/** Finish: stop producing, normal speed, catch up, every member leaves cleanly, check. */
async function finish(ctx: ScenarioContext): Promise<void> {
  await ctx.stopProducer();
  await ctx.fastDatabase();
  await ctx.waitDrained();
  await ctx.terminateAll('after catching up');
  await ctx.verify();
}

export const scenarios: Scenario[] = [
  {
    name: 'sigkill',
    traffic: usual,
    async run(ctx) {
      // A SIGKILLed member holds its partitions for the session timeout: the broker's minimum (6 s, instead
      // of the default 30 s) keeps twenty restarts within the suite's time.
      ctx.env.CONSUMER_SESSION_TIMEOUT_MS = '6000';
      // Statements sleep in a trigger, so that a kill often lands inside a transaction.
      await ctx.slowDatabase(0.15);
      ctx.startProducer(120);
      const kills = 20 + ctx.rng.int(3);
      let windowKills = 0;
      let done = 0;
      for (let i = 0; i < kills; i++) {
        const member = ctx.members.spawn();
        if (!(await ctx.expectProgress(`after (re)start ${i + 1}`, 60_000))) break;
        if (i % 4 === 3) {
          // Between the database commit and the Kafka commit: with the broker frozen while a batch sleeps in
          // its transaction, the transaction commits and the Kafka commit cannot happen; kill then.
          const committed = await kafkaCommitted(ctx);
          if (!(await ctx.waitBatchInFlight(10_000))) {
            await member.kill();
            done++;
            continue;
          }
          ctx.stack.freeze('kafka');
          try {
            const deadline = Date.now() + 5000;
            let ahead = false;
            while (!ahead && Date.now() < deadline) {
              const stored = await storedOffsets(ctx);
              ahead = [...stored].some(([k, next]) => next > (committed.get(k) ?? -1n));
              if (!ahead) await delay(10);
            }
            await member.kill();
            done++;
            if (ahead) windowKills++;
            ctx.log(
              `  SIGKILL ${i + 1}/${kills} ${ahead ? 'between the database and the Kafka commit' : '(no commit while frozen)'}`,
            );
          } finally {
            ctx.stack.thaw('kafka');
          }
        } else {
          const wait = ctx.rng.int(1500);
          await delay(wait);
          await member.kill();
          done++;
          ctx.log(`  SIGKILL ${i + 1}/${kills}, ${wait} ms after rows began`);
        }
      }
      ctx.log(
        `  ${done} of ${kills} SIGKILLs done, ${windowKills} between the database commit and the Kafka commit`,
      );
      if (done < 20) ctx.fail(`only ${done} SIGKILLs could be made (20 at least)`);
      if (windowKills === 0) ctx.fail('no SIGKILL landed between the database commit and the Kafka commit');
      await finish(ctx);
    },
  },
  {
    name: 'sigterm-mid-batch',
    traffic: usual,
    async run(ctx) {
      await ctx.slowDatabase(2);
      ctx.startProducer(80);
      for (let round = 1; round <= 2; round++) {
        const member = ctx.members.spawn();
        if (!(await ctx.expectProgress(`before SIGTERM ${round}`, 60_000))) break;
        if (!(await ctx.waitBatchInFlight(20_000))) {
          ctx.fail(`no batch in flight to interrupt (round ${round})`);
          break;
        }
        const started = Date.now();
        const code = await member.terminate(30_000);
        ctx.log(`  SIGTERM mid-batch ${round}: exit ${code} after ${Date.now() - started} ms`);
        if (code !== 0)
          ctx.fail(
            `SIGTERM mid-batch ${round}: ${code === 'timeout' ? 'no exit within 30 s' : `exit ${code}`} — ${tail(member.output())}`,
          );
      }
      await finish(ctx);
    },
  },
  {
    name: 'churn',
    traffic: usual,
    async run(ctx) {
      await ctx.slowDatabase(0.3);
      ctx.startProducer(120);
      const first = [ctx.members.spawn(), ctx.members.spawn(), ctx.members.spawn()];
      for (const m of first) if (!(await m.started(60_000))) ctx.fail(`${m.name} did not start`);
      await ctx.expectProgress('with three members');
      const leave = async (leaving: Member, label: string) => {
        const code = await leaving.terminate(30_000);
        if (code !== 0)
          ctx.fail(
            `${leaving.name} leaving ${label}: ${code === 'timeout' ? 'no exit within 30 s' : `exit ${code}`} — ${tail(leaving.output())}`,
          );
      };
      const step = async (label: string, join = true) => {
        const running = ctx.members.running();
        if (running.length >= 3 || (running.length === 2 && ctx.rng.chance(0.5))) {
          await leave(running[ctx.rng.int(running.length)]!, label);
        }
        if (join && ctx.members.running().length < 3) {
          // Joined once past its gate: a SIGTERM before node installed its handler would prove nothing.
          const joiner = ctx.members.spawn();
          if (!(await joiner.started(60_000))) ctx.fail(`${joiner.name} did not start (${label})`);
        }
        await delay(1000 + ctx.rng.int(3000));
      };
      for (let i = 0; i < 6; i++) await step('during slow batches');
      await ctx.expectProgress('after churn during slow batches');

      // A database outage while members join and leave: a member that has just passed its start-up gate
      // joins the group as PostgreSQL dies (its assignment, and everyone's seek to the stored offsets, fall
      // in the outage), then one member leaves and another joins while it lasts.
      while (ctx.members.running().length >= 3)
        await leave(ctx.members.running()[0]!, 'before the database outage');
      const joiner = ctx.members.spawn();
      if (!(await joiner.started(60_000))) ctx.fail(`${joiner.name} did not start before the outage`);
      await ctx.stack.kill('postgres');
      ctx.log('  PostgreSQL killed');
      await delay(1000 + ctx.rng.int(2000));
      // No new member now: its start-up gate needs the database and refuses to start without it (exit 6).
      await step('during the database outage', false);
      await ctx.stack.up();
      ctx.log('  PostgreSQL restarted');
      await ctx.expectProgress('after the database outage', 90_000);
      for (let i = 0; i < 2; i++) await step('after the outage');
      await finish(ctx);
    },
  },
  {
    name: 'postgres-restart',
    traffic: usual,
    async run(ctx) {
      ctx.startProducer(120);
      ctx.members.spawn();
      ctx.members.spawn();
      await ctx.expectProgress('with two members');
      for (let cycle = 1; cycle <= 2; cycle++) {
        await delay(ctx.rng.int(2000));
        await ctx.stack.kill('postgres');
        await delay(2000 + ctx.rng.int(3000));
        await ctx.stack.up();
        ctx.log(`  PostgreSQL killed and restarted (${cycle})`);
        if (!(await ctx.expectProgress(`after PostgreSQL restart ${cycle}`, 90_000))) break;
      }
      await finish(ctx);
    },
  },
  {
    name: 'broker-restart',
    traffic: usual,
    async run(ctx) {
      ctx.startProducer(120);
      ctx.members.spawn();
      ctx.members.spawn();
      await ctx.expectProgress('with two members');
      await delay(ctx.rng.int(2000));
      await ctx.stack.kill('kafka');
      await delay(2000 + ctx.rng.int(2000));
      await ctx.stack.up();
      ctx.log('  broker killed and restarted');
      // One member is stopped as soon as the broker is back (it may still be reconnecting), the other once
      // rows flow again: each must leave and exit 0 within the bound.
      const sigterm = async (member: Member | undefined, when: string) => {
        // A member that already exited is reported by the members' bookkeeping.
        if (member === undefined || !member.isRunning()) return;
        const code = await member.terminate(30_000);
        if (code !== 0)
          ctx.fail(
            `SIGTERM ${when}: ${code === 'timeout' ? 'no exit within 30 s' : `exit ${code}`} — ${tail(member.output())}`,
          );
      };
      const [first, second] = ctx.members.running();
      await sigterm(first, 'right after the broker restart');
      if (second?.isRunning() !== true) ctx.members.spawn();
      await ctx.expectProgress('after the broker restart', 120_000);
      await delay(ctx.rng.int(2000));
      await sigterm(second, 'once rows flow again after the broker restart');
      await finish(ctx);
    },
  },
  {
    name: 'registry-freeze',
    traffic: usual,
    async run(ctx) {
      ctx.startProducer(100);
      const members = [ctx.members.spawn(), ctx.members.spawn()];
      await ctx.expectProgress('with two members');
      // Both past their start-up gate: a gate that cannot reach the registry refuses to start, by design.
      for (const m of members) if (!(await m.started(60_000))) ctx.fail(`${m.name} did not start`);
      // A writer version registered now: the members cannot have it cached; then the registry stops answering.
      ctx.traffic.campaignSchemaId = await registerSchema(
        ctx.stack.registryUrl,
        `${ctx.topics.views}-value`,
        pageViewWithCampaign,
      );
      ctx.stack.freeze('registry');
      ctx.log(`  registry frozen; page views now also carry schema id ${ctx.traffic.campaignSchemaId}`);
      try {
        await delay(12_000 + ctx.rng.int(3000));
      } finally {
        ctx.stack.thaw('registry');
      }
      ctx.log('  registry thawed');
      await ctx.expectProgress('after the registry came back', 60_000);
      await delay(2000);
      await finish(ctx);
    },
  },
  {
    name: 'hostile',
    traffic: { hostileRatio: 0.3, tombstoneRatio: 0.08 },
    async run(ctx) {
      ctx.startProducer(150);
      ctx.members.spawn();
      await ctx.expectProgress('with hostile traffic');
      await delay(15_000);
      await finish(ctx);
    },
  },
  {
    name: 'upsert-refusal-replay',
    // No tombstones: a replayed refusal may re-create a key a later tombstone deleted (README, Replay).
    traffic: { hostileRatio: 0.05, tombstoneRatio: 0 },
    async run(ctx) {
      const refused = (customerId: bigint) => customerId % 10n === 7n;
      await ctx.pool.query(
        `ALTER TABLE ${ctx.q('orders')} ADD CONSTRAINT integrity_refusal CHECK (customer_id % 10 <> 7)`,
      );
      ctx.startProducer(120);
      ctx.members.spawn();
      ctx.members.spawn();
      await ctx.expectProgress('with refusals');
      await delay(15_000);
      await ctx.stopProducer();
      await ctx.waitDrained();
      await ctx.terminateAll('after catching up');
      await ctx.verify('upsert-refusal', refused);
      await ctx.pool.query(`ALTER TABLE ${ctx.q('orders')} DROP CONSTRAINT integrity_refusal`);
      const replay = await ctx.cli(['replay'], 180_000);
      ctx.log(`  replay: exit ${replay.code}; ${replay.output.trim().split('\n').slice(-2).join(' ⏎ ')}`);
      if (replay.code !== 0) ctx.fail(`replay exited ${replay.code}: ${replay.output.slice(-500)}`);
      await ctx.verify('upsert-replay');
    },
  },
];
