import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DEFAULT_DEVICE_RULES, emulate, normalizeDeviceRules, parseDevicesList, ruleText, transition, withDefaultDeviceRules,
} from '../../src/cgroups/devices.js';

describe('device rules', () => {
  it('normalizes rules like runc (missing type = all, -1 = wildcard)', () => {
    const [a, c] = normalizeDeviceRules([{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 136, minor: -1, access: 'wr' }]);
    assert.equal(ruleText(a!), 'a *:* rwm');
    assert.equal(ruleText(c!), 'c 136:* rw');
  });

  it('emulates the kernel: reset, add, remove', () => {
    const st = emulate(normalizeDeviceRules([
      { allow: false, access: 'rwm' },
      { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' },
      { allow: true, type: 'c', major: 1, minor: 5, access: 'rw' },
      { allow: false, type: 'c', major: 1, minor: 3, access: 'm' },
    ]));
    assert.equal(st.defaultAllow, false);
    assert.deepEqual([...st.exceptions], [['c 1:3', 'rw'], ['c 1:5', 'rw']]);
    const all = emulate(normalizeDeviceRules([{ allow: true, type: 'c', major: 1, minor: 3, access: 'r' }, { allow: true, access: 'rwm' }]));
    assert.deepEqual(all, { defaultAllow: true, exceptions: new Map() });
  });

  it('starts a fresh cgroup from deny-all, then the allow rules in order', () => {
    const target = emulate(normalizeDeviceRules(withDefaultDeviceRules([{ allow: false, access: 'rwm' }])));
    const writes = transition(parseDevicesList('a *:* rwm\n'), target);
    assert.deepEqual(writes[0], { file: 'devices.deny', text: 'a' });
    assert.deepEqual(writes[1], { file: 'devices.allow', text: 'c *:* m' });
    assert.equal(writes.length, 1 + DEFAULT_DEVICE_RULES.length);
    assert.ok(writes.slice(1).every((w) => w.file === 'devices.allow'));
  });

  it('updates a deny-all list by difference only (no reset)', () => {
    const current = parseDevicesList('c 1:3 rwm\nc 1:5 rwm\nc 10:200 rwm\n');
    const target = emulate(normalizeDeviceRules([{ allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' }, { allow: true, type: 'c', major: 1, minor: 5, access: 'r' }, { allow: true, type: 'b', major: 8, minor: 0, access: 'r' }]));
    assert.deepEqual(transition(current, target), [
      { file: 'devices.deny', text: 'c 1:5 wm' },
      { file: 'devices.deny', text: 'c 10:200 rwm' },
      { file: 'devices.allow', text: 'b 8:0 r' },
    ]);
  });

  it('appends linux.devices and the defaults after the spec rules', () => {
    const rules = withDefaultDeviceRules([{ allow: false, access: 'rwm' }], [{ type: 'c', major: 10, minor: 229 }]);
    assert.deepEqual(rules[1], { allow: true, type: 'c', major: 10, minor: 229, access: 'rwm' });
    assert.equal(rules.length, 2 + DEFAULT_DEVICE_RULES.length);
  });
});
