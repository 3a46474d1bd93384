// CSGIO: the Linux ioctls on a device node that Transports sends, as small as they can be: the SG_IO
// pass-through and the block layer's persistent reservation operations (<linux/pr.h>).
//
// ioctl(2) is variadic, which Swift cannot call, and the layouts of `struct sg_io_hdr` and the `struct pr_*`
// arguments must come from the kernel's headers (never from hand-written offsets); so the ioctls live here
// and everything above talks in plain integers. No policy here: no retries, no errno translation
// (SGIOTransport and BlockPR do that).
#ifndef CSGIO_H
#define CSGIO_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Data transfer direction of one command (mapped to SG_DXFER_* inside).
enum csgio_direction {
    CSGIO_DIR_NONE = 0,     ///< no data phase (SG_DXFER_NONE)
    CSGIO_DIR_TO_DEV = 1,   ///< data-out (SG_DXFER_TO_DEV)
    CSGIO_DIR_FROM_DEV = 2, ///< data-in (SG_DXFER_FROM_DEV)
};

/// The output fields of `struct sg_io_hdr` after SG_IO returned.
struct csgio_result {
    uint8_t status;          ///< SCSI status byte (SAM), e.g. 0x18 RESERVATION CONFLICT
    uint8_t masked_status;   ///< obsolete shifted status, kept for tracing
    uint8_t msg_status;
    uint8_t sb_len_wr;       ///< sense bytes actually written
    uint16_t host_status;    ///< DID_* of the Linux mid-layer / HBA
    uint16_t driver_status;  ///< DRIVER_* (DRIVER_SENSE 0x08 accompanies sense)
    int32_t resid;           ///< dxfer_len minus bytes actually transferred
    uint32_t duration;       ///< milliseconds, measured by the kernel
    uint32_t info;           ///< SG_INFO_* bits
};

/// Sends one CDB through ioctl(fd, SG_IO). Returns 0 when the ioctl succeeded (the SCSI outcome is in
/// `out`), otherwise the errno of the ioctl (EINVAL for arguments this shim refuses). Never retries:
/// an EINTR means the command may already have reached the device.
int csgio_execute(int fd, const uint8_t *cdb, uint8_t cdb_len, int direction,
                  void *data, uint32_t data_len, uint8_t *sense, uint8_t sense_cap,
                  uint32_t timeout_ms, struct csgio_result *out);

/// ioctl(fd, SG_GET_VERSION_NUM): 0 and the version (e.g. 30536 for 3.5.36) when the node speaks the
/// sg v3 interface (an sg node or a SCSI block device), else the errno (ENOTTY, EINVAL, ...).
int csgio_version(int fd, int *version);

/// The largest CDB SG_IO accepts without the variable-length extension.
enum { CSGIO_MAX_CDB_LEN = 16 };

/// The block layer's persistent reservation operations, one ioctl each (IOC_PR_REGISTER ... IOC_PR_CLEAR).
enum csgio_pr_operation {
    CSGIO_PR_REGISTER = 0,      ///< struct pr_registration: old_key = key, new_key = other_key, flags
    CSGIO_PR_RESERVE = 1,       ///< struct pr_reservation: key, type, flags
    CSGIO_PR_RELEASE = 2,       ///< struct pr_reservation: key, type, flags
    CSGIO_PR_PREEMPT = 3,       ///< struct pr_preempt: old_key = key, new_key = other_key, type, flags
    CSGIO_PR_PREEMPT_ABORT = 4, ///< struct pr_preempt, as PREEMPT
    CSGIO_PR_CLEAR = 5,         ///< struct pr_clear: key, flags
    CSGIO_PR_READ_KEYS = 6,     ///< struct pr_read_keys (Linux 6.19): generation = type, num_keys = flags, keys_ptr = key
    CSGIO_PR_READ_RESERVATION = 7, ///< struct pr_read_reservation (Linux 6.19): key, generation = flags, type
};

/// The ioctl request number of `operation` (0 for an unknown one).
unsigned long csgio_pr_request(int operation);

/// Fills the kernel's argument structure of `operation` from the integers (as the enum above maps them) and
/// copies its bytes to `out`: what the ioctl receives. Returns the structure's size; 0 for an unknown
/// operation or when `cap` is too small.
uint32_t csgio_pr_argument(int operation, uint64_t key, uint64_t other_key, uint32_t type, uint32_t flags,
                           uint8_t *out, uint32_t cap);

/// One change (CSGIO_PR_REGISTER ... CSGIO_PR_CLEAR) through ioctl(fd, IOC_PR_*). Returns 0 when the device
/// did it; > 0 the status the kernel passed back (0x18 RESERVATION CONFLICT; older kernels pass a device's
/// SCSI result, newer ones a PR_STS_* value); < 0 minus the ioctl's errno. Never retries: an EINTR means the
/// operation may already have reached the device.
int csgio_pr_change(int fd, int operation, uint64_t key, uint64_t other_key, uint32_t type, uint32_t flags);

/// ioctl(fd, IOC_PR_READ_KEYS): `*count` in, how many keys `keys` holds room for; out, how many the device
/// has (more than the room: ask again with more). Returns as csgio_pr_change (-ENOTTY: the kernel lacks it).
int csgio_pr_read_keys(int fd, uint32_t *generation, uint32_t *count, uint64_t *keys);

/// ioctl(fd, IOC_PR_READ_RESERVATION): the holder's key, the generation and the kernel's reservation type
/// (enum pr_type; 0: no reservation). Returns as csgio_pr_change.
int csgio_pr_read_reservation(int fd, uint64_t *key, uint32_t *generation, uint32_t *type);

#ifdef __cplusplus
}
#endif

#endif
