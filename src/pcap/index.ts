/** Capture files: pcap and pcapng, read and written, and the link-type table. */
export * from './packet.js';
export * from './capture-info.js';
export * from './link-types.js';
export {
  openDecoder,
  DECODED_PACKET,
  DECODED_END,
  NEED_MORE,
  PCAP_MAGIC_USEC,
  PCAP_MAGIC_NSEC,
  PCAP_MAGIC_KUZNETZOV,
  type CaptureDecoder,
} from './decoder.js';
export * from './read.js';
export * from './stream.js';
export * from './write.js';
export * from './synth.js';
