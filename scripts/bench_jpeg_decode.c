// The physical reference for scripts/bench-dataset.sh: how fast libjpeg-turbo itself decodes a
// list of JPEG files to RGB at full size, in process, on every core (OpenMP, one TurboJPEG
// handle per thread), with the files already in memory. No resizing, no writing.
//
// build: cc -O2 -fopenmp bench_jpeg_decode.c -lturbojpeg -o bench_jpeg_decode
// usage: bench_jpeg_decode LIST     (lines "PATH LABEL"; the label is ignored)
// prints: "images N seconds S images_per_second R threads T"
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <turbojpeg.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s LIST\n", argv[0]);
    return 2;
  }
  FILE* list = fopen(argv[1], "r");
  if (!list) {
    perror(argv[1]);
    return 1;
  }
  int capacity = 1024, count = 0;
  unsigned char** data = malloc(sizeof(*data) * capacity);
  unsigned long* sizes = malloc(sizeof(*sizes) * capacity);
  char line[4096];
  while (fgets(line, sizeof line, list)) {
    char* space = strrchr(line, ' ');
    if (!space) continue;
    *space = '\0';
    FILE* f = fopen(line, "rb");
    if (!f) {
      perror(line);
      return 1;
    }
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    if (count == capacity) {
      capacity *= 2;
      data = realloc(data, sizeof(*data) * capacity);
      sizes = realloc(sizes, sizeof(*sizes) * capacity);
    }
    data[count] = malloc(size);
    sizes[count] = (unsigned long)size;
    if (fread(data[count], 1, size, f) != (size_t)size) return 1;
    fclose(f);
    ++count;
  }
  fclose(list);

  int failures = 0, threads = 1;
  double start = now();
#pragma omp parallel reduction(+ : failures)
  {
#pragma omp single
    threads = omp_get_num_threads();
    tjhandle handle = tjInitDecompress();
    unsigned char* pixels = NULL;
    size_t pixel_capacity = 0;
#pragma omp for schedule(dynamic, 8)
    for (int i = 0; i < count; ++i) {
      int width, height, subsampling, colorspace;
      if (tjDecompressHeader3(handle, data[i], sizes[i], &width, &height, &subsampling, &colorspace) != 0) {
        ++failures;
        continue;
      }
      size_t need = (size_t)width * height * 3;
      if (need > pixel_capacity) {
        free(pixels);
        pixels = malloc(need);
        pixel_capacity = need;
      }
      if (tjDecompress2(handle, data[i], sizes[i], pixels, width, 0, height, TJPF_RGB, 0) != 0) ++failures;
    }
    free(pixels);
    tjDestroy(handle);
  }
  double seconds = now() - start;
  printf("images %d seconds %.3f images_per_second %.1f threads %d\n", count - failures, seconds,
         (count - failures) / seconds, threads);
  return failures ? 1 : 0;
}
