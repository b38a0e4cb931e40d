# get_token (protocol.md section 6, rongcloud.md getToken): what the module
# sends RongCloud, what it answers, and every kind of RongCloud failure.
# Each user asks for a token once (a later token cache must not change what
# these tests see); users: t/sql/test-data.sql.
use strict;
use warnings;
use utf8;

use FindBin ();
use lib "$FindBin::Bin/lib";

use Test::More;
use Time::HiRes ();
use Apache::Test ();
use WCIM::Request qw(im check_answer FAIL_MSG);
use WCIM::StandIn ();
use WCIM::Sign ();
use WCIM::JSON ();
use WCIM::DB ();

my $GT = WCIM::StandIn::GET_TOKEN;

WCIM::StandIn::reset();

# ask($uid, %o) -> (response, elapsed seconds, stand-in calls for that user)
sub ask {
    my ($uid, %o) = @_;
    my $since = WCIM::StandIn::last_seq();
    my $t0 = Time::HiRes::time();
    my $res = im('get_token', user => $uid, %o);
    my $elapsed = Time::HiRes::time() - $t0;
    my $calls = WCIM::StandIn::calls_for($GT, "im_user_id_$uid", $since);
    return ($res, $elapsed, $calls);
}

sub calls_clean {
    my ($calls, $name) = @_;
    my @bad = grep { !$_->{auth_ok} || @{ $_->{errors} } || $_->{method} ne 'POST' } @$calls;
    is(scalar @bad, 0, "$name: every getToken call POSTed, signed right, well-formed")
        or diag(explain(\@bad));
}

# --- success: name real -> nick -> the RongCloud user id, portrait or "" -----
# RongCloud refuses an empty name and one over 64 characters (code 1002)
# and a portraitUri over 1024 bytes (rongcloud_standin.py check_fields): a
# student without a name is sent as his RongCloud user id, a name counts
# characters, not bytes (a 70-character one is cut: t/09-rongcloud.t, user
# 203), an over-long portrait is left out (undef below).
my $long138 = '张' x 30;                 # 30 characters, 90 bytes
my $portrait139 = 'http://img.example.com/u/139.png?pad=' . ('x' x 1000);
WCIM::DB::sql("UPDATE t_student SET real_name = '$long138' WHERE student_id = 138");
WCIM::DB::sql("UPDATE t_student SET avatar_url = '$portrait139' WHERE student_id = 139");
my @ok = (
    [130, '张三', 'http://img.example.com/u/130.png', 'real name'],
    [131, '小明', 'http://img.example.com/u/131.png', 'empty real name: nick name'],
    [137, 'nick137', 'http://img.example.com/u/137.png', 'NULL real name: nick name'],
    [132, 'im_user_id_132', '', 'NULL names and avatar: the user id as name, empty portraitUri'],
    [134, 'im_user_id_134', '', 'empty names and avatar: the user id as name'],
    [138, '张' x 30, 'http://img.example.com/u/138.png',
     'a 30-character Chinese name (90 bytes): sent whole'],
    [139, '长头像', undef, 'a 1037-byte portrait: left out'],
    [133, 'Tom & Jerry = A+B C%', 'http://img.example.com/u/133.png?size=large&v=1+2',
     'name and portrait needing percent-encoding'],
    [38, '佐', 'https://encrypted-tbn0.gstatic.com/images?q=tbn:ANd9GcRRNNlk464HI1ya9Df8vl3epcEagakInbyW_2eeeKvQkDehbQzf',
     'the seed user 38'],
);

for my $c (@ok) {
    my ($uid, $name, $portrait, $what) = @$c;
    my ($res, $elapsed, $calls) = ask($uid);
    my $answer = check_answer($res, "user $uid ($what): answer", code => 2000);
    subtest "user $uid ($what): token and RongCloud call" => sub {
        my $token = $answer && $answer->{data} ? $answer->{data}{im_token} : undef;
        like($token // '', qr{\Atok-im_user_id_$uid-\d+\+/=\z}, "im_token is the stand-in's token");
        like($res->content, qr{,"data":\{"im_token":"tok-im_user_id_$uid-\d+\+/="\}\}\z},
             'data is exactly {"im_token":...}, + / = unescaped');
        is(scalar @$calls, 1, 'one getToken call') or return;
        my $call = $calls->[0];
        calls_clean($calls, "user $uid");
        is($call->{headers}{'app-key'} // $call->{headers}{'rc-app-key'}, 'testappkey', 'App-Key');
        is($call->{status}, 200, 'the stand-in answered 200');
        my %seen;
        is(scalar(grep { $seen{$_->[0]}++ } @{ $call->{form} }), 0, 'no field twice');
        my %form = map { @$_ } @{ $call->{form} };
        is_deeply(\%form, { userId => "im_user_id_$uid", name => $name,
                            defined $portrait ? (portraitUri => $portrait) : () },
                  'userId, name and portraitUri, decoded exactly')
            or diag("raw body: $call->{raw_body}");
    };
}

# slow but within the timeout (main server: 2 s)
{
    WCIM::StandIn::mode('slow', path => $GT, delay => 0.5);
    my ($res, $elapsed, $calls) = ask(151);
    WCIM::StandIn::mode('ok');
    check_answer($res, 'user 151: RongCloud slow (0.5 s) but in time', code => 2000);
    like($res->content, qr{"im_token":"tok-im_user_id_151-\d+\+/="}, 'user 151: token');
    cmp_ok($elapsed, '>=', 0.5, 'user 151: the answer waited for RongCloud');
}

# --- users RongCloud is never asked about ------------------------------------
for ([135, 'student deleted (is_del 1)'], [136, 'no t_student row']) {
    my ($uid, $what) = @$_;
    my ($res, $elapsed, $calls) = ask($uid);
    check_answer($res, "user $uid: $what", code => 3014);
    is(scalar @$calls, 0, "user $uid: RongCloud not asked");
}

# --- every kind of RongCloud failure: 3000 with the old server's message -----
# [uid, what, vhost, timeout of that vhost (s), stand-in mode, mode options]
my @fail = (
    [140, 'HTTP 500',                undef,             2, 'e500'],
    [141, 'HTTP 503',                undef,             2, 'e503'],
    [142, 'HTTP 401',                undef,             2, 'e401'],
    [143, 'HTTP 429 rate limit',     undef,             2, 'rate'],
    [144, 'code 1005 in a 200',      undef,             2, 'code', code => 1005],
    [145, 'not JSON',                undef,             2, 'garbage'],
    [146, 'no token in a 200',       undef,             2, 'notoken'],
    [147, '5 MB answer',             undef,             2, 'huge'],
    [148, 'connection closed',       undef,             2, 'close'],
    [152, 'no answer (timeout 2 s)', undef,             2, 'hang', delay => 10],
    [149, 'no answer (timeout 1 s)', 'wcim_rcslow',     1, 'hang', delay => 10],
    [157, 'no answer (timeout 1500ms)', 'wcim_filesecret', 1.5, 'hang', delay => 10],
    [150, 'connection refused',      'wcim_rcdown',     2, undef],
);

for my $f (@fail) {
    my ($uid, $what, $vhost, $timeout, $mode, %mopt) = @$f;
    WCIM::StandIn::mode($mode, path => $GT, %mopt) if $mode;
    my ($res, $elapsed, $calls) = ask($uid, $vhost ? (vhost => $vhost) : (),
                                      $vhost && $vhost eq 'wcim_filesecret'
                                          ? (secret => WCIM::Sign::FILE_SECRET) : ());
    WCIM::StandIn::mode('ok');
    check_answer($res, "user $uid, RongCloud $what", code => 3000, msg => FAIL_MSG);
    cmp_ok($elapsed, '<=', $timeout + 2, "user $uid: answered within ${timeout} s + 2 s")
        or diag("took $elapsed s");
    if ($mode) {
        cmp_ok(scalar @$calls, '>=', 1, "user $uid: RongCloud was asked");
        calls_clean($calls, "user $uid");
    }
    else {
        is(scalar @$calls, 0, "user $uid: nothing reached the stand-in");
    }
}

# --- X-Request-ID: a fresh id on every call, as the SDKs send it
# (rongcloud/server-sdk-java io/rong/util/HttpUtil.java: X-Request-ID, a
# UUID's 32 hex digits; server-sdk-go rongcloud/rongcloud.go: X-Request-Id,
# a UUID), since RongCloud's support asks for it; a failed call's log line
# names it --------------------------------------------------------------------
{
    my @ids = map { $_->{headers}{'x-request-id'} // '' } @{ WCIM::StandIn::calls() };
    cmp_ok(scalar @ids, '>=', 20, 'X-Request-ID: calls recorded');
    is(scalar(grep { !/\A[0-9a-f]{32}\z/ } @ids), 0,
       'X-Request-ID: on every call, 32 hex digits') or diag("@ids");
    my %seen;
    is(scalar(grep { $seen{$_}++ } @ids), 0, 'X-Request-ID: a fresh one on each call');
    my $calls = WCIM::StandIn::calls_for($GT, 'im_user_id_141');
    my $id = @$calls ? $calls->[-1]{headers}{'x-request-id'} // '-' : '-';
    my $log = WCIM::DB::t_dir() . '/logs/error_log';
    open my $fh, '<', $log or die "$log: $!";
    my $text = do { local $/; <$fh> };
    like($text, qr/getToken for im_user_id_141 failed: [^\n]*X-Request-ID \Q$id\E/,
         'X-Request-ID: named in the log line of a failed call');
}

# a failure is not remembered: once RongCloud is back, the same user succeeds
{
    my ($res) = ask(140);
    check_answer($res, 'user 140 again, RongCloud back', code => 2000);
    like($res->content, qr{"im_token":"tok-im_user_id_140-\d+\+/="}, 'user 140: token');
}

# --- the app secret read from a file (wcim_filesecret) -----------------------
{
    my ($res, $elapsed, $calls) = ask(156, vhost => 'wcim_filesecret',
                                      secret => WCIM::Sign::FILE_SECRET);
    check_answer($res, 'user 156 on the file-secret vhost', code => 2000);
    is(scalar @$calls, 1, 'user 156: one getToken call');
    calls_clean($calls, 'user 156 (app secret from a file)');
}

# --- two RongCloud URLs, the first refusing connections ----------------------
{
    my @codes;
    for my $uid (153, 154, 155) {
        my ($res, $elapsed, $calls) = ask($uid, vhost => 'wcim_failover');
        my $a = WCIM::JSON::decode($res->content);
        push @codes, $a ? $a->{result_code} : 'none';
        cmp_ok($elapsed, '<=', 2 + 2, "fail-over user $uid: answered within 4 s");
        calls_clean($calls, "fail-over user $uid");
    }
    is_deeply([@codes[1, 2]], [2000, 2000],
              'fail-over: after at most one failure, the second URL serves')
        or diag("result codes: @codes");
}

done_testing();
