/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * vpnws: the version of the module, the client and the daemon (the same
 * as debian/changelog's; t/90-deb.t compares them).
 */

#ifndef _VPNWS_VERSION_H_INCLUDED_
#define _VPNWS_VERSION_H_INCLUDED_


#define VPNWS_VERSION           "0.1.0"


#endif /* _VPNWS_VERSION_H_INCLUDED_ */
