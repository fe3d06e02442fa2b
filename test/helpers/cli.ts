/** Runs the CLI in-process and captures what it prints. */

import { main } from '../../src/cli/main.js';

/** Runs `bpfkit ARGS...` and returns its exit status and output (`stdoutBytes`: what `-w -` wrote). */
export async function runCli(args: string[]): Promise<{ status: number; stdout: string; stderr: string; stdoutBytes: Buffer }> {
  let stdout = '';
  let stderr = '';
  const bytes: Buffer[] = [];
  const status = await main(args, {
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
    stdoutBytes: (b) => bytes.push(Buffer.from(b)),
    isTTY: false,
  });
  return { status, stdout, stderr, stdoutBytes: Buffer.concat(bytes) };
}
