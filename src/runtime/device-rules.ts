// The resources a container's cgroup gets: the spec's device rules are followed by access to the
// default devices and to each device of linux.devices (as runc does). Without rules of its own,
// the device cgroup is left as inherited.
import { withDefaultDeviceRules } from '../cgroups/devices.js';
import type { LinuxResources, Spec } from '../spec/types.js';

export function containerResources(spec: Spec): LinuxResources | undefined {
  const r = spec.linux?.resources;
  if (!r?.devices) return r;
  return { ...r, devices: withDefaultDeviceRules(r.devices, spec.linux?.devices ?? []) };
}
