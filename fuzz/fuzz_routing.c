/* libFuzzer target: RongCloud's message routing posts (modules/
 * wcim_route_parse.c), what the weclubs-im-callback handler hands the core:
 * wcim_routing_verify on the query's nonce, signTimestamp and signature,
 * and wcim_routing_classify on the form's fields.
 *
 * The input is one form, urlencoded as the glue receives it (ap_parse_form_
 * data decodes it the same way: '+' is a space, %XX a byte, a value is cut
 * at a decoded NUL since the glue keeps C strings):
 *     fromUserId=..&toUserId=..&objectName=..&content=..&channelType=..
 *     &msgTimestamp=..&msgUID=..&nonce=..&signTimestamp=..&signature=..
 * (the last three are the query string's, here in the same form).
 *
 * Properties checked: verify passes only for the right signature and a
 * timestamp within the window, and always for the right signature of a
 * timestamp within it; a message has a club, a sender and a uid of 1-64
 * bytes and a preview of at most WCIM_ROUTING_PREVIEW_MAX bytes that is
 * valid UTF-8, cut at a character boundary; a read mark has a time >= 0;
 * an ignored post says why. */
#include "fuzz_common.h"

#include <apr_tables.h>

#include "wcim_digest.h"
#include "wcim_route_parse.h"

#define FUZZ_RC_SECRET "testappsecret"
#define WINDOW apr_time_from_sec(300)

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Decode one urlencoded component into a NUL-terminated pool string. */
static char *form_decode(const char *s, apr_size_t n, apr_pool_t *p)
{
    char *out = apr_palloc(p, n + 1), *o = out;
    apr_size_t i;

    for (i = 0; i < n; ++i) {
        if (s[i] == '+') {
            *o++ = ' ';
        }
        else if (s[i] == '%' && i + 2 < n
                 && hexval((unsigned char)s[i + 1]) >= 0
                 && hexval((unsigned char)s[i + 2]) >= 0) {
            *o++ = (char)(hexval((unsigned char)s[i + 1]) * 16
                          + hexval((unsigned char)s[i + 2]));
            i += 2;
        }
        else {
            *o++ = s[i];
        }
    }
    *o = '\0';
    return out;
}

static int valid_utf8(const unsigned char *s, apr_size_t n)
{
    apr_size_t i = 0;

    while (i < n) {
        unsigned char c = s[i];
        apr_size_t len, k;

        if (c < 0x80) { ++i; continue; }
        else if ((c & 0xE0) == 0xC0) len = 2;
        else if ((c & 0xF0) == 0xE0) len = 3;
        else if ((c & 0xF8) == 0xF0) len = 4;
        else return 0;
        if (i + len > n) return 0;
        for (k = 1; k < len; ++k) {
            if ((s[i + k] & 0xC0) != 0x80) return 0;
        }
        i += len;
    }
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool();
    const char *in = fuzz_guarded(data, size);
    apr_table_t *form = apr_table_make(p, 10), *labels = apr_table_make(p, 12);
    wcim_routed_post_t post;
    wcim_message_t msg;
    wcim_routed_t kind;
    const char *why = NULL, *nonce, *ts, *sig;
    char good[WCIM_SHA1_HEX_LEN + 1];
    apr_status_t rv;
    size_t i = 0;

    /* the form, as the glue's table of it (the last value of a name wins
     * there: it pops the pairs from the end and sets them) */
    while (i <= size) {
        size_t end = i, eq;

        while (end < size && in[end] != '&') {
            ++end;
        }
        for (eq = i; eq < end && in[eq] != '='; ++eq) {
        }
        if (eq > i) {
            const char *name = form_decode(in + i, eq - i, p);
            const char *value = eq < end
                ? form_decode(in + eq + 1, end - eq - 1, p) : "";
            if (apr_table_get(form, name) == NULL) {
                apr_table_setn(form, name, value);
            }
        }
        i = end + 1;
    }
    wcim_routing_post_from(&post, form);
    nonce = apr_table_get(form, "nonce");
    ts = apr_table_get(form, "signTimestamp");
    sig = apr_table_get(form, "signature");

    /* the signature as sent, then the right one for its nonce and time */
    rv = wcim_routing_verify(&why, FUZZ_RC_SECRET, nonce, ts, sig, FUZZ_NOW,
                             WINDOW, p);
    FUZZ_CHECK(rv == APR_SUCCESS || (rv == APR_EACCES && why != NULL));
    if (nonce && ts) {
        const char *plain = apr_pstrcat(p, FUZZ_RC_SECRET, nonce, ts, NULL);
        apr_int64_t t = 0, age;
        size_t k, n = strlen(ts), nlen = strlen(nonce);
        /* the contract: canonical digits (no leading zero), at most 18;
         * a time below 10^11 is in seconds; a nonce of 1 to 128 bytes */
        int number = n > 0 && n <= 18 && ts[0] != '0'
                     && nlen > 0 && nlen <= WCIM_ROUTING_NONCE_MAX;

        for (k = 0; k < n && number; ++k) {
            number = ts[k] >= '0' && ts[k] <= '9';
            t = t * 10 + (ts[k] - '0');
        }
        if (number && t < WCIM_ROUTING_SECONDS_BELOW) {
            t *= 1000;
        }
        age = apr_time_as_msec(FUZZ_NOW) - t;
        wcim_sha1_hex(good, plain, strlen(plain), 0);
        if (rv == APR_SUCCESS) {
            FUZZ_CHECK(sig && strcmp(sig, good) == 0);
        }
        rv = wcim_routing_verify(&why, FUZZ_RC_SECRET, nonce, ts, good,
                                 FUZZ_NOW, WINDOW, p);
        FUZZ_CHECK((rv == APR_SUCCESS)
                   == (number && age <= apr_time_as_msec(WINDOW)
                       && -age <= apr_time_as_msec(WINDOW)));
        /* no secret: always refused */
        FUZZ_CHECK(wcim_routing_verify(&why, NULL, nonce, ts, good, FUZZ_NOW,
                                       WINDOW, p) == APR_EACCES);
    }
    else {
        FUZZ_CHECK(rv == APR_EACCES);
    }

    wcim_routing_default_labels(labels);
    apr_table_setn(labels, "app:PollMsg", "[投票]");
    kind = wcim_routing_classify(&msg, &why, &post, labels, p);
    switch (kind) {
    case WCIM_ROUTED_MESSAGE:
        FUZZ_CHECK(msg.preview != NULL);
        if (strcmp(post.object_name, "RC:TxtMsg") == 0) {
            FUZZ_CHECK(strlen(msg.preview) <= WCIM_ROUTING_PREVIEW_MAX);
            FUZZ_CHECK(valid_utf8((const unsigned char *)msg.preview,
                                  strlen(msg.preview)));
        }
        /* fall through */
    case WCIM_ROUTED_READ_MARK:
        FUZZ_CHECK(why == NULL);
        FUZZ_CHECK(msg.club_id >= 0 && msg.time >= 0);
        FUZZ_CHECK(msg.from_user && *msg.from_user
                   && strlen(msg.from_user) <= 64);
        FUZZ_CHECK(msg.uid && *msg.uid && strlen(msg.uid) <= 64);
        FUZZ_CHECK(strcmp(post.channel_type, "GROUP") == 0);
        break;
    case WCIM_ROUTED_IGNORED:
        FUZZ_CHECK(why != NULL);
        break;
    default:
        FUZZ_CHECK(!"unknown classification");
    }

    apr_pool_destroy(p);
    return 0;
}
