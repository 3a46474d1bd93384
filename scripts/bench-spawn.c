#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <sys/resource.h>
/* spawn N ARGV...: runs ARGV N times; prints "wall_ns maxrss_kib status" per run. Small RSS itself,
   so the child's ru_maxrss is the command's own. */
int main(int argc, char **argv) {
    int n = atoi(argv[1]);
    for (int i = 0; i < n; i++) {
        struct timespec a, b; clock_gettime(CLOCK_MONOTONIC, &a);
        pid_t pid = fork();
        if (pid == 0) { int fd = open("/dev/null", O_RDWR); dup2(fd, 0); dup2(fd, 1); dup2(fd, 2); execv(argv[2], argv + 2); _exit(127); }
        int st; struct rusage ru; wait4(pid, &st, 0, &ru);
        clock_gettime(CLOCK_MONOTONIC, &b);
        printf("%lld %ld %d\n", (long long)(b.tv_sec - a.tv_sec) * 1000000000LL + (b.tv_nsec - a.tv_nsec), ru.ru_maxrss, WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
    }
    return 0;
}
