/* How a cache key is stored: an evenly spread first byte, then the key. */

#include <string.h>
#include <apr_md5.h>

#include "wcim_cache.h"

apr_status_t wcim_cache_id(unsigned char **pid, apr_size_t *plen,
                           const char *key, apr_pool_t *p)
{
    unsigned char digest[APR_MD5_DIGESTSIZE];
    apr_size_t klen = strlen(key);
    unsigned char *id = apr_palloc(p, klen + 1);

    /* shmcb files an entry under its id's first byte (SHMCB_MASK): a byte
     * of the key's digest spreads the keys, which share their prefixes,
     * over every subcache. The readable key follows, for debugging. */
    apr_md5(digest, key, klen);
    id[0] = digest[0];
    memcpy(id + 1, key, klen);
    *pid = id;
    *plen = klen + 1;
    return APR_SUCCESS;
}
