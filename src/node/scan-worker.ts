/** The worker thread of a parallel pcap scan: each message is a segment job, each reply its result. */

import { parentPort } from 'node:worker_threads';
import { scanSegment, type SegmentJob } from './segment-scan.js';

const port = parentPort;
if (port) port.on('message', (job: SegmentJob) => port.postMessage(scanSegment(job)));
