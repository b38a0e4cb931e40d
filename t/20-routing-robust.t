# Message routing as RongCloud really posts (issue 12, items 1 to 4): big
# groups (groupUserIds once per member) and long texts are stored; a post
# that failed here is stored when RongCloud retries it with the same query;
# the signature's inputs are canonical, and come in the query or in
# SealTalk's RC-* headers, the time in ms or s; messages from the future or
# from before WeclubsIMMessageMaxAge are answered 200 and not stored.
# Vhosts: wcim_messages (MaxAge 1h, window 300 s), wcim_msgscratch (its own
# SQLite file, a connection per request: the retry case, SQLite only).
use strict;
use warnings;
use utf8;

use FindBin ();
use lib "$FindBin::Bin/lib";

use Test::More;
use Digest::SHA qw(sha1_hex);
use Time::HiRes ();
use Apache::Test ();
use WCIM::Request qw(im);
use WCIM::DB ();
use WCIM::Setup ();
use WCIM::Route qw(now_ms text route_request);
use WCIM::JSON ();

my $SECRET = $WCIM::Route::SECRET;

my $seq = 0;
# A signed post of a text message to this test's own club (other tests
# count club 102's messages). %o: as WCIM::Route::route_request, with
# fields merged into the message's.
sub post {
    my (%o) = @_;
    ++$seq;
    my %f = (fromUserId => 'im_user_id_241', toUserId => 'im_club_id_9020',
             objectName => 'RC:TxtMsg', channelType => 'GROUP',
             content => text('hi'), msgTimestamp => now_ms(),
             msgUID => 'R' . $$ . '-' . $seq, %{ $o{fields} || {} });
    my $req = route_request(%o, fields => \%f);
    my $res = WCIM::Request::ua()->request($req);
    return wantarray ? ($res, $f{msgUID}, $req) : $res;
}

sub stored {
    my ($uid, $db) = @_;
    return WCIM::DB::sql('SELECT COUNT(*) FROM t_im_message WHERE msg_uid = '
                         . WCIM::DB::quote($uid), $db)->[0][0];
}

sub preview_of {
    my ($uid) = @_;
    my $rows = WCIM::DB::sql('SELECT preview FROM t_im_message WHERE msg_uid = '
                             . WCIM::DB::quote($uid));
    return @$rows ? $rows->[0][0] : undef;
}

# --- 1. a big group and a long text -------------------------------------------
{
    my @members = map { [groupUserIds => "im_user_id_" . (100000 + $_)] } 1 .. 3000;
    my $long = '长' x 43000;                  # 129,000 bytes of UTF-8
    my ($res, $uid, $req) = post(pairs => \@members, fields => { content => text($long) });
    cmp_ok(length $req->content, '>', 400_000, 'the post is over 400 KB');
    is($res->code, 200, '3,000 groupUserIds and a 128 KB text: 200');
    is(stored($uid), 1, 'and the message is stored');
    is(preview_of($uid), '长' x 40, 'its preview: the first 120 bytes of the text');
    # over WeclubsIMCallbackMaxBody (2 MiB by default): refused, said why
    my $huge = '长' x 300000;             # 2.7 MB percent-encoded
    ($res, $uid) = post(pairs => \@members, fields => { content => text($huge) });
    is($res->code, 413, 'a post over WeclubsIMCallbackMaxBody: 413');
    is(stored($uid), 0, 'nothing stored');
}

# --- 3. the signature's inputs -------------------------------------------------
{
    my $ts = now_ms();
    my ($res, $uid) = post(nonce => '8712340', ts => $ts);
    is($res->code, 200, 'nonce 8712340, signTimestamp T: 200');
    ($res, $uid) = post(nonce => '871234', ts => "0$ts", sig => sha1_hex($SECRET . '8712340' . $ts));
    is($res->code, 401, 'the same signature as nonce 871234, signTimestamp 0T: 401');
    is(stored($uid), 0, 'nothing stored');
    ($res, $uid) = post(headers => 1);
    is($res->code, 200, 'RC-Nonce, RC-Timestamp, RC-Signature headers (SealTalk): 200');
    is(stored($uid), 1, 'stored');
    ($res, $uid) = post(ts => int(time()));
    is($res->code, 200, 'a signature time in seconds: 200');
    is(stored($uid), 1, 'stored');
    ($res, $uid) = post(ts => int(time()) - 3600);
    is($res->code, 401, 'a signature time in seconds, an hour old: 401');
    # the nonce is used up once its post is stored
    my $n = "once-$$";
    ($res) = post(nonce => $n, ts => $ts);
    is($res->code, 200, 'a post with a fresh nonce: 200');
    ($res, $uid) = post(nonce => $n, ts => $ts);
    is($res->code, 401, 'the same nonce and time again: 401');
    is(stored($uid), 0, 'the replay stored nothing');
}

# --- 4. messages from the future, or older than what is kept ------------------
{
    my ($res, $uid) = post(fields => { msgTimestamp => now_ms() + 86_400_000,
                                       content => text('明天') });
    is($res->code, 200, 'a message a day in the future: 200');
    is(stored($uid), 0, 'not stored');
    ($res, $uid) = post(fields => { msgTimestamp => '999999999999999999',
                                    content => text('forever') });
    is($res->code, 200, 'a message at 10^18: 200');
    is(stored($uid), 0, 'not stored');
    ($res, $uid) = post(fields => { msgTimestamp => now_ms() - 2 * 3600 * 1000,
                                    content => text('两小时前') });
    is($res->code, 200, 'a message older than WeclubsIMMessageMaxAge (1h): 200');
    is(stored($uid), 0, 'not stored');
    ($res, $uid) = post(fields => { msgTimestamp => now_ms() + 60_000, content => text('一分钟后') });
    is($res->code, 200, 'a message a minute ahead (clocks differ): 200');
    is(stored($uid), 1, 'stored');
    ($res) = post(fields => { objectName => 'RC:SRSMsg', fromUserId => 'im_user_id_240',
                              content => '{"lastMessageSendTime":' . (now_ms() + 86_400_000 * 365) . '}' });
    is($res->code, 200, 'a read mark a year ahead: 200');
    my $rows = WCIM::DB::sql("SELECT COUNT(*) FROM t_im_read_mark WHERE user_id = 'im_user_id_240'"
                             . ' AND read_time > ' . (now_ms() + 86_400_000));
    is($rows->[0][0], 0, 'not stored');
    like(WCIM::Setup::slurp(Apache::Test::vars('t_logs') . '/error_log'), qr/WCIM0156: routed message \S+ from im_user_id_241 not stored: its time \d+ is in the future/,
         'the refusal is logged');
}

# --- 2. a retry after a failure is stored (SQLite: a file of its own) -----------
SKIP: {
    skip 'the database-down case runs on the SQLite engine', 6
        unless WCIM::DB::engine() eq 'sqlite';
    my $db = WCIM::DB::t_dir() . '/db/msgscratch.sqlite';
    unlink $db;
    WCIM::DB::script($db, map { WCIM::Setup::slurp($_) }
                     map { WCIM::DB::t_dir() . "/../sql/sqlite/$_" } qw(schema.sql messages.sql nonces.sql));
    chmod 0644, $db;
    my $away = "$db.away";
    rename $db, $away or die "rename: $!";
    my $ts = now_ms();
    my %same = (vhost => 'wcim_msgscratch', nonce => "retry-$$", ts => $ts,
                fields => { msgUID => "UID-retry-$$", content => text('重试') });
    my ($res) = post(%same);
    is($res->code, 500, 'database down: 500');
    is($res->content, "error\n", 'database down: the plain error');
    unlink $db;                       # what SQLite made of the missing file
    rename $away, $db or die "rename back: $!";
    ($res) = post(%same);
    is($res->code, 200, "database back: RongCloud's retry, the same query: 200");
    is(stored("UID-retry-$$", $db), 1, 'the message is stored');
    ($res) = post(%same);
    is($res->code, 401, 'once stored, the same query again: 401 (a replay)');
    is(stored("UID-retry-$$", $db), 1, 'still stored once');
}

done_testing();
