/*
 * omvemu's guard around libumockdev's uevent sender (uevent_send_guard.c),
 * called the way libumockdev 0.17's sendmsg_one() calls it: an AF_UNIX
 * SOCK_RAW non-blocking socket connected to "<testbed>/event<fd>", then a
 * msghdr naming that address with a zero length. Each case is a race the
 * sender loses against the program under test, played out for real on
 * sockets in a temporary directory.
 */
#define _DEFAULT_SOURCE /* mkdtemp() */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

static char dir[64];

static struct sockaddr_un addr_in_dir(const char *name)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "%s/%s", dir, name);
    return a;
}

static int sender_socket(void)
{
    int fd = socket(AF_UNIX, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    assert_true(fd >= 0);
    return fd;
}

static int monitor_at(const struct sockaddr_un *a)
{
    int fd = socket(AF_UNIX, SOCK_RAW | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (const struct sockaddr *)a, sizeof *a), 0);
    return fd;
}

static ssize_t send_event(int fd, struct sockaddr_un *a, const char *text)
{
    struct iovec iov = {.iov_base = (void *)text, .iov_len = strlen(text)};
    const struct msghdr msg = {.msg_name = a, .msg_iov = &iov, .msg_iovlen = 1};
    return sendmsg(fd, &msg, 0);
}

/* The socket file went away between the sender's glob and its connect(). */
static void vanished_event_socket_reads_as_refused(void **state)
{
    (void)state;
    struct sockaddr_un a = addr_in_dir("event12");
    int fd = sender_socket();
    errno = 0;
    assert_int_equal(connect(fd, (const struct sockaddr *)&a, sizeof a), -1);
    assert_int_equal(errno, ECONNREFUSED);
    close(fd);
}

/* Any other missing Unix socket keeps its ENOENT. */
static void other_missing_socket_keeps_enoent(void **state)
{
    (void)state;
    const char *names[] = {"events12", "event", "event1x", "log"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        struct sockaddr_un a = addr_in_dir(names[i]);
        int fd = sender_socket();
        errno = 0;
        assert_int_equal(connect(fd, (const struct sockaddr *)&a, sizeof a), -1);
        assert_int_equal(errno, ENOENT);
        close(fd);
    }
}

/* A live monitor gets the event as sent. */
static void live_monitor_receives(void **state)
{
    (void)state;
    struct sockaddr_un a = addr_in_dir("event13");
    int mon = monitor_at(&a);
    int fd = sender_socket();
    assert_int_equal(connect(fd, (const struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(send_event(fd, &a, "add@/devices/usb1"), 17);
    char buf[64];
    assert_int_equal(recv(mon, buf, sizeof buf, 0), 17);
    assert_memory_equal(buf, "add@/devices/usb1", 17);
    close(fd);
    close(mon);
    unlink(a.sun_path);
}

/* The monitor closed after connect(): the event goes to nobody, without an error. */
static void closed_monitor_takes_event_as_delivered(void **state)
{
    (void)state;
    struct sockaddr_un a = addr_in_dir("event14");
    int mon = monitor_at(&a);
    int fd = sender_socket();
    assert_int_equal(connect(fd, (const struct sockaddr *)&a, sizeof a), 0);
    close(mon);
    assert_int_equal(send_event(fd, &a, "remove@/devices/usb1"), 20);
    close(fd);
    unlink(a.sun_path);
}

/* A monitor whose queue stays full: after the retries the sender sees EAGAIN, unchanged. */
static void full_queue_still_reports_eagain(void **state)
{
    (void)state;
    struct sockaddr_un a = addr_in_dir("event15");
    int mon = monitor_at(&a);
    int fd = sender_socket();
    assert_int_equal(connect(fd, (const struct sockaddr *)&a, sizeof a), 0);
    ssize_t r;
    int sent = 0;
    while ((r = send_event(fd, &a, "change@/devices/usb1")) > 0)
        sent++;
    assert_true(sent > 0);
    assert_int_equal(r, -1);
    assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
    close(fd);
    close(mon);
    unlink(a.sun_path);
}

static int make_dir(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/omvemu-guard-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int remove_dir(void **state)
{
    (void)state;
    return rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(vanished_event_socket_reads_as_refused),
        cmocka_unit_test(other_missing_socket_keeps_enoent),
        cmocka_unit_test(live_monitor_receives),
        cmocka_unit_test(closed_monitor_takes_event_as_delivered),
        cmocka_unit_test(full_queue_still_reports_eagain),
    };
    return cmocka_run_group_tests(tests, make_dir, remove_dir);
}
