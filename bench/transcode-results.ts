/**
 * The figures of `npm run bench:transcode`, read from the JSON it writes (bench/results/transcode.json) and
 * checked field by field: the full bench runs that script as a child process and relies on its output only,
 * so a change of the script that drops a figure fails here by name instead of printing `undefined`.
 */

export interface TranscodeCase {
  case: string;
  rows: number;
  referenceCpuMicrosPerRow: number;
  /** The default fast path (binary COPY since it is the default). */
  fastCpuMicrosPerRow: number;
  /** The fast path writing COPY text (absent in files written before binary COPY). */
  textCpuMicrosPerRow?: number;
}

export interface TranscodeResults {
  measuredAt: string;
  /** Fast-path CPU µs per page-view row: the figure the ≤ 2.5 µs target is about. */
  pageViewFastMicros: number;
  cases: TranscodeCase[];
  /** The JSON as the script wrote it, for whatever else it reports. */
  raw: Record<string, unknown>;
}

function record(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new TypeError(`transcode.json: ${what} is not an object`);
  return value as Record<string, unknown>;
}

function numberField(from: Record<string, unknown>, name: string, what: string): number {
  const value = from[name];
  if (typeof value !== 'number') throw new TypeError(`transcode.json: ${what}.${name} is not a number`);
  return value;
}

/** `notBefore` (ms since epoch): refuses a file older than the run that should have written it. */
export function parseTranscodeResults(json: unknown, notBefore = 0): TranscodeResults {
  const raw = record(json, 'the file');
  const measuredAt = raw.measuredAt;
  if (typeof measuredAt !== 'string' || Number.isNaN(Date.parse(measuredAt)))
    throw new TypeError('transcode.json: measuredAt is not a time');
  if (Date.parse(measuredAt) < notBefore)
    throw new RangeError(`transcode.json was measured at ${measuredAt}, before this run started it`);
  if (!Array.isArray(raw.cases) || raw.cases.length === 0) throw new TypeError('transcode.json: no cases');
  const cases = raw.cases.map((c: unknown, i: number): TranscodeCase => {
    const row = record(c, `cases[${i}]`);
    if (typeof row.case !== 'string') throw new TypeError(`transcode.json: cases[${i}].case is not a name`);
    return {
      case: row.case,
      rows: numberField(row, 'rows', `cases[${i}]`),
      referenceCpuMicrosPerRow: numberField(row, 'referenceCpuMicrosPerRow', `cases[${i}]`),
      fastCpuMicrosPerRow: numberField(row, 'fastCpuMicrosPerRow', `cases[${i}]`),
      ...(row.textCpuMicrosPerRow === undefined
        ? {}
        : { textCpuMicrosPerRow: numberField(row, 'textCpuMicrosPerRow', `cases[${i}]`) }),
    };
  });
  const pageViews = cases.find((c) => /page.?view/i.test(c.case));
  if (pageViews === undefined) throw new TypeError('transcode.json: no page-view case');
  return { measuredAt, pageViewFastMicros: pageViews.fastCpuMicrosPerRow, cases, raw };
}
