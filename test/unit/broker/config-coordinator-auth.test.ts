/** --coordinator-auth: from the flag or SAMSA_COORDINATOR_AUTH, validated, never shown by DescribeConfigs. */
import { loadBrokerConfig } from '../../../broker/config';
import { describeBrokerConfig } from '../../../broker/config-describe';

test.each([
  ['none: the tree stays open', {}, {}, null],
  ['the flag', {}, { coordinatorAuth: 'broker:pw' }, 'broker:pw'],
  ['the environment', { SAMSA_COORDINATOR_AUTH: 'broker:env' }, {}, 'broker:env'],
  ['the flag over the environment', { SAMSA_COORDINATOR_AUTH: 'broker:env' }, { coordinatorAuth: 'broker:flag' }, 'broker:flag'],
  ['an empty value (an unset Makefile variable) is none', { SAMSA_COORDINATOR_AUTH: '' }, {}, null],
  ['a password may hold colons', {}, { coordinatorAuth: 'broker:p:w' }, 'broker:p:w'],
])('%s', (_name, env, flags, expected) => {
  expect(loadBrokerConfig(env, { id: 1, ...flags }).coordinatorAuth).toBe(expected);
});

test.each(['broker', ':pw'])('%j is refused: digest credentials are user:password', (value) => {
  expect(() => loadBrokerConfig({}, { id: 1, coordinatorAuth: value })).toThrow(/--coordinator-auth: digest credentials must be user:password/);
});

test('DescribeConfigs says whether the tree is locked, never the credentials', () => {
  const locked = describeBrokerConfig(loadBrokerConfig({}, { id: 1, coordinatorAuth: 'broker:secret' }));
  expect(locked.find((entry) => entry.name === 'zookeeper.set.acl')).toEqual({ name: 'zookeeper.set.acl', value: 'true', isDefault: false });
  expect(JSON.stringify(locked)).not.toContain('secret');
  const open = describeBrokerConfig(loadBrokerConfig({}, { id: 1 }));
  expect(open.find((entry) => entry.name === 'zookeeper.set.acl')).toEqual({ name: 'zookeeper.set.acl', value: 'false', isDefault: true });
});
