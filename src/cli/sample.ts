/** `bpfkit sample`: writes a seeded synthetic capture (realistic Ethernet traffic) to a file. */

import { onStop, writeCaptureFile } from '../node/index.js';
import { synthesizeTraffic } from '../pcap/index.js';
import { UsageError } from '../util/index.js';
import { flagInt, flagSet, flagString, parseArgs, type FlagSpec } from './args.js';
import type { Command } from './command.js';

const FLAGS: FlagSpec[] = [
  { names: ['-w', '--write'], key: 'write', value: true },
  { names: ['-c', '--count'], key: 'count', value: true },
  { names: ['--seed'], key: 'seed', value: true },
  { names: ['--pcapng'], key: 'pcapng' },
  { names: ['--nsec'], key: 'nsec' },
];

export const sampleCommand: Command = {
  name: ['sample'],
  summary: 'write a synthetic capture (seeded mix of ARP, DNS, ICMP, TCP/HTTP...)',
  help: `usage: bpfkit sample -w FILE [-c COUNT] [--seed N] [--pcapng] [--nsec]

Writes COUNT (default 1000) Ethernet packets of synthetic traffic: ARP, DNS over UDP,
ICMP/ICMPv6 echo, TCP flows on ports 80 and 443, 802.1Q tags, IPv4 fragments and options.
The same seed (default 1) always gives the same file. SIGINT, SIGTERM or SIGHUP stop it early
with a complete file of the packets so far.

  -w FILE     output file (written atomically; \`-\` for standard output)
  -c COUNT    number of packets
  --seed N    PRNG seed
  --pcapng    write pcapng instead of pcap
  --nsec      nanosecond time stamps`,
  async run(argv, io) {
    const args = parseArgs(argv, FLAGS);
    const file = flagString(args, 'write');
    if (file === undefined) throw new UsageError('E_USAGE', 'sample needs -w FILE');
    if (args.positionals.length) throw new UsageError('E_USAGE', `unexpected argument "${args.positionals[0]}"`);
    const count = flagInt(args, 'count') ?? 1000;
    const seed = flagInt(args, 'seed') ?? 1;
    // SIGINT, SIGTERM, SIGHUP: stop generating, and the file holds the packets so far (complete).
    let interrupted = false;
    const offStop = onStop(() => {
      interrupted = true;
    });
    let n: number;
    try {
      n = await writeCaptureFile(
        file,
        synthesizeTraffic({ count, seed }),
        {
          format: flagSet(args, 'pcapng') ? 'pcapng' : 'pcap',
          tsResolution: flagSet(args, 'nsec') ? 'nsec' : 'usec',
          linkType: 1,
        },
        { interrupted: () => interrupted, stdout: io.stdoutBytes, drain: io.drain },
      );
    } finally {
      offStop();
    }
    io.stderr(`wrote ${n} packets to ${file}${interrupted ? ' (interrupted)' : ''}\n`);
    return 0;
  },
};
