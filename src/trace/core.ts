/** The trace language's browser-safe core: parser, compiler to eBPF specs, value types, output formatting and the VM runner (what the playground uses). */
export * from './ast.js';
export * from './types.js';
export { TraceError, renderDiagnostic } from './errors.js';
export { parseProgram } from './parser.js';
export { compileTrace, compileAst, STACK_MAP, type CompileOptions, type CompiledProgram, type CompiledProbe, type EventDesc, type MapInfo, type ResolvedProbe, type TypeProvider } from './compiler.js';
export { runTraceInVm, type VmProbeEvent, type VmTraceOptions, type VmTraceResult } from './vm-runner.js';
export { dumpMap, resolveStacks } from './map-dump.js';
export * as format from './format/index.js';
