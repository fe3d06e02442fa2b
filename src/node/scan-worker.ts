/** The worker thread of a parallel pcap scan: a chunk pass is drained until no chunk is left, a copy job runs to its end; each is then acknowledged ('done'). */

import { parentPort } from 'node:worker_threads';
import { drainChunks, produceCopyChunks, type ChunkPass, type CopyJob } from './segment-scan.js';

/** What the main thread sends: one pass of a chunked scan, or the producer's side of a pipelined copy. */
export type ScanWorkerMessage = { pass: ChunkPass } | { copy: CopyJob };

const port = parentPort;
if (port)
  port.on('message', (m: ScanWorkerMessage) => {
    if ('pass' in m) drainChunks(m.pass);
    // Each chunk's buffer moves to the main thread (a transfer, not a copy), which hands it back when written.
    else produceCopyChunks(m.copy, (c) => port.postMessage(c, [c.buf]));
    port.postMessage('done');
  });
