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
};

/* Starts `path` (an absolute program path) with `argv` and `envp` in a child process that:
     1. enters the network namespace `netns_fd` (skipped when -1)   ~ ip netns exec NS
     2. gets a private UTS namespace named `hostname` (skipped when NULL) ~ unshare --uts
     3. starts a new session when `new_session` is set (a daemon: no terminal, own group)  ~ setsid
     4. reads /dev/null and writes stdout and stderr to `log_fd`
     5. execve()s.
   Everything between fork and exec is async-signal-safe, as a multithreaded parent requires.
   Returns the pid, or -1 with errno set and *failed_step naming the step (the child reports its
   failure through a close-on-exec pipe, so a failed exec is an error here, not a dead child). */
pid_t lab_spawn(const char *path, char *const argv[], char *const envp[], int netns_fd,
                const char *hostname, int new_session, int log_fd, int *failed_step);

#endif
