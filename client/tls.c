/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * vpn-ws-client: TLS with OpenSSL 3.  The server certificate and its name
 * are verified unless --no-verify; SNI is sent for every host name.
 */


#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <poll.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "vpnws_client.h"


void
vpnws_tls_error(const char *what, char *err, size_t errlen)
{
    unsigned long  e;
    char           buf[256];

    e = ERR_peek_last_error();

    if (e == 0) {
        snprintf(err, errlen, "%s failed", what);

    } else {
        ERR_error_string_n(e, buf, sizeof(buf));
        snprintf(err, errlen, "%s: %s", what, buf);
    }

    ERR_clear_error();
}


/* OpenSSL says "system lib" for a missing file: say what is wrong */
static int
vpnws_tls_readable(const char *opt, const char *path, char *err,
    size_t errlen)
{
    FILE  *f;

    if (path == NULL) {
        return 0;
    }

    f = fopen(path, "r");

    if (f == NULL) {
        snprintf(err, errlen, "%s \"%s\": %s", opt, path, strerror(errno));
        return -1;
    }

    fclose(f);

    return 0;
}


SSL_CTX *
vpnws_tls_ctx(vpnws_conf_t *conf, char *err, size_t errlen)
{
    SSL_CTX  *ctx;

    if (vpnws_tls_readable("--ca", conf->ca, err, errlen) != 0
        || vpnws_tls_readable("--crt", conf->crt, err, errlen) != 0
        || vpnws_tls_readable("--key", conf->key, err, errlen) != 0)
    {
        return NULL;
    }

    ctx = SSL_CTX_new(TLS_client_method());

    if (ctx == NULL) {
        vpnws_tls_error("SSL_CTX_new()", err, errlen);
        return NULL;
    }

    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    /* buffers stay: releasing them when idle costs at every lull */
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE
                          | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
    /* one recv() for many records, not two (header, body) for each */
    SSL_CTX_set_read_ahead(ctx, 1);

    if (conf->no_verify) {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);

    } else {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);

        if (conf->ca) {

            if (SSL_CTX_load_verify_locations(ctx, conf->ca, NULL) != 1) {
                vpnws_tls_error(conf->ca, err, errlen);
                goto failed;
            }

        } else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
            vpnws_tls_error("system CA store", err, errlen);
            goto failed;
        }
    }

    if (conf->crt) {

        if (SSL_CTX_use_certificate_chain_file(ctx, conf->crt) != 1) {
            vpnws_tls_error(conf->crt, err, errlen);
            goto failed;
        }

        /* without --key the key is in the --crt file */
        if (SSL_CTX_use_PrivateKey_file(ctx, conf->key ? conf->key : conf->crt,
                                        SSL_FILETYPE_PEM)
            != 1)
        {
            vpnws_tls_error(conf->key ? conf->key : conf->crt, err, errlen);
            goto failed;
        }

        if (SSL_CTX_check_private_key(ctx) != 1) {
            vpnws_tls_error("--key does not match --crt", err, errlen);
            goto failed;
        }

    } else if (conf->key) {
        snprintf(err, errlen, "--key needs --crt");
        goto failed;
    }

    return ctx;

failed:

    SSL_CTX_free(ctx);

    return NULL;
}


int
vpnws_tls_connect(vpnws_conn_t *c, SSL_CTX *ctx, vpnws_url_t *u,
    int64_t deadline, char *err, size_t errlen)
{
    int                  n, e, rc;
    long                 vr;
    X509_VERIFY_PARAM   *param;

    c->ssl = SSL_new(ctx);

    if (c->ssl == NULL) {
        vpnws_tls_error("SSL_new()", err, errlen);
        return VPNWS_RETRY;
    }

    if (SSL_set_fd(c->ssl, c->fd) != 1) {
        vpnws_tls_error("SSL_set_fd()", err, errlen);
        return VPNWS_RETRY;
    }

    /* RFC 6066: no SNI for address literals */
    if (!u->literal && SSL_set_tlsext_host_name(c->ssl, u->host) != 1) {
        vpnws_tls_error("SNI", err, errlen);
        return VPNWS_RETRY;
    }

    if (SSL_get_verify_mode(c->ssl) != SSL_VERIFY_NONE) {
        param = SSL_get0_param(c->ssl);

        if (u->literal) {
            rc = X509_VERIFY_PARAM_set1_ip_asc(param, u->host);

        } else {
            X509_VERIFY_PARAM_set_hostflags(param,
                                      X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
            rc = SSL_set1_host(c->ssl, u->host);
        }

        if (rc != 1) {
            vpnws_tls_error("hostname verification setup", err, errlen);
            return VPNWS_RETRY;
        }
    }

    for ( ;; ) {
        ERR_clear_error();
        n = SSL_connect(c->ssl);

        if (n == 1) {
            break;
        }

        e = SSL_get_error(c->ssl, n);

        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
            rc = vpnws_conn_wait(c, e == SSL_ERROR_WANT_READ ? POLLIN
                                                             : POLLOUT,
                                 deadline, err, errlen);

            if (rc != VPNWS_OK) {
                if (rc == VPNWS_RETRY) {
                    snprintf(err, errlen, "TLS handshake with %s timed out",
                             u->host);
                }

                return rc;
            }

            continue;
        }

        vr = SSL_get_verify_result(c->ssl);

        if (vr != X509_V_OK) {
            snprintf(err, errlen, "TLS: certificate of %s rejected: %s",
                     u->host, X509_verify_cert_error_string(vr));
            ERR_clear_error();
            return VPNWS_FAIL_VERIFY;
        }

        if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) {
            snprintf(err, errlen, "TLS handshake with %s: connection closed",
                     u->host);
            return VPNWS_RETRY;
        }

        vpnws_tls_error("TLS handshake", err, errlen);
        return VPNWS_RETRY;
    }

    vpnws_log(VPNWS_LOG_DEBUG, "TLS: %s, %s", SSL_get_version(c->ssl),
              SSL_get_cipher_name(c->ssl));

    return VPNWS_OK;
}
