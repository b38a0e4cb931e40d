-- weclubs tables read by mod_weclubs_im (MySQL/MariaDB). Same table and
-- column names as the weclubs MySQL database; utf8mb4 for Chinese and emoji.
SET NAMES utf8mb4;
CREATE TABLE t_student (
  student_id BIGINT AUTO_INCREMENT PRIMARY KEY,  -- 自增id
  school_id INTEGER,  -- t_school外键，学校id
  mobile VARCHAR(32) NOT NULL,  -- 手机号码
  nick_name VARCHAR(128),  -- 昵称
  real_name VARCHAR(128),  -- 真实姓名
  password TEXT,  -- 用户密码
  avatar_url TEXT,  -- 头像地址
  birthday TEXT,  -- 生日，时间戳的字符串形式保存
  qrcode_url TEXT,  -- 个人二维码地址
  class_name TEXT,  -- 班级名称
  graduate_year INTEGER,  -- 年级，例如2014级的话存2014
  status INTEGER NOT NULL DEFAULT 0,  -- 学生状态，0未认证，1已认证，2已毕业，3认证失败，4冻结
  is_del INTEGER NOT NULL DEFAULT 0  -- 是否删除，0未删除，1删除
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE TABLE t_club (
  club_id BIGINT AUTO_INCREMENT PRIMARY KEY,  -- 自增id
  school_id INTEGER NOT NULL,  -- 学校id，对应的是t_chool.id
  name VARCHAR(128) NOT NULL,  -- 社团名称
  introduction TEXT,  -- 社团简介
  slogan TEXT,  -- 社团口号
  avatar_url TEXT,  -- 社团的头像logo地址
  is_auth INTEGER NOT NULL DEFAULT 0,  -- 是否认证，默认为0；0未认证，1已认证
  level INTEGER NOT NULL DEFAULT 2,  -- 社团等级，0校级组织，1院系组织，2兴趣社团，3班级组织，4私下组织
  status INTEGER NOT NULL DEFAULT 0,  -- 社团的状态，0待审核，1审核通过，2审核失败，3冻结状态
  check_count INTEGER NOT NULL DEFAULT 0  -- 社团的查看次数，新建的社团为0开始
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE TABLE t_club_graduate (
  club_graduate_id BIGINT AUTO_INCREMENT PRIMARY KEY,  -- 自增id
  club_id BIGINT NOT NULL,  -- 社团id，社团t_club.id
  graduate_count INTEGER NOT NULL,  -- 社团届数，例如10、9
  graduate_name TEXT,  -- 社团届数名称，例如第十届团学
  departments TEXT,  -- 社团的部门，格式为t_club_department的id字符串，逗号隔开。例如：1,2,3
  jobs TEXT,  -- 社团的职位，格式为josn数据，职位和权限对等，例如：[{"2":"1,2,5"},{"3":"3,2,4"}]
  is_current INTEGER NOT NULL DEFAULT 0  -- 是否为当前显示的届数，0否，1是；默认为0
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE TABLE t_student_club_graduate_relation (
  stu_clu_gra_rel_id BIGINT AUTO_INCREMENT PRIMARY KEY,  -- 自增id
  graduate_id BIGINT NOT NULL,  -- 届数id，t_club_graduate.id
  student_id BIGINT NOT NULL,  -- 学生id，t_student.id
  status INTEGER NOT NULL,  -- 当前学生在此届社团的状态，0已退出，1仍在职，2拒绝加入
  department_id INTEGER,  -- 对应的社团部门id
  job_id INTEGER,  -- 对应的社团职位id
  super_admin INTEGER NOT NULL,  -- 是否为当届的超级管理员，相当于创建者
  is_del INTEGER NOT NULL DEFAULT 0  -- 是否删除，0未删除，1删除
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE TABLE t_token (
  uid BIGINT NOT NULL,  -- 用户id，对应的是t_student.id
  token VARCHAR(255) NOT NULL,  -- token值
  caller VARCHAR(64) NOT NULL,  -- caller值，一般是固定指定的值
  create_date BIGINT NOT NULL  -- token的创建时间戳
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE UNIQUE INDEX t_token_uid_caller ON t_token (uid, caller);
CREATE INDEX t_scgr_student ON t_student_club_graduate_relation (student_id);
CREATE INDEX t_club_graduate_club ON t_club_graduate (club_id);
