// The engine checks the specs it builds against the OCI schema at create without its own default
// seccomp profile (src/engine/spec.ts specToValidate): that profile must be valid for every
// capability set, and a profile the user gives must still be checked.
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { normalizeCreate, type CreateOptions } from '../../src/engine/options.js';
import { buildSpec, specToValidate } from '../../src/engine/spec.js';
import { validateSpec } from '../../src/spec/validate.js';
import type { Spec } from '../../src/spec/types.js';

const dir = mkdtempSync(join(tmpdir(), 'berth-spec-validate-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function built(o: Partial<CreateOptions>): { spec: Spec; hc: ReturnType<typeof normalizeCreate>['hostConfig'] } {
  const n = normalizeCreate({ rootfs: dir, cmd: ['true'], network: 'none', ...o });
  const spec = buildSpec({
    id: 'a'.repeat(64), config: n.config, hostConfig: n.hostConfig, rootfs: dir, volumeSources: new Map(), initBinary: '/bin/true',
    hostsPath: '/h', hostnamePath: '/hn', resolvConfPath: '/r',
  });
  return { spec, hc: n.hostConfig };
}

describe('specToValidate', () => {
  const cases: [string, Partial<CreateOptions>][] = [['docker defaults', {}], ['every capability', { capAdd: ['ALL'] }], ['no capability', { capDrop: ['ALL'] }], ['SYS_ADMIN', { capAdd: ['SYS_ADMIN'] }]];
  for (const [what, o] of cases) {
    it(`berth's default profile is valid (${what}) and is the part left out`, () => {
      const { spec, hc } = built(o);
      assert.ok(spec.linux?.seccomp, 'a default profile');
      const full = validateSpec(JSON.parse(JSON.stringify(spec)));
      assert.ok(full.linux?.seccomp?.syscalls?.length);
      const checked = specToValidate(spec, hc) as Spec;
      assert.equal(checked.linux?.seccomp, undefined);
      assert.deepEqual({ ...checked, linux: { ...checked.linux, seccomp: spec.linux!.seccomp } }, JSON.parse(JSON.stringify(spec)));
      assert.ok(spec.linux?.seccomp, 'the spec itself keeps its profile');
    });
  }

  it('checks a profile given with --security-opt seccomp=FILE', () => {
    const file = join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify({ defaultAction: 'SCMP_ACT_NOPE', syscalls: [] }));
    const { spec, hc } = built({ securityOpt: [`seccomp=${file}`] });
    assert.throws(() => validateSpec(specToValidate(spec, hc)), /seccomp/);
  });
});
