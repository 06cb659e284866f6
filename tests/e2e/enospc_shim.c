// An injected full disk, for test_torture_disk_full.sh where no small file system can be mounted
// (no root, no mount namespace). Preloaded (LD_PRELOAD) into a tool, it gives files under
// $DIGITS_ENOSPC_DIR a budget of $DIGITS_ENOSPC_BUDGET bytes for the life of the process: every
// write, pwrite, writev, fallocate and stdio write to such a file spends from it, and the one that
// would overdraw it fails with ENOSPC, as a full disk would. Other files (stdout, stderr, the
// inputs) are untouched. Writes made through a memory map are not seen: like a real full disk,
// the code under test must reserve their blocks with fallocate first, and that is seen.
// With $DIGITS_ENOSPC_ONLY set, only files whose path contains it are budgeted (the path read
// with "/." as "/", so that a hidden temporary name counts as its file). With
// $DIGITS_ENOSPC_REPORT set, each charged write is listed in that file as
// "BYTES_SPENT_BEFORE BYTES PATH": a run with room to spare tells where its bytes go.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

static long long budget = -1;  // bytes left; -1 until read from the environment
static long long spent = 0;
static char dir[4096];

// The path of fd's file into path ("" when it has none).
static void fd_path(int fd, char* path, size_t size) {
  char link[64];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(link, path, size - 1);
  path[n > 0 ? n : 0] = '\0';
}

// Whether fd is a file under the budgeted directory.
static int budgeted(int fd) {
  if (budget < 0) {
    const char* d = getenv("DIGITS_ENOSPC_DIR");
    const char* b = getenv("DIGITS_ENOSPC_BUDGET");
    if (!d || !b) return 0;
    snprintf(dir, sizeof dir, "%s/", d);
    budget = atoll(b);
  }
  char path[4096];
  fd_path(fd, path, sizeof path);
  const char* only = getenv("DIGITS_ENOSPC_ONLY");
  if (only) {
    // Hidden temporary names count as their file: "/." reads as "/".
    char plain[4096];
    size_t n = 0;
    for (const char* c = path; *c; ++c)
      if (!(c[0] == '.' && c > path && c[-1] == '/')) plain[n++] = *c;
    plain[n] = '\0';
    if (!strstr(plain, only)) return 0;
  }
  return strncmp(path, dir, strlen(dir)) == 0;
}

// 0 when `bytes` more fit (and are spent), -1 with errno ENOSPC otherwise.
static int spend(int fd, long long bytes) {
  if (bytes <= 0 || !budgeted(fd)) return 0;
  if (bytes > budget) {
    budget = 0;
    errno = ENOSPC;
    return -1;
  }
  const char* report_path = getenv("DIGITS_ENOSPC_REPORT");
  if (report_path) {
    static FILE* report;
    if (!report) report = fopen(report_path, "w");
    char path[4096];
    fd_path(fd, path, sizeof path);
    // Not charged: the report is outside the budgeted folder.
    if (report) fprintf(report, "%lld %lld %s\n", spent, bytes, path), fflush(report);
  }
  budget -= bytes;
  spent += bytes;
  return 0;
}

#define REAL(name) ((__typeof__(&name))dlsym(RTLD_NEXT, #name))

ssize_t write(int fd, const void* data, size_t n) {
  if (spend(fd, (long long)n) != 0) return -1;
  return REAL(write)(fd, data, n);
}

ssize_t pwrite(int fd, const void* data, size_t n, off_t offset) {
  if (spend(fd, (long long)n) != 0) return -1;
  return REAL(pwrite)(fd, data, n, offset);
}

ssize_t pwrite64(int fd, const void* data, size_t n, off64_t offset) {
  if (spend(fd, (long long)n) != 0) return -1;
  return REAL(pwrite64)(fd, data, n, offset);
}

ssize_t writev(int fd, const struct iovec* iov, int count) {
  long long n = 0;
  for (int i = 0; i < count; ++i) n += (long long)iov[i].iov_len;
  if (spend(fd, n) != 0) return -1;
  return REAL(writev)(fd, iov, count);
}

// The whole length counts, allocated before or not: a budget errs on the side of failing.
int fallocate(int fd, int mode, off_t offset, off_t length) {
  if (spend(fd, (long long)length) != 0) return -1;
  return REAL(fallocate)(fd, mode, offset, length);
}

int fallocate64(int fd, int mode, off64_t offset, off64_t length) {
  if (spend(fd, (long long)length) != 0) return -1;
  return REAL(fallocate64)(fd, mode, offset, length);
}

// stdio writes reach the kernel through glibc's internal write, which a preload cannot see; they
// are charged here instead, when they enter the stream's buffer.
size_t fwrite(const void* data, size_t size, size_t count, FILE* file) {
  if (spend(fileno(file), (long long)(size * count)) != 0) return 0;
  return REAL(fwrite)(data, size, count, file);
}

int fputc(int c, FILE* file) {
  if (spend(fileno(file), 1) != 0) return EOF;
  return REAL(fputc)(c, file);
}

int fputs(const char* text, FILE* file) {
  if (spend(fileno(file), (long long)strlen(text)) != 0) return EOF;
  return REAL(fputs)(text, file);
}

int vfprintf(FILE* file, const char* format, va_list args) {
  va_list copy;
  va_copy(copy, args);
  int n = vsnprintf(NULL, 0, format, copy);
  va_end(copy);
  if (spend(fileno(file), n) != 0) return -1;
  return REAL(vfprintf)(file, format, args);
}

int fprintf(FILE* file, const char* format, ...) {
  va_list args;
  va_start(args, format);
  int n = vfprintf(file, format, args);
  va_end(args);
  return n;
}
