/*
 * libumockdev 0.17 (Debian 12) aborts omvemu in three races of its uevent
 * sender (uevent_sender.c, sendmsg_one()) against the program under test,
 * which happen whenever that program exits, is killed, or opens a new udev
 * monitor while a camera appears or leaves. The sender globs the testbed's
 * "event<fd>" sockets (one per monitor of the program under test), then
 * connects to each and sends:
 *
 *  - sendmsg() fails with ECONNREFUSED: the monitor closed after connect().
 *    Upstream treats it as "the client went away" since 2024 (umockdev pull
 *    request #254); 0.17 aborts.
 *  - sendmsg() fails with EAGAIN: the monitor's queue is full for a moment.
 *    Upstream retries a few times, 1-5 ms apart; 0.17 aborts.
 *  - connect() fails with ENOENT: the socket file went away between the glob
 *    and connect(); the preload library unlinks "event<fd>" before binding a
 *    new monitor on a reused fd number, and a sender that met ECONNREFUSED
 *    unlinks it too. Nobody can receive on a socket that is not there: for
 *    the sender that is the same as ECONNREFUSED, which it handles by cleaning
 *    up and skipping that client. Upstream still aborts here.
 *
 * omvemu's executable defines sendmsg() and connect(); it comes first in
 * symbol lookup, so libumockdev's calls reach these definitions. connect()
 * changes only ENOENT for an "event<digits>" Unix socket address; sendmsg()
 * only EAGAIN and ECONNREFUSED on a Unix socket (the sender's msghdr names
 * its address with a zero length, so the socket's domain is what is
 * checked). Every other call and result is passed on unchanged.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stddef.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>
#include <time.h>

typedef ssize_t (*sendmsg_fn)(int, const struct msghdr *, int);
typedef int (*connect_fn)(int, const struct sockaddr *, socklen_t);

static sendmsg_fn next_sendmsg;
static connect_fn next_connect;
static pthread_once_t next_once = PTHREAD_ONCE_INIT;

static void find_next(void)
{
    next_sendmsg = (sendmsg_fn)dlsym(RTLD_NEXT, "sendmsg");
    next_connect = (connect_fn)dlsym(RTLD_NEXT, "connect");
}

/* Is @p addr a umockdev uevent socket ("<testbed>/event<digits>")? */
static int is_event_socket(const void *addr, socklen_t len)
{
    const struct sockaddr_un *un = addr;
    if (!addr || len <= (socklen_t)offsetof(struct sockaddr_un, sun_path) || un->sun_family != AF_UNIX)
        return 0;
    size_t max = (size_t)len - offsetof(struct sockaddr_un, sun_path);
    const char *path = un->sun_path;
    size_t n = strnlen(path, max < sizeof un->sun_path ? max : sizeof un->sun_path);
    size_t base = n;
    while (base > 0 && path[base - 1] != '/')
        base--;
    if (n - base < 6 || strncmp(path + base, "event", 5) != 0)
        return 0;
    for (size_t i = base + 5; i < n; i++)
        if (path[i] < '0' || path[i] > '9')
            return 0;
    return 1;
}

static int is_unix_socket(int fd)
{
    int domain = 0;
    socklen_t len = sizeof domain;
    return getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) == 0 && domain == AF_UNIX;
}

int connect(int fd, const struct sockaddr *addr, socklen_t len)
{
    pthread_once(&next_once, find_next);
    if (!next_connect) {
        errno = ENOSYS;
        return -1;
    }
    int r = next_connect(fd, addr, len);
    if (r < 0 && errno == ENOENT && is_event_socket(addr, len))
        errno = ECONNREFUSED; /* the listener is gone: the sender skips it */
    return r;
}

ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
    pthread_once(&next_once, find_next);
    if (!next_sendmsg) {
        errno = ENOSYS;
        return -1;
    }
    ssize_t r = next_sendmsg(fd, msg, flags);
    if (r >= 0 || !msg || !is_unix_socket(fd))
        return r;
    for (int retry = 1; r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && retry <= 5; retry++) {
        struct timespec pause = {0, 1000000L * retry};
        nanosleep(&pause, NULL);
        r = next_sendmsg(fd, msg, flags);
    }
    if (r < 0 && errno == ECONNREFUSED) {
        size_t total = 0;
        for (size_t i = 0; i < (size_t)msg->msg_iovlen; i++)
            total += msg->msg_iov[i].iov_len;
        return (ssize_t)total; /* delivered to nobody, as upstream reports it */
    }
    return r;
}
