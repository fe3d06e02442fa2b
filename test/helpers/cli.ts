/** Runs the CLI in-process and captures what it prints. */

import { main } from '../../src/cli/main.js';

/** Runs `bpfkit ARGS...` and returns its exit status and output. */
export async function runCli(args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const status = await main(args, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), isTTY: false });
  return { status, stdout, stderr };
}
