#!/usr/bin/perl
# One change, one group sync across processes and nodes (issue 28): two
# nodes of three children each share redis; RongCloud answers group/sync
# after 300 ms; one user lists 10 times in 100 ms, each list on a new
# connection, to node A and node B in turn: exactly one group/sync, then,
# his clubs changed, exactly one more with the new set. Twenty times over.
# Before, a list that reached another process while the first sync was
# under way queued a second sync of the same set.
# Run apart like t/cluster/two-nodes.t:
#   WCIM_TWO_NODES=1 prove t/cluster/sync-once.t   (as a user other than root)
use strict;
use warnings;

use FindBin ();
use lib "$FindBin::Bin/../lib";

use Test::More;
plan skip_all => 'runs apart (WCIM_TWO_NODES=1)' unless $ENV{WCIM_TWO_NODES};
use HTTP::Tiny ();
use Time::HiRes ();
use WCIM::Cluster ();
use WCIM::DB ();
use WCIM::Sign ();
use WCIM::StandIn ();     # sync_clubs

my $SYNC = '/group/sync.json';
my $BASE = 735000;
my $RUNS = 20;
my $cl = WCIM::Cluster->new;
$cl->use_for_db;
my $token = WCIM::DB::make_users($BASE, $RUNS + 1, clubs => $RUNS + 1);
my @nodes = map { $cl->start_node($_) } qw(a b);
my $json = $cl->json;

sub list {
    my ($base, $uid) = @_;
    my $data = [user_id => "$uid", token => $token->{$uid}];
    my $body = '{"id":"cluster","client":{"caller":"chrome_test"},"encrypt":"md5",'
             . '"sign":"' . WCIM::Sign::sign($data) . '","data":{"user_id":"' . $uid
             . '","token":"' . $token->{$uid} . '"}}';
    # a new connection each time: the lists spread over the children
    my $res = HTTP::Tiny->new(timeout => 10, keep_alive => 0)->post(
        "$base/im/get_group_chat_list",
        { content => $body, headers => { 'Content-Type' => 'application/json' } });
    my $a = eval { $json->decode($res->{content}) } || {};
    return $a->{result_code} // "HTTP $res->{status}";
}

sub ten_lists {
    my ($uid) = @_;
    my ($bad, $t0) = (0, Time::HiRes::time());
    for my $i (0 .. 9) {
        my $wait = $t0 + $i * 0.01 - Time::HiRes::time();
        Time::HiRes::sleep($wait) if $wait > 0;
        $bad++ unless list($nodes[$i % 2], $uid) eq '2000';
    }
    return $bad;
}

sub syncs_of {
    my ($uid, $since) = @_;
    return [ grep { my $c = $_; grep { $_->[0] eq 'userId' && $_->[1] eq "im_user_id_$uid" }
                                     @{ $c->{form} } }
             @{ $cl->control('calls', path => $SYNC, since => $since)->{calls} } ];
}

sub last_seq {
    my $calls = $cl->control('calls')->{calls};
    return @$calls ? $calls->[-1]{seq} : 0;
}

sub groups_of { WCIM::StandIn::sync_clubs(@_) }

sub settled {
    my ($uid, $since) = @_;
    my $deadline = Time::HiRes::time() + 5;
    Time::HiRes::sleep(0.1) until @{ syncs_of($uid, $since) } || Time::HiRes::time() > $deadline;
    Time::HiRes::sleep(1.0);
    return syncs_of($uid, $since);
}

$cl->control('mode', set => 'slow', path => $SYNC, delay => 0.3);
my (@bad, @once, @again);
for my $run (1 .. $RUNS) {
    my $uid = $BASE + $run;
    my $since = last_seq();
    my $bad = ten_lists($uid);
    push @bad, "run $run: $bad" if $bad;
    my $calls = settled($uid, $since);
    push @once, "run $run: " . scalar(@$calls) unless @$calls == 1;
    my $club = $BASE + ($run + 1) % ($RUNS + 1);
    WCIM::DB::sql("INSERT INTO t_student_club_graduate_relation (stu_clu_gra_rel_id, graduate_id, student_id, status, super_admin, is_del) VALUES ("
                  . ($BASE + 100 + $run) . ", $club, $uid, 1, 0, 0)");
    $since = last_seq();
    $bad = ten_lists($uid);
    push @bad, "run $run (changed): $bad" if $bad;
    $calls = settled($uid, $since);
    my $want = join ' ', sort ($uid, $club);
    push @again, "run $run: " . join(' / ', map { groups_of($_) } @$calls) . " (want $want)"
        unless @$calls == 1 && groups_of($calls->[0]) eq $want;
}
is(scalar @bad, 0, 'every list answered 2000') or diag(join "\n", @bad);
is(scalar @once, 0, "ten unchanged lists over two nodes: one group/sync, in each of $RUNS runs")
    or diag(join "\n", @once);
is(scalar @again, 0, "clubs changed, ten lists: one more, with the new set, in each of $RUNS runs")
    or diag(join "\n", @again);
done_testing();
