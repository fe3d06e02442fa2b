/** Typed errors about the tracing environment: each names its cause (kprobes not configured, lockdown, no PMU, no such probe). */

import { BpfkitError } from '../../util/index.js';
import type { ErrorOptions } from '../../util/index.js';

/**
 * A probe that cannot be attached or resolved on this machine. `code` is one of
 * `E_PROBE_NOT_FOUND` (no such tracepoint/function/symbol), `E_PROBE_KPROBES` (kernel without
 * kprobes), `E_PROBE_LOCKDOWN` (fentry/fexit refused: EPERM under lockdown), `E_PROBE_NO_PMU`
 * (hardware events without a PMU), `E_PROBE_TRACEFS` (tracefs missing and not mountable),
 * `E_PROBE_BINARY` (a uprobe target that is not there), `E_PROBE_SPEC` (malformed probe).
 */
export class ProbeError extends BpfkitError {
  constructor(code: string, detail: string, options: ErrorOptions = {}) {
    super(code, detail, options);
  }
}
