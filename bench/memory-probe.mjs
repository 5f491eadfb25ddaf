// Loaded into a process with `--import` (through NODE_OPTIONS: bench/steady-rss.ts sets it for its variants
// when STEADY_RSS_PROBE_DIR is set): every second it appends one JSON line to $RSS_PROBE_FILE with what the
// process' resident memory is made of: process.memoryUsage(), V8's heap spaces (size, used, resident),
// /proc/self/smaps_rollup (anonymous vs file-backed pages) and the CPU time so far; 8 s in, the CommonJS
// modules loaded. With RSS_PROBE_PROFILE_MS, a CPU profile of that many ms from 5 s in (node refuses
// --cpu-prof in NODE_OPTIONS) to $RSS_PROBE_FILE.cpuprofile. Plain JavaScript: it runs in the compiled
// consumer, without tsx.
import { appendFileSync, readFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { createRequire } from 'node:module';
import v8 from 'node:v8';

const file = process.env.RSS_PROBE_FILE;
const require = createRequire(import.meta.url);
const mb = (bytes) => Math.round(bytes / 104857.6) / 10;

function smapsRollup() {
  try {
    const text = readFileSync('/proc/self/smaps_rollup', 'utf8');
    const kb = (name) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? 0);
    return { rssMb: mb(kb('Rss') * 1024), anonymousMb: mb(kb('Anonymous') * 1024) };
  } catch {
    return undefined;
  }
}

function sample() {
  const memory = process.memoryUsage();
  const cpu = process.cpuUsage();
  const spaces = Object.fromEntries(
    v8
      .getHeapSpaceStatistics()
      .map((s) => [
        s.space_name,
        { sizeMb: mb(s.space_size), usedMb: mb(s.space_used_size), residentMb: mb(s.physical_space_size) },
      ]),
  );
  const line = {
    at: Date.now(),
    cpuMs: (cpu.user + cpu.system) / 1000,
    rssMb: mb(memory.rss),
    heapTotalMb: mb(memory.heapTotal),
    heapUsedMb: mb(memory.heapUsed),
    externalMb: mb(memory.external),
    arrayBuffersMb: mb(memory.arrayBuffers),
    smaps: smapsRollup(),
    spaces,
  };
  appendFileSync(file, `${JSON.stringify(line)}\n`);
}

if (file) {
  setInterval(sample, 1000).unref();
  setTimeout(
    () => appendFileSync(file, `${JSON.stringify({ modules: Object.keys(require.cache) })}\n`),
    8000,
  ).unref();
  const profileMs = Number(process.env.RSS_PROBE_PROFILE_MS ?? 0);
  if (profileMs > 0) {
    const session = new Session();
    session.connect();
    const post = (method, params = {}) =>
      new Promise((resolve, reject) =>
        session.post(method, params, (error, result) => (error ? reject(error) : resolve(result))),
      );
    setTimeout(async () => {
      await post('Profiler.enable');
      await post('Profiler.start');
      setTimeout(async () => {
        const { profile } = await post('Profiler.stop');
        appendFileSync(`${file}.cpuprofile`, JSON.stringify(profile));
      }, profileMs).unref();
    }, 5000).unref();
  }
}
