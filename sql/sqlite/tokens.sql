-- RongCloud tokens (WeclubsIMTokenStore db): each user's token, kept beside
-- the weclubs tables so that an emptied cache costs a read here, not a
-- getToken call to RongCloud. Loaded after schema.sql.
CREATE TABLE t_im_rc_token (
  app_key TEXT NOT NULL,             -- the RongCloud App Key that issued it
  user_id TEXT NOT NULL,             -- RongCloud user id (im_user_id_<uid>)
  secret_tag TEXT NOT NULL,          -- which App Secret issued it: a secret
                                     -- refreshed in RongCloud's console
                                     -- invalidates all tokens
  profile TEXT NOT NULL,             -- digest of the name and portrait
                                     -- RongCloud was given
  token TEXT NOT NULL,               -- the RongCloud token
  updated INTEGER NOT NULL,          -- when the row was written, ms
  PRIMARY KEY (app_key, user_id)
);
