// epoll(7), which Swift's Glibc module does not export, and setns(2) for the probe loop's own
// thread. Wrappers take plain integers: `struct epoll_event` is packed on x86-64, which Swift
// cannot import faithfully.
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <errno.h>
#include <stdint.h>

static inline int lab_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }

/// op: EPOLL_CTL_ADD (1), EPOLL_CTL_DEL (2), EPOLL_CTL_MOD (3). 0 or -1 with errno set.
static inline int lab_epoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t data) {
    struct epoll_event event = { .events = events, .data = { .u64 = data } };
    return epoll_ctl(epfd, op, fd, &event);
}

/// Up to `max` (at most 512) ready entries into `datas` and `events`; the count, or -1 with
/// errno set (EINTR when a signal arrived).
static inline int lab_epoll_wait(int epfd, uint64_t *datas, uint32_t *events, int max, int timeout) {
    struct epoll_event ready[512];
    if (max > 512) max = 512;
    int count = epoll_wait(epfd, ready, max, timeout);
    for (int i = 0; i < count; i++) {
        datas[i] = ready[i].data.u64;
        events[i] = ready[i].events;
    }
    return count;
}

/// Moves the calling thread into the network namespace `fd` refers to.
static inline int lab_enter_network_namespace(int fd) { return (int)syscall(SYS_setns, fd, 0x40000000 /* CLONE_NEWNET */); }
