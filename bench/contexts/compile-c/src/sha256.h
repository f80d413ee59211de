#ifndef DIGEST_SHA256_H
#define DIGEST_SHA256_H
#include <stddef.h>
#include <stdint.h>

struct sha256 {
  uint32_t state[8];
  uint64_t length;
  uint8_t block[64];
  size_t used;
};

void sha256_init(struct sha256 *s);
void sha256_update(struct sha256 *s, const void *data, size_t len);
void sha256_final(struct sha256 *s, uint8_t out[32]);

/* hex.c */
void hex_encode(const uint8_t *in, size_t len, char *out);
int hex_decode(const char *in, uint8_t *out, size_t max);

/* stats.c */
struct byte_stats {
  uint64_t bytes, lines, words;
  uint32_t histogram[256];
};
void stats_init(struct byte_stats *st);
void stats_update(struct byte_stats *st, const uint8_t *data, size_t len, int *in_word);
double stats_entropy(const struct byte_stats *st);
#endif
