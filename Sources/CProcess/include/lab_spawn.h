#ifndef LAB_SPAWN_H
#define LAB_SPAWN_H
#include <sys/types.h>

/* Where a failed lab_spawn stopped, so the caller can say which step failed. */
enum lab_spawn_step {
    LAB_SPAWN_OK = 0,
    LAB_SPAWN_FORK = 1,
    LAB_SPAWN_SETNS = 2,
    LAB_SPAWN_UNSHARE_UTS = 3,
    LAB_SPAWN_SETHOSTNAME = 4,
    LAB_SPAWN_REDIRECT = 5,
    LAB_SPAWN_EXEC = 6,
    LAB_SPAWN_UNSHARE_MOUNT = 7,
    LAB_SPAWN_BIND_MOUNT = 8,
};

/* What a standard descriptor of the child is, besides a descriptor of the parent's (>= 0). */
enum lab_spawn_stream {
    LAB_SPAWN_DEV_NULL = -1,
    LAB_SPAWN_INHERIT = -2,
};

/* One child to start. Named fields rather than positional arguments: the callers
   (LabKernel's ChildProcess) set what they mean by name. */
struct lab_spawn_request {
    const char *path;            /* an absolute program path (looked up before fork) */
    char *const *argv;           /* NULL-terminated */
    char *const *envp;           /* NULL-terminated: the whole environment */
    int netns_fd;                /* a network namespace to enter, or -1 */
    const char *hostname;        /* a private UTS namespace with this name, or NULL */
    int new_session;             /* setsid(): no terminal, its own process group */
    int stdin_fd;                /* a descriptor, LAB_SPAWN_DEV_NULL or LAB_SPAWN_INHERIT */
    int stdout_fd;
    int stderr_fd;
    const char *const *binds;    /* NULL, or NULL-terminated pairs: source, target, source, target, ... */
};

/* Starts request->path in a child process that:
     1. enters the network namespace `netns_fd` (skipped when -1)   ~ ip netns exec NS
     2. with `binds`, gets a private mount namespace in which nothing propagates back to the
        host (`/` made a recursive slave) and binds each source over its target, as
        `ip netns exec` binds /etc/netns/NS/resolv.conf over /etc/resolv.conf ~ ip netns exec NS
     3. gets a private UTS namespace named `hostname` (skipped when NULL) ~ unshare --uts
     4. starts a new session when `new_session` is set (a daemon: no terminal, own group)  ~ setsid
     5. sets up stdin, stdout and stderr as asked                    ~ <FILE >LOG 2>&1
     6. execve()s.
   Everything between fork and exec is async-signal-safe, as a multithreaded parent requires.
   Returns the pid, or -1 with errno set and *failed_step naming the step (the child reports its
   failure through a close-on-exec pipe, so a failed exec is an error here, not a dead child). */
pid_t lab_spawn(const struct lab_spawn_request *request, int *failed_step);

/* pidfd_open(2) and pidfd_send_signal(2) (Linux 5.3 and 5.1), which Glibc's Swift module does
   not export: -1 with errno set on failure (ENOSYS on an older kernel). */
int lab_pidfd_open(pid_t pid);
int lab_pidfd_send_signal(int pidfd, int signal);

#endif
