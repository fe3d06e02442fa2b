// Lint rules: typescript-eslint's recommended set, no `any`, and no Node API in the portable core.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const core = ['src/util/**', 'src/pcap/**', 'src/cbpf/**', 'src/filter/**', 'src/ebpf/**', 'src/elf/**', 'src/decode/**'];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  {
    files: core,
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['node:*', 'fs', 'path', 'os', 'child_process', 'koffi'], message: 'the core runs in a browser: no Node API here' }] }],
      'no-restricted-globals': ['error', { name: 'Buffer', message: 'use Uint8Array/DataView in the core' }, { name: 'process', message: 'no process in the core' }],
    },
  },
);
