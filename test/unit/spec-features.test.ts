import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { CAPABILITY_NAMES } from '../../src/spec/capabilities.js';
import { features, parseKernelRelease, supportedSeccompFlags } from '../../src/spec/features.js';
import { OCI_VERSION } from '../../src/spec/types.js';

describe('features (berth-oci features)', () => {
  it('has the shape of the runtime-spec features document', () => {
    const f = features({ kernelRelease: '6.8.0-45-generic', version: '9.9.9' });
    assert.equal(f.ociVersionMin, '1.0.0');
    assert.equal(f.ociVersionMax, OCI_VERSION);
    assert.deepEqual(f.hooks, ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop']);
    assert.ok(f.mountOptions.includes('rbind') && f.mountOptions.includes('rro') && f.mountOptions.includes('tmpcopyup'));
    assert.deepEqual(f.mountOptions, [...f.mountOptions].sort());
    assert.deepEqual(f.linux.namespaces, ['cgroup', 'ipc', 'mount', 'network', 'pid', 'time', 'user', 'uts']);
    assert.deepEqual(f.linux.capabilities, [...CAPABILITY_NAMES]);
    assert.equal(f.linux.cgroup.systemd, true);
    assert.equal(f.linux.seccomp.enabled, true);
    assert.ok(f.linux.seccomp.actions.includes('SCMP_ACT_NOTIFY'));
    assert.ok(f.linux.seccomp.operators.includes('SCMP_CMP_MASKED_EQ'));
    assert.ok(f.linux.seccomp.archs.includes('SCMP_ARCH_X86_64'));
    assert.deepEqual(f.linux.seccomp.supportedFlags, f.linux.seccomp.knownFlags);
    assert.equal(f.linux.apparmor.enabled, false);
    assert.equal(f.linux.selinux.enabled, false);
    assert.equal(f.linux.mountExtensions.idmap.enabled, true);
    assert.equal(f.annotations['io.berth.version'], '9.9.9');
    for (const key of Object.keys(f.annotations)) assert.match(key, /^io\.berth\./);
    // It must serialise as plain JSON.
    assert.deepEqual(JSON.parse(JSON.stringify(f)), f);
  });

  it('reports seccomp flags by kernel version', () => {
    assert.deepEqual(parseKernelRelease('5.15.0-1-amd64'), [5, 15]);
    assert.equal(parseKernelRelease('weird'), undefined);
    assert.deepEqual(supportedSeccompFlags('4.14.0'), ['SECCOMP_FILTER_FLAG_TSYNC', 'SECCOMP_FILTER_FLAG_LOG']);
    assert.deepEqual(supportedSeccompFlags('5.15.0'), [
      'SECCOMP_FILTER_FLAG_TSYNC',
      'SECCOMP_FILTER_FLAG_LOG',
      'SECCOMP_FILTER_FLAG_SPEC_ALLOW',
    ]);
    assert.equal(supportedSeccompFlags('5.19.1').length, 4);
    assert.ok(features().linux.seccomp.supportedFlags.length >= 1);
  });
});
