/**
 * Messages a consumer must survive, one of each kind it meets in practice, for the demo and the tests:
 * every one must end in dead_letters with its raw bytes while the good messages around it land.
 */
import type avro from 'avsc';
import type { Message } from 'kafkajs';
import { encodeWireFormat } from '../codec/wire-format.ts';
import type { CatalogEntry } from '../contracts/catalog.ts';

export interface PoisonMessage extends Message {
  /** What is wrong with it, as the demo reports it. */
  label: string;
}

/** A schema id no registry hands out in practice (Confluent ids count up from 1). */
const UNKNOWN_SCHEMA_ID = 2_000_000_000;

/** First top-level field that is a plain string (or nullable string): PostgreSQL text refuses NUL there. */
function plainStringField(entry: CatalogEntry): string | undefined {
  const record = entry.reader.type as avro.types.RecordType;
  for (const field of record.fields) {
    const type = field.type;
    if (type.typeName === 'string') return field.name;
    if (type.typeName === 'union:unwrapped') {
      const types = (type as avro.types.UnwrappedUnionType).types;
      if (
        types.some((t) => t.typeName === 'string') &&
        types.every((t) => ['null', 'string'].includes(t.typeName))
      ) {
        return field.name;
      }
    }
  }
  return undefined;
}

/**
 * @param schemaId the registered id of the entry's reader schema
 * @param event a valid event of the reader schema, used as the body of the damaged messages
 */
export function poisonMessages(
  entry: CatalogEntry,
  schemaId: number,
  event: Record<string, unknown>,
): PoisonMessage[] {
  const body = entry.reader.type.toBuffer(event);
  const key = String(event[entry.key]);
  const messages: PoisonMessage[] = [
    { label: 'magic byte 1 instead of 0', key, value: Buffer.concat([Buffer.from([1, 0, 0, 0, 1]), body]) },
    { label: 'shorter than the 5-byte header', key, value: Buffer.from([0, 0, 0]) },
    { label: 'schema id unknown to the registry', key, value: encodeWireFormat(UNKNOWN_SCHEMA_ID, body) },
    {
      label: 'body cut short',
      key,
      value: encodeWireFormat(schemaId, body.subarray(0, Math.floor(body.length / 3))),
    },
  ];
  const text = plainStringField(entry);
  if (text !== undefined) {
    // Valid Avro, refused by PostgreSQL (text cannot hold NUL): a row-level refusal, found by bisecting.
    const refused = entry.reader.type.toBuffer({ ...event, [text]: `refused\u0000by postgres` });
    messages.push({ label: `NUL character in ${text}`, key, value: encodeWireFormat(schemaId, refused) });
  }
  return messages;
}
