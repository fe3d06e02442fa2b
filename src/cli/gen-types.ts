/** `bpfkit gen types`: a typed .ts file for an object's maps and global variables (bpf2go, `bpftool gen skeleton`). */

import type { Command } from './command.js';
import { flagString, parseArgs, type FlagSpec } from './args.js';
import { readObject } from './obj.js';
import { UsageError } from '../util/index.js';
import { generateTypes, loadCollectionSpec } from '../elf/index.js';
import { AtomicFileWriter } from '../node/index.js';

const FLAGS: FlagSpec[] = [{ names: ['--output', '-o'], key: 'output', value: true }];

/** `bpfkit gen types FILE.o [-o OUT.ts]`. */
export const genTypesCommand: Command = {
  name: ['gen', 'types'],
  summary: "write TypeScript types for an object's maps and global variables, from its BTF",
  help: `usage: bpfkit gen types [-o OUT.ts] FILE.o

Writes TypeScript for the object: its maps' layouts, typed keys and values with
decoders and encoders, and one interface per global-data section (.rodata, .data,
.bss) whose fields are the object's global variables (set .rodata ones before load
with loadCollection(…, { constants })). To stdout, or written whole to OUT.ts.`,
  async run(argv, io) {
    const args = parseArgs(argv, FLAGS);
    if (args.positionals.length !== 1) throw new UsageError('E_USAGE', 'gen types takes one FILE.o');
    const file = args.positionals[0];
    const text = generateTypes(loadCollectionSpec(readObject(file)), file.slice(file.lastIndexOf('/') + 1));
    const out = flagString(args, 'output');
    if (out === undefined) {
      io.stdout(text);
      return 0;
    }
    const w = new AtomicFileWriter(out);
    try {
      w.write(new TextEncoder().encode(text));
      w.commit();
    } catch (e) {
      w.abort();
      throw e;
    }
    return 0;
  },
};
