#include "wcim_result.h"

int wcim_result_of(apr_status_t rv)
{
    if (rv == APR_SUCCESS) {
        return WCIM_RC_OK;
    }
    return WCIM_STATUS_IS(rv) ? (int)(rv - APR_OS_START_USERERR)
                              : WCIM_RC_INTERNAL;
}

const char *wcim_result_msg(int code)
{
    switch (code) {
    case WCIM_RC_OK:            return "请求成功";
    case WCIM_RC_FAILED:        return "请求失败";
    case WCIM_RC_ILLEGAL_PARAM: return "参数违法";
    case WCIM_RC_EMPTY_PARAM:   return "请求参数为空";
    case WCIM_RC_BAD_SIGN:      return "签名违法";
    case WCIM_RC_BAD_CALLER:    return "caller值违法";
    case WCIM_RC_NO_USER_ID:    return "没有携带user_id";
    case WCIM_RC_NO_TOKEN:      return "没有携带token";
    case WCIM_RC_TOKEN_INVALID: return "token失效";
    case WCIM_RC_BAD_PASSWORD:  return "密码错误";
    case WCIM_RC_NO_PERMISSION: return "用户没有权限";
    case WCIM_RC_NO_SUCH_USER:  return "找不到该用户";
    case WCIM_RC_BAD_METHOD:    return "违法的请求方法";
    case WCIM_RC_NO_SUCH_API:   return "不存在该请求方法";
    default:                    return "程序出错";
    }
}
