// The backend contract (test/contract/backend-contract.ts) against the running kernel: the same cases the VM passes.
import { describe } from 'vitest';
import { Kernel } from '../../src/kernel/index.js';
import { backendContract, type ContractBackend } from '../contract/backend-contract.js';
import { kernelSkip } from './helpers/kernel.js';

const why = await kernelSkip('backend contract in the kernel');
const kernel = why === undefined ? await Kernel.open() : undefined;

describe.skipIf(why !== undefined)('kernel', () => {
  backendContract((): ContractBackend | undefined => kernel && { name: 'kernel', load: (spec) => kernel.load(spec), createMap: (spec) => kernel.createMap(spec), collections: kernel });
});
