-- Message routing (WeclubsIMMessages On): what RongCloud posted, beside the
-- weclubs tables. Loaded after schema.sql.
CREATE TABLE t_im_message (
  msg_uid TEXT PRIMARY KEY,          -- RongCloud's msgUID: a repeat is refused
  club_id INTEGER NOT NULL,          -- from the group id im_club_id_<club_id>
  from_user TEXT NOT NULL,           -- RongCloud user id of the sender
  object_name TEXT NOT NULL,         -- RC:TxtMsg, RC:ImgMsg, ...
  preview TEXT NOT NULL,             -- the text, or the type's label
  msg_time INTEGER NOT NULL          -- msgTimestamp, ms
);
-- from_user too: the unread count reads the index alone
CREATE INDEX t_im_message_club_time ON t_im_message (club_id, msg_time, from_user);
CREATE TABLE t_im_group_state (
  club_id INTEGER PRIMARY KEY,       -- the group's last message, kept when
  last_msg_uid TEXT NOT NULL,        -- old messages are pruned
  last_content TEXT NOT NULL,
  last_date INTEGER NOT NULL
);
CREATE TABLE t_im_read_mark (
  user_id TEXT NOT NULL,             -- RongCloud user id
  club_id INTEGER NOT NULL,
  read_time INTEGER NOT NULL,        -- lastMessageSendTime of a read sync
  PRIMARY KEY (user_id, club_id)
);
