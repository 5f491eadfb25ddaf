/**
 * `npm run bench:transcode [-- pageViews orders]`: consumer CPU per row with no Kafka and no database, from
 * framed message values to the COPY bytes PostgreSQL would read: MessageDecoder.decodeBatch (framing, cached
 * writer schema) → the line. Three paths in one run, on the same values: the reference (`fastPath: false`:
 * RowMapper.toRow, copyTextChunks, encoded to UTF-8), the fast path as it was before it wrote bytes (a
 * string per column, withMeta, copyTextChunks) and the fast path of insert mode (the default: transcodeCopy
 * writes the fields' COPY bytes, appendCopyLine adds the `_kafka_*` columns, copyRanges gives the writes).
 * 1M page views and 200k orders by default; orders also as written by the older v1 schema (the reader's
 * projection inside the compiled code); every case as inserts (COPY). CPU time (user + system) of this
 * process while it makes the bytes (not while the bench hashes them to compare the three paths), best of 3.
 *
 * Writes bench/results/transcode.json and merges a `transcode` section into latest.json / latest.md.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type avro from 'avsc';
import { type DecodeOutcome, MessageDecoder } from '../src/codec/message-decoder.ts';
import { encodeWireFormat, WIRE_HEADER_LENGTH } from '../src/codec/wire-format.ts';
import { type CatalogEntry, entryFor, loadCatalog, parseSchema } from '../src/contracts/catalog.ts';
import { createFakeEvents } from '../src/producer/fake-events.ts';
import { appendBinaryRow, binaryFieldEncoder } from '../src/sink/copy-binary.ts';
import {
  appendBinaryLine,
  appendCopyLine,
  appendTextLine,
  CopyBufferPool,
  type CopySlice,
} from '../src/sink/copy-buffer.ts';
import { copyTextChunks } from '../src/sink/copy-text.ts';
import { createRowMapper, type SqlText } from '../src/sink/row-mapper.ts';
import { compileTranscoder } from '../src/sink/row-transcoder.ts';
import { copyRanges } from '../src/sink/table-writer.ts';

/** The decoder's outcomes, or the row texts the fast path made before it wrote COPY bytes (`texts`). */
type BenchOutcome =
  | DecodeOutcome
  | {
      kind: 'row';
      value: Record<string, unknown>;
      schemaId: number;
      fields: SqlText[];
      version: bigint | null;
      copy?: undefined;
    };

const counts = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const pageViewCount = Number(counts[0] ?? 1_000_000);
const orderCount = Number(counts[1] ?? 200_000);
const BATCH = 5000;
const RUNS = 3;
const resultsDir = join(import.meta.dirname, 'results');
const catalog = loadCatalog('schemas');

interface Case {
  name: string;
  entry: CatalogEntry;
  messages: Buffer[];
  ids: Map<number, avro.Schema>;
}

function makeCase(name: string, topic: string, count: number, version?: number): Case {
  const entry = entryFor(catalog, topic);
  const schema = version === undefined ? entry.reader : entry.versions.find((v) => v.version === version)!;
  const events = createFakeEvents(entry, {
    seed: 7,
    now: new Date('2026-01-01T00:00:00Z'),
    ...(version === undefined ? {} : { version }),
  });
  const messages: Buffer[] = [];
  // In slices: a million events at once would hold both the objects and the bodies.
  for (let done = 0; done < count; done += 50_000) {
    for (const event of events.take(Math.min(50_000, count - done)))
      messages.push(encodeWireFormat(1, schema.type.toBuffer(event)));
  }
  return { name, entry, messages, ids: new Map([[1, schema.schema as avro.Schema]]) };
}

interface Measured {
  cpuMicrosPerRow: number;
  wallMicrosPerRow: number;
  digest: string;
  fastRows: number;
}

/**
 * The three ways from framed values to the bytes COPY sends: `reference` (decode → RowMapper.toRow →
 * copyTextLine, `fastPath: false`), `texts` (the fast path before it wrote bytes: a string per column,
 * withMeta, copyTextChunks, encoded to UTF-8: the compiled transcoder's `transcode`) and `bytes` (the
 * COPY text path: transcodeCopy's field bytes, appendCopyLine with the `_kafka_*` columns, the ranges
 * copyLines writes), `binary` (the default: transcodeBinary's fields, appendBinaryLine) and `reference-binary`
 * (the reference rows through copy-binary.ts's encoders: what `binary` must equal byte for byte).
 */
type Path = 'reference' | 'texts' | 'bytes' | 'binary' | 'reference-binary';

async function once(c: Case, path: Path): Promise<Measured> {
  const entry = c.entry;
  const decoder = new MessageDecoder(
    { schemaById: async (id) => c.ids.get(id)! },
    { fastPath: path !== 'reference' && path !== 'reference-binary' },
  );
  const format = path === 'binary' || path === 'reference-binary' ? 'binary' : 'text';
  // The decoder makes COPY bytes only now: the `texts` path calls the compiled transcoder's texts itself,
  // one outcome per message as the decoder made them, the reference decoder for the bodies it leaves.
  const reference = new MessageDecoder({ schemaById: async (id) => c.ids.get(id)! }, { fastPath: false });
  const transcoder = compileTranscoder(entry, parseSchema(c.ids.get(1)!, 'writer'));
  const decode = async (values: Buffer[]): Promise<BenchOutcome[]> => {
    if (path !== 'texts') return decoder.decodeBatch(entry, values, format);
    const outcomes: BenchOutcome[] = [];
    for (const value of values) {
      const fields = transcoder?.transcode(value, WIRE_HEADER_LENGTH);
      if (fields === undefined) outcomes.push((await reference.decodeBatch(entry, [value]))[0]!);
      else
        outcomes.push({
          kind: 'row',
          value: {},
          schemaId: value.readInt32BE(1),
          fields,
          version: transcoder!.version,
        });
    }
    return outcomes;
  };
  await reference.decodeBatch(entry, c.messages.slice(0, 1));
  const mapper = createRowMapper(c.entry);
  // The writer schema is fetched and compiled before timing, as it is after a consumer's first batch.
  await decoder.decodeBatch(entry, c.messages.slice(0, 1), format);
  const encoders = mapper.columns.map((column) => binaryFieldEncoder(column.pgType));
  const timestamptz = binaryFieldEncoder('timestamp with time zone');
  const fieldCount = mapper.columns.length - 3;
  const hash = createHash('sha256');
  // As partition-writer's prepare: a batch's lines in a pooled buffer, given back once the batch is written.
  const pool = new CopyBufferPool(1);
  let fastRows = 0;
  let versions = 0n;
  // Only the consumer's work is timed: hashing the bytes (the comparison of the paths) is left out.
  let cpuMicros = 0;
  let wallMs = 0;
  for (let start = 0; start < c.messages.length; start += BATCH) {
    const cpu = process.cpuUsage();
    const started = performance.now();
    const outcomes = await decode(c.messages.slice(start, start + BATCH));
    const rows: SqlText[][] = [];
    const lines: CopySlice[] = [];
    // Sized from the field bytes, as prepare does.
    let bytes = 0;
    for (const outcome of outcomes)
      bytes += 64 + (outcome.kind === 'row' && outcome.copy ? outcome.copy.end - outcome.copy.start : 400);
    const out = pool.take();
    out.reset(bytes);
    for (let i = 0; i < outcomes.length; i++) {
      const outcome = outcomes[i]!;
      if (outcome.kind !== 'row') throw new RangeError(`${c.name}: message ${start + i} is ${outcome.kind}`);
      const meta = { partition: 0, offset: String(start + i), timestamp: '1767225600000' };
      if (outcome.copy !== undefined) {
        fastRows++;
        lines.push(
          format === 'binary'
            ? appendBinaryLine(out, outcome.copy, fieldCount, meta, mapper.kafkaTimestampText, timestamptz)
            : appendCopyLine(out, outcome.copy, meta, mapper.kafkaTimestampText),
        );
        if (outcome.version != null) versions += outcome.version;
        continue;
      }
      let row: SqlText[];
      if ('fields' in outcome) {
        fastRows++;
        row = mapper.withMeta(outcome.fields, meta);
        if (outcome.version != null) versions += outcome.version;
      } else {
        row = mapper.toRow(outcome.value, meta);
        const version = mapper.versionOf(outcome.value);
        if (version !== null) versions += version;
      }
      if (format === 'binary') lines.push(appendBinaryRow(out, encoders, row));
      else if (path === 'bytes') lines.push(appendTextLine(out, row));
      else rows.push(row);
    }
    // The socket gets bytes: the text of the other paths is encoded here, as the COPY stream does.
    const written =
      path === 'bytes' || format === 'binary'
        ? [...copyRanges(lines)]
        : [...copyTextChunks(rows)].map((chunk) => Buffer.from(chunk));
    const used = process.cpuUsage(cpu);
    cpuMicros += used.user + used.system;
    wallMs += performance.now() - started;
    for (const bytes of written) hash.update(bytes);
    pool.give(out);
  }
  hash.update(String(versions));
  const n = c.messages.length;
  return {
    cpuMicrosPerRow: cpuMicros / n,
    wallMicrosPerRow: (wallMs * 1000) / n,
    digest: hash.digest('hex'),
    fastRows,
  };
}

async function best(c: Case, path: Path): Promise<Measured> {
  let result: Measured | undefined;
  for (let i = 0; i < RUNS; i++) {
    const m = await once(c, path);
    if (result === undefined || m.cpuMicrosPerRow < result.cpuMicrosPerRow) result = m;
  }
  return result!;
}

const round = (n: number) => Math.round(n * 100) / 100;
const TARGET = 2.5;

interface CaseResult {
  case: string;
  rows: number;
  referenceCpuMicrosPerRow: number;
  /** The fast path before it wrote bytes (a string per column, then COPY text): the "before" of the same run. */
  textsCpuMicrosPerRow: number;
  /** The fast path, COPY text bytes. */
  textCpuMicrosPerRow: number;
  /** The fast path of the default: binary COPY tuples. */
  fastCpuMicrosPerRow: number;
  /** The reference rows encoded as binary tuples (copy-binary.ts), one run. */
  referenceBinaryCpuMicrosPerRow: number;
  speedup: number;
  fastShare: number;
  sameCopyText: boolean;
  sameBinary: boolean;
}

async function measureAll(): Promise<CaseResult[]> {
  const cases = [
    makeCase('page views', 'shop.page-views', pageViewCount),
    makeCase('orders', 'shop.orders', orderCount),
    makeCase('orders written by v1 (resolved into v2)', 'shop.orders', orderCount, 1),
  ];
  const results: CaseResult[] = [];
  for (const c of cases) {
    // Orders are an upsert topic; here all three cases are measured as inserts, the COPY path.
    c.entry = { ...c.entry, writeMode: 'insert' };
    const reference = await best(c, 'reference');
    const texts = await best(c, 'texts');
    const text = await best(c, 'bytes');
    const fast = await best(c, 'binary');
    const referenceBinary = await once(c, 'reference-binary');
    if (reference.digest !== text.digest || reference.digest !== texts.digest)
      throw new RangeError(`${c.name}: the fast path's COPY bytes differ from the reference path's`);
    if (referenceBinary.digest !== fast.digest)
      throw new RangeError(`${c.name}: the fast path's binary tuples differ from the reference path's`);
    const row = {
      case: c.name,
      rows: c.messages.length,
      referenceCpuMicrosPerRow: round(reference.cpuMicrosPerRow),
      textsCpuMicrosPerRow: round(texts.cpuMicrosPerRow),
      textCpuMicrosPerRow: round(text.cpuMicrosPerRow),
      fastCpuMicrosPerRow: round(fast.cpuMicrosPerRow),
      referenceBinaryCpuMicrosPerRow: round(referenceBinary.cpuMicrosPerRow),
      speedup: round(reference.cpuMicrosPerRow / fast.cpuMicrosPerRow),
      fastShare: round(fast.fastRows / c.messages.length),
      sameCopyText: true,
      sameBinary: true,
    };
    results.push(row);
    process.stderr.write(`${JSON.stringify(row)}\n`);
  }
  return results;
}

// `--merge`: only merge the last transcode.json into latest.{json,md} again (after `npm run bench` rewrote them).
const mergeOnly = process.argv.includes('--merge');
const previous = join(resultsDir, 'transcode.json');
const section = mergeOnly
  ? (JSON.parse(readFileSync(previous, 'utf8')) as {
      measuredAt: string;
      target: { met: boolean };
      cases: CaseResult[];
    } & Record<string, unknown>)
  : await (async () => {
      const cases = await measureAll();
      const fastPageViews = cases[0]!.fastCpuMicrosPerRow;
      return {
        measuredAt: new Date().toISOString(),
        node: process.version,
        batch: BATCH,
        target: {
          name: 'consumer CPU per page-view row, fast path (no Kafka, no database)',
          targetMicros: TARGET,
          measuredMicros: fastPageViews,
          met: fastPageViews <= TARGET,
        },
        cases,
      };
    })();
const results = section.cases;
const pageViews = results[0]!;
if (!mergeOnly) writeFileSync(previous, `${JSON.stringify(section, null, 2)}\n`);

const md = [
  '## Transcode (no Kafka, no database)',
  '',
  `Framed values → decodeBatch → COPY bytes (every case as inserts), batches of ${BATCH}, CPU µs per row, best of ${RUNS} (\`npm run bench:transcode\`, ${section.measuredAt}).`,
  '',
  '| case | rows | reference µs/row (text) | fast path, texts µs/row | fast path, COPY text µs/row | fast path, binary COPY µs/row (default) | reference → binary µs/row | speed-up | rows on the fast path | same bytes as the reference |',
  '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
  ...results.map(
    (r) =>
      `| ${r.case} | ${r.rows.toLocaleString('en-US')} | ${r.referenceCpuMicrosPerRow} | ${r.textsCpuMicrosPerRow ?? '–'} | ${r.textCpuMicrosPerRow ?? '–'} | ${r.fastCpuMicrosPerRow} | ${r.referenceBinaryCpuMicrosPerRow ?? '–'} | ${r.speedup}× | ${Math.round(r.fastShare * 100)}% | yes (text and binary) |`,
  ),
  '',
  `Target ≤ ${TARGET} µs per page-view row: ${section.target.met ? 'met' : 'missed'} (${pageViews.fastCpuMicrosPerRow} µs).`,
  '',
].join('\n');

const latestJson = join(resultsDir, 'latest.json');
if (existsSync(latestJson)) {
  const latest = JSON.parse(readFileSync(latestJson, 'utf8')) as Record<string, unknown>;
  latest.transcode = section;
  writeFileSync(latestJson, `${JSON.stringify(latest, null, 2)}\n`);
}
const latestMd = join(resultsDir, 'latest.md');
if (existsSync(latestMd)) {
  const text = readFileSync(latestMd, 'utf8');
  const start = text.indexOf('## Transcode (no Kafka, no database)');
  // This script's own section is replaced; whatever follows it (the next `## `) is kept.
  const next = start < 0 ? -1 : text.indexOf('\n## ', start + 1);
  const kept = start < 0 ? text : text.slice(0, start) + (next < 0 ? '' : text.slice(next + 1));
  writeFileSync(latestMd, `${kept.trimEnd()}\n\n${md}`);
}
process.stdout.write(md);
