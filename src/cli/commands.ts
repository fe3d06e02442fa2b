/**
 * The table of CLI commands. Each lives in its own file, loaded only when chosen, so that
 * `bpfkit filter` does not pay for the eBPF VM or the kernel backend at start-up.
 */

import type { Command } from './command.js';

/** One row of the table: what `bpfkit --help` lists, and how to load the command. */
export interface CommandEntry {
  name: readonly string[];
  summary: string;
  load(): Promise<Command>;
}

export const commands: CommandEntry[] = [
  { name: ['filter'], summary: 'read a capture, keep what matches an expression, print/count/write it', load: async () => (await import('./filter.js')).filterCommand },
  { name: ['compile'], summary: 'compile a pcap-filter expression to classic BPF (tcpdump -d)', load: async () => (await import('./compile.js')).compileCommand },
  { name: ['capinfo'], summary: 'describe capture files: format, link types, snaplen, packets, time span', load: async () => (await import('./capinfo.js')).capinfoCommand },
  { name: ['sample'], summary: 'write a synthetic capture (seeded mix of ARP, DNS, ICMP, TCP/HTTP...)', load: async () => (await import('./sample.js')).sampleCommand },
  { name: ['cbpf', 'run'], summary: 'run a classic BPF program over each packet of a capture', load: async () => (await import('./cbpf.js')).cbpfRunCommand },
  { name: ['cbpf', 'fmt'], summary: 'print a classic BPF program as tcpdump -d/-dd/-ddd or bpf_asm', load: async () => (await import('./cbpf.js')).cbpfFmtCommand },
  { name: ['cbpf', 'check'], summary: "check a classic BPF program against libpcap's, the kernel's or seccomp's rules", load: async () => (await import('./cbpf.js')).cbpfCheckCommand },
  { name: ['ebpf', 'asm'], summary: 'assemble eBPF (llvm or bpf_conformance syntax) to bytes', load: async () => (await import('./ebpf-asm.js')).ebpfAsmCommand },
  { name: ['ebpf', 'disasm'], summary: 'disassemble eBPF bytes, hex or an ELF object', load: async () => (await import('./ebpf-asm.js')).ebpfDisasmCommand },
  { name: ['ebpf', 'run'], summary: 'run an eBPF program in the VM and print r0', load: async () => (await import('./ebpf-run.js')).ebpfRunCommand },
  { name: ['obj', 'inspect'], summary: 'list a clang object: sections, programs and attach points, maps, BTF, CO-RE relocations', load: async () => (await import('./obj.js')).objInspectCommand },
  { name: ['obj', 'disasm'], summary: 'disassemble the programs of a clang object, linked, with their source lines', load: async () => (await import('./obj.js')).objDisasmCommand },
  { name: ['prog', 'load'], summary: 'load a clang object into the kernel (bpftool prog loadall): pin its programs, attach them by section', load: async () => (await import('./prog.js')).progLoadCommand },
  { name: ['prog', 'run'], summary: 'load a clang object and test-run one of its programs (VM or kernel)', load: async () => (await import('./prog.js')).progRunCommand },
  { name: ['map', 'dump'], summary: "print a map's entries: pinned on bpffs, or an object's maps in the VM", load: async () => (await import('./map-dump.js')).mapDumpCommand },
  { name: ['gen', 'types'], summary: "write TypeScript types for an object's maps and global variables", load: async () => (await import('./gen-types.js')).genTypesCommand },
  { name: ['trace'], summary: 'run a bpftrace program (compiled by bpfkit, no LLVM)', load: async () => (await import('./trace.js')).traceCommand },
  { name: ['ebpf', 'verify'], summary: 'verify an eBPF program as the kernel verifier would, and explain a rejection', load: async () => (await import('./ebpf-verify.js')).ebpfVerifyCommand },
  { name: ['playground'], summary: 'serve the in-browser playground on localhost', load: async () => (await import('./playground.js')).playgroundCommand },
  { name: ['tools'], summary: "libbpf-tools' everyday tools (execsnoop, opensnoop, syscount, ...) as trace-language programs", load: async () => (await import('./tools.js')).toolsCommand },
  { name: ['exporter'], summary: 'serve trace maps as Prometheus/OpenMetrics metrics (ebpf_exporter-style config)', load: async () => (await import('./exporter.js')).exporterCommand },
  { name: ['capture'], summary: 'capture live packets on a Linux interface (filter in the kernel), print/count/write them', load: async () => (await import('./capture.js')).captureCommand },
];
