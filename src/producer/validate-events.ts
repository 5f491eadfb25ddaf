/**
 * Runtime validation of events before anything is encoded or sent. avsc's writer does not check values (a
 * string written as an int becomes garbage), so every event goes through `isValid` first, and the first
 * invalid one is reported by topic, index and field path.
 */
import avro from 'avsc';
import { DecimalType } from '../contracts/logical-types.ts';
import { PipelineError } from '../errors.ts';

export interface ValidationTarget {
  topic: string;
  /** The catalog's version number of the schema, for the message. */
  version: number;
  type: avro.Type;
}

function expected(type: avro.Type): string {
  if (type instanceof DecimalType)
    return `a decimal string with at most ${type.precision} digits, ${type.scale} after the point`;
  switch (type.typeName) {
    case 'logical:timestamp-millis':
      return 'a valid Date';
    case 'logical:timestamp-micros':
      return 'a bigint of microseconds';
    case 'logical:date':
      return 'an existing day as "YYYY-MM-DD"';
    case 'logical:uuid':
      return 'a UUID string';
    case 'logical:time-millis':
      return 'a time of day as "HH:MM:SS[.mmm]"';
    case 'logical:time-micros':
      return 'a time of day as "HH:MM:SS[.ffffff]"';
    case 'logical:local-timestamp-millis':
      return 'a local date and time as "YYYY-MM-DDTHH:MM:SS[.mmm]", years 1–9999';
    case 'logical:local-timestamp-micros':
      return 'a local date and time as "YYYY-MM-DDTHH:MM:SS[.ffffff]", years 1–9999';
    case 'int':
      return 'a 32-bit whole number';
    case 'long':
    case 'abstract:long':
      return 'a safe whole number, or a bigint within 64 bits';
    case 'float':
    case 'double':
      return 'a number';
    case 'enum':
      return `one of ${(type as avro.types.EnumType).symbols.join(', ')}`;
    case 'record':
      return `a ${type.name} record`;
    case 'array':
      return 'an array';
    case 'map':
      return 'an object of string keys';
    case 'union:unwrapped':
    case 'union:wrapped':
      return (type as avro.types.UnwrappedUnionType).types.map(expected).join(' or ');
    case 'null':
      return 'null';
    default:
      return `a ${type.typeName}`;
  }
}

function preview(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'bigint') return `${value}n`;
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? 'an invalid Date' : value.toISOString();
  if (Buffer.isBuffer(value)) return `a Buffer of ${value.length} bytes`;
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value === 'object' && value !== null) return 'an object';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** `lines[2].unit_price` from avsc's path segments, using the types to tell an index from a map key. */
export function fieldPath(root: avro.Type, segments: readonly string[]): string {
  let type: avro.Type | undefined = root;
  let path = '';
  for (const segment of segments) {
    while (type instanceof avro.types.UnwrappedUnionType) {
      type = type.types.find((t) => t.typeName !== 'null');
    }
    if (type instanceof avro.types.ArrayType) {
      path += `[${segment}]`;
      type = type.itemsType;
    } else if (type instanceof avro.types.MapType) {
      path += `[${JSON.stringify(segment)}]`;
      type = type.valuesType as avro.Type;
    } else {
      path += path === '' ? segment : `.${segment}`;
      type = type instanceof avro.types.RecordType ? type.field(segment)?.type : undefined;
    }
  }
  return path === '' ? '(the event itself)' : path;
}

/**
 * Fields an event has that its record does not declare. avsc accepts them (and a missing field that has a
 * default), so a misspelt optional field would silently be written as its default.
 */
function undeclaredFields(type: avro.Type, value: unknown, path: string, out: string[]): void {
  if (value === null || typeof value !== 'object') return;
  if (type instanceof avro.types.RecordType) {
    for (const key of Object.keys(value)) {
      const field = type.field(key);
      const fieldPath = path === '' ? key : `${path}.${key}`;
      if (field === undefined) out.push(`${fieldPath}: not a field of ${type.name}`);
      else undeclaredFields(field.type, (value as Record<string, unknown>)[key], fieldPath, out);
    }
  } else if (type instanceof avro.types.ArrayType && Array.isArray(value)) {
    for (const [i, item] of value.entries()) undeclaredFields(type.itemsType, item, `${path}[${i}]`, out);
  } else if (type instanceof avro.types.MapType) {
    for (const [key, item] of Object.entries(value)) {
      undeclaredFields(type.valuesType as avro.Type, item, `${path}[${JSON.stringify(key)}]`, out);
    }
  } else if (type instanceof avro.types.UnwrappedUnionType) {
    const branch = type.types.find((t) => t.typeName !== 'null' && t.isValid(value));
    if (branch !== undefined) undeclaredFields(branch, value, path, out);
  }
}

/** Throws EVENT_INVALID for the first event the schema refuses, naming its index and every failing field. */
export function validateEvents(target: ValidationTarget, events: readonly unknown[]): void {
  for (let index = 0; index < events.length; index++) {
    const event = events[index];
    if (target.type.isValid(event, { noUndeclaredFields: true })) continue;
    const problems: { field: string; text: string }[] = [];
    // Without noUndeclaredFields avsc descends into the fields and reports each leaf.
    target.type.isValid(event, {
      errorHook: (segments, value, type) => {
        const field = fieldPath(target.type, segments);
        problems.push({ field, text: `${field}: expected ${expected(type)}, got ${preview(value)}` });
      },
    });
    const undeclared: string[] = [];
    undeclaredFields(target.type, event, '', undeclared);
    for (const text of undeclared) problems.push({ field: text.slice(0, text.indexOf(':')), text });
    throw new PipelineError(
      'EVENT_INVALID',
      `${target.topic} event #${index} does not match schema version ${target.version}: ${problems.map((p) => p.text).join('; ')}`,
      { details: { topic: target.topic, index, fields: problems.map((p) => p.field) } },
    );
  }
}
