// cgroup v1 devices controller: bring devices.list to the state the rules describe.
// create(): the new cgroup inherits its parent's list (usually "a *:* rwm"), so this writes "a"
// to devices.deny and then the rules in order, as runc does. update(): only the difference
// between the current and the wanted deny-all list, so running containers never lose a device.
import type { LinuxDeviceCgroup } from '../../spec/types.js';
import { emulate, normalizeDeviceRules, parseDevicesList, sameState, transition } from '../devices.js';
import { CgroupError } from '../errors.js';
import { get, put, type ApplyCtx } from '../write.js';

const F = 'linux.resources.devices';

export function applyDevices(ctx: ApplyCtx, rules: LinuxDeviceCgroup[]): void {
  const target = emulate(normalizeDeviceRules(rules));
  const current = parseDevicesList(get(ctx, 'devices.list') ?? 'a *:* rwm');
  for (const w of transition(current, target)) {
    put(ctx, w.file, w.text, F, { EPERM: 'the parent cgroup does not allow this device access', EINVAL: 'the cgroup has child cgroups, so "a" cannot be written' });
  }
  if (target.defaultAllow) return; // the kernel hides deny exceptions of an allow-all list
  const after = parseDevicesList(get(ctx, 'devices.list') ?? '');
  if (!after.known || !sameState(after.state, target)) {
    throw new CgroupError(`the devices cgroup ${ctx.fs.real(ctx.dir)} does not match the rules after writing them (the parent cgroup may restrict devices)`, F);
  }
}
