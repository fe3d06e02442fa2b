// Runs every ```ts example of README.md, with `bpfkit` imports pointing at the sources; ```ts kernel ones only where bpf() works (root).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './helpers/reference.js';
import { kernelSkip } from './kernel/helpers/kernel.js';

const readme = readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
const blocks = [...readme.matchAll(/```ts( kernel)?\n([\s\S]*?)```/g)].map((m) => ({ kernel: m[1] !== undefined, code: m[2] }));
const dir = path.join(repoRoot, 'test/.cache/readme');

describe('README examples', () => {
  it('has examples', () => expect(blocks.filter((b) => !b.kernel).length).toBeGreaterThanOrEqual(3));
  blocks.forEach(({ kernel, code }, i) => {
    it(`example ${i + 1} runs${kernel ? ' (kernel)' : ''}`, async (ctx) => {
      if (kernel && (await kernelSkip(`README example ${i + 1}`)) !== undefined) {
        ctx.skip();
        return;
      }
      mkdirSync(dir, { recursive: true });
      const src = code.replace(/from 'bpfkit(\/(\w+))?'/g, (_m, _s, sub: string | undefined) => `from '${path.join(repoRoot, 'src', sub ?? '', 'index.js')}'`);
      const file = path.join(dir, `example-${i + 1}.ts`);
      writeFileSync(file, src);
      await import(pathToFileURL(file).href);
    });
  });
});
