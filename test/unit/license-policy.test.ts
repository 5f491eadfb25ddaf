import test from 'ava';
import { decideLicense, licenseExpression, licenseFromFile } from '../../scripts/license-policy.ts';

test('permissive licences pass, alone or as SPDX expressions', (t) => {
  for (const declared of [
    'MIT',
    'ISC',
    'Apache-2.0',
    'BSD-3-Clause',
    'BlueOak-1.0.0',
    '(MIT OR GPL-3.0-only)',
    'MIT AND ISC',
    'Apache-2.0 WITH LLVM-exception',
    '(MIT AND (BSD-2-Clause OR GPL-2.0-only))',
    { type: 'MIT', url: 'https://opensource.org/licenses/MIT' },
  ]) {
    t.deepEqual(decideLicense(declared), { allowed: true }, JSON.stringify(declared));
  }
});

test('a copyleft or unknown licence fails, even beside an allowed one with AND', (t) => {
  for (const declared of [
    'GPL-3.0-only',
    'AGPL-3.0-or-later',
    'SSPL-1.0',
    'MIT AND GPL-2.0-only',
    '(GPL-2.0-only OR LGPL-3.0-only)',
    'UNLICENSED',
  ]) {
    const decision = decideLicense(declared);
    t.false(decision.allowed, declared);
    t.regex(decision.allowed ? '' : decision.reason, /not on the allow-list/, declared);
  }
});

test('a missing or unparsable licence fails with the reason, never passes by default', (t) => {
  t.deepEqual(decideLicense(undefined), { allowed: false, reason: 'no licence declared in package.json' });
  t.deepEqual(decideLicense(''), { allowed: false, reason: 'no licence declared in package.json' });
  for (const declared of ['SEE LICENSE IN LICENSE.txt', 'MIT OR', '(MIT', 'MIT)', 'AND MIT']) {
    const decision = decideLicense(declared);
    t.false(decision.allowed, declared);
    t.regex(decision.allowed ? '' : decision.reason, /not an SPDX licence expression/, declared);
  }
});

test('the deprecated licenses array needs every entry allowed', (t) => {
  t.is(licenseExpression([{ type: 'MIT' }, { type: 'Apache-2.0' }]), '(MIT) AND (Apache-2.0)');
  t.deepEqual(decideLicense([{ type: 'MIT' }, { type: 'Apache-2.0' }]), { allowed: true });
  t.false(decideLicense([{ type: 'MIT' }, { type: 'GPL-2.0' }]).allowed);
  t.false(decideLicense([{ type: 'MIT' }, { url: 'x' }]).allowed);
});

test('an allow-list given by the caller is the one applied', (t) => {
  t.false(decideLicense('MIT', new Set(['ISC'])).allowed);
  t.true(decideLicense('ISC', new Set(['ISC'])).allowed);
});

test('a package that declares no licence passes only when pinned and its LICENSE file still says so', (t) => {
  t.is(licenseFromFile('@kafkajs/confluent-schema-registry@3.9.0', 'MIT License\n\nCopyright…'), 'MIT');
  t.is(licenseFromFile('@kafkajs/confluent-schema-registry@3.9.0', 'GNU GENERAL PUBLIC LICENSE'), null);
  t.is(licenseFromFile('@kafkajs/confluent-schema-registry@4.0.0', 'MIT License'), null);
  t.is(licenseFromFile('@kafkajs/confluent-schema-registry@3.9.0', undefined), null);
});
