/* Byte statistics (bytes, lines, words, Shannon entropy) and hex coding. */
#include <ctype.h>
#include <math.h>
#include <string.h>
#include "sha256.h"

void stats_init(struct byte_stats *st) { memset(st, 0, sizeof *st); }

void stats_update(struct byte_stats *st, const uint8_t *data, size_t len, int *in_word) {
  for (size_t i = 0; i < len; i++) {
    uint8_t c = data[i];
    st->histogram[c]++;
    if (c == '\n') st->lines++;
    if (isspace(c)) {
      *in_word = 0;
    } else if (!*in_word) {
      *in_word = 1;
      st->words++;
    }
  }
  st->bytes += len;
}

/* bits per byte, 0..8 */
double stats_entropy(const struct byte_stats *st) {
  if (st->bytes == 0) return 0.0;
  double h = 0.0;
  for (int c = 0; c < 256; c++) {
    if (st->histogram[c] == 0) continue;
    double p = (double)st->histogram[c] / (double)st->bytes;
    h -= p * log2(p);
  }
  return h;
}

static const char digits[] = "0123456789abcdef";

void hex_encode(const uint8_t *in, size_t len, char *out) {
  for (size_t i = 0; i < len; i++) {
    out[2 * i] = digits[in[i] >> 4];
    out[2 * i + 1] = digits[in[i] & 15];
  }
  out[2 * len] = '\0';
}

static int nibble(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* returns the number of bytes written, or -1 on a bad digit, odd length or overflow */
int hex_decode(const char *in, uint8_t *out, size_t max) {
  size_t n = strlen(in);
  if (n % 2 != 0 || n / 2 > max) return -1;
  for (size_t i = 0; i < n / 2; i++) {
    int hi = nibble(in[2 * i]), lo = nibble(in[2 * i + 1]);
    if (hi < 0 || lo < 0) return -1;
    out[i] = (uint8_t)(hi << 4 | lo);
  }
  return (int)(n / 2);
}
