/** `bpfkit compile`: a pcap-filter expression to classic BPF, printed as `tcpdump -d/-dd/-ddd` prints it. */

import { formatProgram, type ProgramFormat } from '../cbpf/index.js';
import { cfgToDot, cfgToSvg, compileFilter } from '../filter/index.js';
import { UsageError } from '../util/index.js';
import { flagInt, flagSet, flagString, parseArgs, type FlagSpec } from './args.js';
import type { Command } from './command.js';
import { systemResolver } from './resolver.js';

const FLAGS: FlagSpec[] = [
  { names: ['-d'], key: 'd' },
  { names: ['-dd'], key: 'dd' },
  { names: ['-ddd'], key: 'ddd' },
  { names: ['-y'], key: 'linktype', value: true },
  { names: ['-s'], key: 'snaplen', value: true },
  { names: ['-O'], key: 'noOptimize' },
  { names: ['-m', '--netmask'], key: 'netmask', value: true },
  { names: ['--linux-ext'], key: 'linuxExt' },
  { names: ['--dot'], key: 'dot' },
  { names: ['--svg'], key: 'svg' },
];

const HELP = `usage: bpfkit compile [-d|-dd|-ddd|--dot|--svg] [-y LINKTYPE] [-s SNAPLEN] [-O] [--netmask MASK] [--linux-ext] EXPR...

Compiles a pcap-filter(7) expression and prints the classic BPF program exactly as
\`tcpdump -d -y LINKTYPE -s SNAPLEN [-O] EXPR\` does (-dd: C array, -ddd: decimal).
  -y LINKTYPE   DLT name or number (default EN10MB)
  -s SNAPLEN    the accept value (default 262144)
  -O            do not run the optimizer
  --netmask     IPv4 netmask, for 'ip broadcast' (default 0, as tcpdump -d and -r)
  --linux-ext   compile for a live Linux socket (SKF_AD loads)
  --dot, --svg  print the control-flow graph (after optimization unless -O) as Graphviz DOT or SVG
Host, network, port and protocol names come from /etc/hosts, /etc/ethers, /etc/networks, /etc/services.`;

/** The `compile` command. */
export const compileCommand: Command = {
  name: ['compile'],
  summary: 'compile a pcap-filter expression to classic BPF (tcpdump -d)',
  help: HELP,
  async run(argv, io) {
    const args = parseArgs(argv, FLAGS);
    const expr = args.positionals.join(' ');
    const format: ProgramFormat = flagSet(args, 'ddd') ? 'ddd' : flagSet(args, 'dd') ? 'dd' : 'd';
    const snaplen = flagInt(args, 'snaplen');
    if (snaplen !== undefined && snaplen > 0xffffffff) throw new UsageError('E_USAGE', 'snaplen too large');
    const prog = compileFilter(expr, {
      linkType: flagString(args, 'linktype') ?? 'EN10MB',
      snaplen: snaplen === undefined || snaplen === 0 ? 262144 : snaplen,
      optimize: !flagSet(args, 'noOptimize'),
      // tcpdump -d with no interface compiles with netmask 0, so 'ip broadcast' works.
      netmask: flagString(args, 'netmask') ?? 0,
      resolver: systemResolver(),
      linuxExtensions: flagSet(args, 'linuxExt'),
    });
    if (flagSet(args, 'dot')) io.stdout(cfgToDot(prog.finalCfg, expr));
    else if (flagSet(args, 'svg')) io.stdout(cfgToSvg(prog.finalCfg, expr));
    else io.stdout(formatProgram(prog.insns, format));
    return 0;
  },
};
