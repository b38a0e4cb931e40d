# One change, one group sync (issue 28): a list that comes while the sync
# of the same set is under way (not only while it waits) makes no second
# group/sync, and a sync RongCloud failed is made again, once (at the end). RongCloud
# answers each group/sync after 300 ms; one user lists 10 times in 100 ms,
# unchanged: exactly one group/sync; then his clubs change and he lists 10
# times: exactly one more, with the new set. Twenty times in a row (a
# fresh user each), so that a race shows.
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
use WCIM::StandIn ();

my $SYNC = WCIM::StandIn::SYNC;
my $BASE = 731000;
my $RUNS = 20;
my $token = WCIM::DB::make_users($BASE, $RUNS + 1, clubs => $RUNS + 1);
my $conn;

# a list of user $uid, kept alive: its result_code
sub list { WCIM::Request::list_code(\$conn, $_[0], $token->{$_[0]}) }

# ten lists in about 100 ms; how many did not answer 2000
sub ten_lists {
    my ($uid) = @_;
    my ($bad, $t0) = (0, Time::HiRes::time());
    for my $i (0 .. 9) {
        my $wait = $t0 + $i * 0.01 - Time::HiRes::time();
        Time::HiRes::sleep($wait) if $wait > 0;
        $bad++ unless list($uid) eq '2000';
    }
    return $bad;
}

sub groups_of { WCIM::StandIn::sync_clubs(@_) }

# the user's group/sync calls since $since, once they have settled: the
# first (a 300 ms answer), and whatever a second job would have made
# right after it
sub settled_syncs {
    my ($uid, $since, $n) = @_;
    WCIM::StandIn::wait_calls($SYNC, "im_user_id_$uid", $since, $n, 5);
    Time::HiRes::sleep(1.0);
    return WCIM::StandIn::calls_for($SYNC, "im_user_id_$uid", $since);
}

WCIM::StandIn::reset();
WCIM::StandIn::mode('slow', path => $SYNC, delay => 0.3);

my (@once, @again, @bad);
for my $run (1 .. $RUNS) {
    my $uid = $BASE + $run;
    my $since = WCIM::StandIn::last_seq();
    my $bad = ten_lists($uid);
    push @bad, "run $run: $bad lists not 2000" if $bad;
    my $calls = settled_syncs($uid, $since, 1);
    push @once, "run $run: " . scalar(@$calls) . ' syncs' unless @$calls == 1;

    # his clubs change: one more club
    my $club = $BASE + ($run + 1) % ($RUNS + 1);
    WCIM::DB::sql("INSERT INTO t_student_club_graduate_relation (stu_clu_gra_rel_id, graduate_id, student_id, status, super_admin, is_del) VALUES ("
                  . ($BASE + 100 + $run) . ", $club, $uid, 1, 0, 0)");
    $since = WCIM::StandIn::last_seq();
    $bad = ten_lists($uid);
    push @bad, "run $run (changed): $bad lists not 2000" if $bad;
    $calls = settled_syncs($uid, $since, 1);
    my $want = join ' ', sort ($uid, $club);
    push @again, "run $run: " . scalar(@$calls) . ' syncs, sets: '
                 . join(' / ', map { groups_of($_) } @$calls) . " (want $want)"
        unless @$calls == 1 && groups_of($calls->[0]) eq $want;
}
is(scalar @bad, 0, 'every list answered 2000') or diag(join "\n", @bad);
is(scalar @once, 0, "ten unchanged lists: exactly one group/sync, in each of $RUNS runs")
    or diag(join "\n", @once);
is(scalar @again, 0, "his clubs changed, ten lists: exactly one more, with the new set, in each of $RUNS runs")
    or diag(join "\n", @again);

# a sync RongCloud fails (HTTP 500, once) is sent again, once, with the
# same set; and then it counts as synced
{
    my $uid = $BASE;
    WCIM::StandIn::mode('e500', path => $SYNC, count => 1);
    my $since = WCIM::StandIn::last_seq();
    is(list($uid), '2000', "user $uid lists; his sync fails once");
    my $calls = settled_syncs($uid, $since, 2);
    is(scalar @$calls, 2, 'the failed sync was made once more, no more')
        or diag(explain([map { "$_->{status} " . groups_of($_) } @$calls]));
    ok(@$calls == 2 && $calls->[0]{status} == 500 && $calls->[1]{status} == 200
       && groups_of($calls->[0]) eq "$uid" && groups_of($calls->[1]) eq "$uid",
       'first 500, then 200, with the same set');
    $since = WCIM::StandIn::last_seq();
    is(list($uid), '2000', "user $uid lists again");
    Time::HiRes::sleep(1);
    is(scalar @{ WCIM::StandIn::calls_for($SYNC, "im_user_id_$uid", $since) }, 0,
       'synced by the second try: no call');
}

WCIM::StandIn::mode('ok');
done_testing();
