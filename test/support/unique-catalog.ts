/**
 * A copy of the project's schemas folder whose topics (and so subjects) carry a unique prefix, for tests that
 * register schemas or produce without touching anyone else's subjects. Extra .avsc files and catalog edits
 * let a test build an evolution the real catalog does not have.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../../src/config.ts';
import { type Catalog, loadCatalog } from '../../src/contracts/catalog.ts';

export interface RawCatalogEntry {
  topic: string;
  schemas: string[];
  [key: string]: unknown;
}

export interface UniqueCatalog {
  dir: string;
  catalog: Catalog;
  /** The renamed topic of an original catalog topic: `topic('shop.orders')`. */
  topic(original: string): string;
  remove(): void;
}

export function uniqueCatalog(
  prefix: string,
  options: {
    files?: Record<string, unknown>;
    edit?: (entries: RawCatalogEntry[]) => void;
    /** False for a catalog whose versions do not read each other (loadCatalog would refuse it). */
    checkVersions?: boolean;
  } = {},
): UniqueCatalog {
  const dir = mkdtempSync(join(tmpdir(), 'catalog-'));
  cpSync(join(projectRoot, 'schemas'), dir, { recursive: true });
  for (const [file, schema] of Object.entries(options.files ?? {})) {
    writeFileSync(join(dir, file), JSON.stringify(schema, null, 2));
  }
  const catalogFile = join(dir, 'catalog.json');
  const raw = JSON.parse(readFileSync(catalogFile, 'utf8')) as {
    topics: RawCatalogEntry[];
    references?: { subject: string }[];
  };
  options.edit?.(raw.topics);
  for (const entry of raw.topics) entry.topic = `${prefix}.${entry.topic}`;
  // Referenced types have subjects of their own: unique too.
  for (const reference of raw.references ?? []) reference.subject = `${prefix}.${reference.subject}`;
  writeFileSync(catalogFile, JSON.stringify(raw, null, 2));
  return {
    dir,
    catalog: loadCatalog(dir, { checkVersions: options.checkVersions ?? true }),
    topic: (original) => `${prefix}.${original}`,
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
