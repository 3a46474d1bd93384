#include "csgio.h"

#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <scsi/sg.h>
#include <linux/pr.h>

// The read operations are new in Linux 6.19; headers older than that lack them. Their layout and numbers are
// part of the kernel's ABI, so they are declared here as the newer header declares them.
#ifndef IOC_PR_READ_KEYS
struct pr_read_keys {
    __u32 generation;
    __u32 num_keys;
    __u64 keys_ptr;
};
#define IOC_PR_READ_KEYS _IOWR('p', 206, struct pr_read_keys)
#endif
#ifndef IOC_PR_READ_RESERVATION
struct pr_read_reservation {
    __u64 key;
    __u32 generation;
    __u32 type;
};
#define IOC_PR_READ_RESERVATION _IOR('p', 207, struct pr_read_reservation)
#endif

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

unsigned long csgio_pr_request(int operation)
{
    switch (operation) {
    case CSGIO_PR_REGISTER: return IOC_PR_REGISTER;
    case CSGIO_PR_RESERVE: return IOC_PR_RESERVE;
    case CSGIO_PR_RELEASE: return IOC_PR_RELEASE;
    case CSGIO_PR_PREEMPT: return IOC_PR_PREEMPT;
    case CSGIO_PR_PREEMPT_ABORT: return IOC_PR_PREEMPT_ABORT;
    case CSGIO_PR_CLEAR: return IOC_PR_CLEAR;
    case CSGIO_PR_READ_KEYS: return IOC_PR_READ_KEYS;
    case CSGIO_PR_READ_RESERVATION: return IOC_PR_READ_RESERVATION;
    default: return 0;
    }
}

/// The argument of every operation, filled in one place (the ioctls and the tests' bytes alike).
union csgio_pr_argument_storage {
    struct pr_registration registration;
    struct pr_reservation reservation;
    struct pr_preempt preempt;
    struct pr_clear clear;
    struct pr_read_keys read_keys;
    struct pr_read_reservation read_reservation;
};

static uint32_t csgio_pr_fill(int operation, uint64_t key, uint64_t other_key, uint32_t type, uint32_t flags,
                              union csgio_pr_argument_storage *a)
{
    memset(a, 0, sizeof(*a));
    switch (operation) {
    case CSGIO_PR_REGISTER:
        a->registration.old_key = key;
        a->registration.new_key = other_key;
        a->registration.flags = flags;
        return sizeof(a->registration);
    case CSGIO_PR_RESERVE:
    case CSGIO_PR_RELEASE:
        a->reservation.key = key;
        a->reservation.type = type;
        a->reservation.flags = flags;
        return sizeof(a->reservation);
    case CSGIO_PR_PREEMPT:
    case CSGIO_PR_PREEMPT_ABORT:
        a->preempt.old_key = key;
        a->preempt.new_key = other_key;
        a->preempt.type = type;
        a->preempt.flags = flags;
        return sizeof(a->preempt);
    case CSGIO_PR_CLEAR:
        a->clear.key = key;
        a->clear.flags = flags;
        return sizeof(a->clear);
    case CSGIO_PR_READ_KEYS:
        a->read_keys.generation = type;
        a->read_keys.num_keys = flags;
        a->read_keys.keys_ptr = key;
        return sizeof(a->read_keys);
    case CSGIO_PR_READ_RESERVATION:
        a->read_reservation.key = key;
        a->read_reservation.generation = flags;
        a->read_reservation.type = type;
        return sizeof(a->read_reservation);
    default:
        return 0;
    }
}

uint32_t csgio_pr_argument(int operation, uint64_t key, uint64_t other_key, uint32_t type, uint32_t flags,
                           uint8_t *out, uint32_t cap)
{
    union csgio_pr_argument_storage a;
    uint32_t size = csgio_pr_fill(operation, key, other_key, type, flags, &a);
    if (size == 0 || out == NULL || cap < size)
        return 0;
    memcpy(out, &a, size);
    return size;
}

int csgio_pr_change(int fd, int operation, uint64_t key, uint64_t other_key, uint32_t type, uint32_t flags)
{
    union csgio_pr_argument_storage a;
    if (operation < CSGIO_PR_REGISTER || operation > CSGIO_PR_CLEAR)
        return -EINVAL;
    csgio_pr_fill(operation, key, other_key, type, flags, &a);
    int result = ioctl(fd, csgio_pr_request(operation), &a);
    return result < 0 ? -errno : result;
}

int csgio_pr_read_keys(int fd, uint32_t *generation, uint32_t *count, uint64_t *keys)
{
    union csgio_pr_argument_storage a;
    if (generation == NULL || count == NULL || (*count > 0 && keys == NULL))
        return -EINVAL;
    csgio_pr_fill(CSGIO_PR_READ_KEYS, (uint64_t)(uintptr_t)keys, 0, 0, *count, &a);
    int result = ioctl(fd, IOC_PR_READ_KEYS, &a.read_keys);
    if (result < 0)
        return -errno;
    *generation = a.read_keys.generation;
    *count = a.read_keys.num_keys;
    return result;
}

int csgio_pr_read_reservation(int fd, uint64_t *key, uint32_t *generation, uint32_t *type)
{
    union csgio_pr_argument_storage a;
    if (key == NULL || generation == NULL || type == NULL)
        return -EINVAL;
    csgio_pr_fill(CSGIO_PR_READ_RESERVATION, 0, 0, 0, 0, &a);
    int result = ioctl(fd, IOC_PR_READ_RESERVATION, &a.read_reservation);
    if (result < 0)
        return -errno;
    *key = a.read_reservation.key;
    *generation = a.read_reservation.generation;
    *type = a.read_reservation.type;
    return result;
}
