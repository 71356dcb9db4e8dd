/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * vpnws unit tests: src/vpnws_vnet.c and src/vpnws_gso.c, the virtio-net
 * header checks and the software segmenter, held byte for byte to the
 * kernel's own segmentation captured in t/unit/vnet/ (one .hex file a case).
 */


#include "tap.h"
#include "vpnws_gso.h"
#include "vpnws_vnet.h"


#define SEGS_MAX    64


typedef struct {
    size_t          n;
    size_t          len[SEGS_MAX];
    uint8_t        *seg[SEGS_MAX];
    int             stop_at;        /* emit returns -1 on this call */
} out_t;


static const char  *vectors[] = {
    "tcp4-basic", "tcp4-tail", "tcp4-ecn", "tcp4-opts", "tcp4-vlan",
    "tcp4-qinq", "tcp4-many", "tcp6-basic", "tcp6-vlan", "tcp6-ecn",
    "tcp4-one", "csum-tcp4", "csum-tcp6", "csum-udp4", "real-1", "real-2",
    "real-3",
};


static uint8_t  in[VPNWS_VNET_HLEN + VPNWS_VNET_FRAME_MAX];
static uint8_t  buf[VPNWS_VNET_FRAME_MAX];


/* vpnws_gso_cut(): every frame at its own place in an arena of junk */
typedef struct {
    out_t           out;
    uint8_t        *arena;
    size_t          used;
    int             null_at;        /* place returns NULL on this call */
    size_t          placed;
} cut_t;


static uint8_t  arena[SEGS_MAX * (VPNWS_VNET_FRAME_MAX / 8)];


static uint8_t *
cut_place(void *ctx, size_t len)
{
    uint8_t  *p;
    cut_t    *c = ctx;

    if ((int) c->placed++ == c->null_at
        || c->used + len + 7 > sizeof(arena))
    {
        return NULL;
    }

    /* an odd gap: nothing may depend on alignment or on what was there */
    p = c->arena + c->used + 7;
    c->used += len + 7;

    return p;
}


static int emit(void *ctx, uint8_t *seg, size_t len);


static int
cut_emit(void *ctx, uint8_t *seg, size_t len)
{
    cut_t  *c = ctx;

    return emit(&c->out, seg, len);
}


static int
emit(void *ctx, uint8_t *seg, size_t len)
{
    out_t  *o = ctx;

    if ((int) o->n == o->stop_at || o->n == SEGS_MAX) {
        return -1;
    }

    o->seg[o->n] = malloc(len);
    memcpy(o->seg[o->n], seg, len);
    o->len[o->n++] = len;

    return 0;
}


static void
out_free(out_t *o)
{
    while (o->n) {
        free(o->seg[--o->n]);
    }
}


static size_t
unhex(const char *s, uint8_t *p, size_t max)
{
    size_t        n;
    unsigned int  v;

    for (n = 0; n < max && sscanf(s, "%2x", &v) == 1; n++, s += 2) {
        p[n] = (uint8_t) v;
    }

    return n;
}


/* "in" into in[], the "out" lines into exp */
static size_t
read_vector(const char *name, out_t *exp)
{
    char        path[256], *line;
    FILE       *fp;
    size_t      n, cap, len;
    const char  *dir;

    dir = getenv("VPNWS_VECTORS");
    snprintf(path, sizeof(path), "%s/%s.hex", dir ? dir : "t/unit/vnet",
             name);

    fp = fopen(path, "r");
    if (fp == NULL) {
        diag("%s: cannot open", path);
        return 0;
    }

    line = NULL;
    cap = 0;
    n = 0;
    exp->n = 0;

    while (getline(&line, &cap, fp) > 0) {
        if (strncmp(line, "in ", 3) == 0) {
            n = unhex(line + 3, in, sizeof(in));

        } else if (strncmp(line, "out ", 4) == 0 && exp->n < SEGS_MAX) {
            len = unhex(line + 4, buf, sizeof(buf));
            exp->seg[exp->n] = malloc(len);
            memcpy(exp->seg[exp->n], buf, len);
            exp->len[exp->n++] = len;
        }
    }

    free(line);
    fclose(fp);

    return n;
}


static void test_vector_cut(const char *name, vpnws_vnet_frame_t *f,
    size_t n);


static void
test_vector(const char *name)
{
    int                 rc, same;
    out_t               got, exp;
    size_t              n, i;
    vpnws_vnet_hdr_t    h;
    vpnws_vnet_frame_t  f;

    n = read_vector(name, &exp);
    if (!ok(n > VPNWS_VNET_HLEN && exp.n > 0, "%s: vector read", name)) {
        out_free(&exp);
        return;
    }

    vpnws_vnet_hdr_read(&h, in);
    is_int(vpnws_vnet_check(&f, &h, in + VPNWS_VNET_HLEN,
                            n - VPNWS_VNET_HLEN),
           VPNWS_VNET_OK, "%s: header checks", name);
    is_int(f.segs, (long long) exp.n, "%s: %zu segments", name, exp.n);

    memset(&got, 0, sizeof(got));
    got.stop_at = -1;

    rc = vpnws_gso_segment(&f, in + VPNWS_VNET_HLEN, n - VPNWS_VNET_HLEN,
                           buf, vpnws_gso_buf_size(&f, n - VPNWS_VNET_HLEN),
                           emit, &got);
    is_int(rc, (long long) exp.n, "%s: segmenter returns the count", name);

    same = (got.n == exp.n);

    for (i = 0; same && i < got.n; i++) {
        if (got.len[i] != exp.len[i]
            || memcmp(got.seg[i], exp.seg[i], got.len[i]) != 0)
        {
            diag("%s: segment %zu differs (%zu bytes, kernel %zu)", name, i,
                 got.len[i], exp.len[i]);
            same = 0;
        }
    }

    ok(same, "%s: byte-identical to the kernel's segments", name);

    out_free(&got);
    out_free(&exp);

    test_vector_cut(name, &f, n);
}


/* the same frame cut in place: the kernel's segments again */
static void
test_vector_cut(const char *name, vpnws_vnet_frame_t *f, size_t n)
{
    int     rc, same;
    cut_t   c;
    out_t   exp;
    size_t  i;

    n = read_vector(name, &exp);

    memset(&c, 0, sizeof(c));
    memset(arena, 0xa5, sizeof(arena));
    c.arena = arena;
    c.null_at = -1;
    c.out.stop_at = -1;

    rc = vpnws_gso_cut(f, in + VPNWS_VNET_HLEN, n - VPNWS_VNET_HLEN,
                       cut_place, cut_emit, &c);

    same = (rc == (int) exp.n && c.out.n == exp.n);

    for (i = 0; same && i < c.out.n; i++) {
        same = c.out.len[i] == exp.len[i]
               && memcmp(c.out.seg[i], exp.seg[i], exp.len[i]) == 0;
    }

    ok(same, "%s: cut in place, byte-identical too", name);

    out_free(&c.out);
    out_free(&exp);
}


/* a valid IPv4 TSO frame from the vectors, to break one field at a time */
static size_t
base_frame(vpnws_vnet_hdr_t *h)
{
    out_t   exp;
    size_t  n;

    n = read_vector("tcp4-basic", &exp);
    out_free(&exp);

    if (n <= VPNWS_VNET_HLEN) {
        return 0;
    }

    vpnws_vnet_hdr_read(h, in);

    return n - VPNWS_VNET_HLEN;
}


typedef struct {
    const char        *what;
    int                field;       /* header field, or frame offset */
    int                value;
    vpnws_vnet_err_t   err;
} bad_case_t;


enum { F_FLAGS = -1, F_TYPE = -2, F_HDRLEN = -3, F_SIZE = -4, F_START = -5,
       F_OFFSET = -6, F_LEN = -7 };


/* frame offsets below: ethernet 0, IPv4 14, TCP 34 */
static const bad_case_t  bad_cases[] = {
    { "unknown flag bit",          F_FLAGS, 0x05, VPNWS_VNET_EFLAGS },
    { "RSC_INFO flag",             F_FLAGS, 0x04, VPNWS_VNET_EFLAGS },
    { "UFO type",                  F_TYPE, VPNWS_VNET_GSO_UDP,
                                   VPNWS_VNET_EGSOTYPE },
    { "USO type",                  F_TYPE, VPNWS_VNET_GSO_UDP_L4,
                                   VPNWS_VNET_EGSOTYPE },
    { "ECN bit without a type",    F_TYPE, VPNWS_VNET_GSO_ECN,
                                   VPNWS_VNET_EGSOTYPE },
    { "unknown type 2",            F_TYPE, 2, VPNWS_VNET_EGSOTYPE },
    { "TCPV6 on an IPv4 frame",    F_TYPE, VPNWS_VNET_GSO_TCPV6,
                                   VPNWS_VNET_EPROTO },
    { "gso_size 0",                F_SIZE, 0, VPNWS_VNET_EGSOSIZE },
    { "hdr_len beyond the frame",  F_HDRLEN, 60000, VPNWS_VNET_EHDRLEN },
    { "csum_start beyond frame",   F_START, 60000, VPNWS_VNET_ECSUM },
    { "csum_start in ethernet",    F_START, 4, VPNWS_VNET_ECSUM },
    { "csum_start not at TCP",     F_START, 30, VPNWS_VNET_ECSUM },
    { "csum_offset not TCP's",     F_OFFSET, 6, VPNWS_VNET_ECSUM },
    { "csum_offset beyond frame",  F_OFFSET, 60000, VPNWS_VNET_ECSUM },
    { "GSO without NEEDS_CSUM",    F_FLAGS, 0, VPNWS_VNET_ECSUM },
    { "ARP ethertype",             13, 0x06, VPNWS_VNET_EPROTO },
    { "IP version 5",              14, 0x55, VPNWS_VNET_EIP },
    { "IP header length 4",        14, 0x44, VPNWS_VNET_EIP },
    { "IP header length 15",       14, 0x4f, VPNWS_VNET_ECSUM },
    { "IP total length short",     17, 0x00, VPNWS_VNET_EIP },
    { "IP fragment (MF)",          20, 0x20, VPNWS_VNET_EIP },
    { "IP fragment offset",        21, 0x01, VPNWS_VNET_EIP },
    { "UDP protocol",              23, 17, VPNWS_VNET_EPROTO },
    { "TCP data offset 4",         46, 0x40, VPNWS_VNET_ETCP },
    { "TCP data offset 15 (fits)", 46, 0xf0, VPNWS_VNET_OK },
};


static void
test_bad(void)
{
    out_t               exp;
    size_t              n, i;
    uint8_t             save[VPNWS_VNET_HLEN + 64];
    vpnws_vnet_hdr_t    base, h;
    vpnws_vnet_frame_t  f;
    vpnws_vnet_err_t    err;
    const bad_case_t   *c;

    n = base_frame(&base);
    if (!ok(n > 0, "base frame read")) {
        return;
    }

    memcpy(save, in, sizeof(save));

    for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
        c = &bad_cases[i];
        h = base;

        switch (c->field) {
        case F_FLAGS:  h.flags = (uint8_t) c->value; break;
        case F_TYPE:   h.gso_type = (uint8_t) c->value; break;
        case F_HDRLEN: h.hdr_len = (uint16_t) c->value; break;
        case F_SIZE:   h.gso_size = (uint16_t) c->value; break;
        case F_START:  h.csum_start = (uint16_t) c->value; break;
        case F_OFFSET: h.csum_offset = (uint16_t) c->value; break;
        default:       in[VPNWS_VNET_HLEN + c->field] = (uint8_t) c->value;
        }

        err = vpnws_vnet_check(&f, &h, in + VPNWS_VNET_HLEN, n);
        is_int(err, c->err, "%s: %s", c->what, vpnws_vnet_strerror(err));
        memcpy(in, save, sizeof(save));
    }

    /* 5792 one-byte segments are allowed, 10240 are too many */
    h = base;
    h.gso_size = 1;
    err = vpnws_vnet_check(&f, &h, in + VPNWS_VNET_HLEN, n);
    ok(err == VPNWS_VNET_OK && f.segs == n - f.hlen,
       "gso_size 1: one segment per byte (%u)", f.segs);

    n = read_vector("tcp4-many", &exp);
    out_free(&exp);
    vpnws_vnet_hdr_read(&h, in);
    h.gso_size = 1;
    err = vpnws_vnet_check(&f, &h, in + VPNWS_VNET_HLEN, n - VPNWS_VNET_HLEN);
    is_int(err, VPNWS_VNET_EGSOSIZE, "gso_size 1 on 10 KiB: too many segments");

    ok(strcmp(vpnws_vnet_errname(VPNWS_VNET_ECSUM), "vnet_csum") == 0
       && strcmp(vpnws_vnet_strerror(VPNWS_VNET_EMAX), "unknown error") == 0,
       "error names and reasons");
}


/* every prefix of a valid frame: a clear error, never a read beyond */
static void
test_truncated(void)
{
    int                 bad;
    size_t              n, len;
    uint8_t            *copy;
    vpnws_vnet_hdr_t    h;
    vpnws_vnet_frame_t  f;
    vpnws_vnet_err_t    err;

    n = base_frame(&h);
    bad = 0;

    for (len = 0; len < n; len++) {
        /* a heap copy of exactly len bytes: ASan sees any overread */
        copy = malloc(len ? len : 1);
        memcpy(copy, in + VPNWS_VNET_HLEN, len);
        err = vpnws_vnet_check(&f, &h, copy, len);
        free(copy);

        /* hdr_len is 66: shorter frames fail on it, longer on the IP length */
        if (err == VPNWS_VNET_OK) {
            diag("prefix of %zu bytes accepted", len);
            bad++;
        }
    }

    ok(bad == 0, "every prefix of a TSO frame is refused (%zu)", n);
}


static void
test_emit_stop(void)
{
    int                 rc;
    cut_t               c;
    out_t               got;
    size_t              n;
    vpnws_vnet_hdr_t    h;
    vpnws_vnet_frame_t  f;

    n = base_frame(&h);
    vpnws_vnet_check(&f, &h, in + VPNWS_VNET_HLEN, n);

    memset(&got, 0, sizeof(got));
    got.stop_at = 2;
    rc = vpnws_gso_segment(&f, in + VPNWS_VNET_HLEN, n, buf, sizeof(buf),
                           emit, &got);
    ok(rc == -1 && got.n == 2, "emit says stop: -1 after 2 segments");
    out_free(&got);

    got.stop_at = -1;
    rc = vpnws_gso_segment(&f, in + VPNWS_VNET_HLEN, n, buf,
                           vpnws_gso_buf_size(&f, n) - 1, emit, &got);
    ok(rc == -1 && got.n == 0, "buffer one byte short: -1, nothing out");
    is_int((long long) vpnws_gso_buf_size(&f, n), 66 + 1448,
           "buffer size: headers + gso_size");

    /* vpnws_gso_cut(): no place, or emit says stop */
    memset(&c, 0, sizeof(c));
    c.arena = arena;
    c.null_at = 3;
    c.out.stop_at = -1;

    rc = vpnws_gso_cut(&f, in + VPNWS_VNET_HLEN, n, cut_place, cut_emit, &c);
    ok(rc == -1 && c.out.n == 3, "no place for the 4th segment: -1 after 3");
    out_free(&c.out);

    memset(&c, 0, sizeof(c));
    c.arena = arena;
    c.null_at = -1;
    c.out.stop_at = 1;

    rc = vpnws_gso_cut(&f, in + VPNWS_VNET_HLEN, n, cut_place, cut_emit, &c);
    ok(rc == -1 && c.out.n == 1 && c.placed == 2,
       "emit says stop: -1, nothing placed after");
    out_free(&c.out);
}


static void
test_hdr_bytes(void)
{
    uint8_t           p[VPNWS_VNET_HLEN];
    vpnws_vnet_hdr_t  h, back;

    h.flags = 1;
    h.gso_type = 0x84;
    h.hdr_len = 0x0102;
    h.gso_size = 0x0304;
    h.csum_start = 0x0506;
    h.csum_offset = 0x0708;
    vpnws_vnet_hdr_write(&h, p);

    is_mem(p, "\x01\x84\x02\x01\x04\x03\x06\x05\x08\x07", 10,
           "header: u8, u8, then four little-endian u16");

    vpnws_vnet_hdr_read(&back, p);
    ok(memcmp(&back, &h, sizeof(h)) == 0, "header reads back");
}


static uint16_t
naive_csum(const uint8_t *p, size_t len)
{
    size_t    i;
    uint32_t  sum;

    sum = 0;

    for (i = 0; i + 1 < len; i += 2) {
        sum += (uint32_t) (p[i] << 8 | p[i + 1]);
    }

    if (len & 1) {
        sum += (uint32_t) p[len - 1] << 8;
    }

    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }

    return (uint16_t) sum;
}


static void
test_csum(void)
{
    int       bad;
    size_t    len, off;
    uint16_t  got;

    srand(12);

    for (len = 0; len < sizeof(buf); len++) {
        buf[len] = (uint8_t) rand();
    }

    memset(buf + 1000, 0xff, 3000);
    bad = 0;

    for (len = 0; len < 3000; len += 1 + len / 8) {
        for (off = 0; off < 9; off++) {
            got = vpnws_csum_fold(vpnws_csum_add(0, buf + off * 111, len));

            if (got != naive_csum(buf + off * 111, len)) {
                bad++;
            }
        }
    }

    got = vpnws_csum_fold(vpnws_csum_add(0, buf, 65535));
    ok(bad == 0 && got == naive_csum(buf, 65535),
       "checksum equals the plain RFC 1071 sum (lengths, alignments)");
}


typedef struct {
    const char  *in;
    unsigned     set;
} offload_case_t;


static const offload_case_t  offload_cases[] = {
    { "csum, tso4, tso6, ecn", VPNWS_OFFLOAD_ALL },
    { "CSUM,TSO4", VPNWS_OFFLOAD_CSUM | VPNWS_OFFLOAD_TSO4 },
    { " csum  tso6 ", VPNWS_OFFLOAD_CSUM | VPNWS_OFFLOAD_TSO6 },
    { "csum, uso4, future-thing", VPNWS_OFFLOAD_CSUM },
    { "tso4, tso6", 0 },                    /* TSO needs csum */
    { "csumx, tso", 0 },
    { "", 0 },
    { ",,,", 0 },
};


static void
test_offload_tokens(void)
{
    char                   out[VPNWS_OFFLOAD_STR_LEN];
    size_t                 i, n;
    unsigned               set;
    const offload_case_t  *c;

    for (i = 0; i < sizeof(offload_cases) / sizeof(offload_cases[0]); i++) {
        c = &offload_cases[i];
        set = vpnws_offload_parse(c->in, strlen(c->in));
        is_int(set, c->set, "offload \"%s\"", c->in);
    }

    /* a prefix of a token is not the token */
    is_int(vpnws_offload_parse("csum", 3), 0, "\"csu\" is nothing");

    n = vpnws_offload_format(VPNWS_OFFLOAD_ALL, out);
    ok(n == strlen("csum, tso4, tso6, ecn") && n < sizeof(out)
       && strcmp(out, "csum, tso4, tso6, ecn") == 0, "format all: %s", out);

    vpnws_offload_format(0, out);
    is_str(out, "", "format none");

    for (set = 0; set <= VPNWS_OFFLOAD_ALL; set++) {
        vpnws_offload_format(set, out);

        if (vpnws_offload_parse(out, strlen(out))
            != ((set & VPNWS_OFFLOAD_CSUM) ? set : 0))
        {
            break;
        }
    }

    ok(set > VPNWS_OFFLOAD_ALL, "every set formats and parses back");
}


int
main(void)
{
    size_t  i;

    for (i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
        test_vector(vectors[i]);
    }

    test_bad();
    test_truncated();
    test_emit_stop();
    test_hdr_bytes();
    test_csum();
    test_offload_tokens();

    return done_testing();
}
