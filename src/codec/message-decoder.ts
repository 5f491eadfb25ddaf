/**
 * Turns the raw bytes of a message into the reader schema's value: the writer schema comes from the
 * registry by the id in the message, and is resolved into the local reader schema (old events get the
 * defaults of new fields, renamed fields follow aliases). One resolver per (topic, writer id), cached.
 *
 * A value that starts with 0x00 without being Confluent-framed carries a random "schema id": a batch of
 * such values would ask the registry thousands of times at once, and again on every retry. So registry
 * lookups are bounded per decoder (`registryConcurrency`), one lookup per id at a time, the registry's
 * "unknown id" answer is reused for `unknownSchemaRecheckMs`, and unknown ids are remembered in a map of
 * bounded size.
 */
import type avro from 'avsc';
import { type CatalogEntry, parseSchema } from '../contracts/catalog.ts';
import { compatibilityProblems, formatProblem } from '../contracts/compatibility-rules.ts';
import { PipelineError, PoisonMessageError, TransientError } from '../errors.ts';
import { type CopyFormat, type CopySlice, DEFAULT_COPY_FORMAT } from '../sink/copy-buffer.ts';
import { compileTranscoder, type RowTranscoder } from '../sink/row-transcoder.ts';
import { decodeStrict } from './strict-decode.ts';
import { decodeWireFormat, MAGIC_BYTE, WIRE_HEADER_LENGTH } from './wire-format.ts';

/** Where writer schemas come from: the registry client, by global schema id. */
export interface WriterSchemaSource {
  schemaById(id: number): Promise<avro.Schema>;
}

export type DecodeOutcome =
  | {
      kind: 'row';
      value: Record<string, unknown>;
      schemaId: number;
      /**
       * Set by the fast path (row-transcoder.ts): `copy`, the row's fields as COPY bytes in `copyFormat` (see
       * transcodeCopy and transcodeBinary; `_kafka_*` columns left for the sink), and its upsert version.
       * `value` is then decoded only if something asks for it.
       */
      copy?: CopySlice | undefined;
      copyFormat?: CopyFormat;
      version?: bigint | null;
    }
  | { kind: 'tombstone' }
  | { kind: 'poison'; error: PoisonMessageError; schemaId?: number };

type Resolution =
  | { resolver: avro.Resolver; writer: avro.Type; transcoder: RowTranscoder | undefined }
  | { error: PoisonMessageError };

/** A row the fast path made; its decoded value (the reference path's) only on demand. */
class TranscodedRow {
  readonly kind = 'row' as const;
  readonly schemaId: number;
  readonly copy: CopySlice;
  readonly copyFormat: CopyFormat;
  readonly version: bigint | null;
  readonly #framed: Buffer;
  readonly #resolver: avro.Resolver;
  readonly #entry: CatalogEntry;
  #value: Record<string, unknown> | undefined;

  constructor(
    copy: CopySlice,
    copyFormat: CopyFormat,
    version: bigint | null,
    schemaId: number,
    framed: Buffer,
    resolver: avro.Resolver,
    entry: CatalogEntry,
  ) {
    this.copy = copy;
    this.copyFormat = copyFormat;
    this.version = version;
    this.schemaId = schemaId;
    this.#framed = framed;
    this.#resolver = resolver;
    this.#entry = entry;
  }

  get value(): Record<string, unknown> {
    this.#value ??= decodeStrict(
      this.#framed.subarray(WIRE_HEADER_LENGTH),
      this.#resolver,
      contextOf(this.#entry, this.schemaId),
    ) as Record<string, unknown>;
    return this.#value;
  }
}

function contextOf(entry: CatalogEntry, schemaId: number): string {
  return `${entry.topic}: body does not decode with writer schema id ${schemaId}`;
}

/** The poison outcome of a value that is not Confluent-framed (decodeWireFormat says why). */
function wireFormatVerdict(value: Buffer): DecodeOutcome {
  try {
    decodeWireFormat(value);
  } catch (error) {
    if (error instanceof PoisonMessageError) return { kind: 'poison', error };
    throw error;
  }
  throw new PipelineError(
    'PAYLOAD_UNDECODABLE',
    'a value the wire format check refused was accepted on a second look',
  );
}

/** The reference path: avsc's resolver on a strict tap, then (in the sink) the row mapper. */
function referenceDecode(
  entry: CatalogEntry,
  schemaId: number,
  body: Buffer,
  resolution: { resolver: avro.Resolver; writer: avro.Type },
): DecodeOutcome {
  try {
    const value = decodeStrict(body, resolution.resolver, contextOf(entry, schemaId), resolution.writer);
    return { kind: 'row', value: value as Record<string, unknown>, schemaId };
  } catch (error) {
    if (!(error instanceof PoisonMessageError)) throw error;
    return { kind: 'poison', schemaId, error };
  }
}

export interface MessageDecoderOptions {
  /**
   * How long an id the registry does not know is retried (as a transient fault) before its messages become
   * dead letters. Producers only send ids that exist, so a miss is usually a registry replica lagging a
   * registration by a moment. Default 5000 ms.
   */
  unknownSchemaGraceMs?: number;
  /** How long the registry's "unknown id" answer is reused before the registry is asked again. Default 1000 ms. */
  unknownSchemaRecheckMs?: number;
  /** Registry lookups in flight at once. Default 8. */
  registryConcurrency?: number;
  /**
   * Unknown ids remembered at most (each for its grace period plus a minute). When the map is full, a
   * further unknown id gets no grace: its messages are dead letters at once (thousands of distinct unknown
   * ids are not a lagging replica). Default 10,000.
   */
  maxUnknownIds?: number;
  /** The clock, for tests. */
  now?: () => number;
  /**
   * Turn bodies straight into row text with a transcoder compiled per writer schema (row-transcoder.ts),
   * falling back to the reference decode for any message it does not take. Default true.
   */
  fastPath?: boolean;
}

interface Unknown {
  /** When the id was first met (the grace period runs from here). */
  since: number;
  /** When the registry last said it does not know it. */
  checkedAt: number;
  error: PoisonMessageError;
}

/** Forgotten this long after their grace ended: met again, such an id gets a new grace period. */
const UNKNOWN_RETENTION_MS = 60_000;

export class MessageDecoder {
  readonly #source: WriterSchemaSource;
  readonly #graceMs: number;
  readonly #recheckMs: number;
  readonly #concurrency: number;
  readonly #maxUnknown: number;
  readonly #now: () => number;
  readonly #fastPath: boolean;
  /** `${topic}\0${id}` → resolver, or the reason that id can never be read into this topic's reader. */
  readonly #resolutions = new Map<string, Promise<Resolution>>();
  /** Lookups in flight, by id: concurrent batches and topics share one. */
  readonly #lookups = new Map<number, Promise<avro.Schema>>();
  /** Unknown ids, in the order first met. */
  readonly #unknown = new Map<number, Unknown>();
  #active = 0;
  readonly #waiting: Array<() => void> = [];

  constructor(source: WriterSchemaSource, options: MessageDecoderOptions = {}) {
    this.#source = source;
    this.#graceMs = options.unknownSchemaGraceMs ?? 5000;
    this.#recheckMs = options.unknownSchemaRecheckMs ?? 1000;
    this.#concurrency = Math.max(1, options.registryConcurrency ?? 8);
    this.#maxUnknown = Math.max(1, options.maxUnknownIds ?? 10_000);
    this.#now = options.now ?? Date.now;
    this.#fastPath = options.fastPath ?? true;
  }

  /** How many unknown ids are remembered (bounded by `maxUnknownIds`). */
  get unknownIdsRemembered(): number {
    return this.#unknown.size;
  }

  /**
   * Decodes a batch of one topic. Unknown writer ids are fetched first (once each, a few at a time), so the
   * per-message loop is synchronous. Transient registry faults propagate: the batch is retried, never
   * dead-lettered. `copyFormat` (default DEFAULT_COPY_FORMAT): the format of the fast path's COPY bytes,
   * the one the sink will write.
   */
  async decodeBatch(
    entry: CatalogEntry,
    values: ReadonlyArray<Buffer | null>,
    copyFormat: CopyFormat = DEFAULT_COPY_FORMAT,
  ): Promise<DecodeOutcome[]> {
    const binary = copyFormat === 'binary';
    // Framed values are read in place (no object or body view per message on the fast path); anything else
    // goes through decodeWireFormat for its verdict.
    const ids = new Set<number>();
    for (const value of values) {
      if (value !== null && value.length >= WIRE_HEADER_LENGTH && value[0] === MAGIC_BYTE)
        ids.add(value.readInt32BE(1));
    }
    const resolutions = new Map<number, Resolution>();
    await Promise.all([...ids].map(async (id) => resolutions.set(id, await this.#resolution(entry, id))));

    const outcomes = new Array<DecodeOutcome>(values.length);
    for (let i = 0; i < values.length; i++) {
      const value = values[i]!;
      if (value === null) {
        outcomes[i] = { kind: 'tombstone' };
        continue;
      }
      if (value.length < WIRE_HEADER_LENGTH || value[0] !== MAGIC_BYTE) {
        outcomes[i] = wireFormatVerdict(value);
        continue;
      }
      const schemaId = value.readInt32BE(1);
      const resolution = resolutions.get(schemaId)!;
      if ('error' in resolution) {
        outcomes[i] = { kind: 'poison', error: resolution.error, schemaId };
        continue;
      }
      const transcoder = resolution.transcoder;
      if (transcoder !== undefined) {
        // Inserts and upserts alike are written as COPY bytes (upserts through a stage table).
        const copy = binary
          ? transcoder.transcodeBinary(value, WIRE_HEADER_LENGTH)
          : transcoder.transcodeCopy(value, WIRE_HEADER_LENGTH);
        if (copy !== undefined) {
          outcomes[i] = new TranscodedRow(
            copy,
            copyFormat,
            transcoder.version,
            schemaId,
            value,
            resolution.resolver,
            entry,
          );
          continue;
        }
      }
      outcomes[i] = referenceDecode(entry, schemaId, value.subarray(WIRE_HEADER_LENGTH), resolution);
    }
    return outcomes;
  }

  #resolution(entry: CatalogEntry, id: number): Promise<Resolution> {
    const key = `${entry.topic}\0${id}`;
    let pending = this.#resolutions.get(key);
    if (pending === undefined) {
      pending = this.#resolve(entry, id);
      this.#resolutions.set(key, pending);
      // Neither a transient failure nor an unknown id is cached here (#unknown keeps the latter briefly).
      pending.then(
        (resolution) => {
          if ('error' in resolution && resolution.error.code === 'SCHEMA_ID_UNKNOWN')
            this.#resolutions.delete(key);
        },
        () => this.#resolutions.delete(key),
      );
    }
    return pending;
  }

  async #resolve(entry: CatalogEntry, id: number): Promise<Resolution> {
    let schema: avro.Schema;
    try {
      schema = await this.#schema(id);
    } catch (error) {
      if (!(error instanceof PoisonMessageError)) throw error;
      if (error.code === 'SCHEMA_ID_UNKNOWN') return this.#unknownVerdict(id);
      return { error };
    }
    this.#unknown.delete(id);
    try {
      const writer = parseSchema(schema, `registry schema id ${id}`);
      // Registered after the start-up gate looked: the same rules refuse what avsc would read wrong.
      const problems = compatibilityProblems(entry.subject, entry.reader.type, [
        { version: `schema id ${id}`, schema: writer },
      ]);
      if (problems.length > 0) {
        return {
          error: new PoisonMessageError(
            'PAYLOAD_UNDECODABLE',
            `${entry.topic}: writer schema id ${id} cannot be read as ${entry.record} (${entry.reader.file}): ${problems.map(formatProblem).join('; ')}`,
            { details: { schemaId: id } },
          ),
        };
      }
      const resolver = entry.reader.type.createResolver(writer);
      return { resolver, writer, transcoder: this.#fastPath ? transcoderOf(entry, writer) : undefined };
    } catch (error) {
      const reason = error instanceof PipelineError || error instanceof Error ? error.message : String(error);
      return {
        error: new PoisonMessageError(
          'PAYLOAD_UNDECODABLE',
          `${entry.topic}: writer schema id ${id} cannot be read as ${entry.record} (${entry.reader.file}): ${reason}`,
          { cause: error },
        ),
      };
    }
  }

  /** The writer schema, or the registry's recent "unknown" answer again (thrown) without asking. */
  #schema(id: number): Promise<avro.Schema> {
    const unknown = this.#unknown.get(id);
    if (unknown !== undefined && this.#now() - unknown.checkedAt < this.#recheckMs) {
      return Promise.reject(unknown.error);
    }
    let pending = this.#lookups.get(id);
    if (pending === undefined) {
      pending = this.#limited(() => this.#source.schemaById(id));
      this.#lookups.set(id, pending);
      const settled = pending;
      settled.then(
        () => this.#lookups.delete(id),
        (error: unknown) => {
          this.#lookups.delete(id);
          if (error instanceof PoisonMessageError && error.code === 'SCHEMA_ID_UNKNOWN')
            this.#rememberUnknown(id, error);
        },
      );
    }
    return pending;
  }

  #rememberUnknown(id: number, error: PoisonMessageError): void {
    const now = this.#now();
    // The map is in first-met order: the oldest entries are at its head. Only entries long past their grace
    // are dropped: evicting one sooner would give it a new grace when met again, and a batch of more distinct
    // ids than the map holds would then never settle.
    for (const [oldId, old] of this.#unknown) {
      if (now - old.since < this.#graceMs + UNKNOWN_RETENTION_MS) break;
      this.#unknown.delete(oldId);
    }
    const known = this.#unknown.get(id);
    if (known !== undefined) {
      known.checkedAt = now;
      known.error = error;
      return;
    }
    // Full: this one gets no grace (see maxUnknownIds), and is not remembered.
    if (this.#unknown.size >= this.#maxUnknown) return;
    this.#unknown.set(id, { since: now, checkedAt: now, error });
  }

  #unknownVerdict(id: number): Resolution {
    const unknown = this.#unknown.get(id);
    // Not remembered: the map was full, so this one gets no grace.
    const since = unknown?.since ?? this.#now() - this.#graceMs;
    const error =
      unknown?.error ??
      new PoisonMessageError('SCHEMA_ID_UNKNOWN', `schema id ${id} is not in the registry`, {
        details: { schemaId: id },
      });
    if (this.#now() - since < this.#graceMs) {
      throw new TransientError(
        'REGISTRY_UNAVAILABLE',
        `schema id ${id} is not in the registry (yet); retrying for up to ${this.#graceMs} ms before dead-lettering`,
        { cause: error, details: { schemaId: id } },
      );
    }
    return { error };
  }

  /** Runs a registry lookup when fewer than `registryConcurrency` are in flight. */
  async #limited<T>(lookup: () => Promise<T>): Promise<T> {
    while (this.#active >= this.#concurrency) await new Promise<void>((wake) => this.#waiting.push(wake));
    this.#active++;
    try {
      return await lookup();
    } finally {
      this.#active--;
      this.#waiting.shift()?.();
    }
  }
}

/** The fast path of a writer schema, or none (its messages all take the reference path). */
function transcoderOf(entry: CatalogEntry, writer: avro.Type): RowTranscoder | undefined {
  try {
    return compileTranscoder(entry, writer);
  } catch {
    // A shape the compiler did not foresee must never make the id undecodable: the reference path reads it.
    return undefined;
  }
}
