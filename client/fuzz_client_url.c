/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * libFuzzer: vpn-ws-client URL parser (ws/wss and proxy forms), the
 * proxy selection from the environment, and the redaction of credentials
 * in messages and argv.
 */


#include <stdlib.h>
#include <string.h>

#include "vpnws_client.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


/* "***@" in place of whatever precedes an '@'; argv only loses bytes to '*' */
static void
vpnws_url_redacted(const char *text)
{
    char    *shown, *hidden;
    size_t   i, len;

    len = strlen(text);
    shown = malloc(len + 4);
    hidden = strdup(text);

    if (shown == NULL || hidden == NULL) {
        free(shown);
        free(hidden);
        return;
    }

    vpnws_url_redact(text, shown, len + 4);

    if (strchr(text, '@') != NULL && strstr(shown, "***@") == NULL) {
        abort();
    }

    vpnws_url_hide(hidden);

    for (i = 0; i < len; i++) {
        if (hidden[i] != text[i] && hidden[i] != '*') {
            abort();
        }
    }

    if (hidden[len] != '\0') {
        abort();
    }

    free(shown);
    free(hidden);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int            proxy;
    char          *text, err[VPNWS_ERRLEN];
    vpnws_conf_t   conf;

    if (size == 0) {
        return 0;
    }

    /* the first byte picks the form; the rest is the NUL-terminated URL */
    proxy = data[0] & 1;

    text = malloc(size);

    if (text == NULL) {
        return 0;
    }

    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';

    memset(&conf, 0, sizeof(vpnws_conf_t));

    if (vpnws_url_parse(text, &conf.url, proxy, err, sizeof(err)) == 0) {

        if (conf.url.path == NULL || conf.url.path[0] != '/'
            || strlen(conf.url.host) == 0
            || strpbrk(conf.url.path, " \r\n") != NULL)
        {
            abort();
        }

        vpnws_url_free(&conf.url);
    }

    vpnws_url_redacted(text);

    free(text);

    return 0;
}
