# Message routing: RongCloud posts messages to /im/rongcloud (signed with
# the app secret); get_group_chat_list then shows each group's last message
# and the user's unread count (wcim_messages vhost). Users 240/241 (club
# 102), 243 (club 100): t/sql/test-data.sql.
use strict;
use warnings;
use utf8;

use FindBin ();
use lib "$FindBin::Bin/lib";

use Test::More;
use Encode qw(encode_utf8 decode_utf8);
use Digest::SHA qw(sha1_hex);
use Time::HiRes ();
use Apache::Test ();
use HTTP::Request ();
use WCIM::Request qw(im check_answer);
use WCIM::DB ();
use WCIM::JSON ();

my $SECRET = 'testappsecret';
my $now = int(Time::HiRes::time() * 1000);

sub form_escape {
    my $s = encode_utf8(shift);
    $s =~ s/([^A-Za-z0-9._~-])/sprintf '%%%02X', ord $1/ge;
    return $s;
}

# route(%fields, _vhost, _sign => 'bad'|'stale'|'none', _ts_name, _method)
sub route {
    my (%f) = @_;
    my $vhost = delete $f{_vhost} || 'wcim_messages';
    my $how = delete $f{_sign} || 'good';
    my $ts_name = delete $f{_ts_name} || 'signTimestamp';
    my $method = delete $f{_method} || 'POST';
    my $nonce = delete $f{_nonce} // int(rand(1e9));
    my $ts = delete $f{_ts}
          // ($how eq 'stale' ? $now - 3_600_000 : int(Time::HiRes::time() * 1000));
    my $sig = sha1_hex($SECRET . $nonce . $ts);
    $sig = sha1_hex('wrong' . $nonce . $ts) if $how eq 'bad';
    my $query = $how eq 'none' ? '' : "?nonce=$nonce&$ts_name=$ts&signature=$sig";
    my $body = join '&', map { "$_=" . form_escape($f{$_}) } sort keys %f;
    my $req = HTTP::Request->new($method => WCIM::Request::url("/im/rongcloud$query", $vhost));
    if ($method eq 'POST') {
        $req->header('Content-Type' => 'application/x-www-form-urlencoded');
        $req->content($body);
    }
    return WCIM::Request::ua()->request($req);
}

my $seq = 0;
# a group message: msg(from, club, type, content json, time)
sub msg {
    my ($from, $club, $type, $content, $time, %o) = @_;
    return route(fromUserId => "im_user_id_$from", toUserId => "im_club_id_$club",
                 objectName => $type, content => $content,
                 channelType => $o{channel} || 'GROUP',
                 msgTimestamp => $time, msgUID => $o{uid} || 'UID' . $$ . '-' . ++$seq,
                 %{ $o{extra} || {} });
}

sub text { WCIM::JSON::encode(WCIM::JSON::obj(content => $_[0])) }

# The list item of club $club for user $uid on the messages vhost.
sub item {
    my ($uid, $club) = @_;
    my $res = im('get_group_chat_list', user => $uid, vhost => 'wcim_messages');
    my $a = eval { WCIM::JSON::decode($res->content) } || {};
    return undef unless ($a->{result_code} // 0) == 2000;
    my ($it) = grep { $_->{club_id} == $club } @{ $a->{data}{group_chat_list} || [] };
    return $it;
}

sub count_stored {
    my ($uid) = @_;
    return WCIM::DB::sql('SELECT COUNT(*) FROM t_im_message WHERE msg_uid = '
                         . WCIM::DB::quote($uid))->[0][0];
}

# --- pruning first: the first post a process takes prunes, after answering.
# A post older than WeclubsIMMessageMaxAge is not stored at all (see
# t/20-routing-robust.t), so the old message is one stored two hours ago.
{
    my $old = $now - 2 * 3600 * 1000;     # older than the vhost's 1h
    WCIM::DB::script(undef, map { encode_utf8($_) }
        "INSERT INTO t_im_message (msg_uid, club_id, from_user, object_name, preview, msg_time)"
        . " VALUES ('UID-old-100', 100, 'im_user_id_243', 'RC:TxtMsg', '两小时前', $old);",
        "DELETE FROM t_im_group_state WHERE club_id = 100;",
        "INSERT INTO t_im_group_state (club_id, last_msg_uid, last_content, last_date)"
        . " VALUES (100, 'UID-old-100', '两小时前', $old);");
    my $res = msg(241, 102, 'RC:TxtMsg', text('触发'), $now - 30_000, uid => 'UID-prune-trigger');
    is($res->code, 200, 'a post: 200');
    is($res->content, 'ok', 'a post: body ok');
    my $gone = 0;
    for (1 .. 30) {
        if (count_stored('UID-old-100') == 0) { $gone = 1; last }
        Time::HiRes::sleep(0.1);
    }
    ok($gone, 'after it, a message older than WeclubsIMMessageMaxAge is pruned');
    my $it = item(243, 100);
    is($it && $it->{last_msg_content}, '两小时前', 'the group keeps it as its last message');
    is($it && $it->{last_msg_date}, $old, 'with its date');
    WCIM::DB::script(undef, "DELETE FROM t_im_message WHERE msg_uid = 'UID-prune-trigger';",
                     "DELETE FROM t_im_group_state WHERE club_id = 102;");
}

# --- before any message --------------------------------------------------
{
    my $it = item(240, 102);
    ok($it, 'user 240 lists club 102');
    ok($it && !defined $it->{last_msg_content}, 'no message yet: last_msg_content null');
    is($it && $it->{last_msg_date}, 0, 'no message yet: last_msg_date 0');
    is($it && $it->{fresh_msg_count}, 0, 'no message yet: fresh_msg_count 0');
    my $main = im('get_group_chat_list', user => 240);
    like($main->content, qr/"last_msg_content":null,"club_id":102,"fresh_msg_count":0,/,
         'WeclubsIMMessages Off (main server): the old answer');
}

# --- signatures and methods ------------------------------------------------
{
    my $t = $now - 60_000;
    my $res = msg(241, 102, 'RC:TxtMsg', text('x'), $t, uid => 'UID-bad', extra => {}) ;
    is($res->code, 200, 'a good signature is accepted');
    $res = route(fromUserId => 'im_user_id_241', toUserId => 'im_club_id_102',
                 objectName => 'RC:TxtMsg', content => text('y'), channelType => 'GROUP',
                 msgTimestamp => $t, msgUID => 'UID-forged', _sign => 'bad');
    is($res->code, 401, 'wrong signature: 401');
    is(count_stored('UID-forged'), 0, 'wrong signature: nothing stored');
    $res = route(fromUserId => 'im_user_id_241', toUserId => 'im_club_id_102',
                 objectName => 'RC:TxtMsg', content => text('y'), channelType => 'GROUP',
                 msgTimestamp => $t, msgUID => 'UID-stale', _sign => 'stale');
    is($res->code, 401, 'stale signTimestamp: 401');
    $res = route(fromUserId => 'im_user_id_241', toUserId => 'im_club_id_102',
                 objectName => 'RC:TxtMsg', content => text('y'), channelType => 'GROUP',
                 msgTimestamp => $t, msgUID => 'UID-unsigned', _sign => 'none');
    is($res->code, 401, 'no signature: 401');
    $res = route(fromUserId => 'im_user_id_241', toUserId => 'im_club_id_102',
                 objectName => 'RC:TxtMsg', content => text('z'), channelType => 'GROUP',
                 msgTimestamp => $t, msgUID => 'UID-timestamp', _ts_name => 'timestamp');
    is($res->code, 200, 'the timestamp parameter name works too');
    is(count_stored('UID-timestamp'), 1, 'and the message is stored');
    # a captured post cannot be replayed, not even with another body
    my %replay = (toUserId => 'im_club_id_102', objectName => 'RC:TxtMsg',
                  channelType => 'GROUP', msgTimestamp => $t, _nonce => 'replay-1',
                  _ts => int(Time::HiRes::time() * 1000));
    $res = route(%replay, fromUserId => 'im_user_id_241', content => text('原文'),
                 msgUID => 'UID-replay-1');
    is($res->code, 200, 'a post with a fresh nonce: 200');
    $res = route(%replay, fromUserId => 'im_user_id_240', content => text('伪造'),
                 msgUID => 'UID-replay-2');
    is($res->code, 401, 'the same nonce again: 401');
    is(count_stored('UID-replay-2'), 0, 'the replayed post stored nothing');
    $res = route(_method => 'GET');
    is($res->code, 405, 'GET: 405');
    # httpd would echo a TRACE (query string and all) before any handler
    $res = route(_method => 'TRACE');
    is($res->code, 405, 'TRACE: 405, not httpd\'s echo');
    is($res->content, "POST only\n", 'TRACE: the callback\'s own answer');
    is($res->header('Allow'), 'POST', 'TRACE: Allow: POST');
    $res = route(fromUserId => 'im_user_id_241', toUserId => 'im_club_id_102',
                 objectName => 'RC:TxtMsg', content => text('w'), channelType => 'GROUP',
                 msgTimestamp => $t, msgUID => 'UID-off', _vhost => 'default');
    is($res->code, 404, 'a server with WeclubsIMMessages Off: 404');
}

# --- last message, unread count, read marks --------------------------------
my $t1 = $now + 1000;
{
    my $res = msg(241, 102, 'RC:TxtMsg', text('你好 😀 <&>"'), $t1, uid => 'UID-t1');
    is($res->code, 200, 'text message: 200 ok');
    my $it = item(240, 102);
    is($it && $it->{last_msg_content}, '你好 😀 <&>"', 'last_msg_content is the text (Chinese, emoji, JSON specials)');
    is($it && $it->{last_msg_date}, $t1, 'last_msg_date is msgTimestamp');
    is($it && $it->{fresh_msg_count}, 0, 'no read mark yet: fresh_msg_count 0');

    $res = msg(241, 102, 'RC:TxtMsg', text('你好 😀 <&>"'), $t1, uid => 'UID-t1');
    is($res->code, 200, 'the same message again: 200');
    is(count_stored('UID-t1'), 1, 'stored once');

    $res = route(fromUserId => 'im_user_id_240', toUserId => 'im_club_id_102',
                 objectName => 'RC:SRSMsg',
                 content => WCIM::JSON::encode(WCIM::JSON::obj(lastMessageSendTime => WCIM::JSON::jint($t1))),
                 channelType => 'GROUP', msgTimestamp => $t1 + 10, msgUID => 'UID-read1');
    is($res->code, 200, 'read sync: 200');
    is(count_stored('UID-read1'), 0, 'a read sync is not a message');

    my $t2 = $t1 + 1000;
    msg(241, 102, 'RC:ImgMsg', '{"content":"base64..","imageUri":"http://x"}', $t2, uid => 'UID-t2');
    $it = item(240, 102);
    is($it && $it->{last_msg_content}, '[图片]', 'an image: its label');
    is($it && $it->{last_msg_date}, $t2, 'image date');
    is($it && $it->{fresh_msg_count}, 1, 'one message after the read mark');

    msg(241, 102, 'RC:TxtMsg', text('迟到的旧消息'), $t1 - 500, uid => 'UID-late');
    $it = item(240, 102);
    is($it && $it->{last_msg_content}, '[图片]', 'an older message arriving late is not last');
    is($it && $it->{fresh_msg_count}, 1, 'nor unread (before the read mark)');

    my $t3 = $t2 + 1000;
    msg(240, 102, 'RC:TxtMsg', text('我自己说的'), $t3, uid => 'UID-own');
    $it = item(240, 102);
    is($it && $it->{last_msg_content}, '我自己说的', 'own message is last');
    is($it && $it->{fresh_msg_count}, 1, 'but own messages are not unread');

    my $other = item(241, 102);
    is($other && $other->{fresh_msg_count}, 0, 'user 241 has no read mark: 0 unread');
    is($other && $other->{last_msg_content}, '我自己说的', 'user 241 sees the same last message');

    # reading up to t3 clears it; an older read sync does not move it back
    route(fromUserId => 'im_user_id_240', toUserId => 'im_club_id_102',
          objectName => 'RC:SRSMsg',
          content => WCIM::JSON::encode(WCIM::JSON::obj(lastMessageSendTime => WCIM::JSON::jint($t3))),
          channelType => 'GROUP', msgTimestamp => $t3 + 10, msgUID => 'UID-read2');
    route(fromUserId => 'im_user_id_240', toUserId => 'im_club_id_102',
          objectName => 'RC:SRSMsg',
          content => WCIM::JSON::encode(WCIM::JSON::obj(lastMessageSendTime => WCIM::JSON::jint($t1))),
          channelType => 'GROUP', msgTimestamp => $t3 + 20, msgUID => 'UID-read3');
    $it = item(240, 102);
    is($it && $it->{fresh_msg_count}, 0, 'read up to the last message: 0 unread');

    # previews of every type, and the vhost's own labels
    my $t = $t3;
    for my $case (['RC:VcMsg', '[语音]'], ['RC:HQVCMsg', '[语音]'], ['RC:SightMsg', '[视频]'],
                  ['RC:LBSMsg', '[位置]'], ['RC:FileMsg', '[附件]'], ['app:PollMsg', '[投票]'],
                  ['RC:GIFMsg', '[动图]']) {
        my ($type, $label) = @$case;
        $t += 1000;
        my $r = msg(241, 102, $type, '{"x":1}', $t, uid => "UID-$type");
        is($r->code, 200, "$type: 200");
        my $i = item(240, 102);
        is($i && $i->{last_msg_content}, $label, "$type: preview $label");
    }
    is(item(240, 102)->{fresh_msg_count}, 7, 'seven new messages unread');

    # a long text is cut at a character boundary
    $t += 1000;
    my $long = '长' x 100;     # 300 bytes
    msg(241, 102, 'RC:TxtMsg', text($long), $t, uid => 'UID-long');
    $it = item(240, 102);
    is($it && $it->{last_msg_content}, '长' x 40, 'a long text: its first 120 bytes, whole characters');

    # what is not stored
    my $before = WCIM::DB::sql('SELECT COUNT(*) FROM t_im_message')->[0][0];
    is(msg(241, 102, 'RC:TxtMsg', text('私聊'), $t + 1, channel => 'PERSON')->code, 200,
       'a private message: 200');
    is(msg(241, 'abc', 'RC:TxtMsg', text('别的群'), $t + 2)->code, 200,
       'a group that is not a club: 200');
    is(route(fromUserId => 'im_user_id_241', toUserId => 'other_group_9',
             objectName => 'RC:TxtMsg', content => text('x'), channelType => 'GROUP',
             msgTimestamp => $t + 3, msgUID => 'UID-other')->code, 200,
       'another kind of group id: 200');
    is(msg(241, 102, 'RC:TypSts', '{"typingContentType":"RC:TxtMsg"}', $t + 4)->code, 200,
       'a typing status: 200');
    is(msg(241, 102, 'RC:TxtMsg', 'not json', $t + 5)->code, 200,
       'a text message whose content is not JSON: 200');
    is(WCIM::DB::sql('SELECT COUNT(*) FROM t_im_message')->[0][0], $before,
       'none of those was stored');
    $it = item(240, 102);
    is($it && $it->{last_msg_content}, '长' x 40, 'and the last message is unchanged');
}

# --- groups_messages failing: the plain list, and an error line that says why
my $error_log = Apache::Test::vars('t_logs') . '/error_log';

# For each pattern, whether the error_log has a line matching it after
# byte $mark (waiting up to 1 s for the lines to be written).
sub logged_since {
    my ($mark, @re) = @_;
    my @found;
    for (1 .. 20) {
        open my $fh, '<:raw', $error_log or last;
        seek $fh, $mark, 0;
        my @l = <$fh>;
        close $fh;
        @found = map { my $re = $_; scalar grep { $_ =~ $re } @l } @re;
        last unless grep { !$_ } @found;
        Time::HiRes::sleep(0.05);
    }
    return @found;
}

# The list of user 240 on $vhost is the main server's (no messages).
sub plain_list_on {
    my ($vhost, $what) = @_;
    my $res = im('get_group_chat_list', user => 240, vhost => $vhost);
    my $plain = im('get_group_chat_list', user => 240);
    my $a = eval { WCIM::JSON::decode($res->content) } || {};
    is($a->{result_code}, 2000, "$what: still 2000");
    is(WCIM::Request::normalise($res->content), WCIM::Request::normalise($plain->content),
       "$what: the list without messages");
}

{
    my $mark = -s $error_log || 0;
    plain_list_on('wcim_msgbad', 'unreadable groups_messages');
    my ($said) = logged_since($mark,
        qr/WCIM0112: reading the groups and messages of user 240: groups_messages returned club_id '102', last_date 'not a date'.*listing the groups without them/);
    ok($said, 'unreadable groups_messages: an error line says which values and what was done');
}
{
    my $mark = -s $error_log || 0;
    plain_list_on('wcim_msgtypo', 'groups_messages not preparable');
    my $a = eval { WCIM::JSON::decode(im('get_token', user => 240, vhost => 'wcim_msgtypo')->content) } || {};
    isnt($a->{result_code} // 5000, 5000, 'groups_messages not preparable: get_token is not a database error');
    my ($prep, $fell) = logged_since($mark,
        qr/\[weclubs_im:error\].*WCIM0211: preparing statement groups_messages: .*t_im_no_such_table/,
        qr/WCIM0112: reading the groups and messages of user 240: statement groups_messages is not prepared; listing the groups without them/);
    ok($prep, 'groups_messages not preparable: the error names the statement and the cause');
    ok($fell, 'groups_messages not preparable: the fallback is logged');
}

done_testing();
