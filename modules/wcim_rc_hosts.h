/* Internal to the RongCloud client (wcim_rongcloud.c): picking the host
 * to try and moving off one that failed (wcim_rc_hosts.c). */
#ifndef WCIM_RC_HOSTS_H
#define WCIM_RC_HOSTS_H

#include "wcim_rongcloud.h"

/* The index (of n hosts) of the host to try first: the one in use. */
int wcim_rc_hosts_pick(wcim_rc_hosts_t *h, int n);
/* Host idx (of n) failed: the next one is used from now on. */
void wcim_rc_hosts_failed(wcim_rc_hosts_t *h, int idx, int n);

#endif
