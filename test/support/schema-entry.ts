/** A catalog entry around one schema, for tests that compile a transcoder or mapper without a catalog file. */
import { type CatalogEntry, parseSchema } from '../../src/contracts/catalog.ts';

export interface SchemaEntryOptions {
  /** The topic; the subject is `<topic>-value`. */
  topic: string;
  table: string;
  /** Default `id`. */
  key?: string;
  /** Set: an upsert entry ordered by this field; unset: insert. */
  versionField?: string | undefined;
}

/** The schema as the entry's only version and its reader; the record name is the schema's full name. */
export function schemaEntry(schema: unknown, options: SchemaEntryOptions): CatalogEntry {
  const type = parseSchema(schema, options.topic);
  const version = {
    version: 1,
    file: `${options.table}.avsc`,
    schema: schema as never,
    type,
    references: [],
  };
  const { versionField } = options;
  return {
    topic: options.topic,
    subject: `${options.topic}-value`,
    record: type.name!,
    versions: [version],
    reader: version,
    table: options.table,
    key: options.key ?? 'id',
    writeMode: versionField === undefined ? 'insert' : 'upsert',
    ...(versionField === undefined ? {} : { versionField }),
    partitions: 1,
  };
}
