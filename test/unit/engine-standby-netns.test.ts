// Which `berth run` standbys make a network namespace ahead (src/engine/standby-netns.ts): only
// one whose container will join it, a --network none container as root without a user namespace.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { usesPreparedNetns } from '../../src/engine/standby-netns.js';

describe('usesPreparedNetns', () => {
  it('--network none as root, in the host user namespace: yes', () => {
    assert.equal(usesPreparedNetns({ network: 'none' }, true), true);
    assert.equal(usesPreparedNetns({ network: 'none', userns: 'host' }, true), true);
    assert.equal(usesPreparedNetns({ network: 'none', userns: '' }, true), true);
  });

  it('the default (bridge as root), bridge, a named network, host, container:, a netns path: no', () => {
    for (const network of [undefined, '', 'default', 'bridge', 'mynet', 'host', 'container:abc', '/run/netns/x', 'ns:/run/netns/x']) {
      assert.equal(usesPreparedNetns(network === undefined ? {} : { network }, true), false, String(network));
    }
  });

  it('a new user namespace (its netns must be its own): no', () => {
    assert.equal(usesPreparedNetns({ network: 'none', userns: 'auto' }, true), false);
    assert.equal(usesPreparedNetns({ network: 'none', userns: 'auto:size=1000' }, true), false);
    assert.equal(usesPreparedNetns({ network: 'none', uidmap: ['0:100000:65536'] }, true), false);
    assert.equal(usesPreparedNetns({ network: 'none', gidmap: ['0:100000:65536'] }, true), false);
  });

  it('not root (a monitor prepares none; the default is none there, with a user namespace): no', () => {
    assert.equal(usesPreparedNetns({}, false), false);
    assert.equal(usesPreparedNetns({ network: 'none' }, false), false);
  });
});
