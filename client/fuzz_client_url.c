/*
 * libFuzzer: vpn-ws-client URL parser (ws/wss and proxy forms) and the
 * proxy selection from the environment.
 */


#include <stdlib.h>
#include <string.h>

#include "vpnws_client.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


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

    free(text);

    return 0;
}
