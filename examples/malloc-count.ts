/** Counts libc malloc() calls per process with a uprobe (the seed's malloc counter). Run: sudo npx tsx examples/malloc-count.ts [PID] */
import * as trace from '../src/trace/index.js';

const pid = process.argv[2] ? Number(process.argv[2]) : undefined;
await using t = await trace.attach(`uprobe:libc:malloc { @[pid, comm] = count(); }`, { pid });
console.log(`attached to malloc${pid !== undefined ? ` for pid ${pid}` : ''}`);
await t.until('SIGINT', 'SIGTERM');
const rows = (await t.maps.get('@').entries()).sort((a, b) => Number(BigInt(b.value as bigint) - BigInt(a.value as bigint)));
console.log(`${'PID'.padStart(7)} ${'COMM'.padEnd(16)} MALLOCS`);
for (const { key: [p, comm], value } of rows) console.log(`${String(p).padStart(7)} ${String(comm).padEnd(16)} ${value}`);
