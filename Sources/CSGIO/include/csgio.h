// CSGIO: the Linux SG_IO pass-through, as small as it can be.
//
// ioctl(2) is variadic, which Swift cannot call, and the layout of `struct sg_io_hdr` must come from
// <scsi/sg.h> (never from hand-written offsets); so the ioctls live here and everything above talks in
// plain integers. No policy here: no retries, no errno translation (SGIOTransport does that).
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

#ifdef __cplusplus
}
#endif

#endif
