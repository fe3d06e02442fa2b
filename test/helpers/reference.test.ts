/** The skip helpers themselves: a missing reference is printed and skipped, and under CI it fails instead. */

import { afterEach, describe, expect, it, vi } from 'vitest';
import { inCi, reportSkip, skipReason } from './reference.js';

describe('skipReason and reportSkip', () => {
  const saved = process.env.CI;
  afterEach(() => {
    if (saved === undefined) delete process.env.CI;
    else process.env.CI = saved;
    vi.restoreAllMocks();
  });

  it('outside CI: prints the reason and returns it', () => {
    delete process.env.CI;
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    expect(skipReason('x', { commands: ['no-such-command-bpfkit'] })).toBe('no-such-command-bpfkit not installed');
    expect(warn).toHaveBeenCalledWith('[skip] x: no-such-command-bpfkit not installed');
    expect(skipReason('x', { commands: ['sh'] })).toBeUndefined();
  });

  it('under CI=true: a missing corpus, command, file, root or other requirement throws', () => {
    process.env.CI = 'true';
    expect(inCi()).toBe(true);
    expect(() => skipReason('x', { corpus: 'no-such-dir-bpfkit' })).toThrow(/\[CI\] x cannot run: \.\.\/shared\/corpus\/no-such-dir-bpfkit not found/);
    expect(() => skipReason('x', { files: ['/no/such/file'] })).toThrow(/not found/);
    expect(() => skipReason('x', { missing: 'libpcap-dev missing' })).toThrow(/libpcap-dev missing/);
    expect(() => reportSkip('y', 'needs root')).toThrow(/\[CI\] y cannot run: needs root/);
    process.env.CI = 'false';
    expect(inCi()).toBe(false);
  });
});
