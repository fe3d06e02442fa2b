/** disksnoop: block I/O latency as a histogram (the seed's disksnoop), from the block tracepoints. Run: sudo npx tsx examples/disksnoop.ts [SECONDS] */
import * as trace from '../src/trace/index.js';

await using t = await trace.attach(`
  tracepoint:block:block_rq_issue { @start[args.dev, args.sector] = nsecs; }
  tracepoint:block:block_rq_complete /@start[args.dev, args.sector]/ {
    @usecs = hist((nsecs - @start[args.dev, args.sector]) / 1000);
    delete(@start[args.dev, args.sector]);
  }`);
console.log('attached');
await t.until('SIGINT', 'SIGTERM', ...(process.argv[2] ? [Number(process.argv[2]) * 1000] : []));
const usecs = t.maps.get('@usecs');
const total = (await usecs.histogram())?.buckets.reduce((n, b) => n + b.count, 0n) ?? 0n;
console.log(await usecs.format());
console.log(`total ${total}`);
