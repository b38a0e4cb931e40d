# RongCloud tokens that stop working (issue 24). RongCloud's tokens connect
# until the console's token lifetime ends them or some system calls
# user/token/expire; the client is then told "token incorrect" and asks
# get_token again. Nothing here asks the module to forget a token: the
# stand-in ends it, and the student's own next asks must get one that
# connects. Vhosts: wcim_recheck (WeclubsIMTokenRecheck 2), wcim_rc_lifetime
# (WeclubsIMRongCloudTokenLifetime 4, the token table), wcim_tokstore (the
# default recheck, 30 s, over the token table).
use strict;
use warnings;

use FindBin ();
use lib "$FindBin::Bin/lib";

use Test::More;
use Digest::SHA qw(sha1_hex);
use Time::HiRes ();
use Apache::Test ();
use WCIM::Request qw(im);
use WCIM::DB ();
use WCIM::JSON ();
use WCIM::Load ();
use WCIM::StandIn ();

my $BASE = 780000;
my $GT = WCIM::StandIn::GET_TOKEN;
my $TAG = substr(sha1_hex('testappsecret'), 0, 8);   # the App Secret's tag
my $error_log = Apache::Test::vars('t_logs') . '/error_log';
my %token = %{ WCIM::DB::make_users($BASE, 8) };
my ($EXPIRED, $KEEPS, $OLD_ROW, $LIFE, $LIFE_ROW) = map { $BASE + $_ } 0 .. 4;
WCIM::DB::sql("DELETE FROM t_im_rc_token WHERE user_id LIKE 'im_user_id_78000%'");

sub token_of {
    my ($uid, $vhost) = @_;
    my $res = im('get_token', vhost => $vhost,
                 data => [user_id => "$uid", token => $token{$uid}]);
    my $a = eval { WCIM::JSON::decode($res->content) } || {};
    return (($a->{result_code} // 0), ($a->{data} || {})->{im_token} // '');
}

sub calls_of {
    my ($uid, $since) = @_;
    return scalar @{ WCIM::StandIn::calls_for($GT, "im_user_id_$uid", $since) };
}

sub replaced {
    WCIM::Load::metric(qq{weclubs_im_rongcloud_tokens_replaced_total{reason="$_[0]"}});
}

sub log_since { WCIM::Load::log_since(@_) }

sub profile {
    my ($uid) = @_;
    return sha1_hex("student $uid\nhttp://img.example.com/u/$uid.png");
}

WCIM::StandIn::reset();

# --- every token expired at RongCloud: the student's second ask gets one
# that connects ------------------------------------------------------------
{
    my ($code, $first) = token_of($EXPIRED, 'wcim_recheck');
    is($code, 2000, 'a token on wcim_recheck');
    ok(WCIM::StandIn::connects($first), 'it connects');
    Time::HiRes::sleep(2.5);           # the recheck time passes: a new day
    WCIM::StandIn::expire_all();
    ok(!WCIM::StandIn::connects($first), 'RongCloud ended every token (user/token/expire)');
    my $since = WCIM::StandIn::last_seq();
    my $mark = -s $error_log;
    my $recheck0 = replaced('recheck');

    my ($c1, $again) = token_of($EXPIRED, 'wcim_recheck');
    is("$c1 $again", "2000 $first", 'the first ask after a while: the token held (no call)');
    is(calls_of($EXPIRED, $since), 0, 'no getToken for it');
    my ($c2, $fresh) = token_of($EXPIRED, 'wcim_recheck');
    is($c2, 2000, 'the client asks again at once');
    isnt($fresh, $first, 'and gets another token');
    ok(WCIM::StandIn::connects($fresh), 'which connects');
    is(calls_of($EXPIRED, $since), 1, 'one getToken for it');
    my ($c3, $third) = token_of($EXPIRED, 'wcim_recheck');
    is("$c3 $third", "2000 $fresh", 'a third ask: the same fresh token');
    is(calls_of($EXPIRED, $since), 1, 'three asks in a row cost one getToken');
    is(replaced('recheck') - $recheck0, 1, 'counted on the status page (reason="recheck")');
    like(log_since($mark), qr/WCIM0129.*RongCloud token of im_user_id_$EXPIRED replaced: asked again/,
         'and said in the log (WCIM0129)');
}

# --- a student who keeps asking costs at most one getToken per recheck time
{
    my $since = WCIM::StandIn::last_seq();
    my $t0 = Time::HiRes::time();
    my $bad = 0;
    for (1 .. 13) {
        my ($code) = token_of($KEEPS, 'wcim_recheck');
        $bad++ if $code != 2000;
        Time::HiRes::sleep(0.5);
    }
    my $took = Time::HiRes::time() - $t0;
    my $n = calls_of($KEEPS, $since);
    is($bad, 0, '13 asks, 0.5 s apart: 2000 each');
    cmp_ok($n, '<=', int($took / 2) + 1,
           sprintf('%d getToken calls in %.1f s: at most one per 2 s (and the first)', $n, $took));
    cmp_ok($n, '>=', 2, 'but more than the first: the held one was rechecked');
}

# --- the default (30 s) over the token table: an hour-old row is served to
# a first ask, replaced for a second --------------------------------------
{
    my $old = int(Time::HiRes::time() * 1000) - 3600 * 1000;
    WCIM::DB::sql("INSERT INTO t_im_rc_token (app_key, user_id, secret_tag, profile, token, updated)"
                  . " VALUES ('testappkey', 'im_user_id_$OLD_ROW', '$TAG', '" . profile($OLD_ROW)
                  . "', 'an-hour-old-token', $old)");
    my $since = WCIM::StandIn::last_seq();
    my ($c1, $t1) = token_of($OLD_ROW, 'wcim_tokstore');
    is("$c1 $t1", '2000 an-hour-old-token', 'the default recheck: a first ask gets the row\'s token');
    my ($c2, $t2) = token_of($OLD_ROW, 'wcim_tokstore');
    is($c2, 2000, 'asked again');
    like($t2, qr/^tok-im_user_id_$OLD_ROW-/, 'a token fresh from RongCloud');
    is(calls_of($OLD_ROW, $since), 1, 'one getToken');
    my $row = WCIM::DB::sql("SELECT token FROM t_im_rc_token WHERE user_id = 'im_user_id_$OLD_ROW'");
    is($row->[0][0], $t2, 'the row holds it');
}

# --- WeclubsIMRongCloudTokenLifetime: past the lifetime less its margin, a
# token is not served, from the cache or the table ---------------------------
WCIM::StandIn::token_lifetime(4);
{
    my $since = WCIM::StandIn::last_seq();
    my $lifetime0 = replaced('lifetime');
    my ($c1, $t1) = token_of($LIFE, 'wcim_rc_lifetime');
    my $t0 = Time::HiRes::time();
    is($c1, 2000, 'a token on wcim_rc_lifetime (4 s)');
    Time::HiRes::sleep(1);
    my ($c2, $t2) = token_of($LIFE, 'wcim_rc_lifetime');
    is("$c2 $t2", "2000 $t1", 'a second later: the same (no recheck here)');
    is(calls_of($LIFE, $since), 1, 'one getToken so far');
    Time::HiRes::sleep(3.7 - (Time::HiRes::time() - $t0));
    my ($c3, $t3) = token_of($LIFE, 'wcim_rc_lifetime');
    is($c3, 2000, 'at 3.7 s (past 4 s less the margin of 0.4 s)');
    isnt($t3, $t1, 'another token');
    is(calls_of($LIFE, $since), 2, 'from a getToken');
    Time::HiRes::sleep(4.1 - (Time::HiRes::time() - $t0));
    ok(!WCIM::StandIn::connects($t1), 'the old one no longer connects (4 s)');
    ok(WCIM::StandIn::connects($t3), 'the new one does');
    is(replaced('lifetime') - $lifetime0, 1, 'counted (reason="lifetime")');

    # a row of the table issued 10 s ago, nothing in the cache
    my $old = int(Time::HiRes::time() * 1000) - 10 * 1000;
    WCIM::DB::sql("INSERT INTO t_im_rc_token (app_key, user_id, secret_tag, profile, token, updated)"
                  . " VALUES ('testappkey', 'im_user_id_$LIFE_ROW', '$TAG', '" . profile($LIFE_ROW)
                  . "', 'a-dead-token', $old)");
    $since = WCIM::StandIn::last_seq();
    my ($c4, $t4) = token_of($LIFE_ROW, 'wcim_rc_lifetime');
    is($c4, 2000, 'a student whose row is 10 s old');
    like($t4, qr/^tok-im_user_id_$LIFE_ROW-/, 'gets a fresh token, not the row\'s');
    is(calls_of($LIFE_ROW, $since), 1, 'one getToken');
    my $row = WCIM::DB::sql("SELECT token, updated FROM t_im_rc_token WHERE user_id = 'im_user_id_$LIFE_ROW'");
    is($row->[0][0], $t4, 'the row holds the new token');
    cmp_ok(abs($row->[0][1] - Time::HiRes::time() * 1000), '<', 5000,
           'stamped with its issue time');
}

WCIM::StandIn::reset();
done_testing();
