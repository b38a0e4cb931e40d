/* The weclubs request signature (protocol.md section 3):
 *
 *   str  = secret + for each data key in byte order: key + value + secret
 *   sha1 form:      lowercase hex SHA1(str)                     (40 digits)
 *   md5-sha1 form:  lowercase hex MD5(uppercase hex SHA1(str))  (32 digits)
 */
#ifndef WCIM_SIGN_H
#define WCIM_SIGN_H

#include <apr_pools.h>

#include "wcim_envelope.h"

#define WCIM_SIGN_FORM_MD5_SHA1 0x1
#define WCIM_SIGN_FORM_SHA1     0x2
#define WCIM_SIGN_FORMS_ALL     (WCIM_SIGN_FORM_MD5_SHA1 | WCIM_SIGN_FORM_SHA1)

/* The signed text for data (count members, keys in byte order, as
 * wcim_envelope_parse gives them): secret, then key+value pairs, then
 * secret. */
apr_status_t wcim_sign_text(const char **ptext, apr_size_t *plen,
                            const wcim_member_t *data, apr_size_t count,
                            const char *secret,
                            apr_size_t secret_len, apr_pool_t *p);

/* The expected signature of data in one form, NUL-terminated hex. */
apr_status_t wcim_sign_compute(const char **psign, int form,
                               const wcim_member_t *data, apr_size_t count,
                               const char *secret,
                               apr_size_t secret_len, apr_pool_t *p);

/* APR_SUCCESS when sign is the signature of data in one of the accepted
 * forms (told apart by length), else WCIM_STATUS(3003). Exact and constant
 * time: an upper-case sign is refused, as by the old server. */
apr_status_t wcim_sign_verify(const wcim_member_t *data, apr_size_t count,
                              const char *sign,
                              apr_size_t sign_len, const char *secret,
                              apr_size_t secret_len, int forms,
                              apr_pool_t *p);

#endif
