/**
 * Which licences a runtime dependency may carry. The project is Apache-2.0 and is meant to be copied into
 * other projects, so every licence here is permissive: it asks for attribution at most, never that the
 * copier's own code be released (no GPL family, no "source available" licences).
 *
 * A package declares its licence as an SPDX expression (https://spdx.github.io/spdx-spec/v2.3/SPDX-license-expressions/):
 * `A OR B` is acceptable when either is, `A AND B` only when both are, `A WITH exception` when A is.
 */

export const ALLOWED_LICENSES: ReadonlySet<string> = new Set([
  '0BSD',
  'Apache-2.0',
  'BlueOak-1.0.0',
  'BSD-2-Clause',
  'BSD-3-Clause',
  'CC0-1.0',
  'ISC',
  'MIT',
  'MIT-0',
  'Python-2.0',
  'Unlicense',
  'Zlib',
]);

export type LicenseDecision = { allowed: true } | { allowed: false; reason: string };

type Expression =
  | { kind: 'license'; id: string }
  | { kind: 'and' | 'or'; left: Expression; right: Expression };

function tokenize(text: string): string[] {
  return text
    .replaceAll('(', ' ( ')
    .replaceAll(')', ' ) ')
    .split(/\s+/)
    .filter((t) => t !== '');
}

/** SPDX precedence: WITH binds tightest, then AND, then OR. Returns null for anything else. */
function parse(text: string): Expression | null {
  const tokens = tokenize(text);
  let at = 0;
  const peek = () => tokens[at];
  function primary(): Expression | null {
    const token = tokens[at++];
    if (token === undefined) return null;
    if (token === '(') {
      const inner = or();
      if (inner === null || tokens[at++] !== ')') return null;
      return inner;
    }
    if (!/^[A-Za-z0-9.+-]+$/.test(token) || ['AND', 'OR', 'WITH', ')'].includes(token)) return null;
    // The exception of `X WITH exception` only ever adds permissions to X.
    if (peek() === 'WITH') {
      at++;
      if (tokens[at++] === undefined) return null;
    }
    return { kind: 'license', id: token.replace(/\+$/, '') };
  }
  function and(): Expression | null {
    let left = primary();
    while (left !== null && peek() === 'AND') {
      at++;
      const right = primary();
      left = right === null ? null : { kind: 'and', left, right };
    }
    return left;
  }
  function or(): Expression | null {
    let left = and();
    while (left !== null && peek() === 'OR') {
      at++;
      const right = and();
      left = right === null ? null : { kind: 'or', left, right };
    }
    return left;
  }
  const expression = or();
  return expression !== null && at === tokens.length ? expression : null;
}

function allowedBy(expression: Expression, allowed: ReadonlySet<string>): boolean {
  if (expression.kind === 'license') return allowed.has(expression.id);
  const left = allowedBy(expression.left, allowed);
  const right = allowedBy(expression.right, allowed);
  return expression.kind === 'and' ? left && right : left || right;
}

/**
 * The `license` field of a package.json (or its deprecated `licenses` array, whose entries must all be
 * acceptable: nothing in the array says the user may choose) against the allow-list.
 */
export function decideLicense(
  declared: unknown,
  allowed: ReadonlySet<string> = ALLOWED_LICENSES,
): LicenseDecision {
  const expression = licenseExpression(declared);
  if (expression === null) return { allowed: false, reason: 'no licence declared in package.json' };
  const parsed = parse(expression);
  if (parsed === null) {
    return { allowed: false, reason: `"${expression}" is not an SPDX licence expression` };
  }
  return allowedBy(parsed, allowed)
    ? { allowed: true }
    : { allowed: false, reason: `"${expression}" is not on the allow-list (scripts/license-policy.ts)` };
}

/** The licence of a package.json as one SPDX expression, or null when it declares none. */
export function licenseExpression(declared: unknown): string | null {
  if (typeof declared === 'string') return declared.trim() === '' ? null : declared.trim();
  if (typeof declared === 'object' && declared !== null && 'type' in declared) {
    return licenseExpression((declared as { type: unknown }).type);
  }
  if (Array.isArray(declared) && declared.length > 0) {
    const parts = declared.map(licenseExpression);
    if (parts.some((p) => p === null)) return null;
    return parts.length === 1 ? parts[0]! : parts.map((p) => `(${p})`).join(' AND ');
  }
  return null;
}

/**
 * Packages whose package.json declares no licence but whose LICENSE file does, read by a person and pinned
 * by exact version (a new version is checked again). The file's first line must still say so: the
 * decision never rests on this table alone.
 */
export const LICENSES_FROM_FILE: Readonly<Record<string, { license: string; firstLine: string }>> = {
  // https://github.com/kafkajs/confluent-schema-registry/blob/master/LICENSE
  '@kafkajs/confluent-schema-registry@3.9.0': { license: 'MIT', firstLine: 'MIT License' },
};

/** The licence of a package that declares none, from its pinned entry and its LICENSE file's first line. */
export function licenseFromFile(key: string, licenseText: string | undefined): string | null {
  const known = LICENSES_FROM_FILE[key];
  if (known === undefined || licenseText === undefined) return null;
  return licenseText.trimStart().split('\n', 1)[0]!.trim() === known.firstLine ? known.license : null;
}
