/** `sample -w -` stopped by SIGTERM while blocked on a full pipe: what it wrote and what it said (the process and bundle tests share it). */

import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { readCapture } from '../../src/pcap/index.js';

/**
 * Waits for the first output of a running `sample -w - …`, stops reading so it blocks on the full pipe, sends SIGTERM,
 * then reads the rest: the exit status, the packet count from its "wrote N packets to - (interrupted)" line, and the
 * capture it wrote.
 */
export async function interruptedSample(child: ChildProcessWithoutNullStreams): Promise<{ code: number | null; wrote: number; capture: ReturnType<typeof readCapture> }> {
  const chunks: Buffer[] = [];
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  // Once output arrives, sample is mid-run; not reading more holds it back on the full pipe.
  await new Promise<void>((resolve) =>
    child.stdout.once('data', (b: Buffer) => {
      chunks.push(b);
      child.stdout.pause();
      resolve();
    }),
  );
  child.kill('SIGTERM');
  child.stdout.on('data', (b: Buffer) => chunks.push(b));
  child.stdout.resume();
  const code = await exited;
  const wrote = Number(/^wrote (\d+) packets to - \(interrupted\)$/m.exec(stderr)?.[1]);
  return { code, wrote, capture: readCapture(new Uint8Array(Buffer.concat(chunks))) };
}
