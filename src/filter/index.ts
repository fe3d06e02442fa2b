/** The pcap-filter language: expressions to optimized classic BPF. */
export type * from './cfg.js';
export { emit, conversionOrder, isGoto } from './emit.js';
export { cfgFromProgram, gotoTerm } from './cfg-from-program.js';
export { cfgToDot, cfgToSvg } from './dot.js';
export { optimize, optimizeFilter, optimizeWithStats, rejectsAllPackets, type AbortModel, type OptimizeOptions, type OptimizeResult } from './optimize/index.js';
export { compileFilter, resolveLinkType, type CompileFilterOptions, type FilterProgram } from './compile.js';
export { parseFilter } from './parser.js';
export { tokenize, type Token, type TokenKind } from './lexer.js';
export { generate, type GenerateOptions } from './gencode/gencode.js';
export type * from './ast.js';
export { dltFromName, dltName, DLT_TABLE } from './dlt.js';
export {
  resolverFromTables, parseHostsText, parseEthersText, parseNetworksText, parseServicesText, lookupService,
  lookupProtocol, type Resolver, type HostAddresses, type NameTables,
} from './names/resolver.js';
