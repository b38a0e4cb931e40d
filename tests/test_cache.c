/* How cache keys are stored (modules/wcim_cache.c). */
#include <stdio.h>
#include <string.h>
#include <apr_strings.h>
#include <jansson.h>

#include "unit_tests.h"
#include "../modules/wcim_cache.h"

/* Cache ids spread over all of shmcb's subcaches (it files an entry under
 * its id's first byte), though the keys share their prefixes. */
void test_cache_id(apr_pool_t *p)
{
    enum { USERS = 20000, SUBCACHES = 256 };
    unsigned counts[SUBCACHES] = { 0 };
    unsigned i, lo = USERS, hi = 0;
    unsigned char *id;
    apr_size_t len;
    const char *key = "tok:testappkey:1a2b3c4d:im_user_id_38";

    wcim_cache_id(&id, &len, key, p);
    CHECK(len == strlen(key) + 1 && memcmp(id + 1, key, len - 1) == 0,
          "the readable key follows the spread byte");
    for (i = 0; i < USERS; ++i) {
        wcim_cache_id(&id, &len, apr_psprintf(p, "tok:testappkey:1a2b3c4d:"
                                              "im_user_id_%u", 700000 + i),
                      p);
        counts[id[0] % SUBCACHES]++;
    }
    for (i = 0; i < SUBCACHES; ++i) {
        lo = counts[i] < lo ? counts[i] : lo;
        hi = counts[i] > hi ? counts[i] : hi;
    }
    /* ~78 a subcache; a prefix-filed key would put all 20,000 in one */
    CHECK(lo >= 40 && hi <= 120,
          apr_psprintf(p, "20,000 token keys over 256 subcaches: %u to %u "
                       "each", lo, hi));
}
