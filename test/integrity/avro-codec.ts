/**
 * The suite's own Avro: avsc with plain types (no logical types), longs as bigint, the Confluent frame
 * built by hand. Nothing here comes from the project, so that a bug in the project's codec cannot hide
 * itself from the checker.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import avro from 'avsc';
import { projectRoot } from '../../src/config.ts';

const bigintLong = avro.types.LongType.__with({
  fromBuffer: (buf: Buffer) => buf.readBigInt64LE(),
  toBuffer: (n: bigint) => {
    const buf = Buffer.alloc(8);
    buf.writeBigInt64LE(BigInt(n));
    return buf;
  },
  fromJSON: (n: number | string) => BigInt(n),
  toJSON: (n: bigint) => Number(n),
  isValid: (n: unknown) => typeof n === 'bigint',
  compare: (a: bigint, b: bigint) => (a === b ? 0 : a < b ? -1 : 1),
});

export function readSchema(file: string): object {
  return JSON.parse(readFileSync(join(projectRoot, 'schemas', file), 'utf8')) as object;
}

/**
 * Logical types dropped: `{type: 'long', logicalType: …}` becomes plain `long` (avsc would otherwise build
 * its own long there, bypassing the bigint one), decimals plain bytes, uuids plain strings.
 */
function plain(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(plain);
  if (schema === null || typeof schema !== 'object') return schema;
  const record = schema as Record<string, unknown>;
  if (typeof record.type === 'string' && 'logicalType' in record) return record.type;
  return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, plain(v)]));
}

export function avroType(schema: object): avro.Type {
  return avro.Type.forSchema(plain(schema) as avro.Schema, { registry: { long: bigintLong } });
}

export function frame(schemaId: number, body: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header.writeUInt8(0, 0);
  header.writeUInt32BE(schemaId, 1);
  return Buffer.concat([header, body]);
}

/** The schema id of a Confluent-framed value, or undefined when the bytes are not framed. */
export function frameId(value: Buffer): number | undefined {
  return value.length >= 5 && value[0] === 0 ? value.readUInt32BE(1) : undefined;
}

/** Two's complement big-endian bytes of an unscaled decimal, as Avro's decimal logical type stores it. */
export function decimalBytes(unscaled: bigint): Buffer {
  let hex = (unscaled < 0n ? (1n << 256n) + unscaled : unscaled).toString(16);
  if (hex.length % 2 === 1) hex = `0${hex}`;
  let bytes = Buffer.from(hex, 'hex');
  if (unscaled >= 0n && (bytes[0]! & 0x80) !== 0) bytes = Buffer.concat([Buffer.from([0]), bytes]);
  if (unscaled < 0n) {
    let start = 0;
    while (start < bytes.length - 1 && bytes[start] === 0xff && (bytes[start + 1]! & 0x80) !== 0) start++;
    bytes = bytes.subarray(start);
  }
  return bytes;
}

/** Registers a schema under a subject (idempotent in the registry) and returns its id. */
export async function registerSchema(registryUrl: string, subject: string, schema: object): Promise<number> {
  const response = await fetch(`${registryUrl}/subjects/${encodeURIComponent(subject)}/versions`, {
    method: 'POST',
    headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
    body: JSON.stringify({ schema: JSON.stringify(schema) }),
  });
  const body = (await response.json()) as { id?: number };
  if (!response.ok || typeof body.id !== 'number') {
    throw new Error(`registering ${subject} failed: ${response.status} ${JSON.stringify(body)}`);
  }
  return body.id;
}
