/* digest: prints a file's SHA-256 and byte statistics; `digest selftest` checks known vectors. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "sha256.h"

struct vector {
  const char *input;
  const char *hex;
};

static const struct vector vectors[] = {
  {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
  {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
  {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
   "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
};

static void digest_bytes(const void *data, size_t len, char hex[65]) {
  struct sha256 s;
  uint8_t out[32];
  sha256_init(&s);
  sha256_update(&s, data, len);
  sha256_final(&s, out);
  hex_encode(out, sizeof out, hex);
}

static int selftest(void) {
  int failed = 0;
  char hex[65];
  for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
    digest_bytes(vectors[i].input, strlen(vectors[i].input), hex);
    if (strcmp(hex, vectors[i].hex) != 0) {
      fprintf(stderr, "selftest: vector %zu: got %s, want %s\n", i, hex, vectors[i].hex);
      failed = 1;
    }
  }
  uint8_t raw[32];
  if (hex_decode(vectors[1].hex, raw, sizeof raw) != 32 || hex_decode("abc", raw, sizeof raw) != -1) {
    fprintf(stderr, "selftest: hex_decode\n");
    failed = 1;
  }
  /* one million 'a' (FIPS 180-2 appendix B.3), fed in uneven chunks */
  struct sha256 s;
  uint8_t chunk[997], out[32];
  memset(chunk, 'a', sizeof chunk);
  sha256_init(&s);
  for (size_t left = 1000000; left > 0;) {
    size_t n = left < sizeof chunk ? left : sizeof chunk;
    sha256_update(&s, chunk, n);
    left -= n;
  }
  sha256_final(&s, out);
  hex_encode(out, sizeof out, hex);
  if (strcmp(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0") != 0) {
    fprintf(stderr, "selftest: million a: got %s\n", hex);
    failed = 1;
  }
  puts(failed ? "selftest: FAILED" : "selftest: ok");
  return failed;
}

static int digest_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "digest: %s: %s\n", path, strerror(errno));
    return 1;
  }
  struct sha256 s;
  struct byte_stats st;
  uint8_t buf[65536], out[32];
  char hex[65];
  int in_word = 0;
  size_t n;
  sha256_init(&s);
  stats_init(&st);
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
    sha256_update(&s, buf, n);
    stats_update(&st, buf, n, &in_word);
  }
  int bad = ferror(f);
  fclose(f);
  if (bad) {
    fprintf(stderr, "digest: %s: read error\n", path);
    return 1;
  }
  sha256_final(&s, out);
  hex_encode(out, sizeof out, hex);
  printf("%s  %s\n", hex, path);
  printf("%llu bytes, %llu lines, %llu words, entropy %.3f bits/byte\n", (unsigned long long)st.bytes,
         (unsigned long long)st.lines, (unsigned long long)st.words, stats_entropy(&st));
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: digest selftest | digest FILE...\n");
    return 2;
  }
  if (strcmp(argv[1], "selftest") == 0) return selftest();
  int status = 0;
  for (int i = 1; i < argc; i++) status |= digest_file(argv[i]);
  return status;
}
