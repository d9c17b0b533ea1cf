import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  CAP_LAST_CAP,
  CAPABILITIES,
  CAPABILITY_NAMES,
  capabilityMask,
  capabilityNamesFromMask,
  capabilityNumber,
  isCapabilityName,
  suggestCapability,
} from '../../src/spec/capabilities.js';

describe('capabilities table', () => {
  it('numbers CAP_CHOWN=0 through CAP_CHECKPOINT_RESTORE=40 without gaps', () => {
    assert.equal(CAPABILITY_NAMES.length, CAP_LAST_CAP + 1);
    CAPABILITY_NAMES.forEach((name, i) => assert.equal(CAPABILITIES[name], i, name));
    assert.equal(CAPABILITY_NAMES[0], 'CAP_CHOWN');
    assert.equal(CAPABILITY_NAMES[40], 'CAP_CHECKPOINT_RESTORE');
    assert.equal(capabilityNumber('CAP_SYS_ADMIN'), 21);
    assert.equal(capabilityNumber('CAP_NET_BIND_SERVICE'), 10);
    assert.equal(capabilityNumber('CAP_BPF'), 39);
  });

  it('does not mistake Object.prototype members for capabilities', () => {
    for (const name of ['toString', '__proto__', 'constructor', 'hasOwnProperty', 'cap_chown', '']) {
      assert.equal(isCapabilityName(name), false, name);
      assert.equal(capabilityNumber(name), undefined, name);
    }
  });

  it('builds 64-bit masks as bigint', () => {
    assert.equal(capabilityMask([]), 0n);
    assert.equal(capabilityMask(['CAP_CHOWN']), 1n);
    assert.equal(capabilityMask(['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE']), (1n << 29n) | (1n << 5n) | (1n << 10n));
    assert.equal(capabilityMask(['CAP_CHECKPOINT_RESTORE', 'CAP_CHECKPOINT_RESTORE']), 1n << 40n);
    assert.equal(capabilityMask(CAPABILITY_NAMES), (1n << 41n) - 1n);
    assert.throws(() => capabilityMask(['CAP_NOPE']), RangeError);
  });

  it('turns masks back into names', () => {
    assert.deepEqual(capabilityNamesFromMask((1n << 21n) | 1n | (1n << 63n)), ['CAP_CHOWN', 'CAP_SYS_ADMIN']);
    assert.deepEqual(capabilityNamesFromMask((1n << 41n) - 1n), [...CAPABILITY_NAMES]);
  });

  it('suggests the intended spelling', () => {
    assert.equal(suggestCapability('net_admin'), 'CAP_NET_ADMIN');
    assert.equal(suggestCapability('cap_sys_admin'), 'CAP_SYS_ADMIN');
    assert.equal(suggestCapability('SYS-PTRACE'), 'CAP_SYS_PTRACE');
    assert.equal(suggestCapability('CAP_FLY'), undefined);
  });
});
