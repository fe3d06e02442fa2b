/** The portable eBPF VM: memory model, interpreter, WebAssembly JIT, helpers, program types, and `vm.load`. */
export {
  VmMemory, pointer, regionOf, offsetOf, OFFSET_BIAS, makeFault, FaultKind, Layout, REGION_SHIFT, MAX_REGIONS, MAX_CALL_DEPTH, STACK_SIZE,
  CTX_REGION, STACK_REGION, FIRST_DYNAMIC_REGION, MAP_HANDLE_TAG, FUNC_PTR_TAG,
} from './memory.js';
export { prepareCode, LdKind, type VmCode, type PrepareOptions } from './code.js';
export type { Engine, RunHooks } from './engine.js';
export { Interpreter, byteSwap, type StepHook } from './interpreter.js';
export { compileJit, emitModule, jitAvailable, type JitModule } from './jit-wasm.js';
export {
  HELPERS, HELPERS_BY_ID, UNWIND_HELPER, type HelperDef, type HelperEnv, type HelperFn, type VmHost, type VmTask,
  type VmMapLike, type PacketState,
} from './helpers.js';
export {
  PROGRAM_TYPES, PROGRAM_TYPES_BY_ID, programTypeByName, PT_REGS, PT_REGS_SIZE, SKB, XDP_MD,
  type CtxField, type CtxFieldKind, type ProgramTypeInfo,
} from './program-types.js';
export { vmBackend, type VmCollectionOptions } from './collection-loader.js';
export { NET_HELPERS, DEFAULT_TASK_ADDRESS, type SocketTuple, type HostSocket } from './helpers-net.js';
export { VmProgram, load, vm, type EngineKind, type VmLoadOptions, type VmRunOptions, type VmRunResult } from './program.js';
export { traceRun, Stepper, type VmStep, type VmTrace, type VmTraceOptions } from './stepper.js';
