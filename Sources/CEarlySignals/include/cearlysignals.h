#ifndef CEARLYSIGNALS_H
#define CEARLYSIGNALS_H

/// Undoes what the constructor did, for the sg_persist personality (which keeps sg_persist's default
/// dispositions): the signal mask is put back as the process found it.
void storage_ctl_early_signals_release(void);

#endif
