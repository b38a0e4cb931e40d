SET NAMES utf8mb4;
-- Message routing (WeclubsIMMessages On): what RongCloud posted, beside the
-- weclubs tables. Loaded after schema.sql.
CREATE TABLE t_im_message (
  msg_uid VARCHAR(64) PRIMARY KEY,          -- RongCloud's msgUID: a repeat is refused
  club_id BIGINT NOT NULL,          -- from the group id im_club_id_<club_id>
  from_user VARCHAR(64) NOT NULL,           -- RongCloud user id of the sender
  object_name VARCHAR(64) NOT NULL,         -- RC:TxtMsg, RC:ImgMsg, ...
  preview TEXT NOT NULL,             -- the text, or the type's label
  msg_time BIGINT NOT NULL          -- msgTimestamp, ms
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
-- from_user too: the unread count reads the index alone
CREATE INDEX t_im_message_club_time ON t_im_message (club_id, msg_time, from_user);
CREATE TABLE t_im_group_state (
  club_id BIGINT PRIMARY KEY,       -- the group's last message, kept when
  last_msg_uid VARCHAR(64) NOT NULL,        -- old messages are pruned
  last_content TEXT NOT NULL,
  last_date BIGINT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE TABLE t_im_read_mark (
  user_id VARCHAR(64) NOT NULL,             -- RongCloud user id
  club_id BIGINT NOT NULL,
  read_time BIGINT NOT NULL,        -- lastMessageSendTime of a read sync
  PRIMARY KEY (user_id, club_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
