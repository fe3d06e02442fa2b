/** The worker thread of a parallel pcap scan: each message is a pass, drained until no chunk is left, then acknowledged. */

import { parentPort } from 'node:worker_threads';
import { drainChunks, type ChunkPass } from './segment-scan.js';

const port = parentPort;
if (port)
  port.on('message', (pass: ChunkPass) => {
    drainChunks(pass);
    port.postMessage('done');
  });
