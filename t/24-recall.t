# Recalls (issue 12, item 5): a recalled message (RC:RcCmd naming its
# messageUId) is no longer counted as unread, and when it was its group's
# last message the list shows the recall label (default 消息已撤回; the
# RC:RcCmd WeclubsIMMessageLabel) instead of its text. Users and club of
# this test's own (WCIM::DB::make_users), on the wcim_messages vhost.
# Only the sender's own recall removes a message (issue 23, item 5): anyone
# in the group can post an RC:RcCmd naming any messageUId. And a message
# RongCloud blocked for sensitive words (sensitiveType 1: delivered to
# nobody) is neither the last message nor unread (item 6).
use strict;
use warnings;
use utf8;

use FindBin ();
use lib "$FindBin::Bin/lib";

use Test::More;
use Time::HiRes ();
use Apache::Test ();
use WCIM::Request ();
use WCIM::DB ();
use WCIM::JSON ();
use WCIM::Route qw(text);
use WCIM::Setup ();

my $BASE = 730000;
my $token = WCIM::DB::make_users($BASE, 2, clubs => 1);
my ($reader, $sender, $club) = ($BASE, $BASE + 1, $BASE);

sub route { WCIM::Route::route(fields => {@_})->code }

sub msg {
    my ($from, $type, $content, $time, $uid, @extra) = @_;
    return route(fromUserId => "im_user_id_$from", toUserId => "im_club_id_$club",
                 objectName => $type, channelType => 'GROUP', content => $content,
                 msgTimestamp => $time, msgUID => $uid, @extra);
}

sub item {
    my $body = WCIM::Request::envelope(data => [user_id => "$reader", token => $token->{$reader}]);
    my $res = WCIM::Request::post('get_group_chat_list', $body, vhost => 'wcim_messages');
    my $a = eval { WCIM::JSON::decode($res->content) } || {};
    my ($it) = grep { $_->{club_id} == $club } @{ ($a->{data} || {})->{group_chat_list} || [] };
    return $it || {};
}

my $t0 = int(Time::HiRes::time() * 1000) - 60_000;
is(msg($reader, 'RC:SRSMsg', '{"lastMessageSendTime":' . $t0 . '}', $t0, "R-$$-mark"), 200,
   'the reader has read up to t0');
is(msg($sender, 'RC:TxtMsg', text('第一条'), $t0 + 1000, "R-$$-1"), 200, 'message 1');
is(msg($sender, 'RC:TxtMsg', text('第二条'), $t0 + 2000, "R-$$-2"), 200, 'message 2');
my $it = item();
is($it->{last_msg_content}, '第二条', 'the last message shows');
is($it->{fresh_msg_count}, 2, 'two unread');

is(msg($sender, 'RC:RcCmd', '{"messageUId":"R-' . $$ . '-2","conversationType":3,"targetId":"im_club_id_'
       . $club . '","sentTime":' . ($t0 + 2000) . '}', $t0 + 3000, "R-$$-rc2"), 200,
   'message 2 recalled');
$it = item();
is($it->{last_msg_content}, '[消息已撤回]', 'the last message was recalled: the recall label');
is($it->{last_msg_date}, $t0 + 2000, 'at its time');
is($it->{fresh_msg_count}, 1, 'and it is no longer unread');

# the server SDKs' recall names it uId
is(msg($sender, 'RC:RcCmd', '{"uId":"R-' . $$ . '-1","isAdmin":"0","isDelete":"0"}',
       $t0 + 4000, "R-$$-rc1"), 200, 'message 1 recalled (uId)');
$it = item();
is($it->{fresh_msg_count}, 0, 'nothing unread');
is($it->{last_msg_content}, '[消息已撤回]', 'the preview still the recall label');

is(msg($sender, 'RC:TxtMsg', text('第三条'), $t0 + 5000, "R-$$-3"), 200, 'message 3');
is(msg($sender, 'RC:RcCmd', '{"messageUId":"R-' . $$ . '-unknown"}', $t0 + 6000, "R-$$-rc9"), 200,
   'a recall of a message never stored: 200');
$it = item();
is($it->{last_msg_content}, '第三条', 'changes nothing');
is($it->{fresh_msg_count}, 1, 'one unread');
is(msg($sender, 'RC:RcCmd', '{"conversationType":3}', $t0 + 7000, "R-$$-rc10"), 200,
   'a recall that names no message: 200, ignored');

# --- someone else's recall (item 5) ---------------------------------------------
my $log = Apache::Test::vars('t_logs') . '/error_log';
my $before = -s $log;
is(msg($reader, 'RC:RcCmd', '{"messageUId":"R-' . $$ . '-3"}', $t0 + 7500, "R-$$-rc11"), 200,
   "the reader recalls the sender's message 3: 200");
$it = item();
is($it->{last_msg_content}, '第三条', 'message 3 is still the last message');
is($it->{fresh_msg_count}, 1, 'and still unread');
like(substr(WCIM::Setup::slurp($log), $before),
     qr/WCIM0168: .*R-$$-3.*im_user_id_$reader/, 'the refused recall is logged');

# a recall naming a message never stored is no one else's: not said as one
$before = -s $log;
is(msg($reader, 'RC:RcCmd', '{"messageUId":"R-' . $$ . '-never"}', $t0 + 7600, "R-$$-rc12"), 200,
   'the reader recalls a message never stored: 200');
is(item()->{last_msg_content}, '第三条', 'changes nothing');
unlike(substr(WCIM::Setup::slurp($log), $before), qr/WCIM0168: .*R-$$-never/,
       'not logged as a recall of another user\'s message');

# --- messages RongCloud blocked (item 6) ------------------------------------------
is(msg($sender, 'RC:TxtMsg', text('屏蔽词'), $t0 + 8000, "R-$$-blocked", sensitiveType => 1), 200,
   'a message blocked for sensitive words (sensitiveType 1): 200');
$it = item();
is($it->{last_msg_content}, '第三条', 'it is not the last message (nobody received it)');
is($it->{fresh_msg_count}, 1, 'nor unread');
is(msg($sender, 'RC:TxtMsg', text('替换**'), $t0 + 9000, "R-$$-replaced", sensitiveType => 2), 200,
   'a message whose sensitive words were replaced (sensitiveType 2): 200');
$it = item();
is($it->{last_msg_content}, '替换**', 'it is the last message, as its members received it');
is($it->{fresh_msg_count}, 2, 'and unread');
is(msg($sender, 'RC:TxtMsg', text('普通'), $t0 + 10000, "R-$$-plain", sensitiveType => 0), 200,
   'sensitiveType 0: 200');
is(item()->{fresh_msg_count}, 3, 'counted');

done_testing();
