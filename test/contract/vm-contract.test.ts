// The backend contract against the VM (both engines' default).
import { createMap, vm, vmBackend } from '../../src/ebpf/index.js';
import { backendContract } from './backend-contract.js';

backendContract(() => ({ name: 'vm', load: (spec) => vm.load(spec), createMap: (spec) => createMap(spec), collections: vmBackend() }));
