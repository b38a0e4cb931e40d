/* Result codes of the weclubs API and how the core carries them.
 *
 * A protocol refusal travels as an apr_status_t in APR's user error range,
 * so every core function can keep the one-status-return convention and the
 * glue turns the status back into a result_code at the single exit. */
#ifndef WCIM_RESULT_H
#define WCIM_RESULT_H

#include <apr_errno.h>

typedef enum {
    WCIM_RC_OK            = 2000,  /* 请求成功 */
    WCIM_RC_FAILED        = 3000,  /* 请求失败 */
    WCIM_RC_ILLEGAL_PARAM = 3001,  /* 参数违法 */
    WCIM_RC_EMPTY_PARAM   = 3002,  /* 请求参数为空 */
    WCIM_RC_BAD_SIGN      = 3003,  /* 签名违法 */
    WCIM_RC_BAD_CALLER    = 3004,  /* caller值违法 */
    WCIM_RC_NO_USER_ID    = 3005,  /* 没有携带user_id */
    WCIM_RC_NO_TOKEN      = 3006,  /* 没有携带token */
    WCIM_RC_TOKEN_INVALID = 3010,  /* token失效 */
    WCIM_RC_BAD_PASSWORD  = 3011,  /* 密码错误 */
    WCIM_RC_NO_PERMISSION = 3012,  /* 用户没有权限 */
    WCIM_RC_NO_SUCH_USER  = 3014,  /* 找不到该用户 */
    WCIM_RC_BAD_METHOD    = 3100,  /* 违法的请求方法 */
    WCIM_RC_NO_SUCH_API   = 3101,  /* 不存在该请求方法 */
    WCIM_RC_INTERNAL      = 5000   /* 程序出错 */
} wcim_result_t;

#define WCIM_STATUS(code)      (APR_OS_START_USERERR + (code))
#define WCIM_STATUS_IS(rv)     ((rv) > APR_OS_START_USERERR \
                                && (rv) < APR_OS_START_USERERR + 10000)

/* The result_code a core status stands for: 2000 for success, the carried
 * code for a protocol refusal, 5000 for anything else (a system error). */
int wcim_result_of(apr_status_t rv);

/* The standard result_msg of a code (UTF-8, JSON-safe as is). */
const char *wcim_result_msg(int code);

#endif
