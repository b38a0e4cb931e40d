#include <apr_atomic.h>
#include <apr_strings.h>
#include <string.h>

#include "wcim_metrics.h"
#include "wcim_buf.h"

/* result_codes counted one by one; the rest go to "other" */
static const int codes[] = { 2000, 3000, 3001, 3002, 3003, 3004, 3005, 3006,
                             3010, 3011, 3012, 3014, 3100, 3101, 5000 };
#define NCODES (sizeof(codes) / sizeof(codes[0]))

static const int cb_statuses[] = { 200, 401, 404, 405, 413, 500 };
#define NCB (sizeof(cb_statuses) / sizeof(cb_statuses[0]))

/* upper bounds of the latency buckets, in ms */
static const int buckets_ms[] = { 5, 10, 25, 50, 100, 250, 500, 1000, 2500,
                                  5000, 10000 };
#define NBUCKETS (sizeof(buckets_ms) / sizeof(buckets_ms[0]))

static const char *const ep_names[WCIM_EP_COUNT] = {
    "get_token", "get_group_chat_list", "unknown"
};
static const char *const call_names[WCIM_CALL_COUNT] = {
    "getToken", "refresh", "groupSync", "block"
};

static const char *const cache_kinds[WCIM_CACHE_KINDS] = {
    "token", "sync", "nonce"
};

struct wcim_metrics_t {
    apr_uint32_t requests[WCIM_EP_COUNT][NCODES + 1];
    apr_uint32_t callbacks[NCB + 1];
    apr_uint32_t calls[WCIM_CALL_COUNT][2];          /* [fail, ok] */
    apr_uint32_t latency[WCIM_CALL_COUNT][NBUCKETS + 1];
    apr_uint64_t latency_us[WCIM_CALL_COUNT];
    apr_uint32_t failovers;
    apr_uint32_t cache[WCIM_CACHE_KINDS][2];         /* [miss, hit] */
    apr_uint32_t db_errors;
    apr_uint32_t syncs_dropped;
    apr_uint32_t syncs_queued;                       /* a gauge */
    apr_uint32_t rate_waiting[WCIM_CALL_COUNT];      /* a gauge */
    apr_uint32_t rate_waits[WCIM_CALL_COUNT];
    apr_uint64_t rate_wait_us[WCIM_CALL_COUNT];
    apr_uint32_t rate_refused[WCIM_CALL_COUNT];
    apr_uint32_t tokens_replaced[2];                 /* [recheck, lifetime] */
    apr_uint32_t passes;
    apr_uint32_t reconcile[WCIM_RECONCILE_COUNTS];
    apr_uint64_t pass_ended;                         /* apr_time_t; 0: none */
    apr_uint64_t pass_took_us;
};

static apr_uint64_t read64(const apr_uint64_t *v)
{
    return apr_atomic_read64((volatile apr_uint64_t *)v);
}

static const char *const reconcile_names[WCIM_RECONCILE_COUNTS] = {
    "students", "changes", "calls", "failed", "synced", "renamed",
    "blocked", "unblocked", "prefetched"
};

apr_size_t wcim_metrics_size(void)
{
    return sizeof(wcim_metrics_t);
}

wcim_metrics_t *wcim_metrics_init(void *mem)
{
    memset(mem, 0, sizeof(wcim_metrics_t));
    return mem;
}

void wcim_metrics_request(wcim_metrics_t *m, wcim_endpoint_t ep,
                          int result_code)
{
    apr_size_t i;

    if (m == NULL || (int)ep < 0 || ep >= WCIM_EP_COUNT) {
        return;
    }
    for (i = 0; i < NCODES && codes[i] != result_code; ++i) {
    }
    apr_atomic_inc32(&m->requests[ep][i]);
}

void wcim_metrics_callback(wcim_metrics_t *m, int http_status)
{
    apr_size_t i;

    if (m == NULL) {
        return;
    }
    for (i = 0; i < NCB && cb_statuses[i] != http_status; ++i) {
    }
    apr_atomic_inc32(&m->callbacks[i]);
}

void wcim_metrics_rc_call(wcim_metrics_t *m, wcim_call_t call, int ok,
                          apr_interval_time_t elapsed)
{
    apr_int64_t ms = apr_time_as_msec(elapsed);
    apr_size_t i;

    if (m == NULL || (int)call < 0 || call >= WCIM_CALL_COUNT) {
        return;
    }
    apr_atomic_inc32(&m->calls[call][ok ? 1 : 0]);
    for (i = 0; i < NBUCKETS && ms > buckets_ms[i]; ++i) {
    }
    apr_atomic_inc32(&m->latency[call][i]);
    apr_atomic_add64(&m->latency_us[call], (apr_uint64_t)elapsed);
}

const char *wcim_metrics_label_escape(const char *value, apr_pool_t *p)
{
    wcim_buf_t b;
    const char *c;

    if (strpbrk(value, "\\\"\n") == NULL) {
        return value;
    }
    wcim_buf_init(&b, p, strlen(value) + 8);
    for (c = value; *c; ++c) {
        const char *esc = *c == '\\' ? "\\\\" : *c == '"' ? "\\\""
                          : *c == '\n' ? "\\n" : NULL;
        if (esc) {
            wcim_buf_append(&b, esc, 2);
        }
        else {
            wcim_buf_append(&b, c, 1);
        }
    }
    return b.data;
}

void wcim_metrics_token_replaced(wcim_metrics_t *m, int too_old)
{
    if (m) {
        apr_atomic_inc32(&m->tokens_replaced[too_old ? 1 : 0]);
    }
}

void wcim_metrics_reconcile(wcim_metrics_t *m,
                            const apr_uint32_t counts[WCIM_RECONCILE_COUNTS],
                            apr_time_t ended, apr_interval_time_t took)
{
    int i;

    if (m == NULL) {
        return;
    }
    for (i = 0; i < WCIM_RECONCILE_COUNTS; ++i) {
        apr_atomic_add32(&m->reconcile[i], counts[i]);
    }
    if (ended == 0) {
        return;
    }
    apr_atomic_set64((volatile apr_uint64_t *)&m->pass_took_us,
                     (apr_uint64_t)took);
    apr_atomic_set64((volatile apr_uint64_t *)&m->pass_ended,
                     (apr_uint64_t)ended);
    apr_atomic_inc32(&m->passes);
}

void wcim_metrics_failover(wcim_metrics_t *m)
{
    if (m) {
        apr_atomic_inc32(&m->failovers);
    }
}

void wcim_metrics_cache(wcim_metrics_t *m, wcim_cache_kind_t kind, int hit)
{
    if (m && (unsigned)kind < WCIM_CACHE_KINDS) {
        apr_atomic_inc32(&m->cache[kind][hit ? 1 : 0]);
    }
}

void wcim_metrics_sync_dropped(wcim_metrics_t *m)
{
    if (m) {
        apr_atomic_inc32(&m->syncs_dropped);
    }
}

void wcim_metrics_sync_queued(wcim_metrics_t *m, int delta)
{
    if (m) {
        apr_atomic_add32(&m->syncs_queued, (apr_uint32_t)delta);
    }
}

void wcim_metrics_rate_waiting(wcim_metrics_t *m, wcim_call_t call)
{
    if (m && (unsigned)call < WCIM_CALL_COUNT) {
        apr_atomic_inc32(&m->rate_waiting[call]);
    }
}

void wcim_metrics_rate_waited(wcim_metrics_t *m, wcim_call_t call,
                              apr_interval_time_t waited)
{
    if (m && (unsigned)call < WCIM_CALL_COUNT) {
        apr_atomic_dec32(&m->rate_waiting[call]);
        apr_atomic_inc32(&m->rate_waits[call]);
        apr_atomic_add64(&m->rate_wait_us[call], (apr_uint64_t)waited);
    }
}

void wcim_metrics_rate_refused(wcim_metrics_t *m, wcim_call_t call)
{
    if (m && (unsigned)call < WCIM_CALL_COUNT) {
        apr_atomic_inc32(&m->rate_refused[call]);
    }
}

void wcim_metrics_db_error(wcim_metrics_t *m)
{
    if (m) {
        apr_atomic_inc32(&m->db_errors);
    }
}

static void add(wcim_buf_t *b, apr_pool_t *p, const char *fmt, ...)
{
    va_list ap;
    char *s;

    va_start(ap, fmt);
    s = apr_pvsprintf(p, fmt, ap);
    va_end(ap);
    wcim_buf_append(b, s, strlen(s));
}

static apr_uint32_t get32(const apr_uint32_t *v)
{
    return apr_atomic_read32((volatile apr_uint32_t *)v);
}

/* A family with one value per RongCloud call: counts, or microseconds
 * written as seconds. */
static void per_call(wcim_buf_t *b, apr_pool_t *p, const char *name,
                     const char *type, const char *help,
                     const apr_uint32_t *counts, const apr_uint64_t *us)
{
    int c;

    add(b, p, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
    for (c = 0; c < WCIM_CALL_COUNT; ++c) {
        if (counts) {
            add(b, p, "%s{call=\"%s\"} %u\n", name, call_names[c],
                get32(&counts[c]));
        }
        else {
            add(b, p, "%s{call=\"%s\"} %.6f\n", name, call_names[c],
                (double)apr_atomic_read64((volatile apr_uint64_t *)&us[c])
                / 1e6);
        }
    }
}

const char *wcim_metrics_render(const wcim_metrics_t *m, int human,
                                const char *extra, apr_pool_t *p)
{
    wcim_buf_t b;
    apr_size_t e, i;
    int c;

    wcim_buf_init(&b, p, 4096);
    if (human) {
        add(&b, p, "mod_weclubs_im status\n\nrequests (endpoint result_code count):\n");
        for (e = 0; e < WCIM_EP_COUNT; ++e) {
            for (i = 0; i <= NCODES; ++i) {
                apr_uint32_t n = get32(&m->requests[e][i]);
                if (n) {
                    add(&b, p, "  %-20s %-6s %u\n", ep_names[e],
                        i < NCODES ? apr_itoa(p, codes[i]) : "other", n);
                }
            }
        }
        add(&b, p, "\nRongCloud calls (call ok failed mean_ms):\n");
        for (c = 0; c < WCIM_CALL_COUNT; ++c) {
            apr_uint32_t ok = get32(&m->calls[c][1]), bad = get32(&m->calls[c][0]);
            apr_uint64_t us = apr_atomic_read64((volatile apr_uint64_t *)
                                                &m->latency_us[c]);
            add(&b, p, "  %-10s %u %u %.1f\n", call_names[c], ok, bad,
                ok + bad ? (double)us / 1000.0 / (ok + bad) : 0.0);
        }
        add(&b, p, "\nRongCloud rate limit (call waiting waited mean_wait_ms "
            "refused):\n");
        for (c = 0; c < WCIM_CALL_COUNT; ++c) {
            apr_uint32_t n = get32(&m->rate_waits[c]);
            apr_uint64_t us = apr_atomic_read64((volatile apr_uint64_t *)
                                                &m->rate_wait_us[c]);
            add(&b, p, "  %-10s %u %u %.1f %u\n", call_names[c],
                get32(&m->rate_waiting[c]), n,
                n ? (double)us / 1000.0 / n : 0.0, get32(&m->rate_refused[c]));
        }
        add(&b, p, "\ngroup syncs queued %u, dropped %u\n",
            get32(&m->syncs_queued), get32(&m->syncs_dropped));
        add(&b, p, "\nRongCloud tokens replaced: %u asked again, %u too "
            "old\n", get32(&m->tokens_replaced[0]),
            get32(&m->tokens_replaced[1]));
        add(&b, p, "\nreconciliation: %u passes, the last ended %.0f s ago "
            "after %.3f s\n ", get32(&m->passes),
            read64(&m->pass_ended)
            ? (double)(apr_time_now() - (apr_time_t)read64(&m->pass_ended))
              / APR_USEC_PER_SEC : 0.0,
            (double)read64(&m->pass_took_us) / APR_USEC_PER_SEC);
        for (c = 0; c < WCIM_RECONCILE_COUNTS; ++c) {
            add(&b, p, " %s %u", reconcile_names[c], get32(&m->reconcile[c]));
        }
        add(&b, p, "\n");
        add(&b, p, "\nfailovers %u\ndatabase errors %u\n\n"
            "cache (kind hits misses hit_ratio):\n",
            get32(&m->failovers), get32(&m->db_errors));
        for (c = 0; c < WCIM_CACHE_KINDS; ++c) {
            apr_uint32_t hit = get32(&m->cache[c][1]);
            apr_uint32_t miss = get32(&m->cache[c][0]);
            add(&b, p, "  %-10s %u %u %.3f\n", cache_kinds[c], hit, miss,
                hit + miss ? (double)hit / (hit + miss) : 0.0);
        }
        if (extra) {
            add(&b, p, "\n%s", extra);
        }
        return b.data;
    }

    add(&b, p, "# HELP weclubs_im_requests_total API requests answered, by "
        "endpoint and result_code.\n# TYPE weclubs_im_requests_total counter\n");
    for (e = 0; e < WCIM_EP_COUNT; ++e) {
        for (i = 0; i <= NCODES; ++i) {
            add(&b, p, "weclubs_im_requests_total{endpoint=\"%s\","
                "result_code=\"%s\"} %u\n", ep_names[e],
                i < NCODES ? apr_itoa(p, codes[i]) : "other",
                get32(&m->requests[e][i]));
        }
    }
    add(&b, p, "# HELP weclubs_im_callbacks_total RongCloud message routing "
        "posts, by HTTP status.\n# TYPE weclubs_im_callbacks_total counter\n");
    for (i = 0; i <= NCB; ++i) {
        add(&b, p, "weclubs_im_callbacks_total{status=\"%s\"} %u\n",
            i < NCB ? apr_itoa(p, cb_statuses[i]) : "other",
            get32(&m->callbacks[i]));
    }
    add(&b, p, "# HELP weclubs_im_rongcloud_calls_total RongCloud API "
        "operations, by call and outcome.\n"
        "# TYPE weclubs_im_rongcloud_calls_total counter\n");
    for (c = 0; c < WCIM_CALL_COUNT; ++c) {
        add(&b, p, "weclubs_im_rongcloud_calls_total{call=\"%s\",outcome="
            "\"ok\"} %u\n", call_names[c], get32(&m->calls[c][1]));
        add(&b, p, "weclubs_im_rongcloud_calls_total{call=\"%s\",outcome="
            "\"error\"} %u\n", call_names[c], get32(&m->calls[c][0]));
    }
    add(&b, p, "# HELP weclubs_im_rongcloud_seconds Time of RongCloud API "
        "operations, failover included.\n"
        "# TYPE weclubs_im_rongcloud_seconds histogram\n");
    for (c = 0; c < WCIM_CALL_COUNT; ++c) {
        apr_uint64_t total = 0;
        for (i = 0; i <= NBUCKETS; ++i) {
            total += get32(&m->latency[c][i]);
            if (i < NBUCKETS) {
                add(&b, p, "weclubs_im_rongcloud_seconds_bucket{call=\"%s\","
                    "le=\"%g\"} %" APR_UINT64_T_FMT "\n", call_names[c],
                    buckets_ms[i] / 1000.0, total);
            }
        }
        add(&b, p, "weclubs_im_rongcloud_seconds_bucket{call=\"%s\",le=\"+Inf\"}"
            " %" APR_UINT64_T_FMT "\n", call_names[c], total);
        add(&b, p, "weclubs_im_rongcloud_seconds_sum{call=\"%s\"} %.6f\n",
            call_names[c], (double)apr_atomic_read64(
                (volatile apr_uint64_t *)&m->latency_us[c]) / 1e6);
        add(&b, p, "weclubs_im_rongcloud_seconds_count{call=\"%s\"} %"
            APR_UINT64_T_FMT "\n", call_names[c], total);
    }
    add(&b, p, "# HELP weclubs_im_rongcloud_failovers_total Switches to "
        "another RongCloud host.\n"
        "# TYPE weclubs_im_rongcloud_failovers_total counter\n"
        "weclubs_im_rongcloud_failovers_total %u\n", get32(&m->failovers));
    add(&b, p, "# HELP weclubs_im_reconcile_passes_total Reconciliation "
        "passes this node made (it held the App Key's lease).\n"
        "# TYPE weclubs_im_reconcile_passes_total counter\n"
        "weclubs_im_reconcile_passes_total %u\n"
        "# HELP weclubs_im_reconcile_total What reconciliation passes "
        "looked at, found and did: students seen, changes found, RongCloud "
        "calls made and failed, group sets synced, students renamed, "
        "blocked and unblocked, and tokens prefetched "
        "(WeclubsIMTokenPrefetch).\n"
        "# TYPE weclubs_im_reconcile_total counter\n", get32(&m->passes));
    for (c = 0; c < WCIM_RECONCILE_COUNTS; ++c) {
        add(&b, p, "weclubs_im_reconcile_total{what=\"%s\"} %u\n",
            reconcile_names[c], get32(&m->reconcile[c]));
    }
    add(&b, p, "# HELP weclubs_im_reconcile_last_pass_seconds When the last "
        "pass ended (Unix time; 0: none yet).\n"
        "# TYPE weclubs_im_reconcile_last_pass_seconds gauge\n"
        "weclubs_im_reconcile_last_pass_seconds %.3f\n"
        "# HELP weclubs_im_reconcile_last_pass_duration_seconds How long the "
        "last pass took.\n"
        "# TYPE weclubs_im_reconcile_last_pass_duration_seconds gauge\n"
        "weclubs_im_reconcile_last_pass_duration_seconds %.6f\n",
        (double)read64(&m->pass_ended) / APR_USEC_PER_SEC,
        (double)read64(&m->pass_took_us) / APR_USEC_PER_SEC);
    add(&b, p, "# HELP weclubs_im_rongcloud_tokens_replaced_total RongCloud "
        "tokens fetched anew instead of served: asked again within "
        "WeclubsIMTokenRecheck (recheck), past "
        "WeclubsIMRongCloudTokenLifetime (lifetime).\n"
        "# TYPE weclubs_im_rongcloud_tokens_replaced_total counter\n"
        "weclubs_im_rongcloud_tokens_replaced_total{reason=\"recheck\"} %u\n"
        "weclubs_im_rongcloud_tokens_replaced_total{reason=\"lifetime\"} "
        "%u\n", get32(&m->tokens_replaced[0]),
        get32(&m->tokens_replaced[1]));
    add(&b, p, "# HELP weclubs_im_cache_requests_total Cache lookups, by "
        "kind of entry and result (a low hit ratio: the cache is too small)."
        "\n# TYPE weclubs_im_cache_requests_total counter\n");
    for (c = 0; c < WCIM_CACHE_KINDS; ++c) {
        add(&b, p, "weclubs_im_cache_requests_total{kind=\"%s\",result="
            "\"hit\"} %u\n", cache_kinds[c], get32(&m->cache[c][1]));
        add(&b, p, "weclubs_im_cache_requests_total{kind=\"%s\",result="
            "\"miss\"} %u\n", cache_kinds[c], get32(&m->cache[c][0]));
    }
    add(&b, p, "# HELP weclubs_im_database_errors_total Database failures.\n"
        "# TYPE weclubs_im_database_errors_total counter\n"
        "weclubs_im_database_errors_total %u\n", get32(&m->db_errors));
    add(&b, p, "# HELP weclubs_im_group_syncs_dropped_total Group syncs not "
        "queued (a full queue); the user's next list retries them.\n"
        "# TYPE weclubs_im_group_syncs_dropped_total counter\n"
        "weclubs_im_group_syncs_dropped_total %u\n",
        get32(&m->syncs_dropped));
    add(&b, p, "# HELP weclubs_im_group_syncs_queued Group syncs waiting in "
        "the sync queues of this node's children.\n"
        "# TYPE weclubs_im_group_syncs_queued gauge\n"
        "weclubs_im_group_syncs_queued %u\n", get32(&m->syncs_queued));
    per_call(&b, p, "weclubs_im_rongcloud_rate_waiting", "gauge",
             "RongCloud calls waiting now for this node's share of "
             "RongCloud's rate limit.", m->rate_waiting, NULL);
    per_call(&b, p, "weclubs_im_rongcloud_rate_waits_total", "counter",
             "RongCloud calls that waited for the rate limit before going.",
             m->rate_waits, NULL);
    per_call(&b, p, "weclubs_im_rongcloud_rate_wait_seconds_total", "counter",
             "Time RongCloud calls waited for the rate limit.", NULL,
             m->rate_wait_us);
    per_call(&b, p, "weclubs_im_rongcloud_rate_refused_total", "counter",
             "RongCloud calls not made: they would have waited too long for "
             "the rate limit.", m->rate_refused, NULL);
    if (extra) {
        wcim_buf_append(&b, extra, strlen(extra));
    }
    return b.data;
}

const char *wcim_metrics_auto(const wcim_metrics_t *m, apr_pool_t *p)
{
    apr_uint64_t requests = 0, refused = 0, callbacks = 0, calls = 0;
    apr_uint64_t failed = 0, hits = 0, misses = 0;
    wcim_buf_t b;
    unsigned e, i;

    for (e = 0; e < WCIM_EP_COUNT; ++e) {
        for (i = 0; i <= NCODES; ++i) {
            apr_uint32_t n = get32(&m->requests[e][i]);

            requests += n;
            refused += (i < NCODES && codes[i] == 2000) ? 0 : n;
        }
    }
    for (i = 0; i <= NCB; ++i) {
        callbacks += get32(&m->callbacks[i]);
    }
    for (i = 0; i < WCIM_CALL_COUNT; ++i) {
        calls += get32(&m->calls[i][0]) + get32(&m->calls[i][1]);
        failed += get32(&m->calls[i][0]);
    }
    for (i = 0; i < WCIM_CACHE_KINDS; ++i) {
        hits += get32(&m->cache[i][1]);
        misses += get32(&m->cache[i][0]);
    }
    wcim_buf_init(&b, p, 512);
    add(&b, p, "WeclubsIMRequests: %" APR_UINT64_T_FMT "\n"
        "WeclubsIMRequestsNot2000: %" APR_UINT64_T_FMT "\n"
        "WeclubsIMCallbacks: %" APR_UINT64_T_FMT "\n"
        "WeclubsIMRongCloudCalls: %" APR_UINT64_T_FMT "\n"
        "WeclubsIMRongCloudCallsFailed: %" APR_UINT64_T_FMT "\n"
        "WeclubsIMRongCloudFailovers: %u\n"
        "WeclubsIMCacheHits: %" APR_UINT64_T_FMT "\n"
        "WeclubsIMCacheMisses: %" APR_UINT64_T_FMT "\n"
        "WeclubsIMDatabaseErrors: %u\n",
        requests, refused, callbacks, calls, failed,
        get32(&m->failovers), hits, misses, get32(&m->db_errors));
    return b.data;
}
