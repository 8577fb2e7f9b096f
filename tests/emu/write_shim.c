/* LD_PRELOAD shim loaded into omvemu's COMMAND (after libumockdev-preload):
 * reports the length of every write()/writev() on a pty slave to omvemu
 * before the bytes go to the pty, so the emulator can restore the USB
 * transfer boundaries a pty loses (one host write = one cdc_acm transfer).
 *
 * Only the raw syscalls are used for the socket so neither umockdev's
 * preload (which wraps socket/connect/send) nor anything else interferes.
 * Built without sanitizers: it must load into any program. */
#define _GNU_SOURCE
#include "write_shim.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

typedef ssize_t (*write_fn)(int, const void *, size_t);
typedef ssize_t (*writev_fn)(int, const struct iovec *, int);

static pthread_mutex_t shim_lock = PTHREAD_MUTEX_INITIALIZER;
static int shim_sock = -1;
static pid_t shim_pid; /* the connection belongs to this process (re-connect after fork) */
static int shim_disabled;

static int shim_connect(void)
{
    const char *path = getenv(OMVEMU_SHIM_ENV_SOCK);
    if (!path || !*path || strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
        return -1;
    long fd = syscall(SYS_socket, AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    strcpy(sa.sun_path, path);
    if (syscall(SYS_connect, (int)fd, &sa, (socklen_t)sizeof(sa)) < 0) {
        syscall(SYS_close, (int)fd);
        return -1;
    }
    return (int)fd;
}

/* Pty slaves: Unix98 majors 136-143. Returns 1 and the device if fd is one. */
static int is_pty_slave(int fd, struct stat *st)
{
    if (syscall(SYS_fstat, fd, st) != 0 || !S_ISCHR(st->st_mode))
        return 0;
    unsigned maj = major(st->st_rdev);
    return maj >= 136 && maj <= 143;
}

static void shim_send(uint32_t kind, const struct stat *st, uint64_t len)
{
    int saved = errno;
    pthread_mutex_lock(&shim_lock);
    if (!shim_disabled && (shim_sock < 0 || shim_pid != getpid())) {
        if (shim_sock >= 0 && shim_pid != getpid())
            syscall(SYS_close, shim_sock); /* inherited across fork: get our own */
        shim_sock = shim_connect();
        shim_pid = getpid();
        if (shim_sock < 0)
            shim_disabled = 1; /* no emulator listening: behave like plain write() */
    }
    if (shim_sock >= 0) {
        omvemu_shim_msg_t m = {OMVEMU_SHIM_MAGIC, kind, major(st->st_rdev), minor(st->st_rdev), len};
        while (syscall(SYS_sendto, shim_sock, &m, sizeof(m), MSG_NOSIGNAL, NULL, 0) < 0 &&
               errno == EINTR)
            ;
    }
    pthread_mutex_unlock(&shim_lock);
    errno = saved;
}

ssize_t write(int fd, const void *buf, size_t count)
{
    static write_fn next;
    if (!next)
        next = (write_fn)dlsym(RTLD_NEXT, "write");
    struct stat st;
    if (count == 0 || !is_pty_slave(fd, &st))
        return next(fd, buf, count);
    shim_send(OMVEMU_SHIM_BEGIN, &st, count);
    ssize_t n = next(fd, buf, count);
    int e = errno;
    shim_send(OMVEMU_SHIM_END, &st, n > 0 ? (uint64_t)n : 0);
    errno = e;
    return n;
}

ssize_t writev(int fd, const struct iovec *iov, int iovcnt)
{
    static writev_fn next;
    if (!next)
        next = (writev_fn)dlsym(RTLD_NEXT, "writev");
    struct stat st;
    size_t total = 0;
    for (int i = 0; i < iovcnt; i++)
        total += iov[i].iov_len;
    if (total == 0 || !is_pty_slave(fd, &st))
        return next(fd, iov, iovcnt);
    shim_send(OMVEMU_SHIM_BEGIN, &st, total);
    ssize_t n = next(fd, iov, iovcnt);
    int e = errno;
    shim_send(OMVEMU_SHIM_END, &st, n > 0 ? (uint64_t)n : 0);
    errno = e;
    return n;
}
