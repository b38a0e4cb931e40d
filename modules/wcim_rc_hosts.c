/* Which of the configured RongCloud hosts is in use (wcim_rongcloud.h,
 * wcim_rc_hosts.h): one word, shared by a process's threads or, in memory
 * the glue shares, by all children, changed with atomics. */
#include <string.h>
#include <apr_atomic.h>
#include <apr_general.h>

#include "wcim_rongcloud.h"
#include "wcim_rc_hosts.h"

struct wcim_rc_hosts_t {
    volatile apr_uint32_t active;        /* index in use */
};

apr_status_t wcim_rc_hosts_create(wcim_rc_hosts_t **phosts, apr_pool_t *p)
{
    wcim_rc_hosts_t *h = apr_pcalloc(p, sizeof(*h));

    *phosts = h;
    return APR_SUCCESS;
}

apr_size_t wcim_rc_hosts_size(void)
{
    return APR_ALIGN_DEFAULT(sizeof(wcim_rc_hosts_t));
}

wcim_rc_hosts_t *wcim_rc_hosts_at(void *mem)
{
    wcim_rc_hosts_t *h = mem;

    memset(h, 0, sizeof(*h));
    return h;
}

int wcim_rc_hosts_active(const wcim_rc_hosts_t *hosts)
{
    return hosts ? (int)apr_atomic_read32(&((wcim_rc_hosts_t *)hosts)->active)
                 : 0;
}

/* The host to try first: the one in use. There is no going back to the
 * primary on a timer: the SDKs keep the host that answers until it fails
 * (server-sdk-java io/rong/RongCloudConfig.java getDomain moves on errors
 * only; server-sdk-go rongcloud/rongcloud.go changeURI is called on
 * failures only), and a timer would pay the primary's time-out again and
 * again during a long outage. */
int wcim_rc_hosts_pick(wcim_rc_hosts_t *h, int n)
{
    return h ? (int)(apr_atomic_read32(&h->active) % (apr_uint32_t)n) : 0;
}

/* Host idx failed: the next one is used from now on, unless another
 * thread moved away from idx already (a late failure of a host no longer
 * in use must not move the process off the one that works). */
void wcim_rc_hosts_failed(wcim_rc_hosts_t *h, int idx, int n)
{
    if (h) {
        apr_atomic_cas32(&h->active, (apr_uint32_t)((idx + 1) % n),
                         (apr_uint32_t)idx);
    }
}
