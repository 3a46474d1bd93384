/* Test tool, not product code: an LD_PRELOAD shim that answers ioctl(SG_IO)
 * from a script so the real sg_persist can be run against any device answer.
 *
 * SGIO_SHIM_SCRIPT: file, one response per line, consumed in order per SG_IO:
 *     status=HH host=HH driver=HH data=HEX sense=HEX errno=N
 *   (all optional; missing line => GOOD, no data). data is trimmed to the
 *   data-in buffer (resid set); sense to mx_sb_len (sb_len_wr set).
 * SGIO_SHIM_LOG: file, one line appended per SG_IO:
 *     cdb=HEX dir=N len=N dout=HEX
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <scsi/sg.h>

static int line_no;

static int hexval(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static int parse_hex(const char *s, unsigned char *out, int max) {
    int n = 0;
    while (*s && *s != ' ' && *s != '\n' && n < max) {
        int a = hexval(s[0]), b = s[1] ? hexval(s[1]) : -1;
        if (a < 0 || b < 0) break;
        out[n++] = (unsigned char)(a * 16 + b);
        s += 2;
    }
    return n;
}

static void fetch_line(char *buf, int size) {
    buf[0] = '\0';
    const char *path = getenv("SGIO_SHIM_SCRIPT");
    if (!path) return;
    FILE *f = fopen(path, "r");
    if (!f) return;
    for (int k = 0; k <= line_no; ++k) {
        if (!fgets(buf, size, f)) { buf[0] = '\0'; break; }
    }
    fclose(f);
    line_no++;
}

static const char *field(const char *line, const char *key) {
    size_t kl = strlen(key);
    const char *p = line;
    while ((p = strstr(p, key))) {
        if ((p == line || p[-1] == ' ') && p[kl] == '=') return p + kl + 1;
        p += kl;
    }
    return NULL;
}

int ioctl(int fd, unsigned long req, ...) {
    va_list ap; va_start(ap, req); void *arg = va_arg(ap, void *); va_end(ap);
    static int (*real)(int, unsigned long, void *);
    if (!real) real = (int (*)(int, unsigned long, void *))dlsym(RTLD_NEXT, "ioctl");
    if (req != SG_IO) return real(fd, req, arg);

    sg_io_hdr_t *h = arg;
    const char *logp = getenv("SGIO_SHIM_LOG");
    if (logp) {
        FILE *lf = fopen(logp, "a");
        if (lf) {
            fprintf(lf, "cdb=");
            for (int k = 0; k < h->cmd_len; ++k) fprintf(lf, "%02x", h->cmdp[k]);
            fprintf(lf, " dir=%d len=%u dout=", h->dxfer_direction, h->dxfer_len);
            if (h->dxfer_direction == SG_DXFER_TO_DEV)
                for (unsigned k = 0; k < h->dxfer_len; ++k)
                    fprintf(lf, "%02x", ((unsigned char *)h->dxferp)[k]);
            fprintf(lf, "\n");
            fclose(lf);
        }
    }
    char line[70000];
    fetch_line(line, sizeof(line));
    const char *v;
    if ((v = field(line, "errno"))) { errno = atoi(v); return -1; }
    int status = (v = field(line, "status")) ? (int)strtol(v, NULL, 16) : 0;
    h->status = status;
    h->masked_status = (status >> 1) & 0x7f;
    h->host_status = (v = field(line, "host")) ? (int)strtol(v, NULL, 16) : 0;
    h->driver_status = (v = field(line, "driver")) ? (int)strtol(v, NULL, 16) : 0;
    h->msg_status = 0;
    h->duration = 1;
    h->info = 0;
    h->resid = 0;
    h->sb_len_wr = 0;
    if ((v = field(line, "data")) && h->dxfer_direction == SG_DXFER_FROM_DEV) {
        static unsigned char buf[65536];
        int n = parse_hex(v, buf, sizeof(buf));
        if (n > (int)h->dxfer_len) n = h->dxfer_len;
        memcpy(h->dxferp, buf, n);
        h->resid = h->dxfer_len - n;
    } else if (h->dxfer_direction == SG_DXFER_FROM_DEV) {
        h->resid = h->dxfer_len;
    }
    if ((v = field(line, "sense")) && h->sbp) {
        unsigned char sb[256];
        int n = parse_hex(v, sb, sizeof(sb));
        if (n > h->mx_sb_len) n = h->mx_sb_len;
        memcpy(h->sbp, sb, n);
        h->sb_len_wr = n;
        if (status == 2) h->info |= SG_INFO_CHECK;
    }
    if (h->status || h->host_status || h->driver_status) h->info |= SG_INFO_CHECK;
    return 0;
}
