/* A fault for integration tests, at the syscall seam: preloaded into hpmond, it makes
 * fsync() of a directory fail with EIO while the file named by HPMON_FAULT_DIR_FSYNC
 * exists, so a test can switch the fault on and off from outside the daemon. Everything
 * else goes to libc's fsync(). Built without sanitizers (it is preloaded before them). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

int fsync(int fd);

/* fsync(), failing on directories while the switch file exists. */
int fsync(int fd) {
        static int (*real)(int);
        const char *flag = getenv("HPMON_FAULT_DIR_FSYNC");
        struct stat st;

        if (!real)
                real = (int (*)(int)) dlsym(RTLD_NEXT, "fsync");
        if (flag && access(flag, F_OK) == 0 && fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
                errno = EIO;
                return -1;
        }
        return real(fd);
}
