/*
 * libumockdev 0.17 (Debian 12) aborts omvemu when it sends a uevent to a
 * listener that closed its monitor between umockdev's connect() and
 * sendmsg(): it handles ECONNREFUSED from connect() but calls err() on the
 * same error from sendmsg(). That happens whenever the program under test
 * exits (or is killed) while a camera appears or leaves. Upstream has since
 * treated it as "the client went away" (martinpitt/umockdev pull request
 * #254, 2024). This definition of sendmsg() in omvemu's executable
 * comes first in symbol lookup, so libumockdev's calls reach it: it does the
 * same, reporting a message to a Unix socket whose peer is gone as
 * delivered to nobody. Every other result is passed on unchanged.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/types.h>

typedef ssize_t (*sendmsg_fn)(int, const struct msghdr *, int);

static sendmsg_fn next_sendmsg;
static pthread_once_t next_once = PTHREAD_ONCE_INIT;

static void find_next(void)
{
    next_sendmsg = (sendmsg_fn)dlsym(RTLD_NEXT, "sendmsg");
}

static int is_unix_socket(int fd)
{
    int domain = 0;
    socklen_t len = sizeof domain;
    return getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) == 0 && domain == AF_UNIX;
}

ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
    pthread_once(&next_once, find_next);
    if (!next_sendmsg) {
        errno = ENOSYS;
        return -1;
    }
    ssize_t r = next_sendmsg(fd, msg, flags);
    if (r < 0 && errno == ECONNREFUSED && is_unix_socket(fd)) {
        size_t total = 0;
        for (size_t i = 0; i < (size_t)msg->msg_iovlen; i++)
            total += msg->msg_iov[i].iov_len;
        return (ssize_t)total;
    }
    return r;
}
