# RongCloud on a bad day (rongcloud.md): the token cache and user/refresh,
# one getToken between concurrent requests, group sync only on change, host
# failover, and TLS verification. Users 200-231 of t/sql/test-data.sql, one
# per case. The "backup" stand-in (WCIM_RC2_PORT) plays a failing primary
# host; the main stand-in (WCIM_RC_PORT) the healthy one.
use strict;
use warnings;
use utf8;

use FindBin ();
use lib "$FindBin::Bin/lib";

use Test::More;
use Time::HiRes ();
use POSIX ();
use Apache::Test ();
use WCIM::Request qw(im check_answer FAIL_MSG);
use WCIM::StandIn ();
use WCIM::DB ();
use WCIM::JSON ();

my $GT      = WCIM::StandIn::GET_TOKEN;
my $REFRESH = '/user/refresh.json';
my $SYNC    = WCIM::StandIn::SYNC;

# Run $code against the other stand-in (the failing primary).
sub on_primary {
    my ($code) = @_;
    local $ENV{WCIM_RC_PORT} = $ENV{WCIM_RC2_PORT};
    return $code->();
}

WCIM::StandIn::reset();
on_primary(sub { WCIM::StandIn::reset() });

# token($uid, %o) -> (answer, elapsed s): a get_token that must succeed
sub token_of {
    my ($uid, $name, %o) = @_;
    my $t0 = Time::HiRes::time();
    my $res = im('get_token', user => $uid, %o);
    my $elapsed = Time::HiRes::time() - $t0;
    my $answer = check_answer($res, $name, code => 2000);
    return ($answer && $answer->{data} ? $answer->{data}{im_token} : undef,
            $elapsed);
}

sub n_calls {
    my ($path, $uid, $since) = @_;
    return scalar @{ WCIM::StandIn::calls_for($path, "im_user_id_$uid", $since) };
}

# --- a long outage: the backup stays in use (first half) ---------------------
# The SDKs keep using the host that answered until it fails (server-sdk-java
# io/rong/RongCloudConfig.java moves its index on errors only; server-sdk-go
# rongcloud/rongcloud.go changeURI is called on failures only). The primary
# fails once here; the end of this file, over 30 s later, checks that the
# module did not go back to it on its own.
my $stay_since = WCIM::StandIn::last_seq();
on_primary(sub { WCIM::StandIn::mode('e503', path => $GT, count => 1) });
my ($stay_token) = token_of(233, 'long outage: user 233', vhost => 'wcim_ha_stay');
my $stay_switched = Time::HiRes::time();
like($stay_token // '', qr/^tok-im_user_id_233-/, 'long outage: token from the backup');
is(on_primary(sub { n_calls($GT, 233) }), 1, 'long outage: the primary failed once');

# --- the token cache -------------------------------------------------------
{
    my $since = WCIM::StandIn::last_seq();
    my ($first) = token_of(200, 'user 200: first get_token');
    is(n_calls($GT, 200, $since), 1, 'user 200: one getToken call');
    my $mid = WCIM::StandIn::last_seq();
    for my $i (1 .. 5) {
        my ($again) = token_of(200, "user 200: cached call $i");
        is($again, $first, "user 200: call $i gets the same token");
    }
    is(n_calls($GT, 200, $mid), 0, 'user 200: no RongCloud call for a cached user');
}

{
    my $since = WCIM::StandIn::last_seq();
    my ($token) = token_of(201, 'user 201: first get_token');
    WCIM::DB::sql("UPDATE t_student SET real_name = '改名后' WHERE student_id = 201");
    my $mid = WCIM::StandIn::last_seq();
    my ($after) = token_of(201, 'user 201: after a name change');
    is($after, $token, 'user 201: same token after the name change');
    my $refresh = WCIM::StandIn::calls_for($REFRESH, 'im_user_id_201', $mid);
    is(scalar @$refresh, 1, 'user 201: one user/refresh call');
    is(WCIM::StandIn::field($refresh->[0] || {}, 'name'), '改名后',
       'user 201: refresh carries the new name');
    ok($refresh->[0] && $refresh->[0]{auth_ok} && !@{ $refresh->[0]{errors} },
       'user 201: refresh signed and well-formed');
    is(n_calls($GT, 201, $mid), 0, 'user 201: no new getToken');
    my $end = WCIM::StandIn::last_seq();
    token_of(201, 'user 201: once more');
    is(n_calls($REFRESH, 201, $end) + n_calls($GT, 201, $end), 0,
       'user 201: nothing more to push');
}

{
    my ($token) = token_of(202, 'user 202: first get_token');
    WCIM::DB::sql("UPDATE t_student SET avatar_url = 'http://img.example.com/u/202-new.png'"
                  . ' WHERE student_id = 202');
    # a refresh that fails keeps the token and is tried again next time
    WCIM::StandIn::mode('e503', path => $REFRESH);
    my $mid = WCIM::StandIn::last_seq();
    my ($during) = token_of(202, 'user 202: portrait changed, refresh fails');
    is($during, $token, 'user 202: still the cached token');
    is(n_calls($REFRESH, 202, $mid), 1, 'user 202: the refresh was tried');
    WCIM::StandIn::mode('ok');
    my $later = WCIM::StandIn::last_seq();
    my ($after) = token_of(202, 'user 202: refresh works again');
    is($after, $token, 'user 202: same token');
    my $refresh = WCIM::StandIn::calls_for($REFRESH, 'im_user_id_202', $later);
    is(scalar @$refresh, 1, 'user 202: the refresh is retried');
    is(WCIM::StandIn::field($refresh->[0] || {}, 'portraitUri'),
       'http://img.example.com/u/202-new.png', 'user 202: with the new portrait');
}

# a refresh obeys RongCloud's limits as getToken does (rongcloud_standin.py
# check_fields): a name over 64 characters cut to 64 (whatever the script:
# 64 Chinese characters are 192 bytes), a portrait over 1024 bytes left out
# (RongCloud keeps the one it has), no name: the RongCloud user id
{
    my ($token) = token_of(203, 'user 203: first get_token');
    my $name = 'n' x 70;
    my $portrait = 'http://img.example.com/u/203.png?pad=' . ('p' x 1000);
    WCIM::DB::sql("UPDATE t_student SET real_name = '$name', avatar_url = '$portrait'"
                  . ' WHERE student_id = 203');
    my $mid = WCIM::StandIn::last_seq();
    my ($after) = token_of(203, 'user 203: name and portrait too long');
    is($after, $token, 'user 203: same token');
    my $refresh = WCIM::StandIn::calls_for($REFRESH, 'im_user_id_203', $mid);
    is(scalar @$refresh, 1, 'user 203: one user/refresh call');
    is(WCIM::StandIn::field($refresh->[0] || {}, 'name'), 'n' x 64,
       'user 203: the name cut to 64 characters');
    ok(!grep({ $_->[0] eq 'portraitUri' } @{ ($refresh->[0] || {})->{form} || [] }),
       'user 203: the over-long portrait left out');
    is(($refresh->[0] || {})->{status}, 200, 'user 203: RongCloud accepted the refresh');

    # by characters, not bytes: 30 Chinese ones (90 bytes) go whole, 70 are
    # cut to 64 (192 bytes), never inside a character
    for my $c ([30, 30], [70, 64]) {
        my ($chars, $sent) = @$c;
        WCIM::DB::sql("UPDATE t_student SET real_name = '" . ('测' x $chars)
                      . "' WHERE student_id = 203");
        $mid = WCIM::StandIn::last_seq();
        token_of(203, "user 203: a $chars-character Chinese name");
        $refresh = WCIM::StandIn::calls_for($REFRESH, 'im_user_id_203', $mid);
        is(WCIM::StandIn::field($refresh->[0] || {}, 'name'), '测' x $sent,
           "user 203: $chars Chinese characters sent as $sent");
        is(($refresh->[0] || {})->{status}, 200,
           "user 203: RongCloud accepted the $sent-character name");
    }

    token_of(204, 'user 204: first get_token');
    WCIM::DB::sql('UPDATE t_student SET real_name = NULL, nick_name = NULL'
                  . ' WHERE student_id = 204');
    $mid = WCIM::StandIn::last_seq();
    token_of(204, 'user 204: names emptied');
    $refresh = WCIM::StandIn::calls_for($REFRESH, 'im_user_id_204', $mid);
    is(WCIM::StandIn::field($refresh->[0] || {}, 'name'), 'im_user_id_204',
       'user 204: refresh names the user by the RongCloud user id');
    is(($refresh->[0] || {})->{status}, 200, 'user 204: RongCloud accepted the refresh');
}

# --- 100 concurrent get_token for one uncached user: one upstream call -------
{
    my $since = WCIM::StandIn::last_seq();
    WCIM::StandIn::mode('slow', path => $GT, delay => 1);
    my $n = 100;
    my %kids;
    my $dir = WCIM::DB::t_dir() . '/logs';
    for my $i (1 .. $n) {
        my $pid = fork // die "fork: $!";
        if (!$pid) {
            my $res = im('get_token', user => 210);
            my $a = eval { WCIM::JSON::decode($res->content) } || {};
            open my $fh, '>', "$dir/concurrent.$i" or POSIX::_exit(1);
            print $fh join("\t", $res->code, $a->{result_code} // '',
                           ($a->{data} || {})->{im_token} // ''), "\n";
            close $fh;
            POSIX::_exit(0);
        }
        $kids{$pid} = 1;
    }
    waitpid($_, 0) for keys %kids;
    WCIM::StandIn::mode('ok');
    my (%tokens, $ok);
    for my $i (1 .. $n) {
        open my $fh, '<', "$dir/concurrent.$i" or next;
        chomp(my $line = <$fh> // '');
        close $fh;
        unlink "$dir/concurrent.$i";
        my ($status, $code, $token) = split /\t/, $line;
        $ok++ if $status eq '200' && $code eq '2000';
        $tokens{$token}++ if $token;
    }
    is($ok, $n, "user 210: all $n concurrent calls answered 2000");
    is(scalar keys %tokens, 1, 'user 210: all got the same token');
    is(n_calls($GT, 210, $since), 1, 'user 210: exactly one getToken call between them');
}

# --- group sync only on change ----------------------------------------------
{
    my $since = WCIM::StandIn::last_seq();
    for my $i (1 .. 50) {
        my $res = im('get_group_chat_list', user => 211);
        my $a = eval { WCIM::JSON::decode($res->content) } || {};
        if (($a->{result_code} // 0) != 2000) {
            fail("user 211: list call $i answered " . ($a->{result_code} // $res->code));
            last;
        }
    }
    Time::HiRes::sleep(1);   # syncs go out after the answer
    is(n_calls($SYNC, 211, $since), 1, 'user 211: 50 unchanged lists, one group/sync');
    WCIM::DB::sql('UPDATE t_student_club_graduate_relation SET status = 0'
                  . ' WHERE stu_clu_gra_rel_id = 2000');
    my $mid = WCIM::StandIn::last_seq();
    for my $i (1 .. 10) {
        im('get_group_chat_list', user => 211);
    }
    my $calls = WCIM::StandIn::wait_calls($SYNC, 'im_user_id_211', $mid, 1, 3);
    Time::HiRes::sleep(0.5);
    $calls = WCIM::StandIn::calls_for($SYNC, 'im_user_id_211', $mid);
    is(scalar @$calls, 1, 'user 211: after quitting the club, one more group/sync');
    is(scalar(grep { $_->[0] =~ /^group\[/ } @{ ($calls->[0] || {})->{form} || [] }), 0,
       'user 211: that sync lists no group (unbinds the quit club)');
}

# --- failover ---------------------------------------------------------------
# primary hangs: the backup answers within the time-out, and the next call
# goes to the backup directly
{
    on_primary(sub { WCIM::StandIn::reset(); WCIM::StandIn::mode('hang', delay => 30) });
    my $since = WCIM::StandIn::last_seq();
    my ($token, $elapsed) = token_of(220, 'primary hangs: user 220',
                                     vhost => 'wcim_ha_hang');
    like($token // '', qr/^tok-im_user_id_220-/, 'primary hangs: token from the backup');
    cmp_ok($elapsed, '<', 2.5, 'primary hangs: answered within the 2 s time-out (+0.5)');
    is(n_calls($GT, 220, $since), 1, 'primary hangs: the backup got the call');
    is(on_primary(sub { n_calls($GT, 220) }), 1, 'primary hangs: the primary was tried once');
    my ($next, $fast) = token_of(221, 'primary hangs: user 221 next',
                                 vhost => 'wcim_ha_hang');
    ok(defined $next, 'primary hangs: next call succeeds');
    cmp_ok($fast, '<', 0.5, 'primary hangs: next call does not wait for the primary');
    is(on_primary(sub { n_calls($GT, 221) }), 0,
       'primary hangs: next call went to the backup directly');
}

# primary answers 503
{
    on_primary(sub { WCIM::StandIn::reset(); WCIM::StandIn::mode('e503') });
    my $since = WCIM::StandIn::last_seq();
    my ($token) = token_of(222, 'primary 503: user 222', vhost => 'wcim_ha_503');
    like($token // '', qr/^tok-im_user_id_222-/, 'primary 503: token from the backup');
    is(on_primary(sub { n_calls($GT, 222) }), 1, 'primary 503: primary tried once');
    token_of(223, 'primary 503: user 223 next', vhost => 'wcim_ha_503');
    is(on_primary(sub { n_calls($GT, 223) }), 0, 'primary 503: then the backup directly');
    is(n_calls($GT, 223, $since), 1, 'primary 503: the backup answered user 223');
}

# primary refuses connections (port 1)
{
    my ($token, $elapsed) = token_of(225, 'primary refuses: user 225',
                                     vhost => 'wcim_ha_refused');
    like($token // '', qr/^tok-im_user_id_225-/, 'primary refuses: token from the backup');
    cmp_ok($elapsed, '<', 2.5, 'primary refuses: within the time-out');
    token_of(226, 'primary refuses: user 226 next', vhost => 'wcim_ha_refused');
}

# primary never completes a connection (a dead or firewalled host): the
# backup is asked after the 1 s connection limit, not after half of the 6 s
# (the SDKs give the connection 10 s or more: server-sdk-go
# rongcloud/rongcloud.go, server-sdk-php RongCloud/Lib/Request.php; far
# more than a handshake needs)
{
    my ($token, $elapsed) = token_of(232, 'primary unreachable: user 232',
                                     vhost => 'wcim_ha_blackhole');
    like($token // '', qr/^tok-im_user_id_232-/, 'primary unreachable: token from the backup');
    cmp_ok($elapsed, '>=', 0.9, 'primary unreachable: the connection limit was waited for');
    cmp_ok($elapsed, '<', 1.8, 'primary unreachable: answered after about 1 s, not 3 s');
}

# a refusal of the request itself (HTTP 401) is not retried elsewhere
{
    on_primary(sub { WCIM::StandIn::reset(); WCIM::StandIn::mode('e401') });
    my $since = WCIM::StandIn::last_seq();
    my $res = im('get_token', user => 227, vhost => 'wcim_ha_4xx');
    check_answer($res, 'primary 401: user 227 gets 3000', code => 3000, msg => FAIL_MSG);
    is(on_primary(sub { n_calls($GT, 227) }), 1, 'primary 401: the primary was asked');
    is(n_calls($GT, 227, $since), 0, 'primary 401: not retried on the backup');
}

# rate limiting (HTTP 429, or code 1008 in a 200) is per app, not per host:
# no SDK switches host or retries on it (rongcloud/server-sdk-go
# rongcloud/http.go switches on network errors and 5xx only; server-sdk-java
# io/rong/util/HttpUtil.java counts 5xx and I/O errors only). 3000 at once,
# nothing sent to the backup, and the process stays on its host.
{
    my $since = WCIM::StandIn::last_seq();
    for my $c ([228, 'HTTP 429', 'rate'], [229, 'code 1008', 'code', code => 1008]) {
        my ($uid, $what, $mode, %mopt) = @$c;
        on_primary(sub { WCIM::StandIn::reset(); WCIM::StandIn::mode($mode, %mopt) });
        my $t0 = Time::HiRes::time();
        my $res = im('get_token', user => $uid, vhost => 'wcim_ha_rate');
        my $elapsed = Time::HiRes::time() - $t0;
        check_answer($res, "rate limited ($what): user $uid gets 3000", code => 3000,
                     msg => FAIL_MSG);
        cmp_ok($elapsed, '<', 1, "rate limited ($what): answered at once");
        is(on_primary(sub { n_calls($GT, $uid) }), 1, "rate limited ($what): primary asked once");
        is(n_calls($GT, $uid, $since), 0, "rate limited ($what): not retried on the backup");
    }
    on_primary(sub { WCIM::StandIn::reset() });
    token_of(228, 'after rate limiting: user 228 again', vhost => 'wcim_ha_rate');
    is(on_primary(sub { n_calls($GT, 228) }), 1, 'after rate limiting: still on the primary');
    is(n_calls($GT, 228, $since), 0, 'after rate limiting: the backup never asked');
}

# both hosts down: 3000 within the time-out, and the server still answers
{
    on_primary(sub { WCIM::StandIn::reset(); WCIM::StandIn::mode('hang', delay => 30) });
    my $t0 = Time::HiRes::time();
    my $res = im('get_token', user => 224, vhost => 'wcim_ha_down');
    my $elapsed = Time::HiRes::time() - $t0;
    check_answer($res, 'both down: user 224 gets 3000', code => 3000, msg => FAIL_MSG);
    cmp_ok($elapsed, '<', 3, 'both down: within the 2 s time-out (+1)');
    on_primary(sub { WCIM::StandIn::mode('ok') });
    my $t1 = Time::HiRes::time();
    my $list = im('get_group_chat_list', user => 38);
    check_answer($list, 'both down: the server still answers', code => 2000);
    cmp_ok(Time::HiRes::time() - $t1, '<', 1, 'both down: no worker stuck');
}

# --- TLS: certificates are verified ------------------------------------------
{
    my $res = im('get_token', user => 230, vhost => 'wcim_tls_noca');
    check_answer($res, 'TLS, CA unknown: refused (3000)', code => 3000, msg => FAIL_MSG);
    my ($token) = token_of(231, 'TLS with WeclubsIMRongCloudCAFile',
                           vhost => 'wcim_tls_ca');
    like($token // '', qr/^tok-im_user_id_231-/, 'TLS with the test CA: token issued');
    my $log = WCIM::DB::t_dir() . '/logs/error_log';
    open my $fh, '<', $log or die "$log: $!";
    my $text = do { local $/; <$fh> };
    like($text, qr/getToken for im_user_id_230 failed: https:\/\/127\.0\.0\.1:\d+\/user\/getToken\.json: transfer failed \(curl 60: /,
         'TLS refusal logged with the URL and curl code 60');
}

# --- a long outage (second half): no return to the primary while the backup
# works, however long; back to the primary when the backup fails ------------
{
    my $wait = $stay_switched + 31 - Time::HiRes::time();
    Time::HiRes::sleep($wait) if $wait > 0;
    on_primary(sub { WCIM::StandIn::mode('ok') });
    my $since = WCIM::StandIn::last_seq();
    my ($token, $elapsed) = token_of(234, 'long outage, 31 s on: user 234',
                                     vhost => 'wcim_ha_stay');
    is(n_calls($GT, 234, $since), 1, 'long outage, 31 s on: the backup answered');
    is(on_primary(sub { n_calls($GT, 234) }), 0,
       'long outage, 31 s on: the primary not tried again while the backup works');
    WCIM::StandIn::mode('e503', path => $GT, count => 1);
    token_of(235, 'backup fails: user 235', vhost => 'wcim_ha_stay');
    is(on_primary(sub { n_calls($GT, 235) }), 1, 'backup fails: the primary answered');
    token_of(236, 'backup fails: user 236 next', vhost => 'wcim_ha_stay');
    is(on_primary(sub { n_calls($GT, 236) }), 1, 'backup fails: then the primary directly');
    is(n_calls($GT, 236, $since), 0, 'backup fails: the backup not asked for user 236');
}

done_testing();
