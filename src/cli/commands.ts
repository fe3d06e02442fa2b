/** The table of CLI commands; each lives in its own file. */

import { cbpfCommands } from './cbpf.js';
import { capinfoCommand } from './capinfo.js';
import type { Command } from './command.js';
import { ebpfAsmCommand, ebpfDisasmCommand } from './ebpf-asm.js';
import { ebpfRunCommand } from './ebpf-run.js';
import { sampleCommand } from './sample.js';
import { filterCommand } from './filter.js';
import { compileCommand } from './compile.js';

export const commands: Command[] = [...cbpfCommands, ebpfAsmCommand, ebpfDisasmCommand, ebpfRunCommand, capinfoCommand, sampleCommand, filterCommand, compileCommand];
