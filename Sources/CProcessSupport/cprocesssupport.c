#include "cprocesssupport.h"

#include <sys/vfs.h>

int cps_fstatfs_type(int fd, int64_t *type) {
    struct statfs info;
    if (fstatfs(fd, &info) != 0) return -1;
    // f_type is a signed word; the magic numbers are 32-bit patterns (0xcafe4a11 would read negative)
    *type = (int64_t)(uint32_t)info.f_type;
    return 0;
}
