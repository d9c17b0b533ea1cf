// Example configs for tests and docs: one using every field of the v1.2 Linux schema, one minimal.
// Both pass parseSpec(); other modules' unit tests (plan compiler, cgroups) may build on them.

import type { Spec } from './types.js';

/** A config.json using every field of the v1.2 Linux schema, as a JSON-ready object. */
export function exampleFullSpec(): Spec {
  return {
    ociVersion: '1.2.0',
    root: { path: '/var/lib/berth/rootfs', readonly: false },
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/data', type: 'bind', source: '/srv/data', options: ['rbind', 'ro', 'rprivate'] },
      {
        destination: '/mapped',
        type: 'bind',
        source: '/srv/mapped',
        options: ['bind', 'idmap'],
        uidMappings: [{ containerID: 0, hostID: 200000, size: 1000 }],
        gidMappings: [{ containerID: 0, hostID: 200000, size: 1000 }],
      },
      { destination: '/ctx', type: 'tmpfs', source: 'tmpfs', options: ['context="system_u:object_r:svirt_sandbox_file_t:s0:c1,c2"'] },
      { destination: '/via-userns', type: 'bind', source: '/srv/x', options: ['rbind', 'ridmap'] },
    ],
    process: {
      terminal: true,
      consoleSize: { height: 24, width: 80 },
      user: { uid: 1000, gid: 1000, umask: 0o22, additionalGids: [5, 10], username: 'app' },
      args: ['/bin/app', '--flag'],
      commandLine: '',
      env: ['PATH=/usr/bin:/bin', 'EMPTY=', 'WITH_EQ=a=b'],
      cwd: '/home/app',
      capabilities: {
        bounding: ['CAP_CHOWN', 'CAP_NET_ADMIN', 'CAP_CHECKPOINT_RESTORE'],
        effective: ['CAP_CHOWN'],
        inheritable: [],
        permitted: ['CAP_CHOWN', 'CAP_NET_ADMIN'],
        ambient: ['CAP_NET_ADMIN'],
      },
      rlimits: [
        { type: 'RLIMIT_NOFILE', hard: 1048576, soft: 1024 },
        // 2^64-1, RLIM_INFINITY; reads as the double 2^64
        { type: 'RLIMIT_CORE', hard: 18446744073709551615, soft: 18446744073709551615 },
      ],
      noNewPrivileges: true,
      apparmorProfile: 'berth-default',
      oomScoreAdj: -999,
      selinuxLabel: 'system_u:system_r:container_t:s0',
      ioPriority: { class: 'IOPRIO_CLASS_BE', priority: 4 },
      scheduler: { policy: 'SCHED_OTHER', nice: 5, flags: ['SCHED_FLAG_RESET_ON_FORK'] },
      execCPUAffinity: { initial: '0-3,7', final: '1' },
    },
    hostname: 'box',
    domainname: 'example.org',
    hooks: {
      prestart: [{ path: '/usr/bin/legacy-hook' }],
      createRuntime: [{ path: '/usr/bin/net-setup', args: ['net-setup', 'up'], env: ['A=1'], timeout: 5 }],
      createContainer: [{ path: '/usr/bin/true' }],
      startContainer: [{ path: '/bin/true' }],
      poststart: [{ path: '/usr/bin/notify' }],
      poststop: [{ path: '/usr/bin/cleanup', timeout: 1 }],
    },
    annotations: { 'org.opencontainers.image.title': 'demo', 'io.berth.x': '' },
    linux: {
      uidMappings: [
        { containerID: 0, hostID: 100000, size: 1000 },
        { containerID: 1000, hostID: 1000, size: 1 },
        { containerID: 1001, hostID: 101001, size: 64535 },
      ],
      gidMappings: [{ containerID: 0, hostID: 100000, size: 65536 }],
      timeOffsets: { monotonic: { secs: -3600, nanosecs: 0 }, boottime: { secs: 86400, nanosecs: 999999999 } },
      sysctl: {
        'net.ipv4.ip_forward': '1',
        'net/ipv4/conf/eth0.100/rp_filter': '0',
        'kernel.shmmax': '1000000',
        'fs.mqueue.msg_max': '64',
        'kernel.domainname': 'example.org',
        'user.max_user_namespaces': '0',
      },
      resources: {
        devices: [
          { allow: false, access: 'rwm' },
          { allow: true, type: 'c', major: 10, minor: 229, access: 'rw' },
          { allow: true, type: 'a' },
        ],
        memory: {
          limit: 536870912,
          reservation: -1,
          swap: 1073741824,
          kernel: -1,
          kernelTCP: 0,
          swappiness: 60,
          disableOOMKiller: false,
          useHierarchy: true,
          checkBeforeUpdate: true,
        },
        cpu: {
          shares: 1024,
          quota: 50000,
          burst: 10000,
          period: 100000,
          realtimeRuntime: 950000,
          realtimePeriod: 1000000,
          cpus: '0-3',
          mems: '0',
          idle: 0,
        },
        pids: { limit: 100 },
        blockIO: {
          weight: 500,
          leafWeight: 300,
          weightDevice: [{ major: 8, minor: 0, weight: 600 }],
          throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 104857600 }],
          throttleWriteBpsDevice: [{ major: 8, minor: 0, rate: 104857600 }],
          throttleReadIOPSDevice: [{ major: 8, minor: 0, rate: 1000 }],
          throttleWriteIOPSDevice: [{ major: 8, minor: 0, rate: 1000 }],
        },
        hugepageLimits: [{ pageSize: '2MB', limit: 209715200 }],
        network: { classID: 1048577, priorities: [{ name: 'eth0', priority: 500 }] },
        rdma: { mlx5_1: { hcaHandles: 3, hcaObjects: 10000 } },
        unified: { 'memory.high': '400M', 'io.weight': 'default 100' },
      },
      cgroupsPath: '/berth/abc',
      namespaces: [
        { type: 'pid' },
        { type: 'network', path: '/run/netns/demo' },
        { type: 'mount' },
        { type: 'ipc' },
        { type: 'uts' },
        { type: 'user' },
        { type: 'cgroup' },
        { type: 'time' },
      ],
      devices: [
        { path: '/dev/fuse', type: 'c', major: 10, minor: 229, fileMode: 438, uid: 0, gid: 0 },
        { path: '/dev/sda', type: 'b', major: 8, minor: 0, fileMode: 0o60660 },
        { path: '/dev/tty9', type: 'u', major: 4, minor: 9, fileMode: 0o20620 },
        { path: '/run/fifo', type: 'p' },
      ],
      seccomp: {
        defaultAction: 'SCMP_ACT_ERRNO',
        defaultErrnoRet: 1,
        architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
        flags: ['SECCOMP_FILTER_FLAG_SPEC_ALLOW'],
        listenerPath: '/run/seccomp-agent.sock',
        listenerMetadata: 'meta',
        syscalls: [
          { names: ['read', 'write'], action: 'SCMP_ACT_ALLOW' },
          { names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 },
          {
            names: ['personality'],
            action: 'SCMP_ACT_ALLOW',
            args: [{ index: 0, value: 4294967295, op: 'SCMP_CMP_EQ' }],
          },
          {
            names: ['clone'],
            action: 'SCMP_ACT_ALLOW',
            args: [{ index: 0, value: 2114060288, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }],
          },
          { names: ['mount'], action: 'SCMP_ACT_NOTIFY' },
          { names: ['ptrace'], action: 'SCMP_ACT_TRACE', errnoRet: 1 },
        ],
      },
      rootfsPropagation: 'rslave',
      maskedPaths: ['/proc/kcore'],
      readonlyPaths: ['/proc/sys'],
      mountLabel: 'system_u:object_r:svirt_sandbox_file_t:s0:c715,c811',
      intelRdt: { closID: 'guaranteed', l3CacheSchema: 'L3:0=7f0;1=1f', memBwSchema: 'MB:0=20;1=70', enableCMT: true, enableMBM: false },
      personality: { domain: 'LINUX32', flags: [] },
    },
  };
}

/** The smallest config a container can be created from. */
export function exampleMinimalSpec(): Spec {
  return {
    ociVersion: '1.0.2',
    root: { path: 'rootfs' },
    process: { user: { uid: 0, gid: 0 }, args: ['sh'], cwd: '/' },
    linux: { namespaces: [{ type: 'mount' }] },
  };
}
