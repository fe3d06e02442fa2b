/* Prints what libpcap reads from each capture file named on the command line: the header facts,
 * one line per packet (caplen, len, seconds, nanoseconds, FNV-1a hash of the bytes), then how
 * reading ended. The pcap reference tests compare bpfkit's readers with this output.
 * `pcap-dump --dlt-table` prints libpcap's link-type table instead (value, name, description),
 * and `pcap-dump --dlt-name NAME...` what pcap_datalink_name_to_val says for each name. */
#include <string.h>
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>

static uint32_t fnv1a(const u_char *p, uint32_t n) {
  uint32_t h = 2166136261u;
  for (uint32_t i = 0; i < n; i++) { h ^= p[i]; h *= 16777619u; }
  return h;
}

int main(int argc, char **argv) {
  char errbuf[PCAP_ERRBUF_SIZE];
  if (argc > 1 && strcmp(argv[1], "--dlt-table") == 0) {
    for (int v = 0; v < 65536; v++) {
      const char *name = pcap_datalink_val_to_name(v);
      if (name == NULL) continue;
      const char *desc = pcap_datalink_val_to_description(v);
      printf("%d\t%s\t%s\n", v, name, desc ? desc : "");
    }
    return 0;
  }
  if (argc > 1 && strcmp(argv[1], "--dlt-name") == 0) {
    for (int i = 2; i < argc; i++) printf("%s\t%d\n", argv[i], pcap_datalink_name_to_val(argv[i]));
    return 0;
  }
  for (int i = 1; i < argc; i++) {
    printf("file %s\n", argv[i]);
    pcap_t *p = pcap_open_offline_with_tstamp_precision(argv[i], PCAP_TSTAMP_PRECISION_NANO, errbuf);
    if (p == NULL) {
      printf("open_error %s\n", errbuf);
      continue;
    }
    printf("open dlt=%d snaplen=%d swapped=%d version=%d.%d\n", pcap_datalink(p), pcap_snapshot(p),
           pcap_is_swapped(p), pcap_major_version(p), pcap_minor_version(p));
    struct pcap_pkthdr *h;
    const u_char *data;
    int rc;
    while ((rc = pcap_next_ex(p, &h, &data)) == 1) {
      printf("packet %u %u %lld %ld %08x\n", h->caplen, h->len, (long long)h->ts.tv_sec, (long)h->ts.tv_usec,
             fnv1a(data, h->caplen));
    }
    if (rc == PCAP_ERROR) printf("read_error %s\n", pcap_geterr(p));
    else printf("eof\n");
    pcap_close(p);
  }
  return 0;
}
