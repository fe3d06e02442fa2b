/** Capture files: pcap and pcapng, read and written, and the link-type table. */
export * from './packet.js';
