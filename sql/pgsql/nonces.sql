-- Message routing (WeclubsIMMessages On): the nonces of RongCloud's posts
-- already taken, so that one signed query string stores one post however
-- many connections, processes or nodes it reaches at once (the primary key
-- lets one INSERT win). Loaded after messages.sql; a site that has the
-- tables of messages.sql already loads this file alone.
CREATE TABLE t_im_nonce (
  nonce_key VARCHAR(40) PRIMARY KEY, -- hex SHA1 of "<nonce>:<signTimestamp>"
  used_at BIGINT NOT NULL            -- when it was taken, ms; pruned after
                                     -- twice WeclubsIMCallbackWindow
);
CREATE INDEX t_im_nonce_used ON t_im_nonce (used_at);
