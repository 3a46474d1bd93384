// Signals held from the first instruction of storage-ctl's own code, before the Swift runtime starts.
//
// StorageCtlMain blocks every catchable terminating signal on its first line (ProcessSignals.holdTerminating),
// but the dynamic loader and the Swift runtime run for about a millisecond before that: a SIGTERM there killed
// the process with no line on stderr. A constructor in this C target, linked only into the executable, blocks
// the same set first. The set is ProcessSignals.held: HUP, INT, QUIT, TERM, USR1, USR2, ALRM, VTALRM, PROF,
// XCPU, XFSZ, IO, PWR, STKFLT and the real-time signals; a signal the caller left ignored stays ignored and
// unblocked (nohup), as there.
#include <signal.h>
#include "cearlysignals.h"

static sigset_t saved_mask;
static int held;

__attribute__((constructor(101)))
static void storage_ctl_hold_signals_early(void) {
    static const int terminating[] = {
        SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGALRM, SIGVTALRM, SIGPROF, SIGXCPU, SIGXFSZ,
        SIGIO, SIGPWR, SIGSTKFLT,
    };
    sigset_t set;
    sigemptyset(&set);
    for (unsigned i = 0; i < sizeof terminating / sizeof terminating[0]; i++) {
        struct sigaction current;
        if (sigaction(terminating[i], 0, &current) == 0 && current.sa_handler == SIG_IGN) continue;
        sigaddset(&set, terminating[i]);
    }
    for (int s = SIGRTMIN; s <= SIGRTMAX; s++) {
        struct sigaction current;
        if (sigaction(s, 0, &current) == 0 && current.sa_handler == SIG_IGN) continue;
        sigaddset(&set, s);
    }
    if (sigprocmask(SIG_BLOCK, &set, &saved_mask) == 0) held = 1;
}

void storage_ctl_early_signals_release(void) {
    if (held) sigprocmask(SIG_SETMASK, &saved_mask, 0);
    held = 0;
}
