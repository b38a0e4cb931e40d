-- Reconciliation (WeclubsIMReconcileInterval, with WeclubsIMTokenStore db):
-- what RongCloud was last told of each student who has a token, so that a
-- background pass sends only what changed in the weclubs tables since, and
-- one lease per App Key, so that of several nodes one makes the passes.
-- Loaded after tokens.sql; a site that has tokens.sql's table already loads
-- this file alone.
CREATE TABLE t_im_rc_told (
  app_key TEXT NOT NULL,             -- the RongCloud App Key
  user_id TEXT NOT NULL,             -- RongCloud user id (im_user_id_<uid>)
  group_set TEXT NOT NULL,           -- digest of the group set last synced
  blocked INTEGER NOT NULL,          -- 0, or until when RongCloud blocks
                                     -- the student (ms)
  updated INTEGER NOT NULL,          -- when the row was written, ms
  PRIMARY KEY (app_key, user_id)
);
CREATE TABLE t_im_rc_lease (
  app_key TEXT NOT NULL PRIMARY KEY, -- the RongCloud App Key
  holder TEXT NOT NULL,              -- the node (host, process) passing
  until_ms INTEGER NOT NULL          -- when another node may take over, ms
);
