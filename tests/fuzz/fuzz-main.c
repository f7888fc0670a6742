/* A main() for fuzz targets built without libFuzzer: runs each file once through
 * LLVMFuzzerTestOneInput, so every seed and every kept reproducer is a regression test.
 *
 * With arguments, runs those files and directories. Without, runs the target's seed corpus
 * (FUZZ_SRCDIR/corpus/FUZZ_TARGET, which must hold files) and its reproducers
 * (FUZZ_SRCDIR/reproducers/FUZZ_TARGET, which may be empty). A failed check aborts. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"

#ifndef FUZZ_TARGET
#  error "FUZZ_TARGET (the target's name) must be defined"
#endif
#ifndef FUZZ_SRCDIR
#  error "FUZZ_SRCDIR (the tests/fuzz source directory) must be defined"
#endif

/* Reads a whole file into a malloc'ed buffer that is exactly its size (so ASan sees overreads). */
static int fuzz_main_read(const char *path, uint8_t **ret, size_t *ret_size) {
        struct stat st;
        uint8_t *buf;
        size_t have = 0;
        int fd;

        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0) {
                close(fd);
                return -errno;
        }
        buf = malloc(st.st_size > 0 ? (size_t) st.st_size : 1);
        if (!buf) {
                close(fd);
                return -ENOMEM;
        }
        while (have < (size_t) st.st_size) {
                ssize_t n = read(fd, buf + have, (size_t) st.st_size - have);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0) {
                        int r = n < 0 ? -errno : -EIO;
                        free(buf);
                        close(fd);
                        return r;
                }
                have += (size_t) n;
        }
        close(fd);
        *ret = buf;
        *ret_size = have;
        return 0;
}

/* Runs one file, or every regular file of a directory (sorted, not recursing); returns files run or -errno. */
static int fuzz_main_run(const char *path, bool must_exist) {
        struct dirent **names;
        struct stat st;
        int n, count = 0;

        if (stat(path, &st) < 0) {
                if (errno == ENOENT && !must_exist)
                        return 0;
                fprintf(stderr, "fuzz-%s: %s: %s\n", FUZZ_TARGET, path, strerror(errno));
                return -errno;
        }
        if (!S_ISDIR(st.st_mode)) {
                uint8_t *data = NULL;
                size_t size = 0;
                int r = fuzz_main_read(path, &data, &size);

                if (r < 0) {
                        fprintf(stderr, "fuzz-%s: %s: %s\n", FUZZ_TARGET, path, strerror(-r));
                        return r;
                }
                (void) LLVMFuzzerTestOneInput(data, size);
                free(data);
                return 1;
        }

        n = scandir(path, &names, NULL, alphasort);
        if (n < 0) {
                fprintf(stderr, "fuzz-%s: %s: %s\n", FUZZ_TARGET, path, strerror(errno));
                return -errno;
        }
        for (int i = 0; i < n; i++) {
                char sub[4096];
                int r = 0;

                if (names[i]->d_name[0] != '.' &&
                    (size_t) snprintf(sub, sizeof(sub), "%s/%s", path, names[i]->d_name) < sizeof(sub)) {
                        fprintf(stderr, "fuzz-%s: %s\n", FUZZ_TARGET, sub);
                        r = fuzz_main_run(sub, true);
                }
                free(names[i]);
                if (r < 0) {
                        for (int j = i + 1; j < n; j++)
                                free(names[j]);
                        free(names);
                        return r;
                }
                count += r;
        }
        free(names);
        return count;
}

/* Runs the arguments, or the target's corpus and reproducers; fails if nothing ran. */
int main(int argc, char **argv) {
        int total = 0, r;

        if (argc > 1) {
                for (int i = 1; i < argc; i++) {
                        r = fuzz_main_run(argv[i], true);
                        if (r < 0)
                                return EXIT_FAILURE;
                        total += r;
                }
        } else {
                r = fuzz_main_run(FUZZ_SRCDIR "/corpus/" FUZZ_TARGET, true);
                if (r < 0)
                        return EXIT_FAILURE;
                total += r;
                r = fuzz_main_run(FUZZ_SRCDIR "/reproducers/" FUZZ_TARGET, false);
                if (r < 0)
                        return EXIT_FAILURE;
                total += r;
        }
        if (total == 0) {
                fprintf(stderr, "fuzz-%s: no input files\n", FUZZ_TARGET);
                return EXIT_FAILURE;
        }
        printf("fuzz-%s: %d inputs, all checks held\n", FUZZ_TARGET, total);
        return EXIT_SUCCESS;
}
