/** The eBPF verifier: the kernel's safety rules over an abstract state, with errors that say why and what to change. */
export { verify, MAX_INSN_STATES, type VerifierFacts, type VerifyOptions, type VerifyResult } from './verifier.js';
export { VerifierError, type VerifierErrorInfo, type WhyStep, type SourceLine } from './errors.js';
export {
  HELPER_PROTOS, HELPER_PROTOS_BY_ID, AVAIL_TYPES, UNPRIV_HELPERS, helperIdOf, helperAvailability,
  type HelperProto, type ArgType, type RetType,
} from './helper-protos.js';
export { CTX_RULES, PKT_ACCESS, LD_ABS_TYPES, returnRange, type CtxRules, type CtxResult, type CtxVerdict } from './ctx-access.js';
export { formatReg, regTypeStr, type Reg, type RegType, type VState, type Frame, type Slot } from './state.js';
