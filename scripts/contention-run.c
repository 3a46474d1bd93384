/* contention-run: N storage-ctl workers contend for one drive; prints timestamped events.
 *
 *   contention-run [-H HOLD_MS] [-j] [-T SECONDS] [-M HANDOFFS] [-r handoff|immediate] [-p]
 *                  BIN DEV0 CONF0 [DEV1 CONF1 ...]
 *
 * Worker i runs, as separate processes (as Bacula does): `BIN -v -c CONFi DEVi lock`, holds for
 * HOLD_MS (default 50; -j: uniformly random in [HOLD_MS/2, 3*HOLD_MS/2], so releases do not
 * fall at one phase of the waiters' backoff) from the moment its RESERVE returned GOOD, optionally (-p) runs the
 * holder's probe commands while holding (`status`, which must say locked=1, and `lock`, which must
 * succeed at once as we already hold it), then `BIN -v -c CONFi DEVi unlock`. With `-r handoff`
 * (default) a worker that released queues again as soon as another worker has acquired, so every
 * handoff goes to a process that was already waiting and N-1 processes wait at every release;
 * `-r immediate` queues again at once (the releaser races the waiters).
 *
 * Every line a child writes (its -v trace: one line per SCSI command) is read through a pipe and
 * timestamped on arrival with CLOCK_MONOTONIC, so acquisition and release are placed within
 * microseconds of the RESERVE / RELEASE completing, in one clock for all workers.
 *
 * Stops queueing after SECONDS (default 30) or HANDOFFS acquisitions (default unlimited),
 * whichever comes first; processes already waiting then acquire, hold and release in turn.
 * Events on stdout, one a line, times in ns since start:
 *   S t w what            a child started: lock, unlock, probe-status or probe-lock
 *   A t w                 worker w's RESERVE returned GOOD (acquired)
 *   R t w                 worker w's RELEASE returned GOOD (released)
 *   E t w what rc cmds ok a child ended: exit status, SCSI commands it sent, ok=1 unless a
 *                         probe's output was wrong
 *   X t                   stopped queueing
 *   F t w what text       a line from a child that failed (for the report)
 * Exit 0 when every child exited 0, 1 otherwise, 2 on usage or system errors.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>

enum state { QUEUED_AFTER_HANDOFF, LOCKING, HOLDING, PROBING, UNLOCKING, DONE };
enum { MAXW = 64, LINE = 4096 };

struct child {
    pid_t pid;
    int fd;
    const char *verb;
    long long start;
    int cmds;
    int ok;
    size_t used;
    char buf[LINE];
    char failtext[LINE];
};

struct worker {
    const char *dev, *conf;
    enum state st;
    struct child c;
    long long acquired, released, hold_until;
    int probe_step;
};

static long long t0;
static long long now_ns(void) {
    struct timespec ts; clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec - t0;
}

static const char *bin;
static struct worker W[MAXW];
static int nw, any_failed, acquisitions, stopping;
static long long last_acquire = -1, hold;
static int hold_jitter;

static long long hold_for(void) {
    if (!hold_jitter) return hold;
    return hold / 2 + (long long)((double)random() / ((double)RAND_MAX + 1.0) * (double)hold);
}
static int last_acquirer = -1;

static void start(int w, const char *verb, const char *label) {
    struct worker *k = &W[w];
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) { perror("pipe"); exit(2); }
    k->c.start = now_ns();
    pid_t pid = fork();
    if (pid < 0) { perror("fork"); exit(2); }
    if (pid == 0) {
        int nul = open("/dev/null", O_RDONLY);
        dup2(nul, 0); dup2(p[1], 1); dup2(p[1], 2);
        char *argv[] = { (char *)bin, "-v", "-c", (char *)k->conf, (char *)k->dev, (char *)verb, NULL };
        execv(bin, argv);
        _exit(127);
    }
    close(p[1]);
    k->c.pid = pid; k->c.fd = p[0]; k->c.verb = label; k->c.cmds = 0; k->c.ok = 1; k->c.used = 0;
    k->c.failtext[0] = 0;
    printf("S %lld %d %s\n", k->c.start, w, label);
}

static void on_line(int w, char *line, long long t) {
    struct worker *k = &W[w];
    if (strstr(line, ": cdb [")) {
        k->c.cmds++;
        int good = strstr(line, "-> Good (") != NULL;
        if (good && strcmp(k->c.verb, "lock") == 0 && k->st == LOCKING && strstr(line, "(RESERVE): cdb")) {
            k->acquired = t;
            printf("A %lld %d\n", t, w);
            acquisitions++;
            last_acquire = t; last_acquirer = w;
        }
        if (good && strcmp(k->c.verb, "unlock") == 0 && strstr(line, "(RELEASE): cdb")) {
            k->released = t;
            printf("R %lld %d\n", t, w);
        }
        return;
    }
    if (strcmp(k->c.verb, "probe-status") == 0 && strncmp(line, "key=", 4) == 0 && !strstr(line, " locked=1 "))
        k->c.ok = 0;
    if (strncmp(line, "storage-ctl: ", 13) == 0 && strstr(line, ": exit ")) return;
    if (strstr(line, "waiting up to") || strstr(line, "acquired after")) return;
    if (!k->c.failtext[0]) snprintf(k->c.failtext, sizeof k->c.failtext, "%s", line);
}

static void pump(int w, long long t) {
    struct child *c = &W[w].c;
    for (;;) {
        ssize_t n = read(c->fd, c->buf + c->used, sizeof c->buf - 1 - c->used);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        c->used += (size_t)n;
        char *s = c->buf, *e;
        while ((e = memchr(s, '\n', c->buf + c->used - s))) {
            *e = 0; on_line(w, s, t); s = e + 1;
        }
        c->used -= (size_t)(s - c->buf);
        memmove(c->buf, s, c->used);
        if (c->used == sizeof c->buf - 1) { c->buf[c->used] = 0; on_line(w, c->buf, t); c->used = 0; }
        return;
    }
    /* EOF: the child is exiting */
    if (c->used) { c->buf[c->used] = 0; on_line(w, c->buf, t); c->used = 0; }
    close(c->fd); c->fd = -1;
    int st;
    while (waitpid(c->pid, &st, 0) < 0 && errno == EINTR) {}
    int rc = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    long long te = now_ns();
    printf("E %lld %d %s %d %d %d\n", te, w, c->verb, rc, c->cmds, c->ok);
    if (rc != 0 || !c->ok) {
        any_failed = 1;
        printf("F %lld %d %s %s\n", te, w, c->verb, c->failtext[0] ? c->failtext : "(no message)");
    }
    c->pid = 0;
    struct worker *k = &W[w];
    const char *verb = c->verb;
    if (k->st == LOCKING) {
        if (rc != 0) { if (stopping) k->st = DONE; else start(w, "lock", "lock"); return; }
        if (k->acquired < k->c.start) { k->acquired = te; }   /* held already: no RESERVE line */
        k->hold_until = k->acquired + hold_for();                 /* from the RESERVE, whatever the probes cost */
        k->st = HOLDING;
        k->probe_step = 0;
    } else if (k->st == PROBING) {
        k->st = HOLDING;
        (void)verb;
    } else if (k->st == UNLOCKING) {
        if (stopping) { k->st = DONE; return; }
        k->st = QUEUED_AFTER_HANDOFF;
    }
}

int main(int argc, char **argv) {
    long hold_ms = 50, max_handoffs = -1;
    double seconds = 30;
    int immediate = 0, probe = 0, opt;
    while ((opt = getopt(argc, argv, "H:jT:M:r:p")) != -1) {
        switch (opt) {
        case 'H': hold_ms = atol(optarg); break;
        case 'j': hold_jitter = 1; break;
        case 'T': seconds = atof(optarg); break;
        case 'M': max_handoffs = atol(optarg); break;
        case 'r': immediate = strcmp(optarg, "immediate") == 0; break;
        case 'p': probe = 1; break;
        default: goto usage;
        }
    }
    if (argc - optind < 3 || (argc - optind - 1) % 2 != 0) goto usage;
    bin = argv[optind];
    for (int i = optind + 1; i + 1 < argc; i += 2) {
        if (nw == MAXW) { fprintf(stderr, "contention-run: at most %d workers\n", MAXW); return 2; }
        W[nw].dev = argv[i]; W[nw].conf = argv[i + 1]; W[nw].c.fd = -1; nw++;
    }
    setvbuf(stdout, NULL, _IOFBF, 1 << 16);
    srandom((unsigned)getpid());
    signal(SIGPIPE, SIG_IGN);
    { struct timespec ts; clock_gettime(CLOCK_MONOTONIC, &ts); t0 = (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec; }
    long long deadline = (long long)(seconds * 1e9);
    long long hard = deadline + 300LL * 1000000000LL;
    hold = hold_ms * 1000000LL;

    for (int w = 0; w < nw; w++) { W[w].st = LOCKING; W[w].acquired = W[w].released = -1; start(w, "lock", "lock"); }

    for (;;) {
        long long t = now_ns();
        if (!stopping && (t >= deadline || (max_handoffs >= 0 && acquisitions >= max_handoffs))) {
            stopping = 1;
            printf("X %lld\n", t);
        }
        if (t >= hard) {
            fprintf(stderr, "contention-run: still running %d s after the deadline; killing the children\n", 300);
            for (int w = 0; w < nw; w++) if (W[w].c.pid > 0) kill(W[w].c.pid, SIGKILL);
            fflush(stdout);
            return 2;
        }
        /* transitions that need no child event */
        int alive = 0;
        long long next = stopping ? hard : deadline;
        for (int w = 0; w < nw; w++) {
            struct worker *k = &W[w];
            if (k->st == QUEUED_AFTER_HANDOFF) {
                if (stopping) k->st = DONE;
                else if (immediate || last_acquirer != w) {   /* the drive has passed on since we took it */ k->st = LOCKING; start(w, "lock", "lock"); }
            }
            if (k->st == HOLDING) {
                if (probe && k->probe_step < 2) {
                    k->st = PROBING; start(w, k->probe_step == 0 ? "status" : "lock", k->probe_step == 0 ? "probe-status" : "probe-lock"); k->probe_step++;
                } else if (t >= k->hold_until) {
                    k->st = UNLOCKING; start(w, "unlock", "unlock");
                } else if (k->hold_until < next) next = k->hold_until;
            }
            if (k->st != DONE) alive = 1;
        }
        if (!alive) break;
        fflush(stdout);

        struct pollfd pf[MAXW]; int idx[MAXW], n = 0;
        for (int w = 0; w < nw; w++) if (W[w].c.fd >= 0) { pf[n].fd = W[w].c.fd; pf[n].events = POLLIN; idx[n] = w; n++; }
        long long wait_ns = next - now_ns();
        int tmo = wait_ns <= 0 ? 0 : (int)((wait_ns + 999999) / 1000000);
        if (n == 0 && tmo == 0) continue;
        int r = poll(pf, n, tmo);
        if (r < 0) { if (errno == EINTR) continue; perror("poll"); return 2; }
        long long tr = now_ns();
        for (int i = 0; i < n; i++) {
            if (!(pf[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            int w = idx[i];
            pump(w, tr);
        }
    }
    fflush(stdout);
    return any_failed ? 1 : 0;
usage:
    fprintf(stderr, "usage: contention-run [-H HOLD_MS] [-j] [-T SECONDS] [-M HANDOFFS] [-r handoff|immediate] [-p] BIN DEV0 CONF0 [DEV1 CONF1 ...]\n");
    return 2;
}
