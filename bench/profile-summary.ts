/**
 * Where a consumer's CPU went, from the V8 CPU profile `node --cpu-prof` wrote: self time (time on top of the
 * stack) summed per group — garbage collection, idle, the project's modules one by one, kafkajs, pg, avsc,
 * other packages, Node's internals — as shares of the busy (non-idle) time. Self time, not total time, so the
 * groups add up to the whole.
 */
import { readFileSync } from 'node:fs';
import { relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The parts of a `.cpuprofile` (Chrome DevTools' format) that the summary reads. */
export interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string } }[];
  startTime: number;
  endTime: number;
  /** Node id on top of the stack at each sample. */
  samples: number[];
  /** µs from the previous sample (from startTime for the first) to this one. */
  timeDeltas: number[];
}

/**
 * A span of the profile to summarise, in the profile's own clock: µs of CLOCK_MONOTONIC, the clock of
 * `process.hrtime` in any process on the machine (so the bench can name the drain of another process).
 */
export interface ProfileWindow {
  fromUs: number;
  toUs: number;
}

/** `process.hrtime` now, in the µs of a profile's timestamps. */
export function monotonicMicros(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

export interface ProfileGroup {
  group: string;
  selfMs: number;
  /** Share of the busy time (everything but idle), 0..1; NaN for `idle` itself. */
  busyShare: number;
}

export interface ProfileSummary {
  /** Profiled wall time (of the window, when one was given), ms. */
  totalMs: number;
  /** Time with something on the stack (total − idle), ms. */
  busyMs: number;
  /** Idle share of the whole profile, 0..1: the process waiting for PostgreSQL or the next fetch. */
  idleShare: number;
  /** The largest groups by self time, largest first; the rest summed in `other` (when any). */
  groups: ProfileGroup[];
}

const PACKAGES: Record<string, string> = {
  kafkajs: 'kafkajs',
  pg: 'pg',
  'pg-protocol': 'pg',
  'pg-pool': 'pg',
  'pg-types': 'pg',
  'pg-copy-streams': 'pg',
  'pg-connection-string': 'pg',
  avsc: 'avsc',
};

/** Converts a script URL (file:// or a path) to a path; other schemes are kept as they are. */
function pathOf(url: string): string {
  return url.startsWith('file://') ? fileURLToPath(url) : url;
}

/** Node's own modules, split where the pipeline's costs differ: gzip, streams, sockets, loading code. */
function nodeGroup(url: string): string {
  if (url === 'node:zlib') return 'node: zlib (gzip of fetches)';
  if (url === 'node:stream' || url.startsWith('node:internal/streams/')) return 'node: streams';
  if (url === 'node:net' || url === 'node:internal/stream_base_commons') return 'node: sockets';
  if (url.startsWith('node:internal/modules/') || url.startsWith('node:internal/source_map/'))
    return 'node: loading modules';
  return 'node: other internals';
}

/** The group of one call frame: special V8 frames by name, then by the script it belongs to. */
export function groupOf(frame: { functionName: string; url: string }, projectRoot: string): string {
  switch (frame.functionName) {
    case '(garbage collector)':
      return 'GC';
    case '(idle)':
      return 'idle';
    case '(program)':
      return 'V8 (program: compiling, runtime)';
    case '(root)':
      return 'V8 (program: compiling, runtime)';
  }
  const url = frame.url;
  // Natives without a script: RegExp code, Buffer writes and slices, string builtins.
  if (url === '') return 'V8 builtins (RegExp, Buffer, strings)';
  if (url.startsWith('node:')) return nodeGroup(url);
  const path = pathOf(url);
  const modules = path.lastIndexOf(`${sep}node_modules${sep}`);
  if (modules >= 0) {
    const rest = path.slice(modules + `${sep}node_modules${sep}`.length).split(sep);
    const name = rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : (rest[0] ?? '');
    return PACKAGES[name] ?? 'other packages';
  }
  const inProject = relative(projectRoot, path);
  if (!inProject.startsWith('..') && !inProject.startsWith(sep)) {
    // The compiled tree and the sources are the same module for a reader: dist/src/x.js is src/x.ts.
    return inProject
      .split(sep)
      .join('/')
      .replace(/^dist\//, '')
      .replace(/\.js$/, '.ts');
  }
  return 'other scripts';
}

/**
 * Self time per group. Each sample is charged the time until the next sample, the last one the time until
 * the profile's end, as DevTools does.
 */
export function summarizeProfile(
  profile: CpuProfile,
  projectRoot: string,
  top = 10,
  window?: ProfileWindow,
): ProfileSummary {
  const groupOfNode = new Map<number, string>();
  for (const node of profile.nodes) groupOfNode.set(node.id, groupOf(node.callFrame, projectRoot));
  const selfUs = new Map<string, number>();
  const { samples, timeDeltas } = profile;
  let at = profile.startTime;
  for (let i = 0; i < samples.length; i++) {
    at += timeDeltas[i] ?? 0;
    const until = i + 1 < samples.length ? at + (timeDeltas[i + 1] ?? 0) : profile.endTime;
    if (window !== undefined && (at < window.fromUs || at > window.toUs)) continue;
    const group = groupOfNode.get(samples[i]!) ?? 'other scripts';
    selfUs.set(group, (selfUs.get(group) ?? 0) + Math.max(0, until - at));
  }
  let totalUs = 0;
  for (const us of selfUs.values()) totalUs += us;
  const idleUs = selfUs.get('idle') ?? 0;
  const busyUs = totalUs - idleUs;
  const ranked = [...selfUs.entries()]
    .filter(([group]) => group !== 'idle')
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const shown = ranked.slice(0, top);
  const rest = ranked.slice(top).reduce((sum, [, us]) => sum + us, 0);
  const groups: ProfileGroup[] = shown.map(([group, us]) => ({
    group,
    selfMs: us / 1000,
    busyShare: busyUs > 0 ? us / busyUs : Number.NaN,
  }));
  if (rest > 0) groups.push({ group: 'other', selfMs: rest / 1000, busyShare: rest / busyUs });
  return {
    totalMs: totalUs / 1000,
    busyMs: busyUs / 1000,
    idleShare: totalUs > 0 ? idleUs / totalUs : Number.NaN,
    groups,
  };
}

export function readProfileSummary(
  path: string,
  projectRoot: string,
  window?: ProfileWindow,
  top = 10,
): ProfileSummary {
  return summarizeProfile(JSON.parse(readFileSync(path, 'utf8')) as CpuProfile, projectRoot, top, window);
}
