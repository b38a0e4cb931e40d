/* A routed group message, as message routing (wcim_route_parse.c) reads it
 * and the store (wcim_store.c) keeps it: neither needs the other's
 * headers for it. */
#ifndef WCIM_MESSAGE_H
#define WCIM_MESSAGE_H

#include <apr.h>

/* A group message as routed by RongCloud. */
typedef struct wcim_message_t {
    const char *uid;          /* msgUID */
    apr_int64_t club_id;
    const char *from_user;    /* RongCloud user id */
    const char *object_name;  /* RC:TxtMsg, ... */
    const char *preview;      /* the text, or the type's label */
    apr_int64_t time;         /* msgTimestamp, ms */
    const char *recalled_uid; /* a recall: the msgUID it takes back */
} wcim_message_t;

#endif
