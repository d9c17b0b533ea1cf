// docker and podman bring the loopback interface up in a network namespace a container makes
// for itself (--network none: 127.0.0.1 and ::1 answer); an OCI runtime does not (runc leaves it
// down, and so does berth-oci, whose plans never carry this step). The engine adds the shim's
// LOOPBACK_UP (native/berth-loopback.c, run by child1 in the new netns before the init forks).
// Bridge containers get lo up with their veth (network/links.ts); a joined netns (container:,
// a path) is left as its owner set it.
import type { PlanOp } from '../runtime/plan.js';
import type { Spec } from '../spec/types.js';

/** The plan, with LOOPBACK_UP when the container makes its own network namespace. */
export function withLoopbackUp(plan: PlanOp[], spec: Spec): PlanOp[] {
  const ownNetns = spec.linux?.namespaces?.some((n) => n.type === 'network' && !n.path);
  return ownNetns ? [...plan, ['LOOPBACK_UP']] : plan;
}
