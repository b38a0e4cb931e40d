/* The request envelope as the module parsed it with jansson alone, before
 * the streaming parser (modules/wcim_envelope.c at 5ce6718, and
 * wcim_sign_text over its json_t data): kept, unchanged but for the names,
 * as the reference that fuzz_envelope compares the module against. Not part
 * of the module. */
#ifndef WCIM_ENVELOPE_REFERENCE_H
#define WCIM_ENVELOPE_REFERENCE_H

#include <apr_pools.h>
#include <jansson.h>

typedef struct ref_envelope_t {
    json_t *root;
    json_t *data;          /* an object whose members are all scalars */
    const char *caller;    /* NULL when missing or not a string */
    const char *sign;      /* NULL when missing or not a string */
    const char *id;        /* NULL when missing or not a string */
    apr_size_t sign_len;
} ref_envelope_t;

apr_status_t ref_envelope_parse(ref_envelope_t **penv, const char **perr,
                                const char *body, apr_size_t len,
                                apr_pool_t *p);
apr_status_t ref_envelope_user_id(const char **puser_id,
                                  const ref_envelope_t *env, apr_pool_t *p);
apr_status_t ref_envelope_token(const char **ptoken, apr_size_t *plen,
                                const ref_envelope_t *env);
/* The signed text of data: secret, key+value pairs in key order, secret. */
apr_status_t ref_sign_text(const char **ptext, apr_size_t *plen,
                           const json_t *data, const char *secret,
                           apr_size_t secret_len, apr_pool_t *p);

#endif
