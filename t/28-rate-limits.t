# RongCloud's rate limits (issue 17). RongCloud refuses calls of an App Key
# beyond its limits (user/getToken 200/s, group/sync 100/s; HTTP 429, code
# 1008), which the stand-in enforces. The module sends at most this node's
# share (WeclubsIMRongCloudRateLimit, WeclubsIMRongCloudNodes): a burst of
# users waits for its turn instead of being refused. Here the stand-in's
# limits are made small (10/s) and the hosts' shares too (9/s: 90% of 20
# over 2 nodes).
use strict;
use warnings;

use FindBin ();
use lib "$FindBin::Bin/lib";

use Test::More;
use Time::HiRes ();
use Apache::Test ();
use WCIM::DB ();
use WCIM::Load ();
use WCIM::StandIn ();

my $GT = WCIM::StandIn::GET_TOKEN;
my $SYNC = WCIM::StandIn::SYNC;
my $BASE = 740000;
my $N = 60;
my %token = %{ WCIM::DB::make_users($BASE, 2 * $N + 12 + 12, clubs => 3) };
my @off = map { $BASE + $_ } 0 .. $N - 1;          # through wcim_rate_off
my @on = map { $BASE + $N + $_ } 0 .. $N - 1;      # through wcim_rate
my @short = map { $BASE + 2 * $N + $_ } 0 .. 11;   # through wcim_rate_short
my @patient = map { $BASE + 2 * $N + 12 + $_ } 0 .. 11;   # through wcim_rate_wait
my $error_log = Apache::Test::vars('t_logs') . '/error_log';
my $mark;

# the stand-in as a RongCloud with small limits
sub standin_limits {
    my (%rate) = @_;
    WCIM::StandIn::reset();
    WCIM::StandIn::control('limits', path => $_, rate => $rate{$_}) for keys %rate;
}

sub busiest { WCIM::StandIn::control('busiest', path => $_[0]) }

sub codes_text {
    my ($codes) = @_;
    return join ', ', map { "$_ x$codes->{$_}" } sort keys %$codes;
}

# wait until $path has $n calls at the stand-in (syncs come after answers)
sub wait_count {
    my ($path, $n, $timeout) = @_;
    my $deadline = Time::HiRes::time() + $timeout;
    my $got;
    while (1) {
        $got = WCIM::StandIn::control('count', path => $path)->{count};
        return $got if $got >= $n || Time::HiRes::time() > $deadline;
        Time::HiRes::sleep(0.2);
    }
}

# --- without a limiter: a burst over RongCloud's limit fails users ----------
standin_limits($GT => 10);
my $codes = WCIM::Load::run_all('get_token', \@off, \%token, workers => 4,
                                vhost => 'wcim_rate_off');
my $b = busiest($GT);
cmp_ok($b->{refused}, '>', 0, "no limiter: RongCloud refused $b->{refused} of $N getToken calls");
cmp_ok($codes->{3000} // 0, '>', 0, 'and those users got 3000 (' . codes_text($codes) . ')');

# --- with the node's share: every user waits for a turn, none refused -------
standin_limits($GT => 10);
my $waits0 = WCIM::Load::metric('weclubs_im_rongcloud_rate_waits_total{call="getToken"}');
my $t0 = Time::HiRes::time();
$codes = WCIM::Load::run_all('get_token', \@on, \%token, workers => 4, vhost => 'wcim_rate');
my $took = Time::HiRes::time() - $t0;
is(WCIM::Load::not_2000($codes), 0, "a burst of $N users' get_token at a 9/s share: all 2000 ("
   . codes_text($codes) . ')');
$b = busiest($GT);
is($b->{refused}, 0, 'RongCloud refused none of them');
cmp_ok($b->{calls}, '<=', 10, "RongCloud never saw more than its 10 a second ($b->{calls})");
cmp_ok($took, '>=', ($N - 2) / 9 - 0.5, sprintf('spread at the share: %.1f s for %d calls', $took, $N));
cmp_ok(WCIM::Load::metric('weclubs_im_rongcloud_rate_waits_total{call="getToken"}') - $waits0,
       '>=', $N / 2, 'the status page counts the calls that waited');

# --- group syncs over the share wait in the queue, none lost ---------------
standin_limits($SYNC => 10);
my $dropped0 = WCIM::Load::metric('weclubs_im_group_syncs_dropped_total');
$codes = WCIM::Load::run_all('get_group_chat_list', \@on, \%token, workers => 4,
                             vhost => 'wcim_rate');
is(WCIM::Load::not_2000($codes), 0, "$N users list their groups: 2000");
is(wait_count($SYNC, $N, 30), $N, "all $N group syncs reached RongCloud");
$b = busiest($SYNC);
is_deeply([$b->{refused}, $b->{calls} <= 10 ? 'within' : "over ($b->{calls})"],
          [0, 'within'], 'none refused, never more than 10 a second');
my %synced = map { (WCIM::StandIn::field($_, 'userId') => 1) }
             @{ WCIM::StandIn::calls(path => $SYNC) };
is(scalar(grep { !$synced{"im_user_id_$_"} } @on), 0, 'every user synced');
is(WCIM::Load::metric('weclubs_im_group_syncs_dropped_total') - $dropped0, 0,
   'no sync dropped');

# --- syncs RongCloud refused for its limit are made again later ----------
# (a site whose nodes send more than RongCloud allows: the sync waits in
# its queue and goes again, instead of being lost until the user's next
# list)
standin_limits($SYNC => 10);
$mark = -s $error_log || 0;
$codes = WCIM::Load::run_all('get_group_chat_list', \@off, \%token, workers => 4,
                             vhost => 'wcim_rate_off');
is(WCIM::Load::not_2000($codes), 0, "no limiter: $N users list their groups: 2000");
my $refused_syncs = 0;
my $deadline = Time::HiRes::time() + 40;
my %done;
while (Time::HiRes::time() < $deadline) {
    %done = map { (WCIM::StandIn::field($_, 'userId') => 1) }
            grep { $_->{status} == 200 } @{ WCIM::StandIn::calls(path => $SYNC) };
    last if (grep { $done{"im_user_id_$_"} } @off) == $N;
    Time::HiRes::sleep(0.25);
}
$refused_syncs = busiest($SYNC)->{refused};
cmp_ok($refused_syncs, '>', 0, "no limiter: RongCloud refused $refused_syncs group syncs");
is(scalar(grep { !$done{"im_user_id_$_"} } @off), 0,
   'and every one of them was made again until it went through');
open my $fh0, '<', $error_log or die "$error_log: $!";
seek $fh0, $mark, 0;
ok(scalar(grep { /WCIM0133/ } <$fh0>), 'said as a warning (WCIM0133)');
close $fh0;

# --- a get_token that would wait too long answers 3000 at once, and says why
WCIM::StandIn::reset();
$mark = -s $error_log || 0;
my $refused0 = WCIM::Load::metric('weclubs_im_rongcloud_rate_refused_total{call="getToken"}');
$t0 = Time::HiRes::time();
$codes = WCIM::Load::run_all('get_token', \@short, \%token, workers => 12,
                             vhost => 'wcim_rate_short');
$took = Time::HiRes::time() - $t0;
cmp_ok($codes->{3000} // 0, '>', 0, '12 at once at 3.6/s with 1 s to wait: some get 3000 ('
       . codes_text($codes) . ')');
cmp_ok($codes->{2000} // 0, '>=', 3, 'the ones whose turn came within 1 s got tokens');
cmp_ok($took, '<', 4, sprintf('nobody waited past the limit (%.1f s in all)', $took));
is(busiest($GT)->{refused}, 0, 'RongCloud refused nothing: the module did not call');
cmp_ok(WCIM::Load::metric('weclubs_im_rongcloud_rate_refused_total{call="getToken"}') - $refused0,
       '==', $codes->{3000} // 0, 'each such answer counted');
open my $fh, '<', $error_log or die "$error_log: $!";
seek $fh, $mark, 0;
my @lines = grep { /WCIM0122/ && /not called: this node's share of RongCloud's rate limit/ } <$fh>;
close $fh;
cmp_ok(scalar @lines, '==', $codes->{3000} // 0, 'a log line for each says why (WCIM0122)')
    or diag("lines: " . scalar @lines);

# --- WeclubsIMRongCloudRateWait: 12 at once at 1.8/s, 7.5 s to wait for a
# turn. The last one's turn comes ~6.1 s after the first's: far more than
# half the 9 s timeout (the wait allowed before the directive), less than
# the 7.5 s it allows.
WCIM::StandIn::reset();
$t0 = Time::HiRes::time();
$codes = WCIM::Load::run_all('get_token', \@patient, \%token, workers => 12,
                             vhost => 'wcim_rate_wait');
$took = Time::HiRes::time() - $t0;
is(WCIM::Load::not_2000($codes), 0, '12 at once at 1.8/s with 7.5 s to wait: all get tokens ('
   . codes_text($codes) . ')');
cmp_ok($took, '>', 5, sprintf('the rate held them back (%.1f s in all)', $took));
cmp_ok($took, '<', 7.5 + 2, sprintf('none waited much past the 7.5 s (%.1f s in all)', $took));
is(busiest($GT)->{refused}, 0, 'RongCloud refused nothing');

WCIM::StandIn::reset();
done_testing();
