-- Extra rows for the Apache::Test suite, loaded by t/TEST.PL after
-- sql/sqlite/schema.sql and sql/sqlite/demo-data.sql (the demo rows stay
-- untouched: the seed example, user 38, is asserted against them).
--
-- Every id here is >= 100 so nothing collides with the demo data.
-- Passwords are 'pw<student_id>'.
--
-- t_token rows whose token is '@auto@' are completed by t/TEST.PL at build
-- time: their create_date here is MINUS the token's age in milliseconds
-- (-3600000 = made one hour ago); TEST.PL sets create_date = now - age and
-- token = base64(md5hex(md5hex(password + uid) + caller) + "_date=" +
-- create_date), the formula of protocol.md section 4. Rows with a literal
-- token are kept as written (deliberately broken tokens).
BEGIN;

-- Clubs ---------------------------------------------------------------------
--  100 篮球社              approved, avatar
--  101 读书会              approved, avatar NULL
--  102 摄影协会            approved, avatar
--  103 待审核社团          status 0 (waiting for approval)   -> never listed
--  104 审核失败社团        status 2 (refused)                -> never listed
--  105 冻结社团            status 3 (frozen)                 -> never listed
--  106 往届社团            approved; its current term has no test member
--  107 A&B=C+D 100% 社     approved; name needs percent-encoding in group/sync
--  108 双当届社团          approved; two terms both marked current
INSERT INTO t_club (club_id, school_id, name, introduction, slogan, avatar_url, is_auth, level, status, check_count) VALUES
(100, 1, '篮球社', NULL, NULL, 'http://img.example.com/club/100.png', 1, 2, 1, 0),
(101, 1, '读书会', NULL, NULL, NULL, 1, 2, 1, 0),
(102, 1, '摄影协会', NULL, NULL, 'http://img.example.com/club/102.jpg?s=1&t=2', 1, 2, 1, 0),
(103, 1, '待审核社团', NULL, NULL, 'http://img.example.com/club/103.png', 0, 2, 0, 0),
(104, 1, '审核失败社团', NULL, NULL, 'http://img.example.com/club/104.png', 0, 2, 2, 0),
(105, 1, '冻结社团', NULL, NULL, 'http://img.example.com/club/105.png', 1, 2, 3, 0),
(106, 1, '往届社团', NULL, NULL, 'http://img.example.com/club/106.png', 1, 2, 1, 0),
(107, 1, 'A&B=C+D 100% 社', NULL, NULL, 'http://img.example.com/club/107.png', 1, 2, 1, 0),
(108, 1, '双当届社团', NULL, NULL, 'http://img.example.com/club/108.png', 1, 2, 1, 0);

-- Graduate terms (is_current = 1 is the club's current term); 102 and 103
-- are swapped on purpose (term order differs from club order) -------------
INSERT INTO t_club_graduate (club_graduate_id, club_id, graduate_count, graduate_name, departments, jobs, is_current) VALUES
(100, 100, 2, '篮球社第二届', NULL, NULL, 1),
(101, 100, 1, '篮球社第一届', NULL, NULL, 0),
(102, 102, 1, '摄影协会第一届', NULL, NULL, 1),
(103, 101, 1, '读书会第一届', NULL, NULL, 1),
(104, 103, 1, '待审核社团第一届', NULL, NULL, 1),
(105, 104, 1, '审核失败社团第一届', NULL, NULL, 1),
(106, 105, 1, '冻结社团第一届', NULL, NULL, 1),
(107, 106, 1, '往届社团第一届', NULL, NULL, 0),
(108, 106, 2, '往届社团第二届', NULL, NULL, 1),
(109, 107, 1, 'A&B第一届', NULL, NULL, 1),
(110, 108, 1, '双当届社团甲', NULL, NULL, 1),
(111, 108, 2, '双当届社团乙', NULL, NULL, 1);

-- Students ------------------------------------------------------------------
-- Group-list users (t/05-group-list.t), expected clubs after the arrow:
--  100 no membership at all                                  -> null
--  101 member of 100                                         -> [100]
--  102 member of 102, 100, 101 (rows in that order; ordering by row id,
--      term id or name would each give another order)      -> [100,101,102]
--  110 quit (status 0) in 100, member of 107                 -> [107]
--  111 refused (status 2) in 100, member of 107              -> [107]
--  112 deleted relation (is_del 1) in 100, member of 107     -> [107]
--  113 member of 100's old term only, member of 107          -> [107]
--  114 member of 103 (club waiting), member of 107           -> [107]
--  115 member of 104 (club refused), member of 107           -> [107]
--  116 member of 105 (club frozen), member of 107            -> [107]
--  117 two relation rows in 100's current term               -> [100]
--  118 member of both current terms of 108                   -> [108]
--  119 member of 106's old term only                         -> null
-- Group-sync users (t/06-group-sync.t):
--  120 member of 100 and 107                                 -> [100,107]
--  121 no membership (first sync carries no group at all)    -> null
--  122 member of 100, asked on the GroupSync Off vhost       -> [100]
--  123 member of 101, first sync fails (stand-in e503)       -> [101]
--  124 member of 100; the test then sets the row to quit     -> [100], then null
--  125 no membership; its first sync hangs (stand-in hang)   -> null
-- get_token users (t/07-get-token.t), display name rule real -> nick ->
-- the RongCloud user id:
--  130 real 张三, nick zs                       name 张三, portrait set
--  131 real '', nick 小明                       name 小明
--  132 real NULL, nick NULL, avatar NULL        name im_user_id_132, portraitUri ""
--  133 real 'Tom & Jerry = A+B C%' (& = + space %), avatar with a query string
--  134 real '', nick '', avatar ''              name im_user_id_134, portraitUri ""
--  135 deleted student (is_del 1), has a token  -> 3014
--  136 (no t_student row; t_token row only)     -> 3014
--  137 real NULL, nick nick137                  name nick137
--  138 real name of 30 characters (set by the test) name sent whole
--  139 avatar over 1024 bytes (set by the test)   no portraitUri
--  140..152 one user per RongCloud failure mode (see the test), 153..155 the
--  fail-over vhost, 156..157 the file-secret vhost; all 'fail<id>'.
-- Token users (t/04-token.t):
--  160 chrome_test token made 8 days ago        expired where lifetime is 7 days
--  161 chrome_test token made 1 hour ago        valid everywhere
--  162 chrome_test token made 7 days - 10 min ago, valid where lifetime is 7 days
--  163 stored token is base64 without "_date="  -> 3010 even though it matches
--  164 stored token's date part != create_date  -> 3010 even though it matches
--  165 stored token is not base64               -> 3010 even though it matches
-- Caller users (t/03-signature.t): 170 has tokens for partner_app and chrome_test.
-- Concurrency users (t/08-concurrency.t): 180..187.
INSERT INTO t_student (student_id, school_id, mobile, nick_name, real_name, password, avatar_url, birthday, qrcode_url, class_name, graduate_year, status, is_del) VALUES
(100, 1, '13900000100', 'u100', 'u100', 'pw100', NULL, NULL, NULL, NULL, 2016, 1, 0),
(101, 1, '13900000101', 'u101', 'u101', 'pw101', NULL, NULL, NULL, NULL, 2016, 1, 0),
(102, 1, '13900000102', 'u102', 'u102', 'pw102', NULL, NULL, NULL, NULL, 2016, 1, 0),
(110, 1, '13900000110', 'u110', 'u110', 'pw110', NULL, NULL, NULL, NULL, 2016, 1, 0),
(111, 1, '13900000111', 'u111', 'u111', 'pw111', NULL, NULL, NULL, NULL, 2016, 1, 0),
(112, 1, '13900000112', 'u112', 'u112', 'pw112', NULL, NULL, NULL, NULL, 2016, 1, 0),
(113, 1, '13900000113', 'u113', 'u113', 'pw113', NULL, NULL, NULL, NULL, 2016, 1, 0),
(114, 1, '13900000114', 'u114', 'u114', 'pw114', NULL, NULL, NULL, NULL, 2016, 1, 0),
(115, 1, '13900000115', 'u115', 'u115', 'pw115', NULL, NULL, NULL, NULL, 2016, 1, 0),
(116, 1, '13900000116', 'u116', 'u116', 'pw116', NULL, NULL, NULL, NULL, 2016, 1, 0),
(117, 1, '13900000117', 'u117', 'u117', 'pw117', NULL, NULL, NULL, NULL, 2016, 1, 0),
(118, 1, '13900000118', 'u118', 'u118', 'pw118', NULL, NULL, NULL, NULL, 2016, 1, 0),
(119, 1, '13900000119', 'u119', 'u119', 'pw119', NULL, NULL, NULL, NULL, 2016, 1, 0),
(120, 1, '13900000120', 'u120', 'u120', 'pw120', NULL, NULL, NULL, NULL, 2016, 1, 0),
(121, 1, '13900000121', 'u121', 'u121', 'pw121', NULL, NULL, NULL, NULL, 2016, 1, 0),
(122, 1, '13900000122', 'u122', 'u122', 'pw122', NULL, NULL, NULL, NULL, 2016, 1, 0),
(123, 1, '13900000123', 'u123', 'u123', 'pw123', NULL, NULL, NULL, NULL, 2016, 1, 0),
(124, 1, '13900000124', 'u124', 'u124', 'pw124', NULL, NULL, NULL, NULL, 2016, 1, 0),
(125, 1, '13900000125', 'u125', 'u125', 'pw125', NULL, NULL, NULL, NULL, 2016, 1, 0),
(130, 1, '13900000130', 'zs', '张三', 'pw130', 'http://img.example.com/u/130.png', NULL, NULL, NULL, 2016, 1, 0),
(131, 1, '13900000131', '小明', '', 'pw131', 'http://img.example.com/u/131.png', NULL, NULL, NULL, 2016, 1, 0),
(132, 1, '13900000132', NULL, NULL, 'pw132', NULL, NULL, NULL, NULL, 2016, 1, 0),
(133, 1, '13900000133', 'tj', 'Tom & Jerry = A+B C%', 'pw133', 'http://img.example.com/u/133.png?size=large&v=1+2', NULL, NULL, NULL, 2016, 1, 0),
(134, 1, '13900000134', '', '', 'pw134', '', NULL, NULL, NULL, 2016, 1, 0),
(135, 1, '13900000135', 'gone', '已删除', 'pw135', NULL, NULL, NULL, NULL, 2016, 1, 1),
(137, 1, '13900000137', 'nick137', NULL, 'pw137', 'http://img.example.com/u/137.png', NULL, NULL, NULL, 2016, 1, 0),
(138, 1, '13900000138', 'nick138', 'long138', 'pw138', 'http://img.example.com/u/138.png', NULL, NULL, NULL, 2016, 1, 0),
(139, 1, '13900000139', 'nick139', '长头像', 'pw139', 'http://img.example.com/u/139.png', NULL, NULL, NULL, 2016, 1, 0),
(140, 1, '13900000140', 'f', 'fail140', 'pw140', NULL, NULL, NULL, NULL, 2016, 1, 0),
(141, 1, '13900000141', 'f', 'fail141', 'pw141', NULL, NULL, NULL, NULL, 2016, 1, 0),
(142, 1, '13900000142', 'f', 'fail142', 'pw142', NULL, NULL, NULL, NULL, 2016, 1, 0),
(143, 1, '13900000143', 'f', 'fail143', 'pw143', NULL, NULL, NULL, NULL, 2016, 1, 0),
(144, 1, '13900000144', 'f', 'fail144', 'pw144', NULL, NULL, NULL, NULL, 2016, 1, 0),
(145, 1, '13900000145', 'f', 'fail145', 'pw145', NULL, NULL, NULL, NULL, 2016, 1, 0),
(146, 1, '13900000146', 'f', 'fail146', 'pw146', NULL, NULL, NULL, NULL, 2016, 1, 0),
(147, 1, '13900000147', 'f', 'fail147', 'pw147', NULL, NULL, NULL, NULL, 2016, 1, 0),
(148, 1, '13900000148', 'f', 'fail148', 'pw148', NULL, NULL, NULL, NULL, 2016, 1, 0),
(149, 1, '13900000149', 'f', 'fail149', 'pw149', NULL, NULL, NULL, NULL, 2016, 1, 0),
(150, 1, '13900000150', 'f', 'fail150', 'pw150', NULL, NULL, NULL, NULL, 2016, 1, 0),
(151, 1, '13900000151', 'f', 'fail151', 'pw151', NULL, NULL, NULL, NULL, 2016, 1, 0),
(152, 1, '13900000152', 'f', 'fail152', 'pw152', NULL, NULL, NULL, NULL, 2016, 1, 0),
(153, 1, '13900000153', 'f', 'fail153', 'pw153', NULL, NULL, NULL, NULL, 2016, 1, 0),
(154, 1, '13900000154', 'f', 'fail154', 'pw154', NULL, NULL, NULL, NULL, 2016, 1, 0),
(155, 1, '13900000155', 'f', 'fail155', 'pw155', NULL, NULL, NULL, NULL, 2016, 1, 0),
(156, 1, '13900000156', 'f', 'fail156', 'pw156', NULL, NULL, NULL, NULL, 2016, 1, 0),
(157, 1, '13900000157', 'f', 'fail157', 'pw157', NULL, NULL, NULL, NULL, 2016, 1, 0),
(160, 1, '13900000160', 'u160', 'u160', 'pw160', NULL, NULL, NULL, NULL, 2016, 1, 0),
(161, 1, '13900000161', 'u161', 'u161', 'pw161', NULL, NULL, NULL, NULL, 2016, 1, 0),
(162, 1, '13900000162', 'u162', 'u162', 'pw162', NULL, NULL, NULL, NULL, 2016, 1, 0),
(163, 1, '13900000163', 'u163', 'u163', 'pw163', NULL, NULL, NULL, NULL, 2016, 1, 0),
(164, 1, '13900000164', 'u164', 'u164', 'pw164', NULL, NULL, NULL, NULL, 2016, 1, 0),
(165, 1, '13900000165', 'u165', 'u165', 'pw165', NULL, NULL, NULL, NULL, 2016, 1, 0),
(170, 1, '13900000170', 'u170', 'u170', 'pw170', NULL, NULL, NULL, NULL, 2016, 1, 0),
(180, 1, '13900000180', 'c', 'conc180', 'pw180', NULL, NULL, NULL, NULL, 2016, 1, 0),
(181, 1, '13900000181', 'c', 'conc181', 'pw181', NULL, NULL, NULL, NULL, 2016, 1, 0),
(182, 1, '13900000182', 'c', 'conc182', 'pw182', NULL, NULL, NULL, NULL, 2016, 1, 0),
(183, 1, '13900000183', 'c', 'conc183', 'pw183', NULL, NULL, NULL, NULL, 2016, 1, 0),
(184, 1, '13900000184', 'c', 'conc184', 'pw184', NULL, NULL, NULL, NULL, 2016, 1, 0),
(185, 1, '13900000185', 'c', 'conc185', 'pw185', NULL, NULL, NULL, NULL, 2016, 1, 0),
(186, 1, '13900000186', 'c', 'conc186', 'pw186', NULL, NULL, NULL, NULL, 2016, 1, 0),
(187, 1, '13900000187', 'c', 'conc187', 'pw187', NULL, NULL, NULL, NULL, 2016, 1, 0);

-- Memberships (status: 0 quit, 1 active, 2 refused) ------------------------
INSERT INTO t_student_club_graduate_relation (stu_clu_gra_rel_id, graduate_id, student_id, status, department_id, job_id, super_admin, is_del) VALUES
(100, 100, 101, 1, NULL, NULL, 0, 0),
(101, 102, 102, 1, NULL, NULL, 0, 0),
(102, 100, 102, 1, NULL, NULL, 0, 0),
(103, 103, 102, 1, NULL, NULL, 0, 0),
(110, 100, 110, 0, NULL, NULL, 0, 0),
(111, 109, 110, 1, NULL, NULL, 0, 0),
(112, 100, 111, 2, NULL, NULL, 0, 0),
(113, 109, 111, 1, NULL, NULL, 0, 0),
(114, 100, 112, 1, NULL, NULL, 0, 1),
(115, 109, 112, 1, NULL, NULL, 0, 0),
(116, 101, 113, 1, NULL, NULL, 0, 0),
(117, 109, 113, 1, NULL, NULL, 0, 0),
(118, 104, 114, 1, NULL, NULL, 0, 0),
(119, 109, 114, 1, NULL, NULL, 0, 0),
(120, 105, 115, 1, NULL, NULL, 0, 0),
(121, 109, 115, 1, NULL, NULL, 0, 0),
(122, 106, 116, 1, NULL, NULL, 0, 0),
(123, 109, 116, 1, NULL, NULL, 0, 0),
(124, 100, 117, 1, 1, 1, 0, 0),
(125, 100, 117, 1, 2, 2, 0, 0),
(126, 110, 118, 1, NULL, NULL, 0, 0),
(127, 111, 118, 1, NULL, NULL, 0, 0),
(128, 107, 119, 1, NULL, NULL, 0, 0),
(130, 109, 120, 1, NULL, NULL, 0, 0),
(131, 100, 120, 1, NULL, NULL, 0, 0),
(132, 100, 122, 1, NULL, NULL, 0, 0),
(133, 103, 123, 1, NULL, NULL, 0, 0),
(134, 100, 124, 1, NULL, NULL, 0, 0);

-- Tokens --------------------------------------------------------------------
INSERT INTO t_token (uid, token, caller, create_date) VALUES
(100, '@auto@', 'chrome_test', -3600000),
(101, '@auto@', 'chrome_test', -3600000),
(102, '@auto@', 'chrome_test', -3600000),
(110, '@auto@', 'chrome_test', -3600000),
(111, '@auto@', 'chrome_test', -3600000),
(112, '@auto@', 'chrome_test', -3600000),
(113, '@auto@', 'chrome_test', -3600000),
(114, '@auto@', 'chrome_test', -3600000),
(115, '@auto@', 'chrome_test', -3600000),
(116, '@auto@', 'chrome_test', -3600000),
(117, '@auto@', 'chrome_test', -3600000),
(118, '@auto@', 'chrome_test', -3600000),
(119, '@auto@', 'chrome_test', -3600000),
(120, '@auto@', 'chrome_test', -3600000),
(121, '@auto@', 'chrome_test', -3600000),
(122, '@auto@', 'chrome_test', -3600000),
(123, '@auto@', 'chrome_test', -3600000),
(124, '@auto@', 'chrome_test', -3600000),
(125, '@auto@', 'chrome_test', -3600000),
(130, '@auto@', 'chrome_test', -3600000),
(131, '@auto@', 'chrome_test', -3600000),
(132, '@auto@', 'chrome_test', -3600000),
(133, '@auto@', 'chrome_test', -3600000),
(134, '@auto@', 'chrome_test', -3600000),
(135, '@auto@', 'chrome_test', -3600000),
(136, '@auto@', 'chrome_test', -3600000),
(137, '@auto@', 'chrome_test', -3600000),
(138, '@auto@', 'chrome_test', -3600000),
(139, '@auto@', 'chrome_test', -3600000),
(140, '@auto@', 'chrome_test', -3600000),
(141, '@auto@', 'chrome_test', -3600000),
(142, '@auto@', 'chrome_test', -3600000),
(143, '@auto@', 'chrome_test', -3600000),
(144, '@auto@', 'chrome_test', -3600000),
(145, '@auto@', 'chrome_test', -3600000),
(146, '@auto@', 'chrome_test', -3600000),
(147, '@auto@', 'chrome_test', -3600000),
(148, '@auto@', 'chrome_test', -3600000),
(149, '@auto@', 'chrome_test', -3600000),
(150, '@auto@', 'chrome_test', -3600000),
(151, '@auto@', 'chrome_test', -3600000),
(152, '@auto@', 'chrome_test', -3600000),
(153, '@auto@', 'chrome_test', -3600000),
(154, '@auto@', 'chrome_test', -3600000),
(155, '@auto@', 'chrome_test', -3600000),
(156, '@auto@', 'chrome_test', -3600000),
(157, '@auto@', 'chrome_test', -3600000),
(160, '@auto@', 'chrome_test', -691200000),
(161, '@auto@', 'chrome_test', -3600000),
(162, '@auto@', 'chrome_test', -604200000),
-- 163: base64(md5hex(md5hex('pw163163') + 'chrome_test')), no "_date=" part
(163, 'MjU2ZThiNzhlYmEzZWZiZmFiM2FhNzU4ZDhiYmZlM2Q=', 'chrome_test', 1500000000000),
-- 164: base64(md5hex(md5hex('pw164164') + 'chrome_test') + '_date=1500000000001')
(164, 'MmQ4M2FjNWFhZWZlYmQ0ZDNhNGUwYzhjMzU4NWUwNmVfZGF0ZT0xNTAwMDAwMDAwMDAx', 'chrome_test', 1500000000000),
(165, '!!not*base64!!', 'chrome_test', 1500000000000),
(170, '@auto@', 'partner_app', -3600000),
(170, '@auto@', 'chrome_test', -3600000),
(180, '@auto@', 'chrome_test', -3600000),
(181, '@auto@', 'chrome_test', -3600000),
(182, '@auto@', 'chrome_test', -3600000),
(183, '@auto@', 'chrome_test', -3600000),
(184, '@auto@', 'chrome_test', -3600000),
(185, '@auto@', 'chrome_test', -3600000),
(186, '@auto@', 'chrome_test', -3600000),
(187, '@auto@', 'chrome_test', -3600000);

-- RongCloud resilience and caching (t/09-rongcloud.t), and WeclubsIMSQL
-- (t/10-sql.t). Users 200-239: one per case, so that cached tokens and
-- failover state of one case do not leak into another.
--  200-209 token cache: repeated calls, name change, portrait change,
--          name and portrait too long, names emptied
--  210     100 concurrent get_token while uncached
--  211     group list called 50 times; then a membership change
--  212     quit club 100 (status 0) and active in club 102: the old
--          server's query (ignores status) lists both
--  220-229 failover (primary hangs, 503, both down, rate limited)
--  230-231 TLS with and without the test CA
--  232     a primary that never answers a connection (connect time limit)
--  233-236 a long outage of the primary: the backup stays in use
INSERT INTO t_student (student_id, school_id, mobile, nick_name, real_name, password, avatar_url, status, is_del) VALUES
(200, 1, '13900000200', '缓存', '缓存二百', 'pw200', 'http://img.example.com/u/200.png', 1, 0),
(201, 1, '13900000201', NULL, '改名前', 'pw201', 'http://img.example.com/u/201.png', 1, 0),
(202, 1, '13900000202', NULL, '换头像', 'pw202', 'http://img.example.com/u/202.png', 1, 0),
(203, 1, '13900000203', NULL, '变长', 'pw203', 'http://img.example.com/u/203.png', 1, 0),
(204, 1, '13900000204', '变空', '变空', 'pw204', 'http://img.example.com/u/204.png', 1, 0),
(210, 1, '13900000210', NULL, '并发', 'pw210', NULL, 1, 0),
(211, 1, '13900000211', NULL, '同步五十次', 'pw211', NULL, 1, 0),
(212, 1, '13900000212', NULL, '退社', 'pw212', NULL, 1, 0),
(220, 1, '13900000220', NULL, '主挂', 'pw220', NULL, 1, 0),
(221, 1, '13900000221', NULL, '主挂之后', 'pw221', NULL, 1, 0),
(222, 1, '13900000222', NULL, '主503', 'pw222', NULL, 1, 0),
(223, 1, '13900000223', NULL, '主503之后', 'pw223', NULL, 1, 0),
(224, 1, '13900000224', NULL, '全挂', 'pw224', NULL, 1, 0),
(225, 1, '13900000225', NULL, '拒连', 'pw225', NULL, 1, 0),
(226, 1, '13900000226', NULL, '拒连之后', 'pw226', NULL, 1, 0),
(227, 1, '13900000227', NULL, '4xx不重试', 'pw227', NULL, 1, 0),
(228, 1, '13900000228', NULL, '限流429', 'pw228', NULL, 1, 0),
(229, 1, '13900000229', NULL, '限流1008', 'pw229', NULL, 1, 0),
(230, 1, '13900000230', NULL, '无CA', 'pw230', NULL, 1, 0),
(231, 1, '13900000231', NULL, '有CA', 'pw231', NULL, 1, 0),
(232, 1, '13900000232', NULL, '连不上', 'pw232', NULL, 1, 0),
(233, 1, '13900000233', NULL, '长停', 'pw233', NULL, 1, 0),
(234, 1, '13900000234', NULL, '长停之后', 'pw234', NULL, 1, 0),
(235, 1, '13900000235', NULL, '备挂', 'pw235', NULL, 1, 0),
(236, 1, '13900000236', NULL, '备挂之后', 'pw236', NULL, 1, 0);
INSERT INTO t_student_club_graduate_relation (stu_clu_gra_rel_id, graduate_id, student_id, status, department_id, job_id, super_admin, is_del) VALUES
(2000, 100, 211, 1, NULL, NULL, 0, 0),
(2001, 100, 212, 0, NULL, NULL, 0, 0),
(2002, 102, 212, 1, NULL, NULL, 0, 0);
INSERT INTO t_token (uid, token, caller, create_date) VALUES
(200, '@auto@', 'chrome_test', -3600000),
(201, '@auto@', 'chrome_test', -3600000),
(202, '@auto@', 'chrome_test', -3600000),
(203, '@auto@', 'chrome_test', -3600000),
(204, '@auto@', 'chrome_test', -3600000),
(210, '@auto@', 'chrome_test', -3600000),
(211, '@auto@', 'chrome_test', -3600000),
(212, '@auto@', 'chrome_test', -3600000),
(220, '@auto@', 'chrome_test', -3600000),
(221, '@auto@', 'chrome_test', -3600000),
(222, '@auto@', 'chrome_test', -3600000),
(223, '@auto@', 'chrome_test', -3600000),
(224, '@auto@', 'chrome_test', -3600000),
(225, '@auto@', 'chrome_test', -3600000),
(226, '@auto@', 'chrome_test', -3600000),
(227, '@auto@', 'chrome_test', -3600000),
(228, '@auto@', 'chrome_test', -3600000),
(229, '@auto@', 'chrome_test', -3600000),
(230, '@auto@', 'chrome_test', -3600000),
(231, '@auto@', 'chrome_test', -3600000),
(232, '@auto@', 'chrome_test', -3600000),
(233, '@auto@', 'chrome_test', -3600000),
(234, '@auto@', 'chrome_test', -3600000),
(235, '@auto@', 'chrome_test', -3600000),
(236, '@auto@', 'chrome_test', -3600000);


-- Message routing (t/14-routing.t): users 240 and 241 in club 102 (摄影协会),
-- user 243 in club 108; club 100 gets a message older than the vhost's
-- WeclubsIMMessageMaxAge.
INSERT INTO t_student (student_id, school_id, mobile, nick_name, real_name, password, avatar_url, status, is_del) VALUES
(240, 1, '13900000240', NULL, '读消息', 'pw240', NULL, 1, 0),
(241, 1, '13900000241', NULL, '发消息', 'pw241', NULL, 1, 0),
(243, 1, '13900000243', NULL, '旧消息', 'pw243', NULL, 1, 0);
INSERT INTO t_student_club_graduate_relation (stu_clu_gra_rel_id, graduate_id, student_id, status, department_id, job_id, super_admin, is_del) VALUES
(2400, 102, 240, 1, NULL, NULL, 0, 0),
(2401, 102, 241, 1, NULL, NULL, 0, 0),
(2403, 100, 243, 1, NULL, NULL, 0, 0);
INSERT INTO t_token (uid, token, caller, create_date) VALUES
(240, '@auto@', 'chrome_test', -3600000),
(241, '@auto@', 'chrome_test', -3600000),
(243, '@auto@', 'chrome_test', -3600000);

COMMIT;
