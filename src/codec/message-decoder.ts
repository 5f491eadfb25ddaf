/**
 * Turns the raw bytes of a message into the reader schema's value: the writer schema comes from the
 * registry by the id in the message, and is resolved into the local reader schema (old events get the
 * defaults of new fields, renamed fields follow aliases). One resolver per (topic, writer id), cached.
 */
import type avro from 'avsc';
import { type CatalogEntry, parseSchema } from '../contracts/catalog.ts';
import { compatibilityProblems, formatProblem } from '../contracts/compatibility-rules.ts';
import { PipelineError, PoisonMessageError, TransientError } from '../errors.ts';
import { decodeWireFormat } from './wire-format.ts';

/** Where writer schemas come from: the registry client, by global schema id. */
export interface WriterSchemaSource {
  schemaById(id: number): Promise<avro.Schema>;
}

export type DecodeOutcome =
  | { kind: 'row'; value: Record<string, unknown>; schemaId: number }
  | { kind: 'tombstone' }
  | { kind: 'poison'; error: PoisonMessageError; schemaId?: number };

type Resolution = { resolver: avro.Resolver } | { error: PoisonMessageError };

export interface MessageDecoderOptions {
  /**
   * How long an id the registry does not know is retried (as a transient fault) before its messages become
   * dead letters. Producers only send ids that exist, so a miss is usually a registry replica lagging a
   * registration by a moment. Default 5000 ms.
   */
  unknownSchemaGraceMs?: number;
}

export class MessageDecoder {
  readonly #source: WriterSchemaSource;
  readonly #graceMs: number;
  /** `${topic}\0${id}` → resolver, or the reason that id can never be read into this topic's reader. */
  readonly #resolutions = new Map<string, Promise<Resolution>>();
  /** When each unknown id was first met. */
  readonly #unknownSince = new Map<number, number>();

  constructor(source: WriterSchemaSource, options: MessageDecoderOptions = {}) {
    this.#source = source;
    this.#graceMs = options.unknownSchemaGraceMs ?? 5000;
  }

  /**
   * Decodes a batch of one topic. Unknown writer ids are fetched first (once each, concurrently), so the
   * per-message loop is synchronous. Transient registry faults propagate: the batch is retried, never
   * dead-lettered.
   */
  async decodeBatch(entry: CatalogEntry, values: ReadonlyArray<Buffer | null>): Promise<DecodeOutcome[]> {
    const framed = values.map((value) => {
      if (value === null) return { kind: 'tombstone' as const };
      try {
        return { kind: 'framed' as const, ...decodeWireFormat(value) };
      } catch (error) {
        if (error instanceof PoisonMessageError) return { kind: 'poison' as const, error };
        throw error;
      }
    });
    const ids = new Set<number>();
    for (const f of framed) if (f.kind === 'framed') ids.add(f.schemaId);
    const resolutions = new Map<number, Resolution>();
    await Promise.all([...ids].map(async (id) => resolutions.set(id, await this.#resolution(entry, id))));

    return framed.map((f): DecodeOutcome => {
      if (f.kind !== 'framed') return f;
      const resolution = resolutions.get(f.schemaId)!;
      if ('error' in resolution) return { kind: 'poison', error: resolution.error, schemaId: f.schemaId };
      try {
        const value = entry.reader.type.fromBuffer(f.body, resolution.resolver) as Record<string, unknown>;
        return { kind: 'row', value, schemaId: f.schemaId };
      } catch (error) {
        return {
          kind: 'poison',
          schemaId: f.schemaId,
          error: new PoisonMessageError(
            'PAYLOAD_UNDECODABLE',
            `${entry.topic}: body does not decode with writer schema id ${f.schemaId}: ${(error as Error).message}`,
            { cause: error },
          ),
        };
      }
    });
  }

  #resolution(entry: CatalogEntry, id: number): Promise<Resolution> {
    const key = `${entry.topic}\0${id}`;
    let pending = this.#resolutions.get(key);
    if (pending === undefined) {
      pending = this.#resolve(entry, id);
      this.#resolutions.set(key, pending);
      // Neither a transient failure nor an unknown id is cached: the next batch asks the registry again.
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
      schema = await this.#source.schemaById(id);
    } catch (error) {
      if (!(error instanceof PoisonMessageError)) throw error;
      if (error.code === 'SCHEMA_ID_UNKNOWN') {
        const since = this.#unknownSince.get(id) ?? Date.now();
        this.#unknownSince.set(id, since);
        if (Date.now() - since < this.#graceMs) {
          throw new TransientError(
            'REGISTRY_UNAVAILABLE',
            `schema id ${id} is not in the registry (yet); retrying for up to ${this.#graceMs} ms before dead-lettering`,
            { cause: error, details: { schemaId: id } },
          );
        }
      }
      return { error };
    }
    this.#unknownSince.delete(id);
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
      return { resolver: entry.reader.type.createResolver(writer) };
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
}
