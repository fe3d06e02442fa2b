/** The table of CLI commands; each lives in its own file. */

import { cbpfCommands } from './cbpf.js';
import { capinfoCommand } from './capinfo.js';
import type { Command } from './command.js';
import { ebpfAsmCommand, ebpfDisasmCommand } from './ebpf-asm.js';
import { sampleCommand } from './sample.js';
import { filterCommand } from './filter.js';

export const commands: Command[] = [...cbpfCommands, ebpfAsmCommand, ebpfDisasmCommand, capinfoCommand, sampleCommand, filterCommand];
