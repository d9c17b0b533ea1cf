// The device cgroup rules a container gets: the spec's own rules, then (as runc does) access to
// the default devices every container has and to each device listed in linux.devices.
import type { LinuxDeviceCgroup, LinuxResources, Spec } from '../spec/types.js';
import { DEFAULT_DEVICES } from './compile.js';

const ALWAYS_ALLOWED: LinuxDeviceCgroup[] = [
  ...DEFAULT_DEVICES.map((d) => ({ allow: true, type: 'c', major: d.major, minor: d.minor, access: 'rwm' })),
  { allow: true, type: 'c', major: 5, minor: 1, access: 'rwm' }, // /dev/console
  { allow: true, type: 'c', major: 5, minor: 2, access: 'rwm' }, // /dev/ptmx
  { allow: true, type: 'c', major: 136, access: 'rwm' }, // /dev/pts/*
];

export function containerResources(spec: Spec): LinuxResources | undefined {
  const r = spec.linux?.resources;
  const own = r?.devices;
  if (!own) return r; // no device rules asked for: leave the device cgroup open, as runc does
  const listed: LinuxDeviceCgroup[] = (spec.linux?.devices ?? [])
    .filter((d) => d.type === 'c' || d.type === 'b')
    .map((d) => ({ allow: true, type: d.type, major: d.major ?? 0, minor: d.minor ?? 0, access: 'rwm' }));
  return { ...r, devices: [...own, ...ALWAYS_ALLOWED, ...listed] };
}
