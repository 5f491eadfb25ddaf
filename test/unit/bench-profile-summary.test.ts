import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import test from 'ava';
import { type CpuProfile, groupOf, summarizeProfile } from '../../bench/profile-summary.ts';

const root = '/srv/pipeline';
const file = (path: string) => pathToFileURL(join(root, path)).href;

test('frames are grouped: V8 specials by name, packages by name, project modules by file', (t) => {
  const g = (functionName: string, url: string) => groupOf({ functionName, url }, root);
  t.is(g('(garbage collector)', ''), 'GC');
  t.is(g('(idle)', ''), 'idle');
  t.is(g('(program)', ''), 'V8 (program: compiling, runtime)');
  t.is(g('emit', 'node:events'), 'node: other internals');
  t.is(g('processChunk', 'node:zlib'), 'node: zlib (gzip of fetches)');
  t.is(g('push', 'node:internal/streams/readable'), 'node: streams');
  t.is(g('load', 'node:internal/modules/esm/hooks'), 'node: loading modules');
  t.is(g('writeBuffer', ''), 'V8 builtins (RegExp, Buffer, strings)');
  t.is(g('decode', file('node_modules/kafkajs/src/protocol/decoder.js')), 'kafkajs');
  t.is(g('parse', file('node_modules/pg-protocol/dist/parser.js')), 'pg');
  t.is(g('write', file('node_modules/pg-copy-streams/copy-from.js')), 'pg');
  t.is(g('read', file('node_modules/avsc/lib/types.js')), 'avsc');
  t.is(g('x', file('node_modules/@kafkajs/confluent-schema-registry/dist/x.js')), 'other packages');
  t.is(g('transcode', file('src/sink/row-transcoder.ts')), 'src/sink/row-transcoder.ts');
  // The compiled tree is the same module as its source.
  t.is(g('transcode', file('dist/src/sink/row-transcoder.js')), 'src/sink/row-transcoder.ts');
  t.is(g('x', 'file:///elsewhere/script.js'), 'other scripts');
});

/** A profile whose samples sit on the given nodes for the given µs each. */
function profile(frames: { name: string; url: string; us: number }[]): CpuProfile {
  const nodes = frames.map((f, i) => ({ id: i + 1, callFrame: { functionName: f.name, url: f.url } }));
  // Each sample is charged the delta of the next one (the last: until endTime): a leading delta of 0.
  return {
    nodes,
    startTime: 0,
    endTime: frames.reduce((s, f) => s + f.us, 0),
    samples: nodes.map((n) => n.id),
    timeDeltas: [0, ...frames.slice(0, -1).map((f) => f.us)],
  };
}

test('self time adds up per group, as shares of the busy time; idle is kept apart', (t) => {
  const summary = summarizeProfile(
    profile([
      { name: '(idle)', url: '', us: 5000 },
      { name: '(garbage collector)', url: '', us: 2000 },
      { name: 'fetch', url: file('node_modules/kafkajs/src/consumer/runner.js'), us: 1000 },
      { name: 'row', url: file('src/sink/row-mapper.ts'), us: 1500 },
      { name: 'row2', url: file('src/sink/row-mapper.ts'), us: 500 },
      { name: '(garbage collector)', url: '', us: 1000 },
      // The last sample is charged the time until the profile's end.
      { name: 'query', url: file('node_modules/pg/lib/client.js'), us: 1000 },
    ]),
    root,
  );
  t.is(summary.totalMs, 12);
  t.is(summary.busyMs, 7);
  t.is(summary.idleShare, 5 / 12);
  t.deepEqual(
    summary.groups.map((g) => [g.group, g.selfMs, Math.round(g.busyShare * 1000) / 1000]),
    [
      ['GC', 3, 0.429],
      ['src/sink/row-mapper.ts', 2, 0.286],
      ['kafkajs', 1, 0.143],
      ['pg', 1, 0.143],
    ],
  );
});

test('past the top groups the rest is summed as "other"', (t) => {
  const frames = Array.from({ length: 5 }, (_, i) => ({
    name: 'f',
    url: file(`src/m${i}.ts`),
    us: (i + 1) * 1000,
  }));
  const summary = summarizeProfile(
    profile([...frames, { name: 'end', url: file('src/end.ts'), us: 0 }]),
    root,
    2,
  );
  t.deepEqual(
    summary.groups.map((g) => [g.group, g.selfMs]),
    [
      ['src/m4.ts', 5],
      ['src/m3.ts', 4],
      ['other', 6],
    ],
  );
  t.is(
    summary.groups.reduce((s, g) => s + g.busyShare, 0),
    1,
  );
});

test('with a window only the samples taken inside it count (the drain, not the start-up)', (t) => {
  const p = profile([
    { name: 'load', url: 'node:internal/modules/esm/hooks', us: 3000 },
    { name: 'row', url: file('src/sink/row-mapper.ts'), us: 1000 },
    { name: '(garbage collector)', url: '', us: 1000 },
    { name: 'exit', url: 'node:internal/process/per_thread', us: 2000 },
  ]);
  // Samples at 0, 3000, 4000 and 5000 µs: the window [3000, 4500] holds the second and the third.
  const summary = summarizeProfile({ ...p, startTime: 0 }, root, 10, { fromUs: 3000, toUs: 4500 });
  t.is(summary.totalMs, 2);
  t.deepEqual(
    summary.groups.map((g) => [g.group, g.selfMs]),
    [
      ['GC', 1],
      ['src/sink/row-mapper.ts', 1],
    ],
  );
});
