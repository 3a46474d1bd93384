#include "csgio.h"

#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <scsi/sg.h>

int csgio_execute(int fd, const uint8_t *cdb, uint8_t cdb_len, int direction,
                  void *data, uint32_t data_len, uint8_t *sense, uint8_t sense_cap,
                  uint32_t timeout_ms, struct csgio_result *out)
{
    struct sg_io_hdr hdr;

    if (cdb == NULL || cdb_len == 0 || cdb_len > CSGIO_MAX_CDB_LEN || out == NULL)
        return EINVAL;
    if (data_len > 0 && data == NULL)
        return EINVAL;
    if (sense_cap > 0 && sense == NULL)
        return EINVAL;

    memset(&hdr, 0, sizeof(hdr));
    hdr.interface_id = 'S';
    switch (direction) {
    case CSGIO_DIR_NONE:
        hdr.dxfer_direction = SG_DXFER_NONE;
        data_len = 0;
        data = NULL;
        break;
    case CSGIO_DIR_TO_DEV:
        hdr.dxfer_direction = SG_DXFER_TO_DEV;
        break;
    case CSGIO_DIR_FROM_DEV:
        hdr.dxfer_direction = SG_DXFER_FROM_DEV;
        break;
    default:
        return EINVAL;
    }
    if (data_len == 0)
        hdr.dxfer_direction = SG_DXFER_NONE;
    /* The kernel only reads the CDB, but the header's pointer is not const. */
    hdr.cmdp = (unsigned char *)(uintptr_t)cdb;
    hdr.cmd_len = cdb_len;
    hdr.dxferp = data;
    hdr.dxfer_len = data_len;
    hdr.sbp = sense;
    hdr.mx_sb_len = sense_cap;
    hdr.timeout = timeout_ms;

    if (ioctl(fd, SG_IO, &hdr) < 0)
        return errno;

    out->status = hdr.status;
    out->masked_status = hdr.masked_status;
    out->msg_status = hdr.msg_status;
    out->sb_len_wr = hdr.sb_len_wr;
    out->host_status = hdr.host_status;
    out->driver_status = hdr.driver_status;
    out->resid = hdr.resid;
    out->duration = hdr.duration;
    out->info = hdr.info;
    return 0;
}

int csgio_version(int fd, int *version)
{
    int v = 0;
    if (ioctl(fd, SG_GET_VERSION_NUM, &v) < 0)
        return errno;
    if (version != NULL)
        *version = v;
    return 0;
}
