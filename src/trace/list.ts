/** `bpfkit trace -l [PATTERN]`: prints the probe catalog's listing (src/trace/probes), with bpftrace's file-name warning. */

import { listProbes, listProgramProbes } from './probes/index.js';

/** Lists probes matching `pattern` to `out`; a pattern naming a script lists that script's probes. Returns the exit status. */
export async function listProbesCli(pattern: string | undefined, verbose: boolean, out: (t: string) => void, err: (t: string) => void): Promise<number> {
  const fs = await import('node:fs');
  if (pattern !== undefined && /\.bt$/.test(pattern)) {
    if (fs.existsSync(pattern)) {
      const { parseProgram } = await import('./parser.js');
      const prog = parseProgram(fs.readFileSync(pattern, 'utf8'));
      const lines = await listProgramProbes(prog.probes.flatMap((p) => p.probes.map((s) => s.text)), verbose);
      if (lines.length) out(lines.join('\n') + '\n');
      return 0;
    } else {
      err(`WARNING: It appears that '${pattern}' is a filename but the file does not exist. Treating '${pattern}' as a search pattern.\n`);
    }
  }
  try {
    const lines = await listProbes(pattern, verbose);
    if (lines.length) out(lines.join('\n') + '\n');
  } catch (e) {
    err(`ERROR: ${(e as Error).message}\n`);
    return 1;
  }
  return 0;
}
