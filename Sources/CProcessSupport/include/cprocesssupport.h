// CProcessSupport: the few C library calls ProcessSupport cannot make from Swift, because the Glibc
// module does not export their header (<sys/vfs.h>). No policy here: plain integers in and out.
#ifndef CPROCESSSUPPORT_H
#define CPROCESSSUPPORT_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// fstatfs(2) on `fd`: stores the file system's `f_type` (a *_MAGIC number of linux/magic.h) in `*type`.
/// Returns 0, or -1 with errno set. Not retried here (ProcessSupport's one EINTR loop does that).
int cps_fstatfs_type(int fd, int64_t *type);

#ifdef __cplusplus
}
#endif

#endif
