/** Node-only helpers: capture files on disk (streaming reads, atomic writes). */
export * from './atomic-file-writer.js';
export * from './capture-file.js';
export * from './file-errors.js';
export * from './pcap-scan.js';
export * from './output-sink.js';
export * from './interrupt.js';
export * from './interfaces.js';
export * from './parallel-scan.js';
