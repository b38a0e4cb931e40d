SET NAMES utf8mb4;
-- Reconciliation (WeclubsIMReconcileInterval, with WeclubsIMTokenStore db):
-- what RongCloud was last told of each student who has a token, so that a
-- background pass sends only what changed in the weclubs tables since, and
-- one lease per App Key, so that of several nodes one makes the passes.
-- Loaded after tokens.sql; a site that has tokens.sql's table already loads
-- this file alone.
CREATE TABLE t_im_rc_told (
  app_key VARCHAR(64) NOT NULL,             -- the RongCloud App Key
  user_id VARCHAR(64) NOT NULL,             -- RongCloud user id (im_user_id_<uid>)
  group_set VARCHAR(64) NOT NULL,           -- digest of the group set last synced
  blocked BIGINT NOT NULL,                  -- 0, or until when RongCloud blocks
                                            -- the student (ms)
  updated BIGINT NOT NULL,                  -- when the row was written, ms
  PRIMARY KEY (app_key, user_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE TABLE t_im_rc_lease (
  app_key VARCHAR(64) NOT NULL PRIMARY KEY, -- the RongCloud App Key
  holder VARCHAR(128) NOT NULL,             -- the node (host, process) passing
  until_ms BIGINT NOT NULL                  -- when another node may take over, ms
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
