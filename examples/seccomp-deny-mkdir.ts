// Example: a seccomp filter that makes mkdir fail with EPERM on every thread (main and libuv pool); prints what happened as JSON.
// Run as: node --import tsx examples/seccomp-deny-mkdir.ts /tmp/some-dir

import fs from 'node:fs';
import path from 'node:path';
import { Kernel, allow, compileSeccomp, deny, installSeccomp } from '../src/kernel/index.js';
import type { SeccompAction } from '../src/kernel/index.js';

const base = process.argv[2] ?? fs.mkdtempSync('/tmp/seccomp-example-');
const kernel = await Kernel.open();

// x86-64 has mkdir and mkdirat; arm64 only mkdirat.
const rules: Record<string, SeccompAction> = kernel.sys.arch === 'x64' ? { mkdir: deny('EPERM'), mkdirat: deny('EPERM') } : { mkdirat: deny('EPERM') };
installSeccomp(kernel.sys, compileSeccomp({ defaultAction: allow(), rules }));

const result: Record<string, string> = {};
try {
  fs.mkdirSync(path.join(base, 'main-thread'));
  result.mainThread = 'created';
} catch (e) {
  result.mainThread = (e as NodeJS.ErrnoException).code ?? String(e);
}
// fs.promises.mkdir runs on the libuv threadpool: TSYNC put the filter there too.
try {
  await fs.promises.mkdir(path.join(base, 'threadpool'));
  result.threadpool = 'created';
} catch (e) {
  result.threadpool = (e as NodeJS.ErrnoException).code ?? String(e);
}
// Everything else still works.
fs.writeFileSync(path.join(base, 'file.txt'), 'still allowed');
result.writeFile = fs.readFileSync(path.join(base, 'file.txt'), 'utf8');
console.log(JSON.stringify(result));
