#!/usr/bin/perl
# The storm (issue 17): two nodes share PostgreSQL and redis; thousands of
# users have RongCloud tokens; redis is flushed (a restart, an eviction, a
# FLUSHALL); then every user opens the app within seconds: get_token, then
# the group list. RongCloud (the stand-in) refuses what is over its limits
# (getToken 200/s, group/sync 100/s per App Key, HTTP 429 / 1008).
#  - With WeclubsIMTokenStore db the tokens come from the database: not one
#    getToken call.
#  - Without, every token is fetched again, each node sending its share
#    (WeclubsIMRongCloudNodes 2): RongCloud refuses none over its
#    limits, and every user gets a token in about N / 180 seconds.
#  - Either way every user's groups are synced again (their digests were in
#    redis), spaced by the limit, none lost.
# WCIM_STORM_USERS sets N (default 2000; docs/cluster.md's figures are of 5000).
# Run apart like t/cluster/two-nodes.t (t/run-suite.sh with WCIM_CLUSTER=1).
use strict;
use warnings;

use FindBin ();
use lib "$FindBin::Bin/../lib";

use Test::More;
plan skip_all => 'runs apart (WCIM_TWO_NODES=1, t/run-suite.sh with WCIM_CLUSTER=1)'
    unless $ENV{WCIM_TWO_NODES};
use Time::HiRes ();
use WCIM::Cluster ();
use WCIM::DB ();
use WCIM::Load ();

my $N = $ENV{WCIM_STORM_USERS} || 2000;
my $BASE = 900000;
my $CLUBS = 300;
my $WORKERS = 16;       # users opening the app at the same moment
my $GT = '/user/getToken.json';
my $SYNC = '/group/sync.json';

my $cl = WCIM::Cluster->new(sql => ['tokens.sql']);
$cl->use_for_db;
my %token = %{ WCIM::DB::make_users($BASE, $N, clubs => $CLUBS) };
my @uids = map { $BASE + $_ } 0 .. $N - 1;

# two nodes that keep tokens in the database, two that keep them in redis
# alone; each pair is a site of two nodes (WeclubsIMRongCloudNodes 2)
# (no reconciliation passes: this test counts the calls of the storm alone)
$cl->start_node($_, conf => "WeclubsIMTokenStore db\nWeclubsIMReconcileInterval off\n") for qw(a b);
$cl->start_node($_) for qw(c d);
my %port = %{ $cl->{port} };

sub count { $cl->control('count', path => $_[0])->{count} }
sub busiest { $cl->control('busiest', path => $_[0]) }

# wait until $path has $n calls (syncs run after the answers)
sub wait_count {
    my ($path, $n, $timeout) = @_;
    my $deadline = Time::HiRes::time() + $timeout;
    my $got;
    while (1) {
        $got = count($path);
        return $got if $got >= $n || Time::HiRes::time() > $deadline;
        Time::HiRes::sleep(0.25);
    }
}

sub users_synced {
    my %u;
    for my $c (@{ $cl->control('calls', path => $SYNC)->{calls} }) {
        $u{$_->[1]} = 1 for grep { $_->[0] eq 'userId' } @{ $c->{form} };
    }
    return scalar grep { $u{"im_user_id_$_"} } @uids;
}

sub codes_text {
    my ($codes) = @_;
    return join ', ', map { "$_ x$codes->{$_}" } sort keys %$codes;
}

sub dropped {
    my $n = 0;
    $n += WCIM::Load::metric('weclubs_im_group_syncs_dropped_total',
                             base => "http://127.0.0.1:$port{$_}") for @_;
    return $n;
}

# The storm on a pair of nodes: redis flushed, all users open the app.
# Returns what it measured.
sub storm {
    my ($what, @pair) = @_;
    is($cl->redis_cli('FLUSHALL'), 'OK', "$what: redis flushed");
    $cl->control('reset');
    my $t0 = Time::HiRes::time();
    my $codes = WCIM::Load::run_all(['get_token', 'get_group_chat_list'], \@uids, \%token,
        workers => $WORKERS, ports => [ @port{@pair} ]);
    my $served = Time::HiRes::time() - $t0;
    is(WCIM::Load::not_2000($codes), 0,
       "$what: $N users open the app (get_token, then the list): every answer 2000 ("
       . codes_text($codes) . ')');
    my $synced = wait_count($SYNC, $N, 30 + $N / 40);
    my $sync_time = Time::HiRes::time() - $t0;
    my %m = (served => $served, sync_time => $sync_time, getToken => count($GT),
             gt => busiest($GT), sync => busiest($SYNC), syncs => $synced);
    is(users_synced(), $N, "$what: every user's groups synced again, none lost");
    is(dropped(@pair), 0, "$what: no sync dropped");
    # RongCloud's verdict is the stand-in's bucket (one second's calls):
    # it refused nothing. The busiest second it saw is reported, not
    # asserted: on a machine loaded far past its cores (seen at a load of
    # 20 on 2), the stand-in's Python threads read calls sent at the share
    # in bunches (101 in a second), which its bucket still accepts.
    is($m{gt}{refused} + $m{sync}{refused}, 0, "$what: RongCloud refused nothing (1008)");
    note(sprintf "%s: %d users served in %.1f s; %d getToken calls (busiest second %d); "
         . "%d group syncs done after %.1f s (busiest second %d)",
         $what, $N, $served, $m{getToken}, $m{gt}{calls}, $m{syncs}, $sync_time,
         $m{sync}{calls});
    return \%m;
}

# --- every user gets a token and syncs once, through both pairs ------------
for my $pair (['a', 'b'], ['c', 'd']) {
    my $codes = WCIM::Load::run_all(['get_token', 'get_group_chat_list'], \@uids, \%token,
        workers => $WORKERS, ports => [ @port{@$pair} ]);
    is(WCIM::Load::not_2000($codes), 0, "nodes @$pair: $N users have tokens ("
       . codes_text($codes) . ')');
}
# the syncs of those first lists done: the queues of all four nodes empty
# and nothing more reaching RongCloud
{
    my ($last, $same, $deadline) = (-1, 0, Time::HiRes::time() + 60 + $N / 20);
    while ($same < 8 && Time::HiRes::time() < $deadline) {
        my $queued = 0;
        $queued += WCIM::Load::metric('weclubs_im_group_syncs_queued',
                                      base => "http://127.0.0.1:$port{$_}") for qw(a b c d);
        my $n = count($SYNC);
        $same = $queued == 0 && $n == $last ? $same + 1 : 0;
        $last = $n;
        Time::HiRes::sleep(0.25);
    }
    cmp_ok($same, '>=', 8, "the first lists' syncs are done ($last)");
}
my $rows = WCIM::DB::sql("SELECT COUNT(*) FROM t_im_rc_token WHERE user_id LIKE 'im_user_id_9_____'");
is($rows->[0][0], $N, "the token table holds the $N users' tokens");

# --- the storm with durable tokens: no getToken call -----------------------
my $db = storm('tokens in the database', 'a', 'b');
is($db->{getToken}, 0, 'tokens in the database: not one getToken call');

# --- the storm without: the limits hold, every user is served --------------
my $cache = storm('tokens in redis alone', 'c', 'd');
is($cache->{getToken}, $N, "tokens in redis alone: $N getToken calls, one per user");
cmp_ok($cache->{served}, '>=', $N / 200 - 1,
       sprintf('spread by the limit: %.1f s to serve everyone (N / 180 = %.1f s)',
               $cache->{served}, $N / 180));

# what docs/cluster.md quotes
diag(sprintf "storm of %d users over 2 nodes: with WeclubsIMTokenStore db served in %.1f s, "
     . "0 getToken, syncs done in %.1f s (at most %d/s); without: served in %.1f s, "
     . "%d getToken (at most %d/s), syncs done in %.1f s (at most %d/s)",
     $N, $db->{served}, $db->{sync_time}, $db->{sync}{calls}, $cache->{served},
     $cache->{getToken}, $cache->{gt}{calls}, $cache->{sync_time}, $cache->{sync}{calls});

my $log = join '', map { $cl->error_log($_) } qw(a b c d);
unlike($log, qr/Segmentation fault|exit signal/, 'no node crashed');
done_testing();
