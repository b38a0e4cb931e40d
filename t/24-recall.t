# Recalls (issue 12, item 5): a recalled message (RC:RcCmd naming its
# messageUId) is no longer counted as unread, and when it was its group's
# last message the list shows the recall label (default 消息已撤回; the
# RC:RcCmd WeclubsIMMessageLabel) instead of its text. Users and club of
# this test's own (WCIM::DB::make_users), on the wcim_messages vhost.
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

my $BASE = 730000;
my $token = WCIM::DB::make_users($BASE, 2, clubs => 1);
my ($reader, $sender, $club) = ($BASE, $BASE + 1, $BASE);

sub route { WCIM::Route::route(fields => {@_})->code }

sub msg {
    my ($from, $type, $content, $time, $uid) = @_;
    return route(fromUserId => "im_user_id_$from", toUserId => "im_club_id_$club",
                 objectName => $type, channelType => 'GROUP', content => $content,
                 msgTimestamp => $time, msgUID => $uid);
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

done_testing();
