// seccomp: OCI profile -> classic BPF compiler, syscall tables per architecture, default profile.
export { compileSeccomp, type CompileOptions, type CompiledSeccomp } from './compile.js';
export { seccompProgramFile, seccompFilterFlags, seccompCacheKey, canonicalJson, SECCOMP_COMPILER_VERSION } from './cache.js';
export { defaultSeccompProfile, type DefaultProfileOptions } from './default-profile.js';
export { SeccompError } from './profile.js';
export { ARCHES, resolveNativeArch, type SeccompArch } from './arch.js';
export { syscallNumber, syscallName } from './syscalls.js';
export { decodeProgram, disassemble } from './bpf.js';
