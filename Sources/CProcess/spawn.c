#define _GNU_SOURCE
#include "lab_spawn.h"
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <sys/syscall.h>
#include <linux/close_range.h>
#include <unistd.h>

/* The child's report: which step failed and its errno. */
struct failure { int step; int error; };

static void fail(int pipe_fd, int step) {
    struct failure report = { step, errno };
    ssize_t ignored = write(pipe_fd, &report, sizeof report);
    (void)ignored;
    _exit(127);
}

/* Makes `target` (0, 1 or 2) what `source` says; 0 on success. In the child only. */
static int redirect(int source, int target) {
    if (source == LAB_SPAWN_INHERIT) return 0;
    if (source == LAB_SPAWN_DEV_NULL) {
        int null_fd = open("/dev/null", target == 0 ? O_RDONLY : O_WRONLY);
        if (null_fd < 0) return -1;
        if (null_fd == target) return 0;
        int result = dup2(null_fd, target);
        close(null_fd);
        return result < 0 ? -1 : 0;
    }
    /* dup2 onto itself keeps close-on-exec, so clear it by hand. */
    if (source == target) return fcntl(target, F_SETFD, 0);
    return dup2(source, target) < 0 ? -1 : 0;
}

pid_t lab_spawn(const struct lab_spawn_request *request, int *failed_step) {
    int report[2];
    *failed_step = LAB_SPAWN_OK;
    if (pipe2(report, O_CLOEXEC) != 0) { *failed_step = LAB_SPAWN_FORK; return -1; }

    pid_t pid = fork();
    if (pid < 0) {
        int saved = errno;
        close(report[0]); close(report[1]);
        errno = saved;
        *failed_step = LAB_SPAWN_FORK;
        return -1;
    }
    if (pid == 0) {
        close(report[0]);
        /* The parent may block signals (the supervisor waits for them with sigtimedwait);
           a container starts with none blocked and default dispositions. */
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGPIPE, SIG_DFL);
        if (request->netns_fd >= 0 && setns(request->netns_fd, CLONE_NEWNET) != 0) fail(report[1], LAB_SPAWN_SETNS);
        if (request->binds != NULL) {
            /* A slave `/`: the binds below stay in this namespace, and nothing the host mounts
               later is hidden from the program. */
            if (unshare(CLONE_NEWNS) != 0) fail(report[1], LAB_SPAWN_UNSHARE_MOUNT);
            if (mount("", "/", "none", MS_SLAVE | MS_REC, NULL) != 0) fail(report[1], LAB_SPAWN_UNSHARE_MOUNT);
            for (const char *const *pair = request->binds; pair[0] != NULL && pair[1] != NULL; pair += 2) {
                if (mount(pair[0], pair[1], "none", MS_BIND, NULL) != 0) fail(report[1], LAB_SPAWN_BIND_MOUNT);
            }
        }
        if (request->hostname != NULL) {
            if (unshare(CLONE_NEWUTS) != 0) fail(report[1], LAB_SPAWN_UNSHARE_UTS);
            if (sethostname(request->hostname, strlen(request->hostname)) != 0) fail(report[1], LAB_SPAWN_SETHOSTNAME);
        }
        if (request->new_session) setsid();
        if (redirect(request->stdin_fd, 0) != 0 || redirect(request->stdout_fd, 1) != 0
            || redirect(request->stderr_fd, 2) != 0) fail(report[1], LAB_SPAWN_REDIRECT);
        /* Nothing else of the parent's crosses exec: not the supervisor's sockets, not the pipes
           of whoever ran `lab up` (a daemon holding those would keep its caller waiting). Marked
           close-on-exec rather than closed, so the report pipe still works until exec. */
        if (syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
            /* Before Linux 5.11: mark them one by one (fcntl is async-signal-safe). */
            for (int fd = 3; fd < 4096; fd++) fcntl(fd, F_SETFD, FD_CLOEXEC);
        }
        execve(request->path, request->argv, request->envp);
        fail(report[1], LAB_SPAWN_EXEC);
    }

    close(report[1]);
    struct failure failure;
    ssize_t got;
    do { got = read(report[0], &failure, sizeof failure); } while (got < 0 && errno == EINTR);
    close(report[0]);
    if (got == (ssize_t)sizeof failure) {
        /* The child has exited (or is about to): reap it so no zombie is left. */
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {}
        *failed_step = failure.step;
        errno = failure.error;
        return -1;
    }
    return pid;
}

int lab_pidfd_open(pid_t pid) {
    return (int)syscall(SYS_pidfd_open, pid, 0);
}

int lab_pidfd_send_signal(int pidfd, int signal) {
    return (int)syscall(SYS_pidfd_send_signal, pidfd, signal, NULL, 0);
}
