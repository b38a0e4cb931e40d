/* Each directive's facts, defined once: its default (the value
 * wcim_conf_finish fills in, and the text docs/directives.md shows), its
 * limits (which its setter checks) and its context. Plain macros, with no
 * httpd or APR header, so that t/16-docs.t can read WCIM_DIRECTIVES through
 * the C preprocessor and compare the docs with it. */
#ifndef MOD_WECLUBS_IM_DEFAULTS_H
#define MOD_WECLUBS_IM_DEFAULTS_H

#define WCIM_STR(x) WCIM_STR_(x)
#define WCIM_STR_(x) #x
/* How a flag's default reads, from its value (0 or 1). */
#define WCIM_ONOFF(v) WCIM_ONOFF_(v)
#define WCIM_ONOFF_(v) WCIM_ONOFF_##v
#define WCIM_ONOFF_0 "Off"
#define WCIM_ONOFF_1 "On"
/* "off" for a default of 0; any other value does not compile, and wants
 * WCIM_STR instead */
#define WCIM_OFF(v) WCIM_OFF_(v)
#define WCIM_OFF_(v) WCIM_OFF_##v
#define WCIM_OFF_0 "off"
/* between the defaults of a directive given several times */
#define WCIM_AND "; "

/* --- defaults (times in seconds, sizes in bytes) --- */
#define WCIM_DEFAULT_SIGN_FORMS_TEXT "md5-sha1 sha1"  /* WCIM_SIGN_FORMS_ALL */
#define WCIM_DEFAULT_SIGN_CHECK 1
#define WCIM_DEFAULT_CALLERS "ios_test weclubs_android chrome_test"
#define WCIM_DEFAULT_TOKEN_LIFETIME 604800
#define WCIM_DEFAULT_RC_URLS \
    "https://api.rong-api.com https://api-b.rong-api.com"
/* what modules/wcim_rongcloud.h says of WCIM_RC_DEFAULT_TIMEOUT and
 * WCIM_RC_DEFAULT_CONNECT_TIMEOUT, which the core keeps for itself
 * (mod_weclubs_im_config.c checks that they agree) */
#define WCIM_DEFAULT_RC_TIMEOUT 10
#define WCIM_DEFAULT_RC_CONNECT_TIMEOUT 1
/* RongCloud's rate limits per App Key, in calls a second, as its docs give
 * them: user/getToken 200 (docs.rongcloud.io/server-rtc-api/user/register),
 * user/refresh 100 (docs.rongcloud.cn/platform-chat-api/user/modify),
 * group/sync 100 (docs.rongcloud.cn/platform-chat-api/group/sync-group),
 * whatever the number of servers calling. user/block and user/unblock:
 * RongCloud documents no limit; only the reconciliation pass makes them,
 * at most half a share of user/refresh's rate (WCIM_RECONCILE_SHARE), so
 * no limit of ours either. */
#define WCIM_DEFAULT_RATE_GET_TOKEN 200
#define WCIM_DEFAULT_RATE_REFRESH 100
#define WCIM_DEFAULT_RATE_GROUP_SYNC 100
#define WCIM_DEFAULT_RATE_BLOCK 0
/* How long a call may wait for a turn of this node's share: the weclubs
 * app gives up on an answer after 10 s (OkHttp's default read timeout;
 * its ServiceGenerator sets only a connect timeout), so a student waits
 * for RongCloud at most this, with time left for the call itself. */
#define WCIM_DEFAULT_RC_RATE_WAIT 8
#define WCIM_DEFAULT_RC_NODES 1
#define WCIM_DEFAULT_GROUP_SYNC 1
#define WCIM_DEFAULT_MAX_BODY 65536
/* a routed message: up to 128 KB of content, percent-encoded (a Chinese
 * character costs 9 bytes), and one groupUserIds field per member: 2 MiB */
#define WCIM_DEFAULT_CALLBACK_MAX_BODY 2097152
#define WCIM_DEFAULT_MESSAGES 0
#define WCIM_DEFAULT_MESSAGE_MAX_AGE 2592000      /* 30 days */
#define WCIM_DEFAULT_CALLBACK_WINDOW 300
#define WCIM_DEFAULT_TOKEN_STORE_TEXT "cache"     /* token_store_db 0 */
#define WCIM_DEFAULT_RC_TOKEN_LIFETIME 0
/* a student asking get_token again this soon has most likely been told
 * "token incorrect" by RongCloud (the client asks again at once) */
#define WCIM_DEFAULT_TOKEN_RECHECK 30
/* RongCloud follows the weclubs tables within a minute; a pass over a
 * campus costs well under that (docs/reconciliation.md) */
#define WCIM_DEFAULT_RECONCILE_INTERVAL 60
#define WCIM_DEFAULT_TOKEN_PREFETCH 0
/* shared memory of this machine, if mod_socache_shmcb is loaded */
#define WCIM_DEFAULT_CACHE_PROVIDER "shmcb"
#define WCIM_DEFAULT_CACHE_TTL 604800             /* 7 days */

/* --- limits --- */
#define WCIM_MAX_TOKEN_LIFETIME (100LL * 365 * 86400)
#define WCIM_MAX_RC_TIMEOUT 300          /* also connect and rate wait */
#define WCIM_MAX_RC_TOKEN_LIFETIME (10LL * 365 * 86400)
#define WCIM_MAX_TOKEN_RECHECK 86400
#define WCIM_MAX_RECONCILE_INTERVAL 86400
#define WCIM_MIN_TOKEN_PREFETCH 1
#define WCIM_MAX_TOKEN_PREFETCH 10000
#define WCIM_MIN_RATE_LIMIT 1
#define WCIM_MAX_RATE_LIMIT 1000000
#define WCIM_MIN_RC_NODES 1
#define WCIM_MAX_RC_NODES 10000
#define WCIM_MAX_MESSAGE_MAX_AGE (10LL * 365 * 86400)
#define WCIM_MAX_CALLBACK_WINDOW 86400
#define WCIM_MIN_MAX_BODY 256
#define WCIM_MAX_MAX_BODY (16 * 1024 * 1024)
#define WCIM_MIN_CALLBACK_MAX_BODY 65536
#define WCIM_MAX_CALLBACK_MAX_BODY (64 * 1024 * 1024)

/* X(name, context, default as docs/directives.md shows it, after the
 * directive's name; NULL: none, or one the docs describe in words).
 * context: VHOST, the main server and <VirtualHost> ("server config,
 * virtual host"); GLOBAL, the main server only ("server config"), which
 * the setter checks. Every directive of wcim_cmds is here (t/16-docs.t). */
#define WCIM_DIRECTIVES(X) \
    X(WeclubsIMSignSecret, VHOST, NULL) \
    X(WeclubsIMSignForms, VHOST, WCIM_DEFAULT_SIGN_FORMS_TEXT) \
    X(WeclubsIMSignCheck, VHOST, WCIM_ONOFF(WCIM_DEFAULT_SIGN_CHECK)) \
    X(WeclubsIMCallers, VHOST, WCIM_DEFAULT_CALLERS) \
    X(WeclubsIMTokenLifetime, VHOST, WCIM_STR(WCIM_DEFAULT_TOKEN_LIFETIME)) \
    X(WeclubsIMRongCloudAppKey, VHOST, NULL) \
    X(WeclubsIMRongCloudAppSecret, VHOST, NULL) \
    X(WeclubsIMRongCloudURL, VHOST, WCIM_DEFAULT_RC_URLS) \
    X(WeclubsIMRongCloudTimeout, VHOST, WCIM_STR(WCIM_DEFAULT_RC_TIMEOUT)) \
    X(WeclubsIMRongCloudConnectTimeout, VHOST, \
      WCIM_STR(WCIM_DEFAULT_RC_CONNECT_TIMEOUT)) \
    X(WeclubsIMRongCloudRateLimit, VHOST, \
      "user/getToken " WCIM_STR(WCIM_DEFAULT_RATE_GET_TOKEN) WCIM_AND \
      "user/refresh " WCIM_STR(WCIM_DEFAULT_RATE_REFRESH) WCIM_AND \
      "group/sync " WCIM_STR(WCIM_DEFAULT_RATE_GROUP_SYNC) WCIM_AND \
      "user/block " WCIM_OFF(WCIM_DEFAULT_RATE_BLOCK)) \
    X(WeclubsIMRongCloudRateWait, VHOST, WCIM_STR(WCIM_DEFAULT_RC_RATE_WAIT)) \
    X(WeclubsIMRongCloudTokenLifetime, VHOST, \
      WCIM_OFF(WCIM_DEFAULT_RC_TOKEN_LIFETIME)) \
    X(WeclubsIMTokenRecheck, VHOST, WCIM_STR(WCIM_DEFAULT_TOKEN_RECHECK)) \
    X(WeclubsIMReconcileInterval, VHOST, \
      WCIM_STR(WCIM_DEFAULT_RECONCILE_INTERVAL)) \
    X(WeclubsIMTokenPrefetch, VHOST, WCIM_OFF(WCIM_DEFAULT_TOKEN_PREFETCH)) \
    X(WeclubsIMRongCloudNodes, VHOST, WCIM_STR(WCIM_DEFAULT_RC_NODES)) \
    X(WeclubsIMRongCloudCAFile, VHOST, NULL) \
    X(WeclubsIMGroupSync, VHOST, WCIM_ONOFF(WCIM_DEFAULT_GROUP_SYNC)) \
    X(WeclubsIMMaxBody, VHOST, WCIM_STR(WCIM_DEFAULT_MAX_BODY)) \
    X(WeclubsIMCallbackMaxBody, VHOST, \
      WCIM_STR(WCIM_DEFAULT_CALLBACK_MAX_BODY)) \
    X(WeclubsIMMessages, VHOST, WCIM_ONOFF(WCIM_DEFAULT_MESSAGES)) \
    X(WeclubsIMMessageLabel, VHOST, NULL) \
    X(WeclubsIMMessageMaxAge, VHOST, WCIM_STR(WCIM_DEFAULT_MESSAGE_MAX_AGE)) \
    X(WeclubsIMCallbackWindow, VHOST, WCIM_STR(WCIM_DEFAULT_CALLBACK_WINDOW)) \
    X(WeclubsIMReplayWindow, VHOST, NULL) \
    X(WeclubsIMSQL, VHOST, NULL) \
    X(WeclubsIMTokenStore, VHOST, WCIM_DEFAULT_TOKEN_STORE_TEXT) \
    X(WeclubsIMCache, GLOBAL, WCIM_DEFAULT_CACHE_PROVIDER) \
    X(WeclubsIMCacheTTL, GLOBAL, WCIM_STR(WCIM_DEFAULT_CACHE_TTL))

#endif
